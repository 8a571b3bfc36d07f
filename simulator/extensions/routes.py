"""Extensions' routes: matched by the route table's catch-all before AOAI's 404, so both hosts serve them
without a function of their own. A route's request goes: key check → its limit → the answer by mode (record:
its forwarder; replay: a recording, else the handler; generate: the handler)."""

from __future__ import annotations

import dataclasses
import hmac
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import compile_path

from simulator import errors
from simulator.api.auth import presented_key
from simulator.api.responses import common_headers
from simulator.extend import Forwarder, Limiter, Request, Response, RouteHandler
from simulator.extensions.calls import call_async, failed
from simulator.extensions.http import request_view, to_starlette
from simulator.settings import Mode, SettingsError

if TYPE_CHECKING:
    from simulator.app import Simulator

KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclasses.dataclass(frozen=True, slots=True)
class ExtensionRoute:
    extension: str
    name: str
    path: str
    methods: frozenset[str]
    handler: RouteHandler
    auth: bool
    limit: Limiter | None
    forwarder: Forwarder | None
    pattern: re.Pattern[str]
    convertors: dict[str, Any]

    @classmethod
    def make(
        cls,
        extension: str,
        path: str,
        handler: RouteHandler,
        methods: Sequence[str],
        name: str | None,
        auth: bool,
        limit: Limiter | None,
        forwarder: Forwarder | None,
    ) -> ExtensionRoute:
        if not path.startswith("/"):
            raise SettingsError(f"route {path!r}: a path starts with /")
        if path.startswith(("/openai/", "/++/")) or path == "/":
            raise SettingsError(f"route {path!r}: the simulator's own paths are not for extensions")
        wanted = frozenset(method.upper() for method in methods)
        if not wanted or not wanted <= KNOWN_METHODS:
            raise SettingsError(f"route {path!r}: methods must be among {', '.join(sorted(KNOWN_METHODS))}")
        name = name or re.sub(r"[^A-Za-z0-9_-]+", "-", path.strip("/"))[:64].strip("-") or "root"
        if not _NAME.fullmatch(name):
            raise SettingsError(f"route {path!r}: name {name!r} is not a plain name")
        if not callable(handler):
            raise SettingsError(f"route {path!r}: the handler is not callable")
        if forwarder is not None and not isinstance(forwarder, Forwarder):
            raise SettingsError(f"route {path!r}: forwarder must be a simulator.extend.Forwarder")
        pattern, _, convertors = compile_path(path)
        return cls(extension, name, path, wanted, handler, auth, limit, forwarder, pattern, convertors)


class ExtensionRouter:
    def __init__(self) -> None:
        self.routes: list[ExtensionRoute] = []

    def add(self, route: ExtensionRoute) -> None:
        for existing in self.routes:
            if existing.path == route.path and existing.methods & route.methods:
                raise SettingsError(f"route {route.path!r} is already served by {existing.extension}")
        self.routes.append(route)

    def match(self, path: str, method: str) -> tuple[ExtensionRoute, dict[str, str]] | None:
        """The first route for `path` that takes `method`; 405 when routes match the path but not the method."""
        path_matched = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if method not in route.methods:
                path_matched = True
                continue
            params = {key: route.convertors[key].convert(value) for key, value in found.groupdict().items()}
            return route, params
        if path_matched:
            raise errors.method_not_allowed(method)
        return None

    async def serve(self, simulator: Simulator, request: StarletteRequest, body: bytes) -> StarletteResponse | None:
        """The answer of the extension route for `request`, or None when no route has its path."""
        found = self.match(request.scope["path"], request.method)
        if found is None:
            return None
        route, params = found
        view = request_view(request, body)
        view.path_params = params
        if route.auth:
            authenticate(view, simulator.api_key)
        if route.limit is not None:
            await route.limit.check()
        answer = await self._answer(simulator, route, view)
        return to_starlette(answer, common_headers(request, simulator.settings.region), route.extension)

    async def _answer(self, simulator: Simulator, route: ExtensionRoute, view: Request) -> Response:
        mode = simulator.config.mode
        if route.forwarder is not None and mode is not Mode.GENERATE:
            forwarding = simulator.extensions.forwarding()
            if mode is Mode.RECORD:
                return await forwarding.forward(route, view)
            replayed = await forwarding.replay(route, view)
            if replayed is not None:
                return replayed
        answer = await call_async(route.extension, f"route {route.name}", route.handler, view)
        if not isinstance(answer, Response):
            try:
                raise TypeError(f"route {route.name} returned {type(answer).__name__}, not simulator.extend.Response")
            except TypeError:
                raise failed(route.extension, f"route {route.name}") from None
        return answer


def authenticate(view: Request, expected: str) -> None:
    """The simulator's key as AOAI takes it, or as the other Cognitive Services do (`Ocp-Apim-Subscription-Key`)."""
    key = view.headers.get("ocp-apim-subscription-key") or presented_key(view.headers)
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        raise errors.unauthorized()
