"""Turning replies and errors into Starlette responses, with the headers every AOAI answer carries."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response, StreamingResponse

from simulator import sse
from simulator.errors import OpenAIError
from simulator.jsonenc import dumps
from simulator.replies import JsonReply, Reply, StreamReply

JSON = "application/json"


def common_headers(request_headers: Mapping[str, str], region: str) -> dict[str, str]:
    request_id = _request_id()
    headers = {"apim-request-id": request_id, "x-request-id": request_id, "x-ms-region": region}
    client_id = request_headers.get("x-ms-client-request-id")
    if client_id:
        headers["x-ms-client-request-id"] = client_id
    return headers


def _request_id() -> str:
    """A random UUID (version 4) in its usual form, without uuid.uuid4()'s overhead on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class JSONBytesResponse(Response):
    """A JSON body already encoded, with headers already lower-case: Starlette's `Response` without its
    per-request header normalisation (this runs on every answer)."""

    media_type = JSON

    def __init__(self, body: bytes, status: int, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        raw = [(b"content-length", str(len(body)).encode())]
        if "content-type" not in headers:  # a replayed answer keeps the content type it was recorded with
            raw.append((b"content-type", _JSON_BYTES))
        names = _HEADER_NAMES
        for name, value in headers.items():
            encoded = names.get(name)
            if encoded is None:
                if name == "content-length":
                    continue
                encoded = name.encode("latin-1")
                if len(names) < 256:
                    names[name] = encoded
            raw.append((encoded, value.encode("latin-1")))
        self.raw_headers = raw


_JSON_BYTES = JSON.encode()
# Header names repeat on every answer: encode each once (bounded: replayed answers bring their own names).
_HEADER_NAMES: dict[str, bytes] = {}


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
    return StreamingResponse(stream_body(reply), status_code=reply.status, headers=merged, media_type=sse.MEDIA_TYPE)


async def stream_body(reply: StreamReply) -> AsyncIterator[bytes]:
    """The body of a stream. `AbortConnection` raised by the source propagates: the server then drops the
    connection mid-answer, which is exactly the fault being simulated."""
    if reply.source is not None:
        async for data in reply.source:
            yield data
        return
    # Not paced: the whole stream is ready, so it goes out in one write.
    yield b"".join([event.data for event in reply.events or ()])
