"""SSE answers at the ASGI level: one write when not paced, timer-driven writes when paced, a client that
leaves, a server that makes the writer wait, and a dropped connection."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from simulator.api.responses import EventStreamResponse, json_response
from simulator.app import configure_logging
from simulator.delivery import AbortConnection, abort_after
from simulator.latency import LatencyPlan, Pacer, TickTimer
from simulator.replies import StreamEvent, StreamEvents, StreamReply
from tests.support.timing import loop_lag

Message = dict[str, Any]


def events(count: int) -> StreamEvents:
    return StreamEvents(StreamEvent(f"data: {i}\n\n".encode(), 1) for i in range(count))


def paced_reply(count: int, step: float) -> StreamReply:
    plan = LatencyPlan(step, 0.0, tuple(step * (i + 1) for i in range(count)))
    return StreamReply(source=Pacer(TickTimer(), coalesce=0).pace(events(count), plan, time.monotonic()))


class Client:
    """The server side of one connection: what was sent, and a disconnect the test can trigger."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def body(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m["type"] == "http.response.body"]


async def test_an_unpaced_stream_is_one_write_that_ends_the_body() -> None:
    client = Client()
    await EventStreamResponse(StreamReply(events=events(3)), {"x-a": "1"})({}, client.receive, client.send)
    start, body = client.messages
    assert (b"x-a", b"1") in start["headers"] and (b"content-type", b"text/event-stream; charset=utf-8") in start[
        "headers"
    ]
    assert body == {"type": "http.response.body", "body": b"data: 0\n\ndata: 1\n\ndata: 2\n\n", "more_body": False}


async def test_a_paced_stream_is_written_release_by_release_then_ended() -> None:
    client = Client()
    async with loop_lag() as lag:
        await EventStreamResponse(paced_reply(3, 0.02), {})({}, client.receive, client.send)
    if lag.worst < 0.02:  # a timer this late releases the events it overslept together, as it should
        assert client.body == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b""]
    assert b"".join(client.body) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n" and client.body[-1] == b""
    assert client.messages[-1]["more_body"] is False


async def test_a_client_that_leaves_stops_the_stream_at_once() -> None:
    client = Client()
    response = asyncio.ensure_future(EventStreamResponse(paced_reply(50, 0.01), {})({}, client.receive, client.send))
    await asyncio.sleep(0.035)
    client.gone.set()
    await asyncio.wait_for(response, 0.1)
    assert 2 <= len(client.body) < 10 and client.body[-1] != b""  # no end of body for a client that is gone


async def test_a_server_that_makes_the_writer_wait_gets_every_byte_in_order() -> None:
    client = Client()
    writable, written = asyncio.Event(), asyncio.Event()

    async def send(message: Message) -> None:  # as uvicorn does while the transport is paused
        if message["type"] == "http.response.body" and client.body:
            await writable.wait()
        client.messages.append(message)
        written.set()

    response = asyncio.ensure_future(EventStreamResponse(paced_reply(4, 0.003), {})({}, client.receive, send))
    await asyncio.wait_for(written.wait(), 1)
    await asyncio.sleep(0.03)  # every later event is due by now; the writer must still be waiting on the server
    assert len(client.body) == 1 and not response.done()
    writable.set()
    await asyncio.wait_for(response, 1)
    assert b"".join(client.body) == b"data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n" and client.body[-1] == b""


async def test_a_cut_stream_drops_the_connection_after_its_events() -> None:
    client = Client()
    reply = abort_after(paced_reply(5, 0.002), 2)
    with pytest.raises(AbortConnection):
        await EventStreamResponse(reply, {})({}, client.receive, client.send)
    assert b"".join(client.body) == b"data: 0\n\ndata: 1\n\n"  # in one write or two, as the pacer released them


async def test_a_cut_counts_events_not_writes() -> None:
    """A paced source releases the events due at one moment in one write (the first token comes with the
    prompt-filter and role events before it): the cut still sends exactly its events."""

    async def coalesced():
        yield b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
        yield b"data: 3\n\n"

    for kept, expected in ((1, b"data: 0\n\n"), (3, b"data: 0\n\ndata: 1\n\ndata: 2\n\n")):
        client = Client()
        with pytest.raises(AbortConnection):
            await EventStreamResponse(abort_after(StreamReply(source=coalesced()), kept), {})(
                {}, client.receive, client.send
            )
        assert b"".join(client.body) == expected


def test_a_dropped_connection_asked_for_is_not_logged_as_an_error() -> None:
    configure_logging("INFO", root=False)
    server = logging.getLogger("uvicorn.error")

    def record(error: Exception) -> logging.LogRecord:
        exc_info = (type(error), error, None)
        return logging.LogRecord(server.name, logging.ERROR, __file__, 1, "Exception in ASGI application", (), exc_info)

    assert not server.filter(record(AbortConnection()))
    assert server.filter(record(ValueError("a real one")))


class Ends:
    """A `closed` hook that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[float | None] = []

    def __call__(self, first_write: float | None, end: float) -> None:
        self.calls.append(first_write)


async def _settling_that_fails():
    try:
        yield b"data: 0\n\n"
        await asyncio.sleep(0.01)
        yield b"data: 1\n\n"
    finally:
        raise ConnectionError("the store that settles usage is down")


async def test_a_source_that_fails_as_it_closes_still_ends_the_stream_once() -> None:
    """Closing the source of a stream whose client left settles usage (a PTU store call that may fail); the slot
    must come back regardless."""
    client, ends = Client(), Ends()
    client.gone.set()
    response = EventStreamResponse(StreamReply(source=_settling_that_fails(), closed=ends), {})
    with pytest.raises(ConnectionError):
        await response({}, client.receive, client.send)
    assert len(ends.calls) == 1 and ends.calls[0] is not None


@pytest.mark.parametrize("successor", ["none", "json", "stream"])
async def test_a_discarded_stream_ends_once_or_hands_its_end_to_the_stream_sent_instead(successor: str) -> None:
    ends = Ends()
    discarded = EventStreamResponse(StreamReply(source=abort_after(StreamReply(events=events(3)), 3).source), {})
    discarded.closed = ends
    instead = {
        "none": None,
        "json": json_response({"replaced": True}),
        "stream": EventStreamResponse(StreamReply(events=events(2)), {}),
    }[successor]
    await discarded.discard(instead)
    await discarded.discard(instead)  # idempotent: a second discard ends nothing again
    if not isinstance(instead, EventStreamResponse):
        assert ends.calls == [None]
        return
    assert ends.calls == [] and instead.closed is ends
    client = Client()
    await instead({}, client.receive, client.send)
    assert len(ends.calls) == 1
