"""Rate limits through HTTP: how closely the simulator holds a deployment to its TPM under sustained over-limit
load, and what the limiter costs in throughput (docs/rate-limits.md, issue 3's targets).

    python -m bench.ratelimit [--seconds 90] [--tpm 60000] [--offered 2] [--processes 3] [--cost-seconds 8]

(a) Accuracy. One simulator process on the memory backend, then `--processes` processes sharing Table Storage
on a local Azurite (started here, tests/support/azurite.py), each serving one deployment limited to `--tpm`
(requests per minute set high, so tokens are the binding limit). An aiohttp client in this process offers
`--offered` times the TPM for `--seconds`, requests evenly spaced and dealt round-robin to the processes. Every
request costs the same known number of tokens, so the tokens accepted in each wall-clock second are the 200s
times that cost. Reported: the tokens accepted in every 60-s window of whole seconds within the run, as a
share of the TPM (their mean is the accepted tokens per minute; AOAI's window slides, so under sustained load
it admits in bursts as a minute-old burst expires, and every window must hold the TPM, never more); the share
refused; client-side latency of accepted and refused requests (their p99 through the Table backend against
the memory backend's is what Table Storage adds).

(b) Cost. One simulator pinned to a core (`bench.servers.PinnedServer`), wrk on the other (`bench.wrk`), latency
off: requests per second to a deployment without limits and to one whose limits are too high to refuse
anything, alternating, `--repeat` rounds of `--cost-seconds` each. The limiter's cost is the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import wrk
from bench.servers import PinnedServer, simulator_command
from bench.stats import percentile
from tests.support.azurite import Azurite

API_KEY = "bench-key"
HEADERS = {"content-type": "application/json", "api-key": API_KEY}
PATH = "/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21"
CONTENT = "Say hello"
WINDOW = 60
# Limits too high for anything to be refused: the limiter does all its work and never says no.
UNREFUSING = {"tokensPerMinute": 2_000_000_000, "requestsPerMinute": 2_000_000_000}


def chat_body(max_tokens: int) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": CONTENT}], "max_tokens": max_tokens}).encode()


def request_cost(max_tokens: int) -> int:
    """What gpt-4o is charged for the request (docs/rate-limits.md): max_tokens plus ceil(prompt characters / 4);
    checked against the first answer's headers."""
    return max_tokens + math.ceil(len(CONTENT) / 4)


def server_env(deployments: Path, **extra: str) -> dict[str, str]:
    return {
        "SIMULATOR_API_KEY": API_KEY,
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments),
        "SIMULATOR_LATENCY_ENABLED": "false",
        "SIMULATOR_COMPLETION_TOKENS": "20",
        "SIMULATOR_SEED": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


# --- (a) accuracy -------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Tally:
    accepted_per_second: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    accepted_ms: list[float] = dataclasses.field(default_factory=list)
    refused_ms: list[float] = dataclasses.field(default_factory=list)
    unlimited: int = 0  # 200s without rate-limit headers: served because the store failed (fail open)
    other: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)


