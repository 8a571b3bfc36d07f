"""Shared rate limits under the load a shared endpoint meets (issue 14, DESIGN.md §3): several simulator
processes on one Table Storage account, the store some milliseconds away, open-loop load at a multiple of the
limit plus closed-loop clients, on a request-bound, a token-bound and a provisioned deployment at once.

    python -m bench.ratelimit_shared [--processes 3 --processes 8] [--delay-ms 0 --delay-ms 5 --delay-ms 10]
        [--seconds 75] [--offered 4] [--closed 1] [--think-ms 5] [--output figures.json]

Each process runs the simulator's `RateLimiter` on Table Storage (Azurite, started here) reached through
`bench.delay_proxy` (the given delay each way), and drives the three deployments itself: per deployment,
open-loop requests evenly spaced at its share of `--offered` × the limit, and `--closed` clients that send
again `--think-ms` after each answer (an HTTP round trip; a 429 is answered at once, so they pile up at every
window start). Driving the limiter in process, rather than through HTTP, leaves the two cores to the limiter,
the store and the proxy, and dates each admission exactly: the time is read as admit() returns, in the same
turn of the event loop as the limiter's own decision.

Reported per run, from every admission of every process:
- request-bound (gpt-4o, 60,000 TPM, so 60 requests per 10 s; 103 tokens a request): the worst fixed 10-s
  window against its limit, and the mean of the full windows (utilisation);
- token-bound (gpt-4o, 60,000 TPM, 6,000 RPM; 503 tokens a request): the worst sliding 60-s window of
  tokens as a share of the TPM (every window starting at an admission), and the mean of the windows that
  start at each whole second of the run and end within it (utilisation; in a run shorter than a minute, all
  the tokens admitted against the TPM);
- provisioned (gpt-4o, 10 PTU = 25,000 units a minute; 500 units estimated, 180-500 actual): the highest level
  a central leaky bucket replaying the admissions reaches just before an admission (AOAI admits at ≤ 100 %),
  and its mean level after the first two seconds (utilisation: an overloaded bucket stays near 100 %);
- store round trips per second per process (HTTP requests through the proxy; reads + writes as the store counts
  them) and the share of writes lost to another process;
  answers served unlimited (fail-open); admit() latency (worst process).

The short version in `make test` is tests/ratelimit/test_shared_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import json
import math
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.delay_proxy import DelayProxy
from bench.stats import percentile
from simulator.deployments import Deployment
from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig, RateLimiter, policy
from simulator.ratelimit.stores.table import TableStore
from simulator.replies import Usage
from tests.ratelimit.factory import chat, provisioned, standard
from tests.support.azurite import ACCOUNT, ACCOUNT_KEY, Azurite

REPO = Path(__file__).resolve().parents[1]
REQUEST_WINDOW = 10.0
TOKEN_WINDOW = 60.0
# The provisioned bucket starts empty: at four times its capacity it is full within a second or two.
FILL_SECONDS = 2.0
PROMPT = "Say hello"  # 9 characters: 3 tokens charged on gpt-4o
PTU_PROMPT_TOKENS = 100
PTU_MAX_TOKENS = 100


def deployments() -> dict[str, Deployment]:
    return {
        "requests": standard("requests", tpm=60_000),  # 360 RPM: 60 requests per 10 s bind first
        "tokens": standard("tokens", tpm=60_000, rpm=6_000),
        "ptu": provisioned("ptu", ptu=10),
    }


def request_body(name: str) -> dict[str, Any]:
    return {"requests": {"max_tokens": 100}, "tokens": {"max_tokens": 500}, "ptu": {"max_tokens": PTU_MAX_TOKENS}}[name]


def offered_rate(deployment: Deployment, cost: float) -> float:
    """Requests per second at the deployment's limit (whichever binds first)."""
    limits = policy.limits_for(deployment)
    if isinstance(limits, policy.StandardLimits):
        by_requests = limits.requests_per_window / limits.request_window_seconds
        return min(by_requests, limits.tokens_per_minute / cost / 60)
    assert limits is not None
    return limits.tokens_per_minute / cost / 60


# --- one process ----------------------------------------------------------------------------------------------


