"""The one entry point both hosts call: auth, body limits and error shaping around every route."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from simulator import errors
from simulator.api import cors
from simulator.api.auth import authenticate, key_for
from simulator.api.headers import header_map
from simulator.api.responses import common_headers, error_response
from simulator.app import Simulator
from simulator.errors import OpenAIError

logger = logging.getLogger(__name__)

Endpoint = Callable[[Simulator, Request, bytes], Awaitable[Response]]
# Endpoints taking uploads (audio, images) read bodies up to this size whatever SIMULATOR_MAX_BODY_BYTES says, so
# that a file over AOAI's 25 MB gets AOAI's 400 naming the file rather than a 413 (a megabyte for the other fields).
UPLOAD_BODY_BYTES = 26 * 1024 * 1024


async def dispatch(
    simulator: Simulator, request: Request, endpoint: Endpoint, methods: frozenset[str], *, auth: bool
) -> Response:
    """Run `endpoint`, turning every refusal into an AOAI-shaped error and every crash into a clean 500.
    Extensions' request hooks run before the endpoint, their response hooks on every answer (refusals too)."""
    hooks = simulator.extensions.hooks
    origins = simulator.settings.cors_origins
    if origins and (preflight := cors.preflight(origins, request)) is not None:
        return preflight
    try:
        if auth:
            key = key_for(request.scope["path"], simulator.api_key, simulator.settings.admin_key)
            authenticate(header_map(request), key)
        if request.method not in methods:
            raise errors.method_not_allowed(request.method)
        limit = simulator.settings.max_body_bytes
        if getattr(endpoint, "accepts_uploads", False):
            limit = max(limit, UPLOAD_BODY_BYTES)
        body = await read_body(request, limit)
        if hooks is None:
            response = await endpoint(simulator, request, body)
            return cors.allow(origins, request, response) if origins else response
        body, response = await hooks.before(request, body, simulator.settings.region)
        if response is None:
            response = await endpoint(simulator, request, body)
    except OpenAIError as error:
        response = error_response(error, common_headers(request, simulator.settings.region))
    except ClientDisconnect:  # the client left (or was cut off) before its body was in: nobody reads an answer
        return Response(status_code=400)
    except Exception:
        logger.exception("unexpected error answering %s %s", request.method, request.url.path)
        response = error_response(errors.internal_error(), common_headers(request, simulator.settings.region))
    if hooks is not None:
        response = await hooks.after(request, response, simulator.settings.region)
    return cors.allow(origins, request, response) if origins else response


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` (before reading it all when announced)."""
    announced = header_map(request).get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise errors.payload_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.payload_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
