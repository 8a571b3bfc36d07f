"""A process killed while it saves never leaves a torn recording: every file left loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.recording.serializer import loads

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("saves_before_kill", [2, 9, 23])
def test_sigkill_during_saves_leaves_only_valid_recordings(tmp_path: Path, saves_before_kill: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.recording.save_loop", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    reported = 0
    while reported < saves_before_kill:
        reported = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()

    files = sorted(tmp_path.rglob("*.yaml"))
    assert [path.relative_to(tmp_path).as_posix() for path in files] == [
        "emb/embeddings.yaml",
        "gpt-4o/chat-completions.yaml",
    ]
    counts = [len(loads(path.read_text(), source=str(path))) for path in files]
    # Each file holds at least what was reported saved, and whatever save was under way either fully or not at all.
    assert all(count >= reported // 2 for count in counts)
