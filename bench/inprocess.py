"""The app's own cost per request, without an HTTP server: the bench's scenarios sent straight to the ASGI app.

    python -m bench.inprocess [--scenario chat] [--requests 20000] [--profile] [--max-tokens 50]
    python -m bench.inprocess --paced 2000 [--burst 10] [--max-tokens 250] [--ramp 0.8]

Reports µs of CPU per request for each scenario. `--profile` runs cProfile over the same loop and prints the
functions that took the most time, which is where hot-path waste shows first. The HTTP server's share
(uvicorn, httptools, syscalls) is what `python -m bench` adds on top.

`--paced N` instead holds N paced streams at once (TTFT 100 ms, 50 tokens/s, `--burst` tokens per release),
opened over `--ramp` seconds, and reports CPU per stream over their whole life and how many timer callbacks
and loop timers the pacer used per stream: one callback per release is the design.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import scenarios

Message = dict[str, Any]
OPEN_BATCH = 25  # paced streams opened together


async def call(
    app: Callable[..., Awaitable[None]],
    path: str,
    body: bytes,
    kept: list[bytes] | None = None,
    headers: dict[str, str] = scenarios.HEADERS,
) -> tuple[int, int]:
    """One request through the ASGI app: its status and how many body bytes came back (the bytes themselves
    appended to `kept` when given)."""
    url = urlsplit(path)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    received = False
    status = size = 0

    async def receive() -> Message:
        nonlocal received
        if received:
            await asyncio.Event().wait()  # a client that stays until the answer ends
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            size += len(message.get("body", b""))
            if kept is not None:
                kept.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


async def continued(app: Any, scenario: scenarios.Scenario) -> scenarios.Scenario:
    """A scenario that continues a stored response, with the id of one made now (as bench.perf does)."""
    if not scenarios.continues(scenario):
        return scenario
    kept: list[bytes] = []
    await call(app, "/openai/v1/responses", scenarios.responses_body(max_tokens=16, store=True).encode(), kept)
    return scenarios.continuing(scenario, json.loads(b"".join(kept))["id"])


async def measure(app: Any, chosen: list[scenarios.Scenario], requests: int) -> dict[str, float]:
    figures = {}
    for scenario in chosen:
        scenario = await continued(app, scenario)
        bodies = [scenario.body.replace("{n}", str(n)).encode() for n in range(requests)]
        status, _ = await call(app, scenario.path, bodies[0])
        if status != 200:
            raise SystemExit(f"{scenario.name}: status {status}")
        started = time.process_time()
        for body in bodies:
            await call(app, scenario.path, body)
        figures[scenario.name] = (time.process_time() - started) / requests * 1e6
    return figures


async def measure_paced(app: Any, timer: Any, args: argparse.Namespace) -> dict[str, float]:
    """N paced streams, opened `OPEN_BATCH` at a time over the ramp, until the last one ends."""
    counts = {"callbacks": 0, "timers": 0}
    fire = timer._fire

    def counted_fire(slot: int) -> None:
        counts["timers"] += 1
        counts["callbacks"] += len(timer._slots.get(slot, ()))
        fire(slot)

    timer._fire = counted_fire  # the pacer's timer schedules `self._fire`: counted from here on
    body = scenarios.chat_body(max_tokens=args.max_tokens, stream=True).encode()
    path = scenarios.Scenario("paced", "", scenarios.paced_deployment(args.burst), "chat/completions", "").path
    await call(app, path, scenarios.chat_body(max_tokens=1).encode())  # warm-up: first-request caches
    counts.update(callbacks=0, timers=0)
    started = time.process_time()
    streams = []
    for opened in range(0, args.paced, OPEN_BATCH):
        streams += [asyncio.ensure_future(call(app, path, body)) for _ in range(min(OPEN_BATCH, args.paced - opened))]
        await asyncio.sleep(args.ramp * OPEN_BATCH / args.paced)
    answers = await asyncio.gather(*streams)
    if any(status != 200 for status, _ in answers):
        raise SystemExit(f"paced: statuses {sorted({status for status, _ in answers})}")
    cpu = time.process_time() - started
    return {
        "µs CPU per stream": cpu / args.paced * 1e6,
        "timer callbacks per stream": counts["callbacks"] / args.paced,
        "loop timers per stream": counts["timers"] / args.paced,
    }


async def run(args: argparse.Namespace, deployments: Path) -> dict[str, float]:
    paced = args.paced > 0
    os.environ.update(
        SIMULATOR_API_KEY=scenarios.API_KEY,
        OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments),
        SIMULATOR_COMPLETION_TOKENS="4000",
        SIMULATOR_SEED="1",
        SIMULATOR_LATENCY_ENABLED="true" if paced else "false",
        LOG_LEVEL="WARNING",
    )
    if paced:  # the latency config's own `enabled` would turn latency on for the throughput scenarios too
        os.environ["SIMULATOR_LATENCY_CONFIG"] = scenarios.paced_latency(
            {scenarios.paced_deployment(args.burst): args.burst}, ttft_ms=100, tokens_per_second=50
        )
    from simulator.app import Simulator
    from simulator.server import create_app
    from simulator.settings import Settings

    simulator = Simulator.from_settings(Settings.from_env())
    app = create_app(simulator)
    chosen = [s for s in scenarios.scenarios(args.max_tokens) if not args.scenario or s.name in args.scenario]
    await simulator.start()
    try:
        if paced:
            return await measure_paced(app, simulator.pacer.timer, args)
        await measure(app, chosen, min(args.requests, 500))  # warm-up: token-count and vector caches
        if not args.profile:
            return await measure(app, chosen, args.requests)
        profiler = cProfile.Profile()
        profiler.enable()
        figures = await measure(app, chosen, args.requests)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
        return figures
    finally:
        await simulator.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=[s.name for s in scenarios.scenarios()])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--max-tokens", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="print cProfile's busiest functions")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--paced", type=int, default=0, help="hold this many paced streams instead")
    parser.add_argument("--burst", type=int, default=10, help="burstTokens of the paced streams")
    parser.add_argument("--ramp", type=float, default=0.8, help="seconds over which paced streams open")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aoai-inprocess-") as scratch:
        deployments = Path(scratch) / "deployments.json"
        paced = {scenarios.paced_deployment(args.burst): {"model": "gpt-4o"}}
        deployments.write_text(json.dumps({**scenarios.DEPLOYMENTS, **paced}))
        try:
            import uvloop
        except ImportError:
            figures = asyncio.run(run(args, deployments))
        else:
            figures = uvloop.run(run(args, deployments))
    for name, value in figures.items():
        print(f"{name:12} {value:8.1f} µs/request" if not args.paced else f"{value:8.1f} {name}")


if __name__ == "__main__":
    main()
