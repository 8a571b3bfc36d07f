"""Inference endpoints: build the typed request from HTTP, let the core answer, render the reply."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from simulator import errors, jsonenc
from simulator.api.dispatch import Endpoint
from simulator.api.forms import Files, parse_form
from simulator.api.headers import header_map
from simulator.api.responses import common_headers, reply_response, request_id_of
from simulator.app import Simulator
from simulator.context import OpenAIRequest, Surface
from simulator.models import Operation
from simulator.settings import Mode

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
V1_API_VERSIONS = {"v1", "preview", "latest"}


def inference(operation: Operation, surface: Surface) -> Endpoint:
    async def endpoint(simulator: Simulator, request: Request, raw_body: bytes) -> Response:
        received_at = time.monotonic()
        api_version = api_version_of(request, surface)
        files: Files = {}
        if operation.multipart:
            content_type = header_map(request).get("content-type", "")
            body, files = parse_form(raw_body, content_type, digests=simulator.config.mode is not Mode.GENERATE)
        else:
            body = _json_object(raw_body)
        # Classic paths name the deployment, except the Responses API's (`/openai/responses`): the body does.
        name = request.path_params.get("deployment") or _model_field(body)
        deployment = simulator.deployments.resolve(name, operation)
        if not deployment.model.supports(operation):
            raise errors.operation_not_supported(operation.noun, deployment.model.name)
        parsed = OpenAIRequest(
            operation=operation,
            deployment=deployment,
            surface=surface,
            method=request.method,
            path=request.scope["path"],
            query=request.scope["query_string"].decode("latin-1"),
            headers=header_map(request),
            body=body,
            raw_body=raw_body,
            api_version=api_version,
            received_at=received_at,
            request_id=request_id_of(request),
            files=files,
        )
        reply = await simulator.answer(parsed)
        headers = common_headers(request, simulator.settings.region)
        headers["x-ms-deployment-name"] = deployment.name
        return reply_response(reply, headers)

    endpoint.accepts_uploads = operation.multipart  # type: ignore[attr-defined]  # read by dispatch
    return endpoint


def api_version_of(request: Request, surface: Surface) -> str | None:
    version = query_value(request.scope["query_string"], b"api-version")
    if surface is Surface.V1:
        if version is not None and version not in V1_API_VERSIONS and not API_VERSION.match(version):
            raise errors.unsupported_api_version()
        return version
    if not version:
        raise errors.missing_api_version()
    if not API_VERSION.match(version):
        raise errors.unsupported_api_version()
    return version


def query_value(query: bytes, name: bytes) -> str | None:
    """One query parameter, without parsing the whole query string into a multi-dict on every request."""
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == name:
            return unquote_plus(value.decode("latin-1"))
    return None


def _json_object(raw_body: bytes) -> dict[str, Any]:
    if not raw_body.strip():
        raise errors.invalid_request("The request body is empty; a JSON object is required.")
    try:
        body = jsonenc.loads(raw_body)
    except jsonenc.JSONDecodeError:
        raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_request("The request body must be a JSON object.")
    return body


def _model_field(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise errors.invalid_request(
            "Missing required parameter: 'model'. On /openai/v1 it names your deployment.",
            "model",
            "missing_required_parameter",
        )
    return model
