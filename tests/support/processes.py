"""Stopping child processes the same way everywhere: terminate, wait a bounded time, then kill."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen, *, timeout: float = 10.0) -> bytes | str | None:
    """Stop `process` and return what remained on its captured stderr (None when it was not captured)."""
    if process.poll() is None:
        process.terminate()
    try:
        _, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, errors = process.communicate()
    return errors
