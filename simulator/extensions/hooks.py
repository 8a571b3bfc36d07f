"""Extensions' request and response hooks, run around every route by the dispatcher (both hosts), so they see
every request that reaches a route and every answer, refusals before the pipeline (401, 404, 413) included.

With no hook registered the dispatcher never comes here: `ExtensionRegistry.hooks` is None.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse

from simulator.api.responses import EventStreamResponse, common_headers, encode_headers, error_response
from simulator.delivery import AbortConnection
from simulator.errors import OpenAIError
from simulator.extend import Event, EventHook, Request, RequestHook, ResponseHook
from simulator.extensions.calls import call, call_async
from simulator.extensions.http import apply_view, request_view, response_view, to_starlette
from simulator.recording.sse import EventSplitter

_DATA = b"data: "
_END = b"\n\n"


class Hooks:
    def __init__(
        self,
        requests: list[tuple[str, RequestHook]],
        responses: list[tuple[str, ResponseHook]],
        events: list[tuple[str, EventHook]],
    ) -> None:
        self.requests = requests
        self.responses = responses
        self.events = events

    async def before(
        self, request: StarletteRequest, body: bytes, region: str
    ) -> tuple[bytes, StarletteResponse | None]:
        """Run the request hooks; the body to answer, or the answer a hook gave instead."""
        view = request_view(request, body)
        for extension, hook in self.requests:
            answer = await call_async(extension, "a request hook", hook, view)
            if answer is not None:
                return view.body, to_starlette(answer, common_headers(request, region), extension)
        apply_view(request, view)
        return view.body, None

    async def after(self, request: StarletteRequest, response: StarletteResponse, region: str) -> StarletteResponse:
        """Run the response hooks on `response` (in place, or the answer they replace it with), and route a
        stream's events through event hooks."""
        view = request_view(request, b"")
        if self.responses:
            response = await self._respond(request, response, view, region)
        if self.events and isinstance(response, EventStreamResponse) and _is_sse(response):
            source = response.source if response.source is not None else _once(response.whole)
            response.source, response.whole = self._hooked(source, view), b""
        return response

    async def _respond(
        self, request: StarletteRequest, response: StarletteResponse, view: Request, region: str
    ) -> StarletteResponse:
        """The answer after the response hooks. A stream they replace (an error raised, a whole `body` with
        `streamed` False, another `stream`) is discarded here, as it will never be sent: its slot and open-stream
        count go back now, or pass to the stream sent instead."""
        answer = response_view(response)
        sent_headers = dict(answer.headers)
        replaced_by = ""  # the extension whose hook set `answer.stream`, named if that stream fails
        try:
            for extension, hook in self.responses:
                stream = answer.stream
                await call_async(extension, "a response hook", hook, view, answer)
                if answer.stream is not stream:
                    replaced_by = extension
        except OpenAIError as error:  # not hooked again: the hook that failed would only fail again
            replacement: StarletteResponse = error_response(error, common_headers(request, region))
            await _discard(response, replacement)
            return replacement
        except BaseException:  # cancelled: nothing will be sent
            await _discard(response, None)
            raise
        if answer.stream is not None or (answer.streamed is False and isinstance(response, EventStreamResponse)):
            replacement = to_starlette(answer, {}, replaced_by)
            await _discard(response, replacement)
            return replacement
        response.status_code = answer.status
        if answer.streamed:
            if answer.headers != sent_headers:
                response.raw_headers = encode_headers(answer.headers, b"text/event-stream; charset=utf-8", None)
        elif answer.headers != sent_headers or answer.body is not response.body:
            response.body = answer.body
            response.raw_headers = encode_headers(answer.headers, b"application/json", len(answer.body))
        return response

    async def _hooked(self, source: AsyncIterator[bytes], view: Request) -> AsyncIterator[bytes]:
        splitter = EventSplitter()
        try:
            async for chunk in source:
                data = b"".join([self._event(view, event) for event in splitter.feed(chunk)])
                if data:
                    yield data
            tail = splitter.close()
            if tail:
                yield tail
        except OpenAIError:  # an event hook failed (and was logged): the status is long sent
            raise AbortConnection from None
        finally:
            await source.aclose()  # type: ignore[attr-defined]  # settles usage, as the response would have

    def _event(self, view: Request, raw: bytes) -> bytes:
        if not (raw.startswith(_DATA) and raw.endswith(_END)):
            return raw  # comments, multi-line events: passed on as they are
        event: Event | None = Event(raw[len(_DATA) : -len(_END)].decode())
        for extension, hook in self.events:
            event = call(extension, "a stream event hook", hook, view, event)
            if event is None:
                return b""
        return _DATA + event.data.encode() + _END


async def _discard(response: StarletteResponse, replacement: StarletteResponse | None) -> None:
    if isinstance(response, EventStreamResponse):
        await response.discard(replacement)


def _is_sse(response: StarletteResponse) -> bool:
    """Server-sent events, not another stream the same response class sends (speech's audio)."""
    for name, value in response.raw_headers:
        if name == b"content-type":
            return value.startswith(b"text/event-stream")
    return False


async def _once(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data
