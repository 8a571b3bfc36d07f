"""The performance benchmark (docs/performance.md): the simulator against the ceiling of its own web stack.

    python -m bench [--duration 8] [--repeat 2] [--long] [--streams 1000 5000] [--stream-burst 0 10]

The simulator (`python -m simulator`, latency off) and a bare Starlette app answering the same bytes
(`bench.ceiling`) run pinned to one core; wrk drives them from the other, one at a time, alternating so
that both see the same machine. Then a second simulator, with latency on, holds many paced streams for a
client process (`bench.streams`). Prints a table and writes the figures to bench/results/perf-*.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procstat, report, scenarios, wrk
from bench.scenarios import HEADERS, Scenario
from bench.servers import PinnedServer, ceiling_command, post, simulator_command, stream_floor_command

RESULTS = Path(__file__).resolve().parent / "results"
RATE_LIMIT_HEADER = "x-ratelimit-remaining-tokens"
LONG_WINDOW_S = 60.0
LONG_GAP_S = 240.0
LONG_SLICES = 6  # minutes 1 and 6 as this many slices, each followed by as long a slice of unlimited chat
PACED_TTFT_MS = 100.0
HOOKS_EXTENSION = Path(__file__).resolve().parent / "noop_hooks.py"


@dataclasses.dataclass(frozen=True, slots=True)
class Measurement:
    scenario: str
    server: str  # "simulator" or "ceiling"
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    cpu_us_per_request: float
    server_cpu_share: float  # the server's CPU seconds per wall second (about 1.0 when it is the bottleneck)
    foreign_cpu_share: float  # other processes' share of the server's core during the run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured wrk run (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the first round (default 2)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every measurement, to show noise (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--max-tokens", type=int, default=50, help="max_tokens of the chat scenarios (default 50)")
    names = [s.name for s in (*scenarios.scenarios(), *scenarios.media_scenarios())]
    parser.add_argument("--scenario", action="append", choices=names)
    parser.add_argument(
        "--media", action="store_true", help="also the audio and image scenarios (loads their codecs: more memory)"
    )
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--streams", type=int, nargs="*", default=[1000, 5000], help="concurrent paced streams")
    parser.add_argument("--stream-burst", type=int, nargs="+", default=[0, 10], help="burstTokens of paced streams")
    parser.add_argument("--stream-tokens", type=int, default=250, help="tokens per paced stream (default 250)")
    parser.add_argument("--stream-rate", type=float, default=50.0, help="tokens per second per stream (default 50)")
    parser.add_argument("--stream-ramp", type=float, default=2.0, help="seconds over which streams open (default 2)")
    parser.add_argument("--long", action="store_true", help="also 9 minutes of rate-limited load (minute 1 vs 6)")
    parser.add_argument("--hooks", action="store_true", help="load bench/noop_hooks.py")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/perf-<time>.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"bench: {', '.join(missing)} not found (Debian: apt-get install wrk util-linux)", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {args.client_core})  # the polling and the report stay off the server's core
    results: dict[str, Any] = {"command": " ".join(["python -m bench", *(argv or sys.argv[1:])]), "machine": machine()}
    results["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    with tempfile.TemporaryDirectory(prefix="aoai-bench-") as scratch:
        work = Path(scratch)
        deployments = work / "deployments.json"
        paced = {scenarios.paced_deployment(burst): burst for burst in args.stream_burst}
        deployments.write_text(json.dumps({**scenarios.DEPLOYMENTS, **{name: {"model": "gpt-4o"} for name in paced}}))
        results["throughput"] = throughput(args, work, deployments)
        if args.streams:
            results["paced_streams"] = paced_streams(args, deployments, paced)
    results["machine"]["load_average_after"] = os.getloadavg()
    results["summary"] = report.summarise(results)
    output = args.output or RESULTS / time.strftime("perf-%Y%m%d-%H%M%S.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(report.render(results))
    print(f"\nfigures: {output}")
    return 0


def simulator_env(deployments: Path, **extra: str) -> dict[str, str]:
    return {
        "SIMULATOR_API_KEY": scenarios.API_KEY,
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments),
        "SIMULATOR_COMPLETION_TOKENS": "4000",  # every answer as long as its max_tokens
        "SIMULATOR_SEED": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def throughput(args: argparse.Namespace, work: Path, deployments: Path) -> dict[str, Any]:
    everything = [*scenarios.scenarios(args.max_tokens), *scenarios.media_scenarios()]
    default = {s.name for s in scenarios.scenarios(args.max_tokens)} | (
        {s.name for s in scenarios.media_scenarios()} if args.media else set()
    )
    chosen = [s for s in everything if s.name in (args.scenario or default)]
    launch = scenarios.first_chat()
    simulator = PinnedServer("simulator", simulator_command(), core=args.server_core)
    simulator.env.update(simulator_env(deployments, SIMULATOR_LATENCY_ENABLED="false"))
    if args.hooks:
        simulator.env["EXTENSION_PATH"] = str(HOOKS_EXTENSION)
    with simulator:
        launch_s = simulator.wait_for(launch.path, launch.sample_body(), HEADERS)
        bodies = work / "bodies"
        samples = capture(simulator, chosen, bodies)
        with PinnedServer("ceiling", ceiling_command(bodies), core=args.server_core) as ceiling:
            ceiling.wait_for(f"/{chosen[0].name}", chosen[0].sample_body(), chosen[0].headers)
            measurements = measure_rounds(args, work, simulator, ceiling, chosen)
        section: dict[str, Any] = {
            "launch_to_first_chat_s": launch_s,
            "samples": samples,
            "measurements": [dataclasses.asdict(m) for m in measurements],
            "resident_mib_after": procstat.resident_bytes(simulator.pid) / 2**20,
        }
        if args.long:
            section["long"] = long_run(args, work, simulator)
            section["resident_mib_after_long"] = procstat.resident_bytes(simulator.pid) / 2**20
    return section


def continued(server: PinnedServer, scenario: Scenario) -> Scenario:
    """A scenario that continues a stored response, with the id of one made now; others as they are (and so
    on the ceiling, which answers any body)."""
    if not scenarios.continues(scenario) or server.name == "ceiling":
        return scenario
    first = scenarios.responses_body(max_tokens=16, store=True)
    answer = post(server.port, "/openai/v1/responses", first.encode(), HEADERS)
    if answer.status != 200:
        raise RuntimeError(f"{scenario.name}: the first turn answered {answer.status}: {answer.body[:300]!r}")
    return scenarios.continuing(scenario, json.loads(answer.body)["id"])


def capture(server: PinnedServer, chosen: list[Scenario], bodies: Path) -> dict[str, Any]:
    """One answer per scenario: its size, whether rate-limit headers came, and its bytes for the ceiling."""
    bodies.mkdir()
    samples = {}
    for scenario in chosen:
        answer = post(server.port, scenario.path, continued(server, scenario).sample_body(), scenario.headers)
        if answer.status != 200:
            raise RuntimeError(f"{scenario.name}: the simulator answered {answer.status}: {answer.body[:300]!r}")
        (bodies / f"{scenario.name}.{'sse' if scenario.stream else 'json'}").write_bytes(answer.body)
        samples[scenario.name] = {
            "body_bytes": len(answer.body),
            "rate_limit_headers": RATE_LIMIT_HEADER in answer.headers,
        }
    return samples


def measure_rounds(
    args: argparse.Namespace, work: Path, simulator: PinnedServer, ceiling: PinnedServer, chosen: list[Scenario]
) -> list[Measurement]:
    measurements = []
    for round_ in range(args.repeat):
        for scenario in chosen:
            servers = [(ceiling, f"/{scenario.name}"), (simulator, scenario.path)]
            for server, path in servers if round_ % 2 == 0 else reversed(servers):
                # Made just before the run: other scenarios' stored turns may have pushed an older one out.
                load = wrk.Load(path, continued(server, scenario).body, scenario.headers)
                if round_ == 0 and args.warmup > 0:
                    drive(args, work, server, load, args.warmup)
                result, use = drive(args, work, server, load, args.duration)
                measurements.append(measurement(scenario.name, server.name, round_, result, use))
                print(report.progress(measurements[-1]), file=sys.stderr, flush=True)
    return measurements


def drive(
    args: argparse.Namespace, work: Path, server: PinnedServer, load: wrk.Load, seconds: float
) -> tuple[wrk.WrkResult, procstat.CpuUse]:
    before = procstat.CpuSample.take(server.pid, args.server_core)
    result = wrk.run(
        load, server.port, seconds=seconds, connections=args.connections, core=args.client_core, scripts=work
    )
    return result, procstat.CpuUse.between(before, procstat.CpuSample.take(server.pid, args.server_core))


def measurement(scenario: str, server: str, round_: int, result: wrk.WrkResult, use: procstat.CpuUse) -> Measurement:
    return Measurement(
        scenario=scenario,
        server=server,
        round=round_,
        requests_per_s=result.rate,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        max_ms=result.max_ms,
        errors=result.errors,
        cpu_us_per_request=use.process / result.requests * 1e6 if result.requests else float("nan"),
        server_cpu_share=use.process / use.wall,
        foreign_cpu_share=use.foreign / use.wall,
    )


def long_run(args: argparse.Namespace, work: Path, simulator: PinnedServer) -> dict[str, Any]:
    """Rate-limited chat on a fresh deployment: the first minute, four more minutes of load, the sixth minute.

    The machine's own speed drifts over minutes (a shared VM), by as much as the limiter costs. So minutes 1
    and 6 are each taken in slices that alternate with unlimited chat: slices taken in turn see the same
    machine, so rate-limited ÷ unlimited within a minute is the limiter's share alone, and comparing that
    share between the minutes shows whether the limiter slows as its windows fill, whatever the machine did.
    """
    body = scenarios.chat_body(max_tokens=args.max_tokens)
    path = scenarios.Scenario("long", "", "bench-limited-long", "chat/completions", body).path
    limited = wrk.Load(path, body, HEADERS)
    unlimited = wrk.Load(scenarios.scenarios(args.max_tokens)[0].path, body, HEADERS)
    long = paired_minute(args, work, simulator, limited, unlimited, 1)
    long["minutes_2_to_5"] = dataclasses.asdict(
        long_measurement(args, work, simulator, limited, LONG_GAP_S, "minutes 2 to 5")
    )
    long.update(paired_minute(args, work, simulator, limited, unlimited, 6))
    return long


def paired_minute(
    args: argparse.Namespace, work: Path, simulator: PinnedServer, limited: wrk.Load, unlimited: wrk.Load, minute: int
) -> dict[str, Any]:
    """A minute of rate-limited load in `LONG_SLICES` slices, each followed by as long a slice of unlimited chat:
    `minute_N` and `unlimited_during_minute_N`, pooled, and each one's rate slice by slice."""
    seconds = LONG_WINDOW_S / LONG_SLICES
    rate_limited: list[Measurement] = []
    unlimited_chat: list[Measurement] = []
    for index in range(1, LONG_SLICES + 1):
        rate_limited.append(long_measurement(args, work, simulator, limited, seconds, f"min {minute} slice {index}"))
        unlimited_chat.append(long_measurement(args, work, simulator, unlimited, seconds, f"unlimited slice {index}"))
    result: dict[str, Any] = {}
    for label, measured in ((f"minute_{minute}", rate_limited), (f"unlimited_during_minute_{minute}", unlimited_chat)):
        result[label] = dataclasses.asdict(pooled(measured))
        result[f"{label}_slices"] = [m.requests_per_s for m in measured]
    return result


