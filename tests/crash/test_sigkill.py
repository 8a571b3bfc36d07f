"""SIGKILL at random moments while state is written (docs/security.md: Crash safety): 50 kills in all.

Recording files and blobs (the recorder's writer and persisters), rate-limit leases in Table Storage and the
shared runtime config in Table Storage are each written for ever by `tests.crash.worker`, killed after a seeded
random number of steps, and started again on what it left. Every start must get going (a torn recording, a
broken limiter entity or a config the next process cannot adopt stops it), every recording must load and
replay, the limiter must still hold the budget across its restarts, and the last config written must be the
one a new process adopts. A restarted recorder also removes the temporary files of killed saves, never that of a
save under way in another process.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from azure.storage.blob import ContainerClient

from simulator.recording.persisters.files import STALE_TEMPORARY_SECONDS
from simulator.recording.serializer import loads
from tests.crash import worker
from tests.support.azurite import Azurite
from tests.support.server import REPO, SimulatorProcess

KILLS = {"files": 13, "blob": 12, "limits": 13, "config": 12}  # 50
LIVE = "gpt-4o-live/chat-completions.yaml"
KILLED = "gpt-4o-killed/chat-completions.yaml"


def start_worker(arguments: list[str], stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash.worker", *arguments],
        cwd=REPO,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def kill_loop(arguments: list[str], kills: int, seed: str) -> list[list[str]]:
    """Start the worker `kills` times, each time SIGKILLing it after 1–12 steps; return each run's lines."""
    rng = random.Random(seed)
    runs = []
    for _ in range(kills):
        process = start_worker(arguments)
        assert process.stdout is not None and process.stderr is not None
        lines: list[str] = []
        for _ in range(rng.randint(1, 12)):
            line = process.stdout.readline()
            if not line:
                process.wait(10)
                pytest.fail(f"worker {arguments[0]} stopped after {lines}: {process.stderr.read()[-3000:]}")
            lines.append(line.strip())
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        errors = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
        assert "ERROR" not in errors and "Traceback" not in errors, errors[-3000:]
        runs.append(lines)
    return runs


def test_recording_files_survive_sigkill_and_replay(tmp_path: Path) -> None:
    runs = kill_loop(["record", "files", str(tmp_path)], KILLS["files"], "files")
    text = (tmp_path / worker.NAME).read_text()
    interactions = loads(text, source=worker.NAME)
    assert len(interactions) >= int(runs[-1][-1])  # what was reported saved, and any save under way in full
    # A kill in the middle of a save can leave its hidden temporary file (`.chat-completions.yaml.*.tmp`), which
    # nothing reads; it never replaces the recording with a partial one (a restart removes it, below).
    visible = [path.name for path in tmp_path.rglob("*") if path.is_file() and not path.name.startswith(".")]
    assert visible == ["chat-completions.yaml"]
    # A replaying simulator serves what the killed recorders left.
    with SimulatorProcess({"SIMULATOR_MODE": "replay", "RECORDING_DIR": str(tmp_path)}) as server:
        response = httpx.post(
            f"{server.url}{worker.PATH}?api-version=2024-10-21",
            headers={"api-key": server.api_key},
            json={"messages": [{"role": "user", "content": "crash 0"}]},
        )
    assert response.status_code == 200, response.text
    assert response.content == worker.answer(0)
    restart_sweeps_what_killed_saves_left(tmp_path, len(interactions))


def restart_sweeps_what_killed_saves_left(tmp_path: Path, saved: int) -> None:
    """A restarted recorder removes the temporary files of killed saves, never that of a save under way in another
    process, however old it is."""
    # Two saves in other processes, stopped in the middle: one is killed there, the other is still under way.
    live, killed = (start_worker(["hold", str(tmp_path), name], stdin=subprocess.PIPE) for name in (LIVE, KILLED))
    assert live.stdout is not None and killed.stdout is not None
    assert [live.stdout.readline(), killed.stdout.readline()] == ["holding\n", "holding\n"]
    killed.kill()
    assert killed.communicate(timeout=10)[1] == ""
    # Every temporary file left is made old enough to be abandoned, the live save's too: only its lock tells.
    stale = time.time() - STALE_TEMPORARY_SECONDS - 60
    for path in temporaries(tmp_path):
        os.utime(path, (stale, stale))
    assert len(temporaries(tmp_path)) >= 2
    restart = start_worker(["record", "files", str(tmp_path), "1"])  # one save, then a clean exit
    output, errors = restart.communicate(timeout=60)
    assert restart.returncode == 0 and "temporary file(s) left by interrupted saves" in errors, errors
    assert output == f"{saved + 1}\n"
    assert [path.parent.name for path in temporaries(tmp_path)] == ["gpt-4o-live"]
    # The live save, let go, finishes: nothing of it was taken away, and no temporary file is left at all.
    output, errors = live.communicate("go\n", timeout=30)
    assert (output, errors) == ("saved\n", "")
    assert temporaries(tmp_path) == []
    assert len(loads((tmp_path / LIVE).read_text(), source=LIVE)) == 1


def temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(".*.tmp"))


def test_recording_blobs_survive_sigkill(azurite: Azurite) -> None:
    container = f"crash{uuid.uuid4().hex[:10]}"
    runs = kill_loop(["record", "blob", azurite.connection_string, container], KILLS["blob"], "blob")
    client = ContainerClient.from_connection_string(azurite.connection_string, container)
    with client:
        names = [blob.name for blob in client.list_blobs()]
        assert names == [worker.NAME]
        text = client.download_blob(worker.NAME).readall().decode()
    assert len(loads(text, source=worker.NAME)) >= int(runs[-1][-1])


def test_leases_survive_sigkill_and_the_budget_holds(azurite: Azurite) -> None:
    table = f"crash{uuid.uuid4().hex[:10]}"
    runs = kill_loop(["limits", azurite.connection_string, table], KILLS["limits"], "limits")
    # Each run counts from zero: what they admitted together stays within the one minute's budget (the loop is
    # shorter than the window), and a killed process's unspent lease is lost, never handed out twice.
    admitted = sum(int(lines[-1]) for lines in runs)
    assert 0 < admitted <= worker.TPM + worker.COST * len(runs), admitted


def test_runtime_config_survives_sigkill(azurite: Azurite) -> None:
    table = f"crash{uuid.uuid4().hex[:10]}"
    runs = kill_loop(["config", azurite.connection_string, table], KILLS["config"], "config")
    # Each process adopted the last patch its predecessor reported, or the one it was writing when killed: a
    # patch is all or nothing, and nothing a killed writer leaves stops the next process from adopting it.
    for previous, run in itertools.pairwise(runs):
        reported = int(previous[-1].removeprefix("adopted "))
        assert int(run[0].removeprefix("adopted ")) in (reported, reported + 1), (previous, run)
