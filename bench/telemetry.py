"""What exporting telemetry costs under load: `python -m bench.telemetry` (`make bench-telemetry`).

Two simulators, pinned to the same core, take turns under wrk from the other core with the same chat request:
one as by default (no exporter), one exporting over OTLP/HTTP every second (`OTEL_METRIC_EXPORT_INTERVAL`,
spans batched as usual) to a collector on loopback that accepts and discards (run here, on the client's
core). Reported: requests/s and CPU per request of each, round by round, and OTLP's share of the default's
throughput (the issue's target: at least 90 %). Alternating rounds, as `python -m bench` does, keeps the
machine's drift out of the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import scenarios, wrk
from bench.perf import drive, measurement, simulator_env
from bench.scenarios import HEADERS
from bench.servers import PinnedServer, simulator_command
from tests.support.receiver import PostReceiver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured wrk run (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the first round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=50)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--scenario", default="chat", choices=[s.name for s in scenarios.scenarios()])
    args = parser.parse_args(argv)
    scenario = next(s for s in scenarios.scenarios(args.max_tokens) if s.name == args.scenario)
    collector = PostReceiver(keep=False).start()  # accepts and discards, on the client's core
    otlp = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }
    with tempfile.TemporaryDirectory(prefix="aoai-bench-") as scratch:
        work = Path(scratch)
        deployments = work / "deployments.json"
        deployments.write_text(json.dumps(scenarios.DEPLOYMENTS))
        servers = []
        for name, extra in (("default", {}), ("otlp", otlp)):
            server = PinnedServer(name, simulator_command(), core=args.server_core)
            server.env.update(simulator_env(deployments, SIMULATOR_LATENCY_ENABLED="false", **extra))
            servers.append(server.start())
        try:
            for server in servers:
                server.wait_for(scenario.path, scenario.sample_body(), HEADERS)
            load = wrk.Load(scenario.path, scenario.body, HEADERS)
            results: dict[str, list[Any]] = {server.name: [] for server in servers}
            for round_ in range(args.repeat):
                for server in servers if round_ % 2 == 0 else reversed(servers):
                    if round_ == 0 and args.warmup > 0:
                        drive(args, work, server, load, args.warmup)
                    result, use = drive(args, work, server, load, args.duration)
                    results[server.name].append(measurement(scenario.name, server.name, round_, result, use))
                    figures = results[server.name][-1]
                    print(
                        f"round {round_} {server.name:8} {figures.requests_per_s:8.0f} req/s "
                        f"{figures.cpu_us_per_request:6.1f} µs CPU/request",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            for server in servers:
                server.stop()
    rates = {name: statistics.median(m.requests_per_s for m in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(m.cpu_us_per_request for m in runs) for name, runs in results.items()}
    print(f"{scenario.title}: default {rates['default']:.0f} req/s ({cpu['default']:.1f} µs CPU/request)")
    print(f"{scenario.title}: OTLP on  {rates['otlp']:.0f} req/s ({cpu['otlp']:.1f} µs CPU/request)")
    print(f"OTLP on / default: {rates['otlp'] / rates['default']:.1%} of the throughput (target ≥ 90 %), "
          f"collector received {collector.count} posts")  # fmt: skip
    collector.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
