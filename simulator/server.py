"""The local host: the route table on Starlette, served by uvicorn (`python -m simulator`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from simulator.api.dispatch import dispatch
from simulator.api.routes import ALL_METHODS, ROUTES, Route
from simulator.app import Simulator


def create_app(simulator: Simulator) -> Starlette:
    """A Starlette app serving `simulator` through the same route table the Functions host registers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await simulator.start()
        try:
            yield
        finally:
            await simulator.close()

    app = Starlette(routes=[_mount(simulator, route) for route in ROUTES], lifespan=lifespan)
    app.state.simulator = simulator
    return app


def _mount(simulator: Simulator, route: Route) -> StarletteRoute:
    async def endpoint(request: Request) -> Response:
        return await dispatch(simulator, request, route.endpoint, route.methods, auth=route.auth)

    # Every method reaches dispatch, so a wrong method gets AOAI's error body rather than Starlette's.
    return StarletteRoute(route.path, endpoint, methods=list(ALL_METHODS), name=route.name)