class Driver:
    """One simulator process's limiter and its clients, for one run."""

    def __init__(self, limiter: RateLimiter, args: argparse.Namespace, seed: int) -> None:
        self.limiter = limiter
        self.args = args
        self.random = random.Random(seed)
        self.admitted: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        self.refused: collections.Counter[str] = collections.Counter()
        self.unlimited: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []

    async def one(self, deployment: Deployment) -> None:
        request = chat(deployment, PROMPT, prompt_tokens=PTU_PROMPT_TOKENS, **request_body(deployment.name))
        started = time.perf_counter()
        try:
            admission = await self.limiter.admit(request)
        except OpenAIError as error:
            self.latencies.append(time.perf_counter() - started)
            if error.status != 429:
                raise
            self.refused[deployment.name] += 1
            return
        at = time.time()
        self.latencies.append(time.perf_counter() - started)
        if not admission.headers:
            self.unlimited[deployment.name] += 1
        limits = policy.limits_for(deployment)
        if isinstance(limits, policy.ProvisionedLimits):
            usage = Usage(PTU_PROMPT_TOKENS, self.random.randint(20, PTU_MAX_TOKENS))
            await admission.settle(usage)
            units = policy.provisioned_actual(usage, limits)
        else:
            units = policy.token_cost(request)
        self.admitted[deployment.name].append((at, units))

    async def open_loop(self, deployment: Deployment, rate: float, start: float, end: float) -> None:
        tasks: set[asyncio.Task[None]] = set()
        sent = 0
        phase = self.random.random() / rate  # processes do not send in step
        while (due := start + phase + sent / rate) < end:
            await asyncio.sleep(max(0.0, due - time.time()))
            task = asyncio.create_task(self.one(deployment))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.gather(*tasks)

    async def closed_loop(self, deployment: Deployment, end: float) -> None:
        while time.time() < end:
            await self.one(deployment)
            await asyncio.sleep(self.args.think_ms / 1000)

    async def run(self, start: float) -> None:
        end = start + self.args.seconds
        await asyncio.sleep(max(0.0, start - time.time()))
        clients = []
        for deployment in deployments().values():
            cost = policy.token_cost(chat(deployment, PROMPT, **request_body(deployment.name)))
            if deployment.name == "ptu":
                cost = PTU_PROMPT_TOKENS + 4 * PTU_MAX_TOKENS
            rate = self.args.offered * offered_rate(deployment, cost) / self.args.processes
            clients.append(self.open_loop(deployment, rate, start, end))
            clients.extend(self.closed_loop(deployment, end) for _ in range(self.args.closed))
        await asyncio.gather(*clients)


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    config = RateLimitConfig(connection_string=args.connection_string, table_name=args.table)
    store = TableStore.from_config(config)
    limiter = RateLimiter(store, config)
    await limiter.start()
    print("ready", flush=True)
    start = float((await asyncio.to_thread(sys.stdin.readline)).strip())
    driver = Driver(limiter, args, seed=args.seed)
    await driver.run(start)
    await limiter.renewals_done()
    await limiter.aclose()
    # The limiter before issue 14 (this bench run against an earlier checkout) counts less.
    operations = getattr(store, "operations", None)
    return {
        "admitted": driver.admitted,
        "refused": driver.refused,
        "unlimited": driver.unlimited,
        "served_unlimited": limiter.stats.failed_open,
        "store_failures": limiter.stats.store_failures,
        "contended": getattr(limiter.stats, "contended", 0),
        "reads": getattr(operations, "reads", 0),
        "writes": getattr(operations, "writes", 0),
        "conflicts": getattr(operations, "conflicts", 0),
        "longest_ms": getattr(operations, "longest", 0.0) * 1000,
        "waited": limiter.renewals.waited,
        "ahead": limiter.renewals.ahead,
        "p50_ms": percentile(driver.latencies, 0.5) * 1000,
        "p99_ms": percentile(driver.latencies, 0.99) * 1000,
        "max_ms": max(driver.latencies, default=0.0) * 1000,
    }


# --- the figures ------------------------------------------------------------------------------------------------


def merged(results: list[dict[str, Any]], name: str) -> list[tuple[float, float]]:
    return sorted((at, units) for result in results for at, units in result["admitted"].get(name, ()))


def request_windows(events: list[tuple[float, float]], start: float, end: float) -> tuple[int, list[int]]:
    """The most admissions in any fixed 10-s window, and the counts of the windows wholly inside the run."""
    counts = collections.Counter(math.floor(at / REQUEST_WINDOW) for at, _ in events)
    full = range(math.ceil(start / REQUEST_WINDOW), math.floor(end / REQUEST_WINDOW))
    return max(counts.values(), default=0), [counts[window] for window in full]


def worst_sliding(events: list[tuple[float, float]], span: float) -> float:
    """The most units admitted in any `span` seconds (every window starting at an admission: the worst one
    does)."""
    worst = total = 0.0
    first = 0
    for at, units in events:
        total += units
        while events[first][0] <= at - span:
            total -= events[first][1]
            first += 1
        worst = max(worst, total)
    return worst


