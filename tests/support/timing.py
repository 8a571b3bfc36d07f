"""How late this machine is running timers right now, so timing tests can tell the code's lateness from the CPU's.

A replay that schedules its events correctly is still late by however long the event loop (or the OS) could not
run it. On a loaded machine that is tens of milliseconds; on an idle one, well under one. Tests that check a
schedule allow their own tolerance plus the worst lateness a probe timer saw over the same stretch of time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

PROBE_INTERVAL = 0.002


@dataclass
class Lag:
    """The worst lateness, in seconds, of a probe timer that asked to wake every `PROBE_INTERVAL`."""

    worst: float = 0.0


@contextlib.asynccontextmanager
async def loop_lag() -> AsyncIterator[Lag]:
    """Measure this event loop's timer lateness for the duration of the block."""
    lag = Lag()

    async def probe() -> None:
        while True:
            asked = time.monotonic() + PROBE_INTERVAL
            await asyncio.sleep(PROBE_INTERVAL)
            lag.worst = max(lag.worst, time.monotonic() - asked)

    task = asyncio.create_task(probe())
    try:
        yield lag
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
