"""The one entry point both hosts call: auth, body limits and error shaping around every route."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from simulator import errors
from simulator.api.auth import authenticate, key_for
from simulator.api.cors import with_cors
from simulator.api.headers import header_map
from simulator.api.responses import common_headers, error_response
from simulator.app import Simulator
from simulator.errors import OpenAIError

logger = logging.getLogger(__name__)

Endpoint = Callable[[Simulator, Request, bytes], Awaitable[Response]]


async def dispatch(
    simulator: Simulator, request: Request, endpoint: Endpoint, methods: frozenset[str], *, auth: bool
) -> Response:
    """Run `endpoint`, turning every refusal into an AOAI-shaped error and every crash into a clean 500."""
    origins = simulator.settings.cors_origins
    if origins:
        return await with_cors(origins, request, lambda: _answer(simulator, request, endpoint, methods, auth=auth))
    return await _answer(simulator, request, endpoint, methods, auth=auth)


async def _answer(
    simulator: Simulator, request: Request, endpoint: Endpoint, methods: frozenset[str], *, auth: bool
) -> Response:
    try:
        if auth:
            key = key_for(request.scope["path"], simulator.api_key, simulator.settings.admin_key)
            authenticate(header_map(request), key)
        if request.method not in methods:
            raise errors.method_not_allowed(request.method)
        body = await read_body(request, simulator.settings.max_body_bytes)
        return await endpoint(simulator, request, body)
    except OpenAIError as error:
        return error_response(error, common_headers(request, simulator.settings.region))
    except ClientDisconnect:  # the client left (or was cut off) before its body was in: nobody reads an answer
        return Response(status_code=400)
    except Exception:
        logger.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(errors.internal_error(), common_headers(request, simulator.settings.region))


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
