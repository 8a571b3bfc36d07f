"""The local server (`python -m simulator`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from tests.support.ports import free_port, wait_for_port
from tests.support.processes import terminate

REPO = Path(__file__).resolve().parents[2]


class SimulatorProcess:
    def __init__(self, env: Mapping[str, str] | None = None, *, api_key: str = "test-key") -> None:
        self.port = free_port()
        self.api_key = api_key
        # Latency off unless a test asks for it: most tests check content, not timing.
        defaults = {"SIMULATOR_API_KEY": api_key, "SIMULATOR_LATENCY_ENABLED": "false"}
        self.env = {**os.environ, **defaults, **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self._output: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> SimulatorProcess:
        command = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        # Drain the output as it comes: a full pipe would block a chatty server.
        self._output = []
        self._reader = threading.Thread(target=self._drain, args=(self.process, self._output), daemon=True)
        self._reader.start()
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
        terminate(self.process)
        if self._reader is not None:
            self._reader.join(timeout=10)
        self.process = None
        return "".join(self._output)

    @staticmethod
    def _drain(process: subprocess.Popen[str], sink: list[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            sink.append(line)

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
