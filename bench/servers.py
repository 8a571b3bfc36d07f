"""Servers under test: a process pinned to one core, started fresh, polled until it answers, then stopped."""

from __future__ import annotations

import dataclasses
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.processes import terminate

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def post(port: int, path: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 30.0) -> Answer:
    """One request to 127.0.0.1:`port`, read to the end (streams included)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        start = time.monotonic()
        connection.request("POST", path, body, dict(headers))
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - start)
    finally:
        connection.close()


class PinnedServer:
    """`command` (which must take `--port`) run under `taskset -c <core>` (unpinned: core None) on a free loopback
    port."""

    def __init__(
        self, name: str, command: Sequence[str], *, core: int | None, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.core = core
        self.port = free_port()
        pinning = ["taskset", "-c", str(core)] if core is not None else []
        self.command = [*pinning, *command, "--host", "127.0.0.1", "--port", str(self.port)]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.launched_at = 0.0

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid  # taskset execs the command, so this is the server's own pid

    def start(self) -> PinnedServer:
        self.launched_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def wait_for(self, path: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 30.0) -> float:
        """Poll `path` until it answers 200; the seconds from launch to that answer."""
        deadline = self.launched_at + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up: {self.stop()}")
            try:
                answer = post(self.port, path, body, headers, timeout=max(0.1, deadline - time.monotonic()))
            except OSError:
                time.sleep(0.002)
                continue
            if answer.status == 200:
                return time.monotonic() - self.launched_at
            raise RuntimeError(f"{self.name} answered {answer.status} to {path}: {answer.body[:300]!r}")
        self.stop()
        raise TimeoutError(f"{self.name} did not answer 200 on {path} within {timeout} s")

    def wait_listening(self, *, timeout: float = 30.0) -> None:
        """Poll until the port accepts connections (for servers whose answers take long, like streams)."""
        deadline = self.launched_at + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up: {self.stop()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.002)
        self.stop()
        raise TimeoutError(f"{self.name} did not listen within {timeout} s")

    def stop(self) -> str:
        """Stop the server; what it wrote to stderr."""
        if self.process is None:
            return ""
        errors = terminate(self.process)
        self.process = None
        return bytes(errors or b"").decode(errors="replace")[-2000:]

    def __enter__(self) -> PinnedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def simulator_command() -> list[str]:
    # --env-file: a developer's .env must not change what is measured.
    return [sys.executable, "-m", "simulator", "--env-file", os.devnull]


def ceiling_command(bodies: Path) -> list[str]:
    return [sys.executable, "-m", "bench.ceiling", "--bodies", str(bodies)]


def stream_floor_command(body: Path, *, ttft_ms: float, interval_ms: float, burst: int) -> list[str]:
    return [
        sys.executable, "-m", "bench.stream_floor", "--body", str(body), "--ttft-ms", str(ttft_ms),
        "--interval-ms", str(interval_ms), "--burst", str(burst),
    ]  # fmt: skip
