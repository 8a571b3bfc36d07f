"""Stored responses over HTTP: retrieve (or resume the stream of), delete, list input items, cancel.

Transport only: the api-version and query are read here, the answers come from `ResponsesService`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors
from simulator.api.dispatch import Endpoint
from simulator.api.inference import api_version_of, query_value
from simulator.api.responses import common_headers, json_response, reply_response
from simulator.app import Simulator
from simulator.context import Surface
from simulator.replies import StreamReply


def stored_response(surface: Surface) -> Endpoint:
    """GET (the response, or with `stream=true` its events after `starting_after`) and DELETE."""

    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        api_version_of(request, surface)
        response_id = request.path_params["response_id"]
        service = simulator.responses
        headers = common_headers(request, simulator.settings.region)
        if request.method == "DELETE":
            return json_response(await service.delete(response_id), headers=headers)
        query = request.scope["query_string"]
        stored = await service.find(response_id)
        if query_value(query, b"stream") == "true":
            starting_after = _int_query(query, "starting_after")
            return reply_response(StreamReply(source=service.resume(stored, starting_after)), headers)
        return json_response(service.view(stored), headers=headers)

    return endpoint


def input_items(surface: Surface) -> Endpoint:
    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        api_version_of(request, surface)
        query = request.scope["query_string"]
        limit = _int_query(query, "limit")
        page = await simulator.responses.input_items(
            request.path_params["response_id"],
            limit=20 if limit is None else limit,
            order=query_value(query, b"order") or "desc",
            after=query_value(query, b"after"),
            before=query_value(query, b"before"),
        )
        return json_response(page, headers=common_headers(request, simulator.settings.region))

    return endpoint


def cancel(surface: Surface) -> Endpoint:
    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        api_version_of(request, surface)
        cancelled = await simulator.responses.cancel(request.path_params["response_id"])
        return json_response(cancelled, headers=common_headers(request, simulator.settings.region))

    return endpoint


def _int_query(query: bytes, name: str) -> int | None:
    raw = query_value(query, name.encode())
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.invalid_request(
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.", name, "invalid_type"
        ) from None
