"""Cross-origin requests from browsers (CORS): off unless `SIMULATOR_CORS_ORIGINS` names origins.

A browser page (a dashboard, a playground) may call the simulator only from an origin listed there, or from
any origin with `*`. Keys travel in headers (`api-key`, `Authorization`), never in cookies, so credentials are
not allowed and `*` is safe to answer. A preflight is answered without a key: browsers send none with it.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from simulator.api.headers import header_map

PREFLIGHT_MAX_AGE = "600"


class CorsPolicy:
    def __init__(self, origins: frozenset[str]) -> None:
        self.any = "*" in origins
        self.origins = origins

    @classmethod
    @functools.cache
    def parse(cls, setting: str) -> CorsPolicy:
        return cls(frozenset(origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()))

    def allows(self, origin: str) -> bool:
        return self.any or origin in self.origins

    def headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        allowed = b"*" if self.any else origin.encode("latin-1")
        # The rate-limit, retry and request-id headers are what a page needs to read.
        return [
            (b"access-control-allow-origin", allowed),
            (b"access-control-expose-headers", b"*"),
            (b"vary", b"origin"),
        ]


def preflight(setting: str, request: Request) -> Response | None:
    """The answer to an allowed origin's preflight (`OPTIONS` with `access-control-request-method`), or None."""
    if request.method != "OPTIONS":
        return None
    headers = header_map(request)
    origin = headers.get("origin")
    policy = CorsPolicy.parse(setting)
    if origin is None or "access-control-request-method" not in headers or not policy.allows(origin):
        return None
    response = Response(status_code=204)
    response.raw_headers += [
        *policy.headers(origin),
        (b"access-control-allow-methods", headers["access-control-request-method"].encode("latin-1")),
        (b"access-control-allow-headers", headers.get("access-control-request-headers", "*").encode("latin-1")),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
    ]
    return response


def allow(setting: str, request: Request, response: Response) -> Response:
    """`response` with CORS headers when the request comes from an allowed origin."""
    origin = header_map(request).get("origin")
    policy = CorsPolicy.parse(setting)
    if origin is not None and policy.allows(origin):
        response.raw_headers += policy.headers(origin)
    return response
