"""Three processes share one deployment through Table Storage (Azurite) and together stay within its budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulator.ratelimit.config import DEFAULT_TABLE_LEASE_FRACTION
from simulator.ratelimit.limiter import MAX_LEASE_FACTOR
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[2]


def start_workers(azurite: Azurite, table: str, count: int, *options: str) -> list[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "tests.ratelimit.shared_worker", azurite.connection_string, table, *options]
    workers = [
        subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return workers


def results(workers: list[subprocess.Popen[str]]) -> list[dict[str, float]]:
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    return [json.loads(output.strip().splitlines()[-1]) for output in outputs]


def test_three_processes_together_stay_within_the_token_budget(azurite: Azurite) -> None:
    tpm, cost = 30_000, 100
    workers = start_workers(
        azurite, "sharedbudget", 3, "--tpm", str(tpm), "--rpm", "600000", "--cost", str(cost), "--seconds", "1.5"
    )
    counts = results(workers)
    admitted = sum(count["admitted_tokens"] for count in counts)
    # Nothing expires within the run, so the sum is the budget less what sits unspent in the live leases (one
    # per process, grown up to MAX_LEASE_FACTOR times the default under this burst).
    assert tpm - 3 * tpm * DEFAULT_TABLE_LEASE_FRACTION * MAX_LEASE_FACTOR <= admitted <= tpm
    assert all(count["admitted"] > 0 for count in counts)
    assert sum(count["failed_open"] for count in counts) == 0
    # Leases: far fewer store transactions than requests.
    requests = sum(count["admitted"] + count["refused"] for count in counts)
    assert sum(count["transactions"] for count in counts) < requests / 10
