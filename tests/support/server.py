"""The local server (`python -m simulator`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]


class SimulatorProcess:
    def __init__(self, env: Mapping[str, str] | None = None, *, api_key: str = "test-key") -> None:
        self.port = free_port()
        self.api_key = api_key
        # Latency off unless a test asks for it: most tests check content, not timing.
        defaults = {"SIMULATOR_API_KEY": api_key, "SIMULATOR_LATENCY_ENABLED": "false"}
        self.env = {**os.environ, **defaults, **(env or {})}
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> SimulatorProcess:
        command = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for_port(self.port, timeout=timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> str:
        """Stop the server and return what it printed."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        self.process = None
        return output or ""

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
