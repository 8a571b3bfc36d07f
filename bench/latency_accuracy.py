"""How exactly the pacer keeps to its plans with many concurrent streams in one process.

Starts N streams (arrivals spread over `--ramp` seconds), each paced by `simulator.latency.Pacer` from a
`LatencyModel` plan, and compares when each chunk reached the consumer with when the plan said:

    PYTHONPATH=. python bench/latency_accuracy.py --streams 1000 5000 [--uvloop] [--burst-tokens 0]

Full garbage collections walk every live stream event and stall the loop for tens of milliseconds with
thousands of streams; `--gc-threshold` shows the effect of making them rarer.

Reported per run: TTFT error and inter-chunk error (measured − planned, ms) at p50/p99/max, lateness of
every release, the measured mean TTFT and inter-token time against the configured means, and CPU per chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time

from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment
from simulator.latency import LatencyConfig, LatencyModel, Pacer
from simulator.models import Operation, find_model
from simulator.replies import StreamEvent, StreamEvents


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def build_model(args: argparse.Namespace) -> LatencyModel:
    fields = {
        "ttftMs": args.ttft_ms,
        "ttftStdMs": args.ttft_std_ms,
        "prefillMsPerToken": 0,
        "tokensPerSecond": args.tokens_per_second,
        "tokenStdMs": args.token_std_ms,
        "burstTokens": args.burst_tokens,
    }
    config = LatencyConfig.from_json({"deployments": {"bench": fields}})
    return LatencyModel(config, random.Random(args.seed))


def make_request(arrived: float) -> OpenAIRequest:
    deployment = Deployment("bench", find_model("gpt-4o"))
    return OpenAIRequest(
        Operation.CHAT_COMPLETIONS,
        deployment,
        Surface.CLASSIC,
        "POST",
        "/",
        "",
        {},
        {},
        b"",
        None,
        arrived,
        prompt_tokens=10,
    )


class Results:
    def __init__(self) -> None:
        self.ttft_error: list[float] = []
        self.gap_error: list[float] = []
        self.lateness: list[float] = []
        self.ttft: list[float] = []
        self.token_gap: list[float] = []
        self.chunks = 0
        self.cpu = 0.0
        self.wall = 0.0


async def stream(model: LatencyModel, pacer: Pacer, args: argparse.Namespace, delay: float, results: Results) -> None:
    await asyncio.sleep(delay)
    start = time.monotonic()
    # Like a generated chat stream: prompt-filter event, role delta, one event per token, finish, [DONE].
    tokens = [0, 0, *([1] * args.tokens), 0, 0]
    events = StreamEvents(StreamEvent(b"data: {}\n\n", count) for count in tokens)
    plan = model.plan(make_request(start), args.tokens, tokens)
    offsets = plan.offsets
    index = 0
    previous_actual = previous_planned = None
    async for data in pacer.paced(events, plan, start):
        now = time.monotonic() - start
        # The pacer joins events due together; the batch was due when its first event was.
        due = offsets[index]
        index += data.count(b"\n\n")
        results.lateness.append(now - due)
        results.chunks += 1
        if previous_actual is None:
            results.ttft_error.append(now - due)
            results.ttft.append(now)
        else:
            results.gap_error.append((now - previous_actual) - (due - previous_planned))
            results.token_gap.append(now - previous_actual)
        previous_actual, previous_planned = now, due


async def run(streams: int, args: argparse.Namespace) -> Results:
    model = build_model(args)
    pacer = Pacer()
    results = Results()
    rng = random.Random(args.seed)
    cpu = time.process_time()
    wall = time.monotonic()
    await asyncio.gather(*(stream(model, pacer, args, rng.uniform(0, args.ramp), results) for _ in range(streams)))
    results.cpu = time.process_time() - cpu
    results.wall = time.monotonic() - wall
    return results


def report(streams: int, args: argparse.Namespace, results: Results) -> None:
    ms = 1000.0

    def line(name: str, values: list[float]) -> str:
        return (
            f"  {name:<22} p50 {percentile(values, 0.5) * ms:7.2f}  p99 {percentile(values, 0.99) * ms:7.2f}"
            f"  max {max(values) * ms:7.2f} ms"
        )

    configured_gap = 1000.0 / args.tokens_per_second
    print(
        f"{streams} streams × {args.tokens} tokens at {args.tokens_per_second:g} tokens/s, burst {args.burst_tokens},"
        f" loop {'uvloop' if args.uvloop else 'asyncio'}: {results.chunks} chunks in {results.wall:.1f} s,"
        f" CPU {results.cpu:.1f} s ({results.cpu / results.chunks * 1e6:.1f} µs per chunk)"
    )
    print(line("TTFT error", results.ttft_error))
    print(line("inter-chunk error", results.gap_error))
    print(line("release lateness", results.lateness))
    print(
        f"  mean TTFT {statistics.fmean(results.ttft) * ms:.1f} ms"
        f" (configured {args.ttft_ms:g} ± {args.ttft_std_ms:g}, + bursts);"
        f" mean inter-chunk {statistics.fmean(results.token_gap) * ms:.2f} ms"
        f" (configured {configured_gap * max(args.burst_tokens, 1):.2f} ± {args.token_std_ms:g} per token)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--tokens", type=int, default=100, help="completion tokens per stream")
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--token-std-ms", type=float, default=5.0)
    parser.add_argument("--ttft-ms", type=float, default=300.0)
    parser.add_argument("--ttft-std-ms", type=float, default=100.0)
    parser.add_argument("--burst-tokens", type=int, default=0)
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which the streams start")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (what uvicorn uses when installed)")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        nargs=3,
        metavar=("GEN0", "GEN1", "GEN2"),
        help="gc.set_threshold(...) before the run (default: Python's 700 10 10)",
    )
    args = parser.parse_args()
    if args.gc_threshold:
        gc.set_threshold(*args.gc_threshold)
    for streams in args.streams:
        if args.uvloop:
            import uvloop

            results = uvloop.run(run(streams, args))
        else:
            results = asyncio.run(run(streams, args))
        report(streams, args, results)


if __name__ == "__main__":
    main()