def sliding_mean(events: list[tuple[float, float]], span: float, start: float, end: float) -> float:
    """Mean units in the windows of `span` starting at each whole second of the run that end within it; NaN
    when the run is shorter than `span`."""
    starts = [start + second for second in range(int(end - span - start) + 1)]
    if not starts:
        return math.nan
    times = [at for at, _ in events]
    cumulative = [0.0]
    for _, units in events:
        cumulative.append(cumulative[-1] + units)
    return statistics.fmean(
        cumulative[bisect.bisect_left(times, first + span)] - cumulative[bisect.bisect_left(times, first)]
        for first in starts
    )


def bucket_replay(events: list[tuple[float, float]], capacity: float, start: float, end: float) -> tuple[float, float]:
    """One central leaky bucket replaying the admissions: its highest level (share of capacity) just before an
    admission, and its mean level sampled every 0.1 s after the run's first `FILL_SECONDS` (an overloaded
    bucket hovers at 100 %: the mean says how much of the capacity was used)."""
    level, last, worst = 0.0, start, 0.0
    rate = capacity / policy.PROVISIONED_BUCKET_SECONDS
    samples: list[float] = []
    sample = start + FILL_SECONDS
    for at, units in [*events, (end, 0.0)]:
        while sample < at:
            samples.append(max(0.0, level - rate * (sample - last)) / capacity)
            sample += 0.1
        level = max(0.0, level - rate * (at - last))
        worst = max(worst, level / capacity) if at < end else worst
        level += units
        last = at
    return worst, statistics.fmean(samples) if samples else math.nan


def analyse(results: list[dict[str, Any]], args: argparse.Namespace, start: float, delay: float) -> dict[str, Any]:
    end = start + args.seconds
    found = deployments()
    requests_limits = policy.limits_for(found["requests"])
    tokens_limits = policy.limits_for(found["tokens"])
    ptu_limits = policy.limits_for(found["ptu"])
    assert isinstance(requests_limits, policy.StandardLimits) and isinstance(tokens_limits, policy.StandardLimits)
    assert isinstance(ptu_limits, policy.ProvisionedLimits)
    figures: dict[str, Any] = {"processes": len(results), "delay_ms": delay * 1000, "seconds": args.seconds}

    events = merged(results, "requests")
    worst, full = request_windows(events, start, end)
    figures["requests"] = {
        "limit": requests_limits.requests_per_window,
        "worst_window": worst,
        "full_windows": full,
        "use": statistics.fmean(full) / requests_limits.requests_per_window if full else math.nan,
        "worst_tokens_share": worst_sliding(events, TOKEN_WINDOW) / requests_limits.tokens_per_minute,
    }
    events = merged(results, "tokens")
    total = sum(units for _, units in events)
    mean = sliding_mean(events, TOKEN_WINDOW, start, end)
    figures["tokens"] = {
        "tpm": tokens_limits.tokens_per_minute,
        "worst_share": worst_sliding(events, TOKEN_WINDOW) / tokens_limits.tokens_per_minute,
        # Runs shorter than a minute: everything admitted lies in one 60-s window that started empty.
        "use": (mean if not math.isnan(mean) else total) / tokens_limits.tokens_per_minute,
        "worst_request_window": request_windows(events, start, end)[0],
        "request_limit": tokens_limits.requests_per_window,
    }
    events = merged(results, "ptu")
    worst_level, mean_level = bucket_replay(events, ptu_limits.tokens_per_minute, start, end)
    figures["ptu"] = {"capacity": ptu_limits.tokens_per_minute, "worst_level": worst_level, "use": mean_level}
    operations = sum(result["reads"] + result["writes"] for result in results)
    writes = sum(result["writes"] for result in results)
    figures["store"] = {
        "operations_per_second_per_process": operations / args.seconds / len(results),
        "conflict_share": sum(result["conflicts"] for result in results) / writes if writes else 0.0,
        "failures": sum(result["store_failures"] for result in results),
        "contended": sum(result["contended"] for result in results),
        "longest_ms": max(result["longest_ms"] for result in results),
    }
    figures["served_unlimited"] = sum(result["served_unlimited"] for result in results)
    figures["unlimited_answers"] = sum(sum(result["unlimited"].values()) for result in results)
    figures["admit_ms"] = {key: max(result[key] for result in results) for key in ("p50_ms", "p99_ms", "max_ms")}
    figures["waited"] = sum(result["waited"] for result in results)
    figures["refused"] = sum(sum(result["refused"].values()) for result in results)
    return figures


