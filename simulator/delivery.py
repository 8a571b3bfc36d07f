"""Faults that change how an answer is delivered rather than what it says: a connection closed part-way
(or before anything), and a completion that ends with `finish_reason: "content_filter"`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from simulator import jsonenc, sse
from simulator.generators.responses import CreatedResponse
from simulator.ratelimit import Admission
from simulator.replies import FinalisedSource, JsonReply, Reply, StreamEvent, StreamEvents, StreamReply


class AbortConnection(Exception):  # noqa: N818 - it is a signal to the transport, not an error of ours
    """Raised inside a response body: the server drops the connection, as a reset or a cut stream does."""


class QuietAborts(logging.Filter):
    """Keeps the server's "Exception in ASGI application" traceback out of the log when the exception is an
    `AbortConnection`: ASGI has no other way to drop a connection mid-answer, and a fault asked for is no error.
    Installed on `uvicorn.error` by `configure_logging`, for the local server and the Functions worker alike."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AbortConnection))


QUIET_ABORTS = QuietAborts()


def abort_after(reply: Reply, events: int) -> StreamReply:
    """Deliver the first `events` events of the answer (0: none), then drop the connection."""
    source = reply.source if isinstance(reply, StreamReply) else None
    if source is None and isinstance(reply, StreamReply) and reply.events is not None:
        source = _each(reply.events)
    return StreamReply(source=_cut(source, events), status=reply.status, headers=dict(reply.headers), usage=reply.usage)


async def _each(events: StreamEvents) -> AsyncIterator[bytes]:
    for index in range(len(events)):
        yield events.join(index, index + 1)


async def _whole(events: StreamEvents | None) -> AsyncIterator[bytes]:
    if events:
        yield events.join()


async def _cut(source: AsyncIterator[bytes] | None, events: int) -> AsyncIterator[bytes]:
    sent = 0
    if source is not None and events > 0:
        async for data in source:
            # Paced sources coalesce the events due at one moment (the first token comes with the events before
            # it) into one write: send only the events still owed, so the client gets exactly `events`.
            data, count = _first_events(data, events - sent)
            sent += count
            yield data
            if sent >= events:
                break
    raise AbortConnection


def _first_events(data: bytes, wanted: int) -> tuple[bytes, int]:
    """At most `wanted` whole events from the front of `data`, and how many; a write that completes no event
    (a proxied fragment) counts as one, as the source meant it as one."""
    end = count = 0
    while count < wanted and (found := data.find(b"\n\n", end)) >= 0:
        end, count = found + 2, count + 1
    if count == 0:
        return data, 1
    return (data[:end] if count == wanted else data), count


async def settle_when_done(reply: Reply, admission: Admission) -> Reply:
    """Report the answer's usage to the limiter once it is complete: now for a whole answer, when the last
    byte is sent (or the client leaves) for a stream. Only Provisioned deployments have anything to settle."""
    if not admission.pending:
        return reply
    if isinstance(reply, JsonReply):
        await admission.settle(reply.usage)
        return reply
    source = reply.source if reply.source is not None else _whole(reply.events)
    reply.source = FinalisedSource(source, lambda: admission.settle(reply.usage))
    return reply


def apply_completion_filter(reply: Reply, results: dict[str, Any]) -> Reply:
    """Mark every choice's ending as filtered by the content filter, with `results` as the verdict; a Responses
    API answer ends `incomplete` for `content_filter` instead (it has no choices)."""
    created = reply.resource
    if isinstance(created, CreatedResponse):
        created.filter_completion()
        if isinstance(reply, StreamReply):
            reply.events = created.events
        return reply
    if isinstance(reply, JsonReply) and isinstance(reply.body, dict):
        for choice in reply.body.get("choices", ()):
            choice["finish_reason"] = "content_filter"
            choice["content_filter_results"] = results
    elif isinstance(reply, StreamReply) and reply.events is not None:
        reply.events = reply.events.map_events(lambda event: _filtered_event(event, results))
    return reply


def _filtered_event(event: StreamEvent, results: dict[str, Any]) -> StreamEvent:
    if event.data == sse.DONE or b'"finish_reason":null' in event.data or b'"finish_reason"' not in event.data:
        return event
    payload = jsonenc.loads(event.data[len(b"data: ") :])
    for choice in payload.get("choices", ()):
        if choice.get("finish_reason"):
            choice["finish_reason"] = "content_filter"
            choice["content_filter_results"] = results
    return StreamEvent(sse.event(payload), event.tokens)
