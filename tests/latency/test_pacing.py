from __future__ import annotations

import asyncio
import time

import pytest

from simulator.latency import LatencyPlan, Pacer, TickTimer
from simulator.latency.pacing import PacedEvents
from simulator.replies import StreamEvent, StreamEvents


class FakeTimer:
    """Time passes only when someone waits; `lag` makes every wake-up late, like a busy event loop."""

    def __init__(self, start: float = 100.0, lag: float = 0.0) -> None:
        self.time = start
        self.lag = lag
        self.waits: list[float] = []

    def now(self) -> float:
        return self.time

    async def wait_until(self, deadline: float) -> None:
        self.waits.append(deadline)
        self.time = max(self.time, deadline) + self.lag


def events(count: int) -> StreamEvents:
    return StreamEvents(StreamEvent(f"data: {i}\n\n".encode(), 1) for i in range(count))


async def collect(pacer: Pacer, timer: FakeTimer, plan: LatencyPlan, start: float, count: int) -> list:
    return [(timer.now(), data) async for data in pacer.paced(events(count), plan, start)]


async def test_events_are_released_at_absolute_deadlines() -> None:
    timer = FakeTimer()
    pacer = Pacer(timer, coalesce=0)
    received = await collect(pacer, timer, LatencyPlan(0.5, 0.7, (0.5, 0.6, 0.7)), 100.0, 3)
    assert [at for at, _ in received] == pytest.approx([100.5, 100.6, 100.7])
    assert [data for _, data in received] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]


async def test_lateness_does_not_accumulate() -> None:
    timer = FakeTimer(lag=0.004)  # every wake-up 4 ms late
    pacer = Pacer(timer, coalesce=0)
    offsets = tuple(0.02 * i for i in range(1, 51))
    received = await collect(pacer, timer, LatencyPlan(0.02, 1.0, offsets), 100.0, 50)
    lateness = [at - (100.0 + offset) for (at, _), offset in zip(received, offsets, strict=True)]
    assert max(lateness) == pytest.approx(0.004)  # the last event is as late as the first: no drift
    assert timer.waits == pytest.approx([100.0 + offset for offset in offsets])


async def test_events_already_due_go_out_together() -> None:
    timer = FakeTimer(start=100.3)  # the simulator spent 300 ms before streaming
    pacer = Pacer(timer, coalesce=0.001)
    received = await collect(pacer, timer, LatencyPlan(0.1, 0.4, (0.1, 0.2, 0.3005, 0.4)), 100.0, 4)
    assert [data for _, data in received] == [b"data: 0\n\ndata: 1\n\ndata: 2\n\n", b"data: 3\n\n"]
    assert timer.waits == [pytest.approx(100.4)]


async def test_wait_until_sleeps_only_the_remaining_time() -> None:
    timer = FakeTimer(start=100.25)
    await Pacer(timer).wait_until(100.0 + 0.4)
    assert timer.waits == [pytest.approx(100.4)]
    await Pacer(timer).wait_until(100.0)  # already past: no wait
    assert len(timer.waits) == 1


async def test_zero_plan_streams_everything_at_once() -> None:
    timer = FakeTimer()
    received = await collect(Pacer(timer), timer, LatencyPlan.zero(5), 100.0, 5)
    assert len(received) == 1 and timer.waits == []


async def test_tick_timer_wakes_within_a_tick_of_the_deadline() -> None:
    timer = TickTimer(tick=0.001)
    start = time.monotonic()
    deadlines = [start + 0.01 * i for i in range(1, 6)]
    woken: list[float] = []

    async def wake(deadline: float) -> None:
        await timer.wait_until(deadline)
        woken.append(time.monotonic() - deadline)

    await asyncio.gather(*(wake(deadline) for deadline in deadlines for _ in range(20)))
    assert len(woken) == 100
    assert min(woken) >= -0.0005  # never more than half a tick early
    assert max(woken) < 0.05  # generous: the CI machine is shared


