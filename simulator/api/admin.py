"""Control endpoints under `/++/`: the runtime config and saving recordings. The API key is required."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors, jsonenc
from simulator.api.responses import common_headers, json_response
from simulator.app import Simulator


async def config(simulator: Simulator, request: Request, body: bytes) -> Response:
    """GET shows the runtime config; PATCH applies a JSON merge patch to it, all or nothing."""
    if request.method == "PATCH":
        try:
            patch = jsonenc.loads(body)
        except jsonenc.JSONDecodeError:
            raise errors.invalid_json() from None
        updated = await simulator.config_store.patch(patch)
        return json_response(updated.to_json(), headers=common_headers(request, simulator.settings.region))
    return json_response(simulator.config.to_json(), headers=common_headers(request, simulator.settings.region))


async def save_recordings(simulator: Simulator, request: Request, body: bytes) -> Response:
    """Persist what record mode holds in memory (for RECORDING_AUTOSAVE=false)."""
    saved = await simulator.recorder().save() if simulator.recording.endpoint else 0
    return json_response({"saved": saved}, headers=common_headers(request, simulator.settings.region))
