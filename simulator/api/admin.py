"""Control endpoints under `/++/`: the runtime config, saving recordings, stats, metrics and the dashboard.
The API key is required, except for the dashboard's page and scripts, which hold no data (the page asks for
the key and sends it with each stats request)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors, jsonenc
from simulator.api.responses import common_headers, json_response
from simulator.app import Simulator
from simulator.telemetry import dashboard as dashboard_assets
from simulator.telemetry.report import stats_document


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


async def stats(simulator: Simulator, request: Request, body: bytes) -> Response:
    """Per-deployment figures over the last 1, 5 and 15 minutes (summed over instances sharing storage)."""
    document = await stats_document(simulator)
    return json_response(document, headers=common_headers(request, simulator.settings.region))


async def metrics(simulator: Simulator, request: Request, body: bytes) -> Response:
    """The OpenTelemetry metrics as Prometheus text, when `SIMULATOR_METRICS_PROMETHEUS=true`."""
    exporters = simulator.telemetry.exporters
    text = None if exporters is None else exporters.prometheus_text()
    if text is None:
        raise errors.OpenAIError(
            404, "404", "Prometheus metrics are off: set SIMULATOR_METRICS_PROMETHEUS=true to serve them here."
        )
    headers = common_headers(request, simulator.settings.region)
    headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8"
    return Response(text, headers=headers)


async def dashboard(simulator: Simulator, request: Request, body: bytes) -> Response:
    """The dashboard's page (`/++/dashboard`) and its pinned files (`/++/dashboard/{asset}`)."""
    asset = dashboard_assets.find(request.path_params.get("asset", dashboard_assets.PAGE))
    if asset is None:
        raise errors.resource_not_found()
    headers = {"content-type": asset.content_type, "cache-control": "no-cache", "etag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.content, headers=headers)
