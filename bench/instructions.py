"""Instructions per request, counted by valgrind: a measure of the app's own work that the machine's speed
does not move.

    python -m bench.instructions [--scenario chat --scenario limited] [--requests 2000]

On a shared VM the wrk figures drift by several per cent over minutes, which is as much as the rate limiter
costs; instruction counts repeat to a few per request. Each scenario runs in-process
(`bench.inprocess`) under valgrind's cachegrind twice, with `--requests` and twice as many requests after
the same warm-up; the difference over `--requests` is what one request costs, including about 3,000
instructions of `bench.inprocess`'s own (each request's body is made and sent through its ASGI driver), which
cancel out of the ratios. Reported per scenario and as
a ratio to the first scenario (chat by default): `limited / chat` is the limiter's share, wherever it runs.
Instructions are not time (a cache miss costs more than an addition), so these complement the wrk runs of
`python -m bench` rather than replace them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

from bench import scenarios
from bench.servers import REPO

_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")


def total_instructions(valgrind_output: str) -> int:
    """The program's total from cachegrind's summary ("I refs: 4,851,016,164")."""
    match = _TOTAL.search(valgrind_output)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {valgrind_output[-500:]!r}")
    return int(match.group(1).replace(",", ""))


def count(scenario: str, requests: int, max_tokens: int) -> int:
    command = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, "-m", "bench.inprocess", "--scenario", scenario, "--requests", str(requests),
        "--max-tokens", str(max_tokens),
    ]  # fmt: skip
    # A fixed hash seed: string hashes decide dict layouts, and so hundreds of instructions per request.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{scenario}: {completed.stderr[-1000:]}")
    return total_instructions(completed.stderr)


def per_request(scenario: str, requests: int, max_tokens: int) -> float:
    """(count with 2N requests − count with N) / N: start-up, imports and warm-up cancel out."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        short, long = pool.map(lambda n: count(scenario, n, max_tokens), (requests, 2 * requests))
    return (long - short) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=[s.name for s in scenarios.scenarios()])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-tokens", type=int, default=50)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is needed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    chosen = args.scenario or ["chat", "limited"]
    figures = {name: per_request(name, args.requests, args.max_tokens) for name in chosen}
    baseline = figures[chosen[0]]
    for name, value in figures.items():
        print(f"{name:12} {value:10,.0f} instructions/request  {value / baseline:6.1%} of {chosen[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
