"""Between the transport's Starlette objects and the public `Request`/`Response` of simulator.extend."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping

from starlette.requests import HTTPConnection
from starlette.responses import Response as StarletteResponse

from simulator.api.headers import header_map
from simulator.api.responses import EventStreamResponse, json_response
from simulator.delivery import AbortConnection
from simulator.errors import OpenAIError
from simulator.extend import Request, Response
from simulator.replies import StreamReply

_VIEW = "simulator.extension_request"


def request_view(request: HTTPConnection, body: bytes) -> Request:
    """The public view of `request`, made once per request (hooks and an extension route share it). Its
    headers are the request's own header map, so a hook's change is what the simulator reads."""
    scope = request.scope
    view: Request | None = scope.get(_VIEW)
    if view is None:
        view = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=header_map(request),
            body=body,
            path_params=dict(scope.get("path_params") or {}),
            scheme=scope.get("scheme", "http"),
        )
        scope[_VIEW] = view
    else:
        view.body = body
    return view


def apply_view(request: HTTPConnection, view: Request) -> None:
    """Make what hooks changed in `view` (headers, query) what the rest of the simulator reads."""
    scope = request.scope
    scope["simulator.headers"] = view.headers  # header_map's cache
    query = view.query.encode("latin-1")
    if query != scope["query_string"]:
        scope["query_string"] = query


def to_starlette(answer: Response, headers: Mapping[str, str], extension: str) -> StarletteResponse:
    """An extension's answer as the hosts send it, over the headers every answer carries."""
    merged = {**headers, **{name.lower(): value for name, value in answer.headers.items()}}
    if answer.stream is not None:
        reply = StreamReply(source=guarded_stream(answer.stream, extension), status=answer.status)
        return EventStreamResponse(reply, merged)
    return json_response(answer.body, answer.status, merged)


def response_view(response: StarletteResponse) -> Response:
    """The public view of an answer about to be sent (a stream's body is not known yet)."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in response.raw_headers}
    headers.pop("content-length", None)
    streamed = isinstance(response, EventStreamResponse)
    body = b"" if streamed else response.body
    return Response(response.status_code, headers, body, streamed=streamed)


async def guarded_stream(source: AsyncIterable[bytes], extension: str) -> AsyncIterator[bytes]:
    """An extension's stream; if it raises part-way, the connection is dropped (the status is long sent) and
    the log names the extension."""
    from simulator.extensions.calls import failed

    try:
        async for chunk in source:
            yield chunk
    except (OpenAIError, AbortConnection):
        raise AbortConnection from None
    except Exception:
        failed(extension, "a streamed answer")
        raise AbortConnection from None
