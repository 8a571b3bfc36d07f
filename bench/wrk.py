"""Closed-loop HTTP load with wrk: a Lua script per load (POST body, headers, a JSON summary), one run each.

wrk runs pinned to the client core with one thread; it is C and needs far less CPU per request than the
server, so one core of it saturates one core of Python.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

MARKER = "WRK-JSON "
PLACEHOLDER = "{n}"

# `done` runs once after the run; wrk's latencies are microseconds.
_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(99.0), latency.max, latency.mean))
end
"""


@dataclasses.dataclass(frozen=True, slots=True)
class Load:
    """What every request of a run sends. A body holding `{n}` gets a per-request counter there."""

    path: str
    body: str | bytes  # bytes: sent as they are (a multipart upload), read by the script from a file beside it
    headers: Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts and non-2xx answers

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(load: Load, body_file: Path | None = None) -> str:
    lines = ['wrk.method = "POST"']
    lines += [f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}" for name, value in load.headers.items()]
    if isinstance(load.body, bytes):
        if body_file is None:
            raise ValueError("a binary body is read from a file: give body_file")
        lines += [
            f'local file = io.open({lua_string(str(body_file))}, "rb")',
            'wrk.body = file:read("*a")',
            "file:close()",
        ]
    elif PLACEHOLDER in load.body:
        prefix, _, suffix = load.body.partition(PLACEHOLDER)
        lines += [
            f"local prefix, suffix, counter = {lua_string(prefix)}, {lua_string(suffix)}, 0",
            "request = function()",
            "  counter = counter + 1",
            "  return wrk.format(nil, nil, nil, prefix .. counter .. suffix)",
            "end",
        ]
    else:
        lines.append(f"wrk.body = {lua_string(load.body)}")
    return "\n".join(lines) + "\n" + _DONE


def parse_output(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            errors = sum(data[key] for key in ("connect", "read", "write", "status", "timeout"))
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1e3,
                p99_ms=data["p99_us"] / 1e3,
                max_ms=data["max_us"] / 1e3,
                errors=errors,
            )
    raise ValueError(f"no wrk summary in its output: {stdout[-500:]!r}")


def run(
    load: Load, port: int, *, seconds: float, connections: int, core: int, scripts: Path, timeout_s: float = 10.0
) -> WrkResult:
    """One wrk run of `seconds` against 127.0.0.1:`port`, pinned to `core`."""
    script = scripts / f"load-{abs(hash((load.path, load.body, tuple(load.headers.items()))))}.lua"
    body_file = script.with_suffix(".body") if isinstance(load.body, bytes) else None
    if body_file is not None:
        body_file.write_bytes(load.body)  # type: ignore[arg-type]
    script.write_text(lua_script(load, body_file))
    command = [
        "taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s", "-s", str(script), f"http://127.0.0.1:{port}{load.path}",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()[-500:]}")
    return parse_output(completed.stdout)
