"""One simulator-like process spending a shared deployment's budget, as fast as a client with a little think time.

Run by test_shared_table.py and bench/ratelimit_accuracy.py: prints `ready`, waits for a line on stdin so all
processes start together, drives the limiter for the given seconds, prints one JSON line of counts (with the
tokens admitted in each wall-clock second, so runs can be summed across processes).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig, RateLimiter
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import LimitStore, Unchanged, open_store
from tests.ratelimit.factory import chat, standard

REPO = Path(__file__).resolve().parents[2]

T = TypeVar("T")


class CountingStore(LimitStore):
    """Counts the transactions the limiter makes, to report store load."""

    def __init__(self, inner: LimitStore) -> None:
        self.inner = inner
        self.transactions = 0

    async def transact(self, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T:
        self.transactions += 1
        return await self.inner.transact(key, change)

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def hammer(
    config: RateLimitConfig, tpm: int, rpm: int, cost: int, seconds: float, pause: float, rate: float = 0.0
) -> dict[str, Any]:
    """Send requests of `cost` tokens for `seconds`, `rate` per second evenly spaced (0: back to back, `pause`
    apart); count what was admitted, when, and how long admit() took."""
    store = CountingStore(open_store(config))
    limiter = RateLimiter(store, config)
    await limiter.start()
    request = chat(standard("shared", tpm=tpm, rpm=rpm), max_tokens=cost)
    admitted = refused = 0
    per_second: collections.Counter[int] = collections.Counter()
    latencies: list[float] = []
    start = time.time()
    end = start + seconds
    sent = 0
    while (now := time.time()) < end:
        started = time.perf_counter()
        try:
            await limiter.admit(request)
            admitted += 1
            per_second[int(now)] += cost
        except OpenAIError:
            refused += 1
        latencies.append(time.perf_counter() - started)
        sent += 1
        # Paced: the next request is due at start + sent / rate. Unpaced: a client's think time, since spinning
        # would starve Azurite on a small machine.
        await asyncio.sleep(max(0.0, start + sent / rate - time.time()) if rate else pause)
    await limiter.aclose()
    renewals = limiter.renewals
    latencies.sort()
    return {
        "admitted_tokens": admitted * cost,
        "admitted": admitted,
        "refused": refused,
        "transactions": store.transactions,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
        "failed_open": limiter.stats.failed_open,
        "waited": renewals.waited,
        "ahead": renewals.ahead,
        "per_second": dict(per_second),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    config = RateLimitConfig(connection_string=args.connection_string, table_name=args.table)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    return await hammer(config, args.tpm, args.rpm, args.cost, args.seconds, args.pause, args.rate)


def start_workers(connection_string: str, table: str, count: int, *options: str) -> list[subprocess.Popen[str]]:
    """`count` processes running this module against one table, started together once all are ready."""
    command = [sys.executable, "-m", "tests.ratelimit.shared_worker", connection_string, table, *options]
    workers = [
        subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return workers


def results(workers: list[subprocess.Popen[str]], timeout: float = 60) -> list[dict[str, Any]]:
    """Each worker's final JSON line, once all have finished."""
    outputs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    return [json.loads(output.strip().splitlines()[-1]) for output in outputs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("connection_string")
    parser.add_argument("table")
    parser.add_argument("--tpm", type=int, required=True)
    parser.add_argument("--rpm", type=int, required=True)
    parser.add_argument("--cost", type=int, default=100)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--pause", type=float, default=0.001)
    parser.add_argument("--rate", type=float, default=0.0, help="requests per second; 0: back to back")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