async def offer_load(ports: list[int], args: argparse.Namespace) -> Tally:
    """`--offered` × TPM for `--seconds`, evenly spaced, round-robin over `ports`."""
    cost = request_cost(args.max_tokens)
    rate = args.offered * args.tpm / cost / 60
    body = chat_body(args.max_tokens)
    tally = Tally()
    path = PATH.format(deployment="limited")

    async def one(session: aiohttp.ClientSession, port: int) -> None:
        started = time.perf_counter()
        async with session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=HEADERS) as response:
            await response.read()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status == 200:
                tally.accepted_per_second[int(time.time())] += cost
                tally.accepted_ms.append(elapsed_ms)
                tally.unlimited += "x-ratelimit-remaining-tokens" not in response.headers
            elif response.status == 429:
                tally.refused_ms.append(elapsed_ms)
            else:
                tally.other[response.status] += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await check_cost(session, ports[0], args, tally)
        tasks: set[asyncio.Task[None]] = set()
        start = time.time()
        sent = 0
        while (now := time.time()) < start + args.seconds:
            task = asyncio.create_task(one(session, ports[sent % len(ports)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - now))
        await asyncio.gather(*tasks)
    return tally


async def check_cost(session: aiohttp.ClientSession, port: int, args: argparse.Namespace, tally: Tally) -> None:
    """The first request of the run: its cost must be what this bench counts per accepted request."""
    url = f"http://127.0.0.1:{port}{PATH.format(deployment='limited')}"
    async with session.post(url, data=chat_body(args.max_tokens), headers=HEADERS) as response:
        await response.read()
        charged = args.tpm - int(response.headers["x-ratelimit-remaining-tokens"])
        tally.accepted_per_second[int(time.time())] += charged
    if charged != request_cost(args.max_tokens):
        raise SystemExit(f"the simulator charged {charged} tokens, the bench counts {request_cost(args.max_tokens)}")


def windows(per_second: collections.Counter[int]) -> list[int]:
    """Tokens accepted in every window of 60 whole seconds within the run."""
    first, last = min(per_second), max(per_second)
    return [sum(per_second[s] for s in range(start, start + WINDOW)) for start in range(first, last - WINDOW + 1)]


def accuracy_report(name: str, processes: int, tally: Tally, args: argparse.Namespace) -> dict[str, Any]:
    cost = request_cost(args.max_tokens)
    totals = windows(tally.accepted_per_second)
    requests = len(tally.accepted_ms) + len(tally.refused_ms) + sum(tally.other.values()) + 1  # and check_cost's
    result: dict[str, Any] = {
        "backend": name,
        "processes": processes,
        "seconds": args.seconds,
        "tpm": args.tpm,
        "cost": cost,
        "requests": requests,
        "refused_share": len(tally.refused_ms) / requests,
        "windows": len(totals),
        "window_max": max(totals) / args.tpm if totals else math.nan,
        "window_min": min(totals) / args.tpm if totals else math.nan,
        "window_mean": statistics.fmean(totals) / args.tpm if totals else math.nan,
        "accepted_p50_ms": percentile(tally.accepted_ms, 0.5),
        "accepted_p99_ms": percentile(tally.accepted_ms, 0.99),
        "refused_p50_ms": percentile(tally.refused_ms, 0.5),
        "refused_p99_ms": percentile(tally.refused_ms, 0.99),
        "unlimited": tally.unlimited,
        "other_statuses": dict(tally.other),
    }
    print(
        f"{name}: {processes} process(es), {args.seconds:.0f} s, TPM {args.tpm}, {requests} requests of {cost} tokens"
    )
    print(
        f"  tokens accepted per 60-s window / TPM: max {result['window_max']:.4f}  min {result['window_min']:.4f}"
        f"  mean {result['window_mean']:.4f}  ({len(totals)} windows)"
    )
    print(
        f"  refused {result['refused_share']:.1%}; latency ms: accepted p50 {result['accepted_p50_ms']:.2f} "
        f"p99 {result['accepted_p99_ms']:.2f}, refused p50 {result['refused_p50_ms']:.2f} "
        f"p99 {result['refused_p99_ms']:.2f}"
    )
    print(f"  served unlimited (store failed): {tally.unlimited}; other statuses: {dict(tally.other) or 'none'}")
    return result


def run_servers(servers: list[PinnedServer], args: argparse.Namespace) -> Tally:
    for server in servers:
        server.start()
    try:
        for server in servers:
            server.wait_for(PATH.format(deployment="open"), chat_body(5), HEADERS)
        return asyncio.run(offer_load([server.port for server in servers], args))
    finally:
        for server in servers:
            server.stop()


def accuracy(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    deployments = work / "accuracy.json"
    limited = {"model": "gpt-4o", "tokensPerMinute": args.tpm, "requestsPerMinute": 100 * args.tpm}
    deployments.write_text(json.dumps({"limited": limited, "open": {"model": "gpt-4o"}}))
    results = []
    memory = PinnedServer("memory", simulator_command(), core=args.server_core, env=server_env(deployments))
    results.append(accuracy_report("memory", 1, run_servers([memory], args), args))
    azurite = Azurite().start()
    try:
        table = f"benchlimits{uuid.uuid4().hex[:8]}"
        env = server_env(
            deployments,
            AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
            RATE_LIMIT_TABLE=table,
            RUNTIME_CONFIG_TABLE=f"{table}config",
        )
        servers = [
            PinnedServer(f"table-{index}", simulator_command(), core=index % 2, env=env)
            for index in range(args.processes)
        ]
        results.append(accuracy_report("table (Azurite)", args.processes, run_servers(servers, args), args))
    finally:
        azurite.stop()
    return results


# --- (b) cost -----------------------------------------------------------------------------------------------


def cost(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    deployments = work / "cost.json"
    deployments.write_text(json.dumps({"open": {"model": "gpt-4o"}, "limited": {"model": "gpt-4o", **UNREFUSING}}))
    loads = {
        name: wrk.Load(PATH.format(deployment=name), chat_body(args.max_tokens).decode(), HEADERS)
        for name in ("open", "limited")
    }
    rates: dict[str, list[float]] = {"open": [], "limited": []}
    server = PinnedServer("simulator", simulator_command(), core=args.server_core, env=server_env(deployments))
    with server:
        server.wait_for(loads["limited"].path, chat_body(5), HEADERS)
        for load in loads.values():  # warm-up: first-use costs (tokenizer, caches) out of the measured runs
            wrk.run(load, server.port, seconds=2, connections=args.connections, core=args.client_core, scripts=work)
        for _ in range(args.repeat):
            for name, load in loads.items():
                result = wrk.run(
                    load,
                    server.port,
                    seconds=args.cost_seconds,
                    connections=args.connections,
                    core=args.client_core,
                    scripts=work,
                )
                if result.errors:
                    raise SystemExit(f"wrk saw {result.errors} errors on {name}")
                rates[name].append(result.rate)
    open_rate, limited_rate = statistics.median(rates["open"]), statistics.median(rates["limited"])
    share = 1 - limited_rate / open_rate
    print(f"cost: 1 process pinned to core {args.server_core}, wrk on core {args.client_core}, latency off")
    for name, values in rates.items():
        print(f"  {name:8} requests/s: " + "  ".join(f"{value:.0f}" for value in values))
    print(f"  limits on cost {share:.1%} of throughput (medians {limited_rate:.0f} vs {open_rate:.0f} requests/s)")
    return {"rates": rates, "cost_share": share}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ratelimit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="accuracy load per backend (at least 61)")
    parser.add_argument("--tpm", type=int, default=60_000)
    parser.add_argument("--max-tokens", type=int, default=100, help="max_tokens of every request")
    parser.add_argument("--offered", type=float, default=2.0, help="offered load as a multiple of the TPM")
    parser.add_argument("--processes", type=int, default=3, help="simulator processes sharing Table Storage")
    parser.add_argument("--cost-seconds", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="wrk rounds per deployment")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--skip", choices=("accuracy", "cost"), action="append", default=[])
    parser.add_argument("--output", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("bench: wrk and taskset are needed (Debian: apt-get install wrk util-linux)", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"command": " ".join(["python -m bench.ratelimit", *(argv or sys.argv[1:])])}
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        if "accuracy" not in args.skip:
            results["accuracy"] = accuracy(args, work)
        if "cost" not in args.skip:
            results["cost"] = cost(args, work)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
