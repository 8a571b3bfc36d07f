"""A stream's end-of-stream work runs once however the stream ends, including a stream closed before its first
step (its client left before the headers went out, or a response hook replaced it), where an async generator's
own `finally` never runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulator.delivery import settle_when_done
from simulator.ratelimit import Admission
from simulator.replies import FinalisedSource, StreamEvent, StreamEvents, StreamReply, Usage


class Finals:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def chunks(count: int, fail_at: int | None = None) -> AsyncIterator[bytes]:
    for index in range(count):
        if index == fail_at:
            raise ConnectionError("upstream broke off")
        yield f"data: {index}\n\n".encode()


async def test_closed_before_its_first_step_it_still_runs_final_once() -> None:
    final = Finals()
    source = FinalisedSource(chunks(3), final)
    await source.aclose()
    await source.aclose()
    assert final.count == 1


async def test_read_to_the_end_it_runs_final_once() -> None:
    final = Finals()
    source = FinalisedSource(chunks(3), final)
    assert [chunk async for chunk in source] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    await source.aclose()  # as the response does once the stream is over
    assert final.count == 1


async def test_a_source_that_fails_runs_final_and_the_failure_goes_on() -> None:
    final = Finals()
    source = FinalisedSource(chunks(3, fail_at=1), final)
    with pytest.raises(ConnectionError):
        async for _ in source:
            pass
    assert final.count == 1


async def test_final_runs_when_closing_the_source_fails() -> None:
    async def fails_as_it_closes() -> AsyncIterator[bytes]:
        try:
            yield b"data: 0\n\n"
        finally:
            raise ConnectionError("cannot close")

    final = Finals()
    source = FinalisedSource(fails_as_it_closes(), final)
    await source.__anext__()
    with pytest.raises(ConnectionError):
        await source.aclose()
    assert final.count == 1


async def test_a_provisioned_stream_whose_client_left_before_the_headers_is_settled() -> None:
    """Its estimate is corrected to what the answer used, as for a stream that was sent."""
    settled: list[Usage] = []

    async def settle(usage: Usage) -> None:
        settled.append(usage)

    usage = Usage(prompt_tokens=10, completion_tokens=3)
    reply = StreamReply(events=StreamEvents([StreamEvent(b"data: 0\n\n", 3)]), usage=usage)
    reply = await settle_when_done(reply, Admission(_settle=settle))
    assert isinstance(reply, StreamReply) and reply.source is not None
    await reply.source.aclose()  # type: ignore[attr-defined]  # never started
    assert settled == [usage]


async def test_an_iterable_source_is_iterated_and_its_iterator_closed() -> None:
    """A paced stream's source is an iterable that starts a pacing generator when iterated."""

    class Paced:
        def __init__(self) -> None:
            self.iterators: list[AsyncIterator[bytes]] = []

        def __aiter__(self) -> AsyncIterator[bytes]:
            self.iterators.append(chunks(3))
            return self.iterators[-1]

    paced, final = Paced(), Finals()
    source = FinalisedSource(paced, final)
    assert await source.__anext__() == b"data: 0\n\n"
    await source.aclose()
    assert final.count == 1 and len(paced.iterators) == 1
    with pytest.raises(StopAsyncIteration):
        await paced.iterators[0].__anext__()  # closed with the stream
