"""Releases answers on schedule: waits until absolute deadlines, so lateness never accumulates.

Thousands of streams share one event loop, so a release must cost little more than its write. `TickTimer`
rounds each deadline to a tick (1 ms) and keeps one loop timer per tick, not one per waiter. A paced stream
sent as it is (`PacedEvents` given straight to the response) goes further: the tick's callback writes each
due stream's bytes itself, so a release wakes no task at all (bench: about half the CPU of a task that
awaits each deadline). Streams that something else wraps (a fault that cuts them, usage settled at the end)
are iterated instead, with the same schedule. Events that are already due go out in one write, so a stream
that fell behind catches up instead of drifting: its remaining events are still timed from the request's
arrival.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from simulator.latency.model import LatencyPlan, release_groups
from simulator.replies import StreamEvents

# Writes `data`; returns None once written, or an awaitable when the write has to wait (a slow reader).
Write = Callable[[bytes], Awaitable[object] | None]


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
        self._offset = 0.0  # the loop's clock minus `clock`
        self._slots: dict[int, list[Callable[[], object]]] = {}

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Run `callback` in the tick of `deadline`."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests, a restarted host): timers of the old one are gone
            self._loop, self._slots, self._offset = loop, {}, self._clock_offset(loop)
        slot = round(deadline / self.tick)
        callbacks = self._slots.get(slot)
        if callbacks is None:
            callbacks = self._slots[slot] = []
            loop.call_at(slot * self.tick + self._offset, self._fire, slot)
        callbacks.append(callback)

    def _clock_offset(self, loop: asyncio.AbstractEventLoop) -> float:
        """uvloop's clock is time.monotonic() cut to whole milliseconds. Converting a deadline with the two
        read side by side (`loop.time() + deadline - now()`) moves it up to a millisecond early, so timers
        fired before their tick and half the releases had to wait for another (bench: 2 callbacks per release
        at 2,000 streams). The same clock is used as it is; another (a test's) by its offset."""
        offset = loop.time() - self.now()
        return 0.0 if abs(offset) < 2 * self.tick else offset

    def wait_until(self, deadline: float) -> Awaitable[object]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.call_at(deadline, lambda: future.done() or future.set_result(None))  # done: cancelled, client gone
        return future

    def _fire(self, slot: int) -> None:
        for callback in self._slots.pop(slot, ()):
            callback()


class StreamCursor:
    """How far a paced stream has got: when its next bytes are due, and which bytes are due by a moment."""

    __slots__ = ("_coalesce", "_events", "_group", "_groups", "_start")

    def __init__(self, events: StreamEvents, plan: LatencyPlan, start: float, coalesce: float) -> None:
        self._events, self._start, self._coalesce = events, start, coalesce
        self._groups = release_groups(plan.offsets)
        self._group = next(self._groups, None)

    @property
    def deadline(self) -> float | None:
        """When the next bytes are due (None: all sent)."""
        return None if self._group is None else self._start + self._group[0]

    def take(self, now: float) -> bytes:
        """The next group's bytes, with every later group due within the coalescing window after `now`."""
        assert self._group is not None
        _, first, end = self._group
        horizon = now - self._start + self._coalesce
        group = next(self._groups, None)
        while group is not None and group[0] <= horizon:
            end = group[2]
            group = next(self._groups, None)
        self._group = group
        return self._events.join(first, end)


class PacedEvents:
    """A generated stream on its latency plan. Iterating it paces it with a task; a response that can write
    from a timer callback gives it to `Pacer.deliver` instead."""

    def __init__(self, pacer: Pacer, events: StreamEvents, plan: LatencyPlan, start: float) -> None:
        self.pacer, self.events, self.plan, self.start = pacer, events, plan, start

    def cursor(self) -> StreamCursor:
        return StreamCursor(self.events, self.plan, self.start, self.pacer.coalesce)

    @property
    def deliverable(self) -> bool:
        """Whether `Pacer.deliver` can write it (the pacer runs on loop timers, not a test's fake clock)."""
        return isinstance(self.pacer.timer, TickTimer)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.pacer.paced(self.events, self.plan, self.start)

    async def aclose(self) -> None:
        return None


class Delivery:
    """One stream written from timer callbacks; `finished` completes when it has all been written or `stop()`
    was called (the client left), and fails with what a write raised."""

    __slots__ = ("_cursor", "_timer", "_write", "finished")

    def __init__(self, cursor: StreamCursor, timer: TickTimer, write: Write) -> None:
        self._cursor, self._timer, self._write = cursor, timer, write
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stop(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    def release(self) -> None:
        cursor = self._cursor
        while not self.finished.done():
            deadline = cursor.deadline
            if deadline is None:
                self.finished.set_result(None)
                return
            now = self._timer.now()
            if deadline > now + self._timer.tick / 2:  # a tick's callback may run up to half a tick early
                self._timer.call_at(deadline, self.release)
                return
            try:
                waiting = self._write(cursor.take(now))
            except Exception as error:  # handed to the response awaiting `finished`
                self.finished.set_exception(error)
                return
            if waiting is not None:  # the reader is slow: carry on once this write is through
                asyncio.ensure_future(waiting).add_done_callback(self._written)
                return

    def _written(self, write: asyncio.Future[object]) -> None:
        if self.finished.done():
            return
        if write.cancelled():
            self.finished.cancel()
        elif (error := write.exception()) is not None:
            self.finished.set_exception(error)
        else:
            self.release()


class Pacer:
    def __init__(self, timer: Timer | None = None, coalesce: float = 0.001) -> None:
        self.timer = timer or TickTimer()
        # Events due within this many seconds after the one awaited go out with it (saves a wake-up).
        self.coalesce = coalesce

    async def wait_until(self, deadline: float) -> None:
        """For non-streamed answers: `request.received_at + plan.total`, so the simulator's own work counts."""
        if deadline > self.timer.now():
            await self.timer.wait_until(deadline)

    def pace(self, events: StreamEvents, plan: LatencyPlan, start: float) -> PacedEvents:
        return PacedEvents(self, events, plan, start)

    async def paced(self, events: StreamEvents, plan: LatencyPlan, start: float) -> AsyncIterator[bytes]:
        """Each event's bytes at `start + plan.offsets[i]`; events due together come as one bytes object."""
        timer = self.timer
        cursor = StreamCursor(events, plan, start, self.coalesce)
        while (deadline := cursor.deadline) is not None:
            if deadline > timer.now():
                await timer.wait_until(deadline)
            yield cursor.take(timer.now())

    def deliver(self, stream: PacedEvents, write: Write) -> Delivery:
        """Write `stream` from timer callbacks (when `stream.deliverable`); await the delivery's `finished`."""
        if not isinstance(self.timer, TickTimer):
            raise TypeError("delivery from timer callbacks needs a TickTimer")
        delivery = Delivery(stream.cursor(), self.timer, write)
        delivery.release()
        return delivery
