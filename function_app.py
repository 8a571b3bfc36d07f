"""Azure Functions entry point: registers the simulator's route table on a v2-model FunctionApp.

Annotations here must be the real classes (no `from __future__ import annotations`): the Functions
worker inspects them to pick the HTTP streams (FastAPI) request and response types.
"""

import asyncio
import logging

import azure.functions as func
import uvicorn
from azurefunctions.extensions.http.fastapi import Request, Response
from azurefunctions.extensions.http.fastapi import web as http_streams
from fastapi import FastAPI

from simulator.api.dispatch import dispatch
from simulator.api.responses import error_response
from simulator.api.routes import ALL_METHODS, ROUTES, Route
from simulator.app import Simulator, configure_logging
from simulator.errors import OpenAIError
from simulator.settings import Settings, SettingsError
from simulator.tokens import EncodingsUnavailableError

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
logger = logging.getLogger("simulator.function_app")

_simulator: Simulator | None = None
_cannot_start: OpenAIError | None = None
_starting = asyncio.Lock()


async def get_simulator() -> Simulator:
    """Built and started on the first request, not at import: the worker imports this module to index it."""
    global _simulator
    if _simulator is None:
        async with _starting:
            if _simulator is None:
                settings = Settings.from_env()
                configure_logging(settings.log_level, root=False)  # the worker owns the root logger
                simulator = Simulator.from_settings(settings)
                await simulator.start()
                _simulator = simulator
    return _simulator


async def started_simulator() -> Simulator | OpenAIError:
    """The simulator, or the AOAI-shaped 500 that every request gets when it cannot start (a bad setting,
    no tokenizer files). App settings are read at start, and changing one restarts the app: the failure is
    kept rather than tried again on every request, and logged once."""
    global _cannot_start
    if _cannot_start is None:
        try:
            return await get_simulator()
        except (SettingsError, EncodingsUnavailableError) as error:
            logger.error("aoai-simulator cannot start: %s", error)
            _cannot_start = OpenAIError(500, "InternalServerError", f"The simulator cannot start: {error}")
    return _cannot_start


def _serve_only_the_functions() -> None:
    """The worker serves HTTP through the HTTP streams extension's own FastAPI app and uvicorn server, built with
    defaults that do not suit an AOAI look-alike (seen in the real worker, tests/functions/test_worker_*.py):
    FastAPI answers /docs, /redoc and /openapi.json itself, ahead of the functions, so those invocations wait for
    their request until the function timeout; and uvicorn logs an access line per request to stdout. The
    extension has no settings for either and its classes cannot be subclassed (it allows one web extension
    module per app), so its two methods are replaced: no documentation routes, uvicorn's records go to the
    worker's log (and so to Application Insights) at WARNING and above, and no per-request access line."""

    def web_app(self: http_streams.WebApp) -> None:
        self.web_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def serve(self: http_streams.WebServer) -> None:
        config = uvicorn.Config(
            self.web_app,
            host=self.hostname,
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            ws="none",  # as the local server: nothing here speaks WebSocket (nor do Functions HTTP triggers)
        )
        await uvicorn.Server(config).serve()

    http_streams.WebApp.__init__ = web_app
    http_streams.WebServer.serve = serve


def _register(route: Route) -> None:
    async def handler(req: Request) -> Response:
        simulator = await started_simulator()
        if isinstance(simulator, OpenAIError):
            return error_response(simulator)
        return await dispatch(simulator, req, route.endpoint, route.methods, auth=route.auth)

    handler.__name__ = handler.__qualname__ = route.name
    decorated = app.route(route=route.function_route, methods=list(ALL_METHODS))(handler)
    app.function_name(route.name)(decorated)


_serve_only_the_functions()
for _route in ROUTES:
    _register(_route)
