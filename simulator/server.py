"""The local host: the route table on Starlette, served by uvicorn (`python -m simulator`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.routing import Route as StarletteRoute
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from simulator.api.dispatch import dispatch
from simulator.api.routes import ALL_METHODS, ROUTES, Route
from simulator.app import Simulator


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
    return Router(routes=[_mount(simulator, route) for route in ROUTES], lifespan=lifespan)


def _mount(simulator: Simulator, route: Route) -> StarletteRoute:
    # Every method reaches dispatch, so a wrong method gets AOAI's error body rather than Starlette's.
    return StarletteRoute(route.path, _Endpoint(simulator, route), methods=list(ALL_METHODS), name=route.name)


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
