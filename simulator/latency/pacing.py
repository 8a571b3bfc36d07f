"""Releases answers on schedule: waits until absolute deadlines, so lateness never accumulates.

Thousands of streams share one event loop, so waiting must be cheap. `TickTimer` rounds each deadline to a
tick (1 ms) and keeps one loop timer per tick, not one per waiter: a wake-up then costs about a third
of an `asyncio.sleep` (bench/latency_accuracy.py). Events that are already due when a stream wakes go out
in one write, so a stream that fell behind catches up instead of drifting: its remaining events are still
timed from the request's arrival.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from simulator.latency.model import LatencyPlan
from simulator.replies import StreamEvent


class Timer(Protocol):
    """A clock and a way to wait for a moment on it; tests inject a fake that advances instantly."""

    def now(self) -> float: ...

    def wait_until(self, deadline: float) -> Awaitable[object]: ...


class TickTimer:
    """Waits on `time.monotonic()` (the clock of `OpenAIRequest.received_at`) to the nearest `tick`: a wake-up
    may come up to half a tick early, which no client can tell from network jitter."""

    def __init__(self, tick: float = 0.001, clock: Callable[[], float] = time.monotonic) -> None:
        self.tick = tick
        self.now = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: dict[int, list[asyncio.Future[None]]] = {}

    def wait_until(self, deadline: float) -> Awaitable[object]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests, a restarted host): timers of the old one are gone
            self._loop, self._slots = loop, {}
        slot = round(deadline / self.tick)
        future: asyncio.Future[None] = loop.create_future()
        waiters = self._slots.get(slot)
        if waiters is None:
            waiters = self._slots[slot] = []
            # Relative to now, so the loop's clock need not be time.monotonic itself.
            loop.call_at(loop.time() + (slot * self.tick - self.now()), self._fire, slot)
        waiters.append(future)
        return future

    def _fire(self, slot: int) -> None:
        for future in self._slots.pop(slot, ()):
            if not future.done():  # cancelled when the client went away
                future.set_result(None)


class Pacer:
    def __init__(self, timer: Timer | None = None, coalesce: float = 0.001) -> None:
        self.timer = timer or TickTimer()
        # Events due within this many seconds after the one awaited go out with it (saves a wake-up).
        self._coalesce = coalesce

    async def wait_until(self, deadline: float) -> None:
        """For non-streamed answers: `request.received_at + plan.total`, so the simulator's own work counts."""
        if deadline > self.timer.now():
            await self.timer.wait_until(deadline)

    async def paced(self, events: Sequence[StreamEvent], plan: LatencyPlan, start: float) -> AsyncIterator[bytes]:
        """Each event's bytes at `start + plan.offsets[i]`; events due together come as one bytes object."""
        timer, coalesce = self.timer, self._coalesce
        offsets = plan.offsets
        count = len(events)
        index = 0
        while index < count:
            deadline = start + offsets[index]
            now = timer.now()
            if deadline > now:
                await timer.wait_until(deadline)
                now = timer.now()
            horizon = now - start + coalesce
            end = index + 1
            while end < count and offsets[end] <= horizon:
                end += 1
            if end == index + 1:
                yield events[index].data
            else:
                yield b"".join([event.data for event in events[index:end]])
            index = end
