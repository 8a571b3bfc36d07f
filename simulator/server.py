"""The local host: the route table on Starlette, served by uvicorn (`python -m simulator`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.routing import Router

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
    async def endpoint(request: Request) -> Response:
        return await dispatch(simulator, request, route.endpoint, route.methods, auth=route.auth)

    # Every method reaches dispatch, so a wrong method gets AOAI's error body rather than Starlette's.
    return StarletteRoute(route.path, endpoint, methods=list(ALL_METHODS), name=route.name)
