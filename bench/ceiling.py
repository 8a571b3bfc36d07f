"""The ceiling: a bare Starlette app under the same uvicorn configuration as `python -m simulator`.

Each route answers a fixed body captured from the simulator (so the size and bytes are the same) after
reading the request body, as the simulator must; streamed bodies go out through `StreamingResponse` in one
piece, as a simulator stream does when latency is off. Whatever the simulator costs beyond this is its own.

    python -m bench.ceiling --bodies DIR --port N   (DIR: `<name>.json` and `<name>.sse` files → POST /<name>)
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"

Endpoint = Callable[[Request], Awaitable[Response]]


def fixed_json(body: bytes) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(body, media_type=JSON)

    return endpoint


def fixed_stream(body: bytes) -> Endpoint:
    async def chunks() -> AsyncIterator[bytes]:
        yield body

    async def endpoint(request: Request) -> Response:
        await request.body()
        return StreamingResponse(chunks(), media_type=SSE, headers={"cache-control": "no-cache"})

    return endpoint


def create_app(bodies: Path) -> Starlette:
    routes = []
    for path in sorted(bodies.iterdir()):
        if path.suffix == ".json":
            routes.append(Route(f"/{path.stem}", fixed_json(path.read_bytes()), methods=["POST"]))
        elif path.suffix == ".sse":
            routes.append(Route(f"/{path.stem}", fixed_stream(path.read_bytes()), methods=["POST"]))
    return Starlette(routes=routes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # The keyword arguments simulator/__main__.py passes to uvicorn.run (loop and http left on auto: uvloop, httptools).
    uvicorn.run(
        create_app(args.bodies),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