def long_measurement(
    args: argparse.Namespace, work: Path, simulator: PinnedServer, load: wrk.Load, seconds: float, label: str
) -> Measurement:
    result, use = drive(args, work, simulator, load, seconds)
    measured = measurement("limited-long", simulator.name, 0, result, use)
    print(report.progress(dataclasses.replace(measured, scenario=f"long {label}")), file=sys.stderr, flush=True)
    return measured


def pooled(slices: list[Measurement]) -> Measurement:
    """Equal slices as one run: mean rate and CPU, median latencies, worst maximum, summed errors."""
    return Measurement(
        scenario=slices[0].scenario,
        server=slices[0].server,
        round=0,
        requests_per_s=statistics.fmean(m.requests_per_s for m in slices),
        p50_ms=statistics.median(m.p50_ms for m in slices),
        p99_ms=statistics.median(m.p99_ms for m in slices),
        max_ms=max(m.max_ms for m in slices),
        errors=sum(m.errors for m in slices),
        cpu_us_per_request=statistics.fmean(m.cpu_us_per_request for m in slices),
        server_cpu_share=statistics.fmean(m.server_cpu_share for m in slices),
        foreign_cpu_share=max(m.foreign_cpu_share for m in slices),
    )


def paced_streams(args: argparse.Namespace, deployments: Path, paced: dict[str, int]) -> dict[str, Any]:
    interval_ms = 1000.0 / args.stream_rate
    latency = scenarios.paced_latency(paced, ttft_ms=PACED_TTFT_MS, tokens_per_second=args.stream_rate)
    server = PinnedServer("paced simulator", simulator_command(), core=args.server_core)
    server.env.update(simulator_env(deployments, SIMULATOR_LATENCY_ENABLED="true", SIMULATOR_LATENCY_CONFIG=latency))
    launch = scenarios.first_chat()
    with server, tempfile.TemporaryDirectory(prefix="aoai-floor-") as scratch:
        section: dict[str, Any] = {
            "launch_to_first_chat_s": server.wait_for(launch.path, launch.sample_body(), HEADERS)
        }
        section.update(interval_ms=interval_ms, ttft_ms=PACED_TTFT_MS, tokens=args.stream_tokens, runs=[])
        if not paces(server, next(iter(paced)), interval_ms):
            section["skipped"] = "the server does not pace streams (latency not wired into the pipeline yet?)"
            print(f"paced streams: skipped: {section['skipped']}", file=sys.stderr)
            return section
        body = Path(scratch) / "stream.txt"
        body.write_bytes(stream_sample(server, next(iter(paced)), args.stream_tokens))
        for name, burst in paced.items():
            floor_command = stream_floor_command(body, ttft_ms=PACED_TTFT_MS, interval_ms=interval_ms, burst=burst)
            with PinnedServer("stream floor", floor_command, core=args.server_core) as floor:
                floor.wait_listening()
                for count in args.streams:
                    runs = {}
                    for label, target, path in (("floor", floor, "/floor"), ("simulator", server, None)):
                        runs[label] = stream_run(args, target, name, count, interval_ms, burst, path=path)
                        runs[label].update(burst_tokens=burst, server=label)
                        print(report.stream_progress(runs[label]), file=sys.stderr, flush=True)
                    section["runs"].append({**runs["simulator"], "floor": runs["floor"]})
        section["resident_mib_after"] = procstat.resident_bytes(server.pid) / 2**20
        section["peak_resident_mib"] = procstat.resident_bytes(server.pid, "VmHWM") / 2**20
    return section