def report(figures: dict[str, Any]) -> None:
    requests, tokens, ptu, store = figures["requests"], figures["tokens"], figures["ptu"], figures["store"]
    admit = figures["admit_ms"]
    print(
        f"{figures['processes']} processes, store {figures['delay_ms']:g} ms away each way, {figures['seconds']:g} s:"
    )
    print(
        f"  request-bound: worst 10-s window {requests['worst_window']}/{requests['limit']}, full windows "
        f"{requests['full_windows']} (use {requests['use']:.1%}); "
        f"worst 60-s tokens {requests['worst_tokens_share']:.1%}"
    )
    print(
        f"  token-bound: worst 60-s window {tokens['worst_share']:.1%} of TPM, use {tokens['use']:.1%}; "
        f"worst 10-s window {tokens['worst_request_window']}/{tokens['request_limit']}"
    )
    print(f"  provisioned: worst level at an admission {ptu['worst_level']:.1%}, mean level {ptu['use']:.1%}")
    print(
        f"  store: {store['round_trips_per_second_per_process']:.1f} round trips/s per process "
        f"({store['operations_per_second_per_process']:.1f} counted by the store), "
        f"{store['conflict_share']:.1%} of writes lost, slowest {store['longest_ms']:.0f} ms, "
        f"{store['failures']} failures, {store['contended']} changes given up to contention (429); served unlimited "
        f"{figures['served_unlimited']} (answers without headers {figures['unlimited_answers']})"
    )
    print(
        f"  admit() ms (worst process): p50 {admit['p50_ms']:.2f} p99 {admit['p99_ms']:.1f} max {admit['max_ms']:.0f};"
        f" waited for the store {figures['waited']}, refused {figures['refused']}"
    )


# --- the driver ---------------------------------------------------------------------------------------------------


def proxied_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


def first_start(lead: float = 1.5) -> float:
    """Two seconds before a 10-s boundary, at least `lead` from now: a run of 24 s holds two full windows."""
    now = time.time()
    start = (math.floor(now / REQUEST_WINDOW) + 1) * REQUEST_WINDOW - 2
    return start if start - now >= lead else start + REQUEST_WINDOW


def run(azurite: Azurite, processes: int, delay: float, args: argparse.Namespace) -> dict[str, Any]:
    """One run: `processes` workers through a proxy `delay` seconds each way; the figures."""
    table = f"shared{uuid.uuid4().hex[:10]}"
    with DelayProxy(azurite.table_port, delay) as proxy:
        options = [
            "--worker", proxied_connection_string(proxy.port), table, "--processes", str(processes),
            "--seconds", str(args.seconds), "--offered", str(args.offered), "--closed", str(args.closed),
            "--think-ms", str(args.think_ms),
        ]  # fmt: skip
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.ratelimit_shared", *options, "--seed", str(index)],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(processes)
        ]
        try:
            for process in workers:
                assert process.stdout is not None
                line = process.stdout.readline().strip()
                if line != "ready":
                    raise RuntimeError(f"a worker did not start: {line!r}")
            start = first_start()
            for process in workers:  # all of them first: communicate() waits for the process to end
                assert process.stdin is not None
                process.stdin.write(f"{start}\n")
                process.stdin.flush()
            outputs = [process.communicate(timeout=args.seconds + 120)[0] for process in workers]
        finally:
            for process in workers:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        requests = proxy.requests
    if any(process.returncode for process in workers):
        raise RuntimeError("a worker failed")
    results = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    figures = analyse(results, args, start, delay)
    figures["store"]["round_trips_per_second_per_process"] = requests / args.seconds / processes
    return figures


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ratelimit_shared",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--processes", type=int, action="append", help="processes sharing the store (3 and 8)")
    parser.add_argument("--delay-ms", type=float, action="append", help="store distance each way (0, 5, 10)")
    parser.add_argument("--seconds", type=float, default=75.0, help="per run; 60 s more gives steady figures")
    parser.add_argument("--offered", type=float, default=4.0, help="open-loop load as a multiple of each limit")
    parser.add_argument("--closed", type=int, default=1, help="closed-loop clients per deployment per process")
    parser.add_argument("--think-ms", type=float, default=5.0, help="closed-loop pause after each answer")
    parser.add_argument("--output", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--worker", nargs=2, metavar=("CONNECTION_STRING", "TABLE"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.worker:
        args.connection_string, args.table = args.worker
        args.processes = args.processes[0]
        print(json.dumps(asyncio.run(worker(args))), flush=True)
        return 0
    all_figures = []
    azurite = Azurite().start()
    try:
        for processes in args.processes or [3, 8]:
            for delay_ms in args.delay_ms if args.delay_ms is not None else [0.0, 5.0, 10.0]:
                figures = run(azurite, processes, delay_ms / 1000, args)
                report(figures)
                all_figures.append(figures)
    finally:
        azurite.stop()
    if args.output:
        args.output.write_text(json.dumps(all_figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