def test_tick_timer_never_fires_before_its_tick_on_uvloop() -> None:
    """uvloop's clock is whole milliseconds: a deadline converted through it came up to a millisecond early,
    and a release woken that early had to be scheduled again (two callbacks per release under load)."""
    uvloop = pytest.importorskip("uvloop")
    timer = TickTimer(tick=0.001)
    early: list[float] = []

    def work(seconds: float) -> None:  # a busy loop: time passes between the loop's clock reading and the next turn
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            pass

    async def main() -> None:
        for i in range(60):
            work(0.0007 * (i % 3))
            deadline = time.monotonic() + 0.003 + 0.0001 * (i % 10)
            await timer.wait_until(deadline)
            early.append(round(deadline / timer.tick) * timer.tick - time.monotonic())

    uvloop.run(main())
    assert max(early) <= 0.0  # woken in the deadline's tick or later, never before it


async def test_tick_timer_ignores_cancelled_waiters() -> None:
    timer = TickTimer()
    waiter = asyncio.ensure_future(timer.wait_until(time.monotonic() + 0.005))
    other = asyncio.ensure_future(timer.wait_until(time.monotonic() + 0.005))
    await asyncio.sleep(0)
    waiter.cancel()
    await other
    assert waiter.cancelled()


def paced(pacer: Pacer, count: int, step: float) -> PacedEvents:
    start = time.monotonic()
    plan = LatencyPlan(step, 0.0, tuple(step * (i + 1) for i in range(count)))
    return pacer.pace(events(count), plan, start)


async def test_delivery_writes_each_event_at_its_deadline_from_timer_callbacks() -> None:
    pacer = Pacer(TickTimer(), coalesce=0)
    stream = paced(pacer, 4, 0.01)
    written: list[tuple[float, bytes]] = []
    delivery = pacer.deliver(stream, lambda data: written.append((time.monotonic() - stream.start, data)))
    await delivery.finished
    assert [data for _, data in written] == [f"data: {i}\n\n".encode() for i in range(4)]
    lateness = [at - 0.01 * (i + 1) for i, (at, _) in enumerate(written)]
    assert min(lateness) >= -0.0005 and max(lateness) < 0.05  # generous: the CI machine is shared


async def test_stopped_delivery_writes_nothing_more() -> None:
    pacer = Pacer(TickTimer())
    written: list[bytes] = []
    delivery = pacer.deliver(paced(pacer, 5, 0.01), written.append)
    delivery.stop()
    await delivery.finished
    await asyncio.sleep(0.07)
    assert written == []


async def test_a_write_that_must_wait_holds_the_stream_until_it_is_through() -> None:
    pacer = Pacer(TickTimer(), coalesce=0)
    gate = asyncio.get_running_loop().create_future()
    first = asyncio.Event()
    written: list[bytes] = []

    def write(data: bytes) -> asyncio.Future[None] | None:
        written.append(data)
        first.set()
        return gate if len(written) == 1 else None  # the reader is slow once

    delivery = pacer.deliver(paced(pacer, 3, 0.02), write)
    await first.wait()
    await asyncio.sleep(0.1)  # both later events fall due meanwhile
    assert written == [b"data: 0\n\n"] and not delivery.finished.done()
    gate.set_result(None)
    await delivery.finished
    assert written[1:] == [b"data: 1\n\ndata: 2\n\n"]  # overdue by then: they go out together


async def test_a_write_cancelled_while_waiting_cancels_the_delivery() -> None:
    pacer = Pacer(TickTimer())
    gate = asyncio.get_running_loop().create_future()
    delivery = pacer.deliver(paced(pacer, 2, 0.001), lambda data: gate)
    await asyncio.sleep(0.01)
    gate.cancel()  # the server shut down while the reader was slow
    with pytest.raises(asyncio.CancelledError):
        await delivery.finished


async def test_a_failing_write_fails_the_delivery() -> None:
    pacer = Pacer(TickTimer())

    def write(data: bytes) -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        await pacer.deliver(paced(pacer, 2, 0.001), write).finished


async def test_only_loop_timers_deliver() -> None:
    pacer = Pacer(FakeTimer())
    stream = paced(pacer, 2, 0.01)
    assert not stream.deliverable
    with pytest.raises(TypeError):
        pacer.deliver(stream, lambda data: None)
    assert [data async for data in stream] == [b"data: 0\n\n", b"data: 1\n\n"]  # iterated instead
