"""Service endpoints: health, the v1 model list, image URLs, and AOAI's 404 for everything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors
from simulator.api.responses import common_headers, json_response
from simulator.app import Simulator

MODELS_CREATED = 1_700_000_000  # fixed, so the list is byte-stable across calls and instances


async def health(simulator: Simulator, request: Request, body: bytes) -> Response:
    return json_response({"status": "ok", "mode": simulator.settings.mode.value})


async def list_models(simulator: Simulator, request: Request, body: bytes) -> Response:
    data = [
        {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "system", "model": d.model.name}
        for name, d in sorted(simulator.deployments.defined.items())
    ]
    return json_response({"object": "list", "data": data}, headers=common_headers(request, simulator.settings.region))


async def image_file(simulator: Simulator, request: Request, body: bytes) -> Response:
    """An image answered earlier as a URL, until it expires; then, like any unknown name, AOAI's 404."""
    image = await simulator.image_urls.fetch(request.path_params.get("name", ""))
    if image is None:
        raise errors.resource_not_found()
    headers = {"content-type": image.content_type, "cache-control": "private, max-age=300"}
    return Response(b"" if request.method == "HEAD" else image.data, headers=headers)


async def not_found(simulator: Simulator, request: Request, body: bytes) -> Response:
    """AOAI's 404 for any path without a route, after extensions' routes. The root is the exception: on Azure
    Functions an empty route may not register as `/`, so the catch-all answers health checks there too."""
    if request.scope["path"] in ("", "/") and request.method in ("GET", "HEAD"):
        return await health(simulator, request, body)
    if simulator.extensions.router.routes:  # extensions' routes for other APIs, matched before the 404
        answer = await simulator.extensions.router.serve(simulator, request, body)
        if answer is not None:
            return answer
    raise errors.resource_not_found()
