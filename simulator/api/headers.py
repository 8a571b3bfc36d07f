"""The request's headers as a plain dict, built once per request.

Starlette's `Headers` scans the raw header list (lower-casing and encoding the name) on every lookup and
raises KeyError for a missing one; a request is looked up five or six times (key, length, client request id…).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

_KEY = "simulator.headers"


def header_map(request: HTTPConnection) -> dict[str, str]:
    """Lower-case names (as ASGI servers give them); of repeated headers, the first, as Starlette's."""
    headers: dict[str, str] | None = request.scope.get(_KEY)
    if headers is None:
        headers = {}
        for name, value in reversed(request.scope["headers"]):
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        request.scope[_KEY] = headers
    return headers
