"""Stored responses over HTTP: retrieve (or resume the stream of), delete, list input items, cancel.

Transport only: the api-version and query are read here, the answers come from `ResponsesService`, and the
simulator applies the faults of the response's deployment around them (`Simulator.answer_stored`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors
from simulator.api.dispatch import Endpoint
from simulator.api.headers import header_map
from simulator.api.inference import api_version_of, query_value
from simulator.api.responses import common_headers, reply_response
from simulator.app import Simulator
from simulator.context import OpenAIRequest, Surface
from simulator.models import Operation
from simulator.replies import JsonReply, Reply, StreamReply
from simulator.responses.service import check_page
from simulator.responses.store import StoredResponse

Answer = Callable[[StoredResponse], Awaitable[Reply]]


def stored_response(surface: Surface) -> Endpoint:
    """GET (the response, or with `stream=true` its events after `starting_after`) and DELETE."""

    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        service = simulator.responses
        query = request.scope["query_string"]
        if request.method == "DELETE":

            async def answer(stored: StoredResponse) -> Reply:
                return JsonReply(await service.delete(stored.id))

        elif query_value(query, b"stream") == "true":
            starting_after = _int_query(query, "starting_after")

            async def answer(stored: StoredResponse) -> Reply:
                return StreamReply(source=service.resume(stored, starting_after))

        else:

            async def answer(stored: StoredResponse) -> Reply:
                return JsonReply(service.view(stored))

        return await _serve(simulator, request, surface, answer)

    return endpoint


def input_items(surface: Surface) -> Endpoint:
    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        query = request.scope["query_string"]
        limit = _int_query(query, "limit")
        order = query_value(query, b"order") or "desc"
        check_page(20 if limit is None else limit, order)

        async def answer(stored: StoredResponse) -> Reply:
            page = await simulator.responses.input_items(
                stored.id,
                limit=20 if limit is None else limit,
                order=order,
                after=query_value(query, b"after"),
                before=query_value(query, b"before"),
            )
            return JsonReply(page)

        return await _serve(simulator, request, surface, answer)

    return endpoint


def cancel(surface: Surface) -> Endpoint:
    async def endpoint(simulator: Simulator, request: Request, body: bytes) -> Response:
        async def answer(stored: StoredResponse) -> Reply:
            return JsonReply(await simulator.responses.cancel(stored.id))

        return await _serve(simulator, request, surface, answer)

    return endpoint


async def _serve(simulator: Simulator, request: Request, surface: Surface, answer: Answer) -> Response:
    """Check the api-version, find the stored response (404 when unknown), answer it under its deployment's
    faults."""
    received_at = time.monotonic()
    api_version = api_version_of(request, surface)
    stored = await simulator.responses.find(request.path_params["response_id"])
    parsed = OpenAIRequest(
        operation=Operation.RESPONSES,
        deployment=simulator.deployments.resolve(stored.deployment, Operation.RESPONSES),
        surface=surface,
        method=request.method,
        path=request.scope["path"],
        query=request.scope["query_string"].decode("latin-1"),
        headers=header_map(request),
        body={},
        raw_body=b"",
        api_version=api_version,
        received_at=received_at,
    )
    reply = await simulator.answer_stored(parsed, lambda: answer(stored))
    return reply_response(reply, common_headers(request, simulator.settings.region))


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
