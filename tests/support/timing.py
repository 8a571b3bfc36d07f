"""How late this machine is running timers right now, so timing tests can tell the code's lateness from the CPU's.

A replay that schedules its events correctly is still late by however long the event loop (or the OS) could not
run it. On a loaded machine that is tens of milliseconds; on an idle one, well under one. Tests that check a
schedule allow their own tolerance plus the worst lateness a probe timer saw over the same stretch of time.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

PROBE_INTERVAL = 0.002


@dataclass
class Lag:
    """Lateness, in seconds, of a probe timer that asked to wake every `PROBE_INTERVAL`."""

    samples: list[float] = field(default_factory=list)

    def add(self, late: float) -> None:
        self.samples.append(max(0.0, late))

    @property
    def worst(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def typical(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0


@contextlib.asynccontextmanager
async def loop_lag() -> AsyncIterator[Lag]:
    """Measure this event loop's timer lateness for the duration of the block."""
    lag = Lag()

    async def probe() -> None:
        while True:
            asked = time.monotonic() + PROBE_INTERVAL
            await asyncio.sleep(PROBE_INTERVAL)
            lag.add(time.monotonic() - asked)

    task = asyncio.create_task(probe())
    try:
        yield lag
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def scheduler_lag() -> Iterator[Lag]:
    """Measure the OS's timer lateness for a thread of this process while the block runs.

    For tests that time another process (a simulator server): both compete for the same cores, so a thread
    here sees roughly the scheduling delays the server sees.
    """
    lag, done = Lag(), threading.Event()

    def probe() -> None:
        while not done.is_set():
            asked = time.monotonic() + PROBE_INTERVAL
            time.sleep(PROBE_INTERVAL)
            lag.add(time.monotonic() - asked)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield lag
    finally:
        done.set()
        thread.join()