def stream_sample(server: PinnedServer, deployment: str, tokens: int) -> bytes:
    """One whole paced answer, so the floor sends exactly the simulator's bytes."""
    body = scenarios.chat_body(max_tokens=tokens, stream=True)
    sample = scenarios.Scenario("sample", "", deployment, "chat/completions", body)
    answer = post(server.port, sample.path, sample.sample_body(), HEADERS, timeout=120)
    if answer.status != 200:
        raise RuntimeError(f"paced stream sample: status {answer.status}")
    return answer.body


def paces(server: PinnedServer, deployment: str, interval_ms: float) -> bool:
    """Whether a 10-token stream takes at least the TTFT plus most of its nine intervals."""
    probe = scenarios.Scenario(
        "probe", "", deployment, "chat/completions", scenarios.chat_body(max_tokens=10, stream=True)
    )
    answer = post(server.port, probe.path, probe.sample_body(), HEADERS)
    return answer.status == 200 and answer.seconds * 1000 >= PACED_TTFT_MS + 5 * interval_ms


def stream_run(
    args: argparse.Namespace,
    server: PinnedServer,
    deployment: str,
    count: int,
    interval_ms: float,
    burst: int,
    *,
    path: str | None = None,
) -> dict[str, Any]:
    body = scenarios.chat_body(max_tokens=args.stream_tokens, stream=True)
    path = path or scenarios.Scenario("paced", "", deployment, "chat/completions", body).path
    expected_s = args.stream_ramp + (PACED_TTFT_MS + args.stream_tokens * interval_ms) / 1000
    command = [
        "taskset", "-c", str(args.client_core), sys.executable, "-m", "bench.streams", "--port", str(server.port),
        "--path", path, "--body", body, "--api-key", scenarios.API_KEY, "--streams", str(count),
        "--interval-ms", str(interval_ms), "--burst", str(burst), "--ramp", str(args.stream_ramp),
        "--timeout", str(expected_s + 30),
    ]  # fmt: skip
    before = procstat.CpuSample.take(server.pid, args.server_core)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=expected_s + 90, check=False)
    use = procstat.CpuUse.between(before, procstat.CpuSample.take(server.pid, args.server_core))
    if completed.returncode != 0:
        raise RuntimeError(f"bench.streams failed: {completed.stderr.strip()[-1000:]}")
    run = json.loads(completed.stdout)
    run.update(server_cpu_share=use.process / use.wall, foreign_cpu_share=use.foreign / use.wall)
    return run


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    versions = {}
    for package in ("uvicorn", "starlette", "uvloop", "httptools", "orjson", "numpy", "tiktoken"):
        try:
            versions[package] = __import__(package).__version__
        except (ImportError, AttributeError):
            versions[package] = None
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version.split(" Copyright")[0].strip(),
        "packages": versions,
        "load_average_before": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
