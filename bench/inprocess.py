"""The app's own cost per request, without an HTTP server: the bench's scenarios sent straight to the ASGI app.

    python -m bench.inprocess [--scenario chat] [--requests 20000] [--profile] [--max-tokens 50]

Reports µs of CPU per request for each scenario. `--profile` runs cProfile over the same loop and prints the
functions that took the most time, which is where hot-path waste shows first. The HTTP server's share
(uvicorn, httptools, syscalls) is what `python -m bench` adds on top.
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


async def call(app: Callable[..., Awaitable[None]], path: str, body: bytes) -> tuple[int, int]:
    """One request through the ASGI app: its status and how many body bytes came back."""
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
        "headers": [(name.encode(), value.encode()) for name, value in scenarios.HEADERS.items()]
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

    await app(scope, receive, send)
    return status, size


async def measure(app: Any, chosen: list[scenarios.Scenario], requests: int) -> dict[str, float]:
    figures = {}
    for scenario in chosen:
        bodies = [scenario.body.replace("{n}", str(n)).encode() for n in range(requests)]
        status, _ = await call(app, scenario.path, bodies[0])
        if status != 200:
            raise SystemExit(f"{scenario.name}: status {status}")
        started = time.process_time()
        for body in bodies:
            await call(app, scenario.path, body)
        figures[scenario.name] = (time.process_time() - started) / requests * 1e6
    return figures


async def run(args: argparse.Namespace, deployments: Path) -> dict[str, float]:
    os.environ.update(
        SIMULATOR_API_KEY=scenarios.API_KEY,
        OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments),
        SIMULATOR_COMPLETION_TOKENS="4000",
        SIMULATOR_SEED="1",
        SIMULATOR_LATENCY_ENABLED="false",
        LOG_LEVEL="WARNING",
    )
    from simulator.app import Simulator
    from simulator.server import create_app
    from simulator.settings import Settings

    simulator = Simulator.from_settings(Settings.from_env())
    app = create_app(simulator)
    chosen = [s for s in scenarios.scenarios(args.max_tokens) if not args.scenario or s.name in args.scenario]
    await simulator.start()
    try:
        await measure(app, chosen, min(args.requests, 500))  # warm-up: encodings, caches
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
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aoai-inprocess-") as scratch:
        deployments = Path(scratch) / "deployments.json"
        deployments.write_text(json.dumps(scenarios.DEPLOYMENTS))
        try:
            import uvloop
        except ImportError:
            figures = asyncio.run(run(args, deployments))
        else:
            figures = uvloop.run(run(args, deployments))
    for name, micros in figures.items():
        print(f"{name:12} {micros:8.1f} µs/request")


if __name__ == "__main__":
    main()
