"""Turning replies and errors into Starlette responses, with the headers every AOAI answer carries."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Coroutine, Mapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from simulator import sse
from simulator.api.headers import header_map
from simulator.errors import OpenAIError
from simulator.jsonenc import dumps
from simulator.latency.pacing import PacedEvents, Write
from simulator.replies import JsonReply, Reply, StreamReply

JSON = "application/json"


def common_headers(request: HTTPConnection, region: str) -> dict[str, str]:
    request_id = request_id_of(request)
    headers = {"apim-request-id": request_id, "x-request-id": request_id, "x-ms-region": region}
    client_id = header_map(request).get("x-ms-client-request-id")
    if client_id:
        headers["x-ms-client-request-id"] = client_id
    return headers


def request_id_of(request: HTTPConnection) -> str:
    """The request's id (`apim-request-id`), made once: its answer, an error answer and telemetry share it."""
    scope = request.scope
    found = scope.get(_REQUEST_ID_KEY)
    if found is None:
        found = scope[_REQUEST_ID_KEY] = _request_id()
    return found


_REQUEST_ID_KEY = "aoai.request_id"


def _request_id() -> str:
    """A random UUID (version 4) in its usual form, without uuid.uuid4()'s overhead on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def encode_headers(headers: Mapping[str, str], content_type: bytes, length: int | None) -> list[tuple[bytes, bytes]]:
    """ASGI headers from lower-case names, with a content type unless `headers` has one (a replayed answer
    keeps the one it was recorded with) and the length when known. This runs on every answer: Starlette's
    own header normalisation is skipped, and each name is encoded once."""
    raw = [] if length is None else [(b"content-length", str(length).encode())]
    if "content-type" not in headers:
        raw.append((b"content-type", content_type))
    names = _HEADER_NAMES
    for name, value in headers.items():
        encoded = names.get(name)
        if encoded is None:
            if name == "content-length":
                continue
            encoded = name.encode("latin-1")
            if len(names) < 256:  # bounded: replayed answers bring their own names
                names[name] = encoded
        raw.append((encoded, value.encode("latin-1")))
    return raw


_HEADER_NAMES: dict[str, bytes] = {}
_JSON_BYTES = JSON.encode()
_SSE_BYTES = sse.MEDIA_TYPE.encode()


class JSONBytesResponse(Response):
    """A JSON body already encoded, with headers already lower-case."""

    media_type = JSON

    def __init__(self, body: bytes, status: int, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = encode_headers(headers, _JSON_BYTES, len(body))


class EventStreamResponse(StreamingResponse):
    """An SSE answer: the whole stream in one write, or a paced, proxied or replayed source write by write.

    Starlette's `StreamingResponse` runs a task group per stream to notice a client leaving; with thousands of
    paced streams that is a large share of the server's work. Here one plain task waits for the disconnect and
    the stream stops at its next write. `AbortConnection` raised by the source propagates: the server then
    drops the connection mid-answer, which is exactly the fault being simulated.
    """

    def __init__(self, reply: StreamReply, headers: Mapping[str, str]) -> None:
        self.status_code = reply.status
        self.background = None
        self.whole = reply.events.join() if reply.source is None and reply.events is not None else b""
        self.source = reply.source
        # Taken out of the reply: its hooks close over the reply, and a reply holding them back is a reference
        # cycle. A stream caught by a young collection is frozen (simulator.collector), so each such cycle
        # outlived its stream until the next thaw: memory grew with the streams sent.
        self.closed, reply.closed = reply.closed, None
        self.raw_headers = encode_headers(headers, _SSE_BYTES, None)

    @property  # type: ignore[override]
    def body_iterator(self) -> AsyncIterable[bytes]:
        """StreamingResponse's contract, for hosts and tests that read the body themselves."""
        return self.source if self.source is not None else _once(self.whole)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        except BaseException:  # the client left before a byte: the stream is over all the same
            await self._end(None)
            raise
        source = self.source
        if source is None:
            sent_at = time.monotonic()
            try:
                await send({"type": "http.response.body", "body": self.whole, "more_body": False})
            finally:
                self._ended(sent_at)
            return
        left = asyncio.ensure_future(_disconnect(receive))
        first_write: list[float] = []  # when the first bytes went out, for telemetry's time to first token
        try:
            if isinstance(source, PacedEvents) and source.deliverable:
                delivery = source.pacer.deliver(source, _eager_writer(send, first_write))
                left.add_done_callback(lambda _: delivery.stop())
                try:
                    await delivery.finished
                finally:
                    delivery.stop()
            else:
                async for chunk in source:
                    if left.done():
                        return
                    if not first_write:
                        first_write.append(time.monotonic())
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not left.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            left.cancel()
            await self._end(first_write[0] if first_write else None)

    async def discard(self, successor: Response | None = None) -> None:
        """This stream will not be sent (a response hook answered otherwise): its source is closed, and its
        `closed` hook (the stream's slot, telemetry's open-stream count) passes to `successor` when that is a
        stream sent in its place, or runs now. Either way it runs once."""
        if isinstance(successor, EventStreamResponse) and successor.closed is None:
            successor.closed, self.closed = self.closed, None
        await self._end(None)

    async def _end(self, first_write: float | None) -> None:
        """Close the source (settles usage even when the client left), then tell `closed`, even if closing
        raised: a slot must come back whatever the source does."""
        source, self.source = self.source, None
        try:
            if source is not None:
                await source.aclose()  # type: ignore[attr-defined]
        finally:
            self._ended(first_write)

    def _ended(self, first_write: float | None) -> None:
        """Tell the stream's hooks (slot, telemetry) it is over: once, and then let go of them."""
        closed, self.closed = self.closed, None
        if closed is not None:
            closed(first_write, time.monotonic())


def _eager_writer(send: Send, first_write: list[float]) -> Write:
    """Writes from a timer callback: runs the server's `send` at once, as it finishes without waiting unless
    the connection is paused for a slow reader; then the rest of it runs as a task. The time of the first
    write is appended to `first_write`."""

    def write(data: bytes) -> Awaitable[object] | None:
        if not first_write:
            first_write.append(time.monotonic())
        step = send({"type": "http.response.body", "body": data, "more_body": True})
        try:
            waiting = step.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return None
        return _finish(step, waiting)  # type: ignore[arg-type]

    return write


async def _finish(step: Coroutine[Any, Any, object], waiting: object) -> None:
    """Drive a coroutine that suspended on `waiting`, as a task would have."""
    try:
        while True:
            if isinstance(waiting, asyncio.Future):
                await asyncio.wait([waiting])
            else:
                await asyncio.sleep(0)
            waiting = step.send(None)
    except StopIteration:
        return
    finally:
        step.close()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return JSONBytesResponse(content, status, headers or {})


def error_response(error: OpenAIError, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, {**(headers or {}), **error.headers})


def reply_response(reply: Reply, headers: Mapping[str, str]) -> Response:
    merged = {**headers, **reply.headers}
    if isinstance(reply, JsonReply):
        return json_response(reply.body, reply.status, merged)
    merged.setdefault("cache-control", "no-cache")
    return EventStreamResponse(reply, merged)
