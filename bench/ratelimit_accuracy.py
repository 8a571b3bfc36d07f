"""How closely the rate limiter keeps a deployment to its TPM under sustained over-limit load.

Drives `simulator.ratelimit.RateLimiter` directly (no HTTP): one process on the memory store, then N processes
sharing one deployment through Table Storage on a local Azurite. Clients together offer `--offered` times the
TPM (requests of `--cost` tokens, evenly spaced; `--offered 0`: back to back, 1 ms apart), for `--seconds`:

    PYTHONPATH=. python bench/ratelimit_accuracy.py [--seconds 120] [--tpm 60000] [--offered 2] [--processes 3]
        [--backend memory|table|both]

Reported per backend: tokens admitted in every 60-second window of the run (whole seconds; max, min, mean,
last) as a share of the TPM, store transactions per second, and admit() latency (p50/p99/max, worst process).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
from pathlib import Path
from typing import Any

from simulator.ratelimit import RateLimitConfig
from tests.ratelimit.shared_worker import hammer, results, start_workers
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[1]
WINDOW = 60


def windows(results: list[dict[str, Any]]) -> list[int]:
    """Tokens admitted in each full 60-second window (by wall-clock second), summed over processes."""
    per_second: collections.Counter[int] = collections.Counter()
    for result in results:
        per_second.update({int(second): tokens for second, tokens in result["per_second"].items()})
    first, last = min(per_second), max(per_second)
    # Windows of 60 whole seconds, from the run's first second (where the first minute's burst lands) to the
    # last whole one.
    return [sum(per_second[s] for s in range(start, start + WINDOW)) for start in range(first, last - WINDOW + 1)]


def report(name: str, results: list[dict[str, Any]], tpm: int, seconds: float) -> None:
    totals = windows(results)
    transactions = sum(result["transactions"] for result in results)
    requests = sum(result["admitted"] + result["refused"] for result in results)
    print(f"{name}: {len(results)} process(es), {seconds:.0f} s, TPM {tpm}, {requests} admit() calls")
    if totals:
        print(
            f"  tokens per 60-s window / TPM: max {max(totals) / tpm:.4f}, min {min(totals) / tpm:.4f}, "
            f"mean {sum(totals) / len(totals) / tpm:.4f}, last {totals[-1] / tpm:.4f} ({len(totals)} windows)"
        )
    else:
        print("  tokens per 60-s window: none (the run is shorter than 61 s)")
    print(f"  store transactions: {transactions / seconds:.1f}/s; refused {sum(r['refused'] for r in results)}")
    print(
        "  admit() ms: p50 {:.3f}  p99 {:.3f}  max {:.1f} (worst process)".format(
            max(r["p50_ms"] for r in results), max(r["p99_ms"] for r in results), max(r["max_ms"] for r in results)
        )
    )
    print(
        f"  requests that waited for the store: {sum(r['waited'] for r in results)}; "
        f"renewals ahead of need: {sum(r['ahead'] for r in results)}"
    )
    print(f"  served unlimited because the store failed: {sum(r['failed_open'] for r in results)}")


def request_rate(args: argparse.Namespace) -> float:
    """Requests per second that offer `--offered` times the TPM."""
    return args.offered * args.tpm / args.cost / 60


def run_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    azurite = Azurite().start()
    try:
        options = [
            "--tpm", str(args.tpm), "--rpm", str(args.rpm), "--cost", str(args.cost), "--seconds", str(args.seconds),
            "--rate", str(request_rate(args) / args.processes),
        ]  # fmt: skip
        workers = start_workers(azurite.connection_string, "benchlimits", args.processes, *options)
        return results(workers, timeout=args.seconds + 60)
    finally:
        azurite.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--tpm", type=int, default=60_000)
    parser.add_argument("--rpm", type=int, default=6_000_000, help="high, so that tokens are the binding limit")
    parser.add_argument("--cost", type=int, default=100, help="tokens per request (max_tokens)")
    parser.add_argument("--offered", type=float, default=2.0, help="offered load as a multiple of the TPM")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--backend", choices=("memory", "table", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("memory", "both"):
        rate = request_rate(args)
        memory = asyncio.run(hammer(RateLimitConfig(), args.tpm, args.rpm, args.cost, args.seconds, 0.001, rate))
        report("memory", [memory], args.tpm, args.seconds)
    if args.backend in ("table", "both"):
        report("table (Azurite)", run_table(args), args.tpm, args.seconds)


if __name__ == "__main__":
    main()
