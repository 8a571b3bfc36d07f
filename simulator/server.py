"""The local host: the route table on Starlette, served by uvicorn (`python -m simulator`).

uvicorn bounds neither the time a client takes to send a request's headers or body nor their size: a client
that connects and trickles a byte every few seconds holds its connection (and its memory) for ever, and each
byte re-arms the keep-alive timer. `GuardedHttpToolsProtocol` adds those bounds; on Azure the Functions host's
own front end has them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.routing import Route as StarletteRoute
from starlette.routing import Router
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from simulator import errors, jsonenc
from simulator.api.dispatch import dispatch
from simulator.api.routes import ROUTES, Route
from simulator.app import Simulator
from simulator.errors import OpenAIError
from simulator.settings import Settings

REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def create_app(simulator: Simulator) -> Router:
    """A Starlette app serving `simulator` through the same route table the Functions host registers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Router) -> AsyncIterator[None]:
        await simulator.start()
        try:
            yield
        finally:
            await simulator.close()

    # A bare Router, not a Starlette app: dispatch already turns every error into an AOAI answer, so the
    # app's error and exception middlewares would only add two layers to every request.
    mounted = [_mount(simulator, route) for route in ROUTES]
    # A request target no route pattern can match (`OPTIONS *`, an absolute URL) gets the catch-all's AOAI 404
    # rather than the router's plain-text one.
    fallback = next(route.endpoint for route in mounted if route.name == "not_found")
    return Router(routes=mounted, lifespan=lifespan, default=fallback)


def _mount(simulator: Simulator, route: Route) -> StarletteRoute:
    # Every method (PROPFIND and made-up ones too: methods=None) reaches dispatch, so a wrong method gets AOAI's
    # error body rather than Starlette's.
    return StarletteRoute(route.path, _Endpoint(simulator, route), methods=None, name=route.name)


class _Endpoint:
    """A route as a plain ASGI app. Starlette wraps a function endpoint in two more layers (exception handlers
    for an app that registers none, and a wrapper around `send` that every write of every stream then passes
    through); dispatch already answers every error itself."""

    def __init__(self, simulator: Simulator, route: Route) -> None:
        self.simulator = simulator
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route
        request = Request(scope, receive, send)
        response = await dispatch(self.simulator, request, route.endpoint, route.methods, auth=route.auth)
        await response(scope, receive, send)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.run` that bound what one connection may hold (docs/security.md)."""
    protocol = type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout": settings.header_timeout_seconds,
            "body_timeout": settings.body_timeout_seconds,
            "max_header_bytes": settings.max_header_bytes,
        },
    )
    return {"http": protocol, "timeout_keep_alive": settings.keepalive_timeout_seconds}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with deadlines: a request's line and headers must arrive within
    `header_timeout` (counted from the connection for its first request, else from the first bytes that leave a
    request's headers incomplete) and hold at most `max_header_bytes`; its body must arrive within
    `body_timeout` of its headers; bytes between requests that begin none (blank lines) get a header deadline
    too. A client past one gets AOAI's error shape (408 or 431) and the connection is closed. One timer per
    connection, armed only while something is awaited: a request that arrives whole arms none."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 65536

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = -1  # bytes of the headers being read; -1 while no request's headers are awaited
        self._chunk = 0  # size of the data being parsed
        self._oversized = False
        self._deadline: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout, self._expire)
        self._awaiting_body = False  # whether the deadline armed is a body's

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._disarm()
        # Headers that arrived with their end in one chunk are measured here, when they may be too large.
        if self._header_bytes + self._chunk > self.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            self._oversized = size > self.max_header_bytes
        self._header_bytes = -1
        super().on_headers_complete()  # the request's handler starts; refused below, it sees a disconnect

    def data_received(self, data: bytes) -> None:
        self._chunk = len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._oversized:
            self._refuse(errors.headers_too_large(self.max_header_bytes))
            return
        if self._header_bytes >= 0:  # the headers are still incomplete after this chunk
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(errors.headers_too_large(self.max_header_bytes))
            elif self._deadline is None:
                self._deadline = self.loop.call_later(self.header_timeout, self._expire)
            return
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_complete:  # a body is awaited
            if self._deadline is None:
                self._deadline = self.loop.call_later(self.body_timeout, self._expire)
                self._awaiting_body = True
            return
        if self._awaiting_body:
            self._disarm()
        if self._deadline is None and (cycle is None or cycle.response_complete):
            # Bytes between requests that begin none (blank lines): each re-arms uvicorn's keep-alive timer, so
            # they get a header deadline instead.
            self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def send_400_response(self, msg: str) -> None:
        """What uvicorn answers to bytes that are not HTTP/1.1, in AOAI's error shape instead of plain text."""
        self._refuse(errors.malformed_request())

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._awaiting_body = False

    def _expire(self) -> None:
        self._deadline = None
        self._awaiting_body = False
        if self.transport.is_closing():
            return
        cycle = self.cycle
        idle = self._header_bytes <= 0 and (cycle is None or cycle.response_complete)  # a new connection, silent
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if idle or answering:
            self.transport.close()
        elif self._header_bytes >= 0:
            self._refuse(errors.request_timeout(self.header_timeout))
        else:
            self._refuse(errors.request_timeout(self.body_timeout))

    def _refuse(self, error: OpenAIError) -> None:
        """Answer `error` on the raw connection and close it; the request's handler, if any, sees a disconnect."""
        body = jsonenc.dumps(error.body())
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        self.transport.write(head % (error.status, REASONS[error.status], len(body)) + body)
        self.transport.close()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
