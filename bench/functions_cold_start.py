"""Cold start of the Functions app in the real Python worker, beside the local server's.

`python -m bench.functions_cold_start [--runs N]`: each run starts a fresh worker behind the stand-in host of
tests/support/functions_host (protos compiled once, before the first run) and times, from launching the worker
process: its gRPC connection, the WorkerInitResponse (the app indexed, the HTTP streams server up), every
function loaded, and the first chat completion answered 200 (the simulator built on that first request: settings,
deployments, tokenizer encodings). A fresh `python -m simulator` is timed to its first chat 200 in the same
rounds, alternating with the worker so that the machine's load falls on both alike; then the pieces of the
simulator's own start are timed in fresh interpreters, to say where the time goes. Medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procstat import process_cpu_seconds
from bench.servers import REPO, PinnedServer, simulator_command
from tests.support.functions_host import FunctionsHost, prepare_worker

KEY = "cold-start-key"
CHAT_PATH = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
# What the simulator does on a cold start, piece by piece, each in a fresh interpreter.
PIECES = {
    "import azure.functions + the HTTP streams extension (FastAPI)": (
        "import azure.functions, azurefunctions.extensions.http.fastapi"
    ),
    "import function_app (all of the above, the simulator, the route table)": "import function_app",
    "build and start the simulator (settings, encodings, stores)": (
        "import asyncio, function_app\nstart = time.process_time()\nasyncio.run(function_app.get_simulator())"
    ),
    "of which: load the tokenizer encodings (o200k_base, cl100k_base)": (
        "import simulator.tokens as tokens\nstart = time.process_time()\ntokens.load_encodings()"
    ),
}


def settings() -> dict[str, str]:
    values = json.loads((REPO / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    return {**values, "SIMULATOR_API_KEY": KEY, "SIMULATOR_LATENCY_ENABLED": "false"}


def worker_run(worker: Path) -> dict[str, float]:
    host = FunctionsHost(REPO, worker, settings())
    try:
        host.start()
        first = first_chat(host.url, deadline=time.monotonic() + 30)
        launched_to_loaded = host.times.loaded
        return {
            "gRPC connected": host.times.connected,
            "app indexed, HTTP server up (WorkerInitResponse)": host.times.initialized,
            "functions loaded": launched_to_loaded,
            "first chat 200": launched_to_loaded + first,
            "CPU to first chat 200": process_cpu_seconds(host.worker_pid),
        }
    finally:
        host.stop()


def first_chat(url: str, *, deadline: float) -> float:
    started = time.monotonic()
    answer = httpx.post(url + CHAT_PATH, json=CHAT, headers={"api-key": KEY}, timeout=max(1.0, deadline - started))
    if answer.status_code != 200:
        raise RuntimeError(f"first chat answered {answer.status_code}: {answer.text[:300]}")
    return time.monotonic() - started


def local_run() -> tuple[float, float]:
    """Launch to the first chat 200, polling as a client would (it cannot know when the port opens), and the
    server's CPU seconds by then."""
    env = {name: value for name, value in settings().items() if name != "FUNCTIONS_WORKER_RUNTIME"}
    body, headers = json.dumps(CHAT).encode(), {"api-key": KEY, "content-type": "application/json"}
    with PinnedServer("local server", simulator_command(), core=None, env=env) as server:  # unpinned, as the worker
        return server.wait_for(CHAT_PATH, body, headers), process_cpu_seconds(server.pid)


def piece(code: str) -> float:
    """CPU seconds the code takes in a fresh interpreter started in the app folder (after Python's own start):
    CPU rather than wall time, so that other processes on a shared machine do not count."""
    return fresh_interpreter(f"import time\nstart = time.process_time()\n{code}\nprint(time.process_time() - start)")


def python_start() -> float:
    """CPU seconds of the interpreter's own start, up to running its first line."""
    return fresh_interpreter("import time\nprint(time.process_time())")


def fresh_interpreter(script: str) -> float:
    """What `script` prints last, run in a fresh interpreter in the app folder with the app's settings."""
    env = {**os.environ, **settings()}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.functions_cold_start", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of fresh starts (default 5)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO.parent / "shared" / "tiktoken-cache"))
    worker = prepare_worker(Path(tempfile.mkdtemp(prefix="functions-worker-")))
    rounds: list[dict[str, float]] = []
    for _ in range(args.runs):  # everything once per round, so the machine's load falls on all of it alike
        measured = {f"worker: {step}": seconds for step, seconds in worker_run(worker).items()}
        local = local_run()
        measured["local server: first chat 200"], measured["local server: CPU to first chat 200"] = local
        measured["CPU: python itself starts"] = python_start()
        measured.update({f"CPU: {name}": piece(code) for name, code in PIECES.items()})
        rounds.append(measured)
    median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    print(f"Cold start, median of {args.runs} rounds, s (min-max); CPU: CPU time, not inflated by a busy machine")
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        print(f"  {name:<78} {median[name]:6.3f}  ({min(values):.3f}-{max(values):.3f})")
    ratio = median["worker: first chat 200"] / median["local server: first chat 200"]
    cpu = median["worker: CPU to first chat 200"] / median["local server: CPU to first chat 200"]
    print(f"  worker / local server, first chat 200: {ratio:.2f} in wall time, {cpu:.2f} in CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
