"""What Linux knows about a process and a core: CPU seconds, resident memory, and the core's busy time.

CPU per request comes from the server's own CPU time, so it does not depend on how busy the machine was;
the core's busy time minus the server's shows how much of the server's core other processes took.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system time of every thread of `pid` so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / TICKS


def resident_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident memory now (`VmRSS`) or at its peak (`VmHWM`)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no {field} for process {pid}")


def core_busy_seconds(core: int) -> float:
    """Time core `core` spent on anything but idle and I/O wait (including steal by the hypervisor)."""
    prefix = f"cpu{core} "
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(prefix):
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in line.split()[1:9])
            return (user + nice + system + irq + softirq + steal) / TICKS
    raise ValueError(f"no core {core} in /proc/stat")


@dataclasses.dataclass(frozen=True, slots=True)
class CpuSample:
    wall: float
    process: float
    core: float

    @classmethod
    def take(cls, pid: int, core: int) -> CpuSample:
        return cls(time.monotonic(), process_cpu_seconds(pid), core_busy_seconds(core))


@dataclasses.dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU spent between two samples: by the process, and by everything else on its core."""

    wall: float
    process: float
    foreign: float

    @classmethod
    def between(cls, before: CpuSample, after: CpuSample) -> CpuUse:
        process = after.process - before.process
        return cls(after.wall - before.wall, process, max(0.0, after.core - before.core - process))
