"""Example extension: a Document Intelligence (Form Recognizer) simulation beside the AOAI one.

    EXTENSION_PATH=extensions/document_intelligence make run

Serves, under `/documentintelligence` (API 2024-11-30) and `/formrecognizer` (2023-07-31 and older):

- `POST …/documentModels/{modelId}:analyze?api-version=…` with the simulator's key (`Ocp-Apim-Subscription-Key`,
  `api-key` or a Bearer token) and a document (the SDK's JSON `base64Source`/`urlSource`, or the raw bytes):
  202 with an `operation-location` to poll;
- `GET …/documentModels/{modelId}/analyzeResults/{resultId}`: `{"status": "running"}` for a modelled time
  (`DOCUMENT_INTELLIGENCE_SECONDS` + `DOCUMENT_INTELLIGENCE_SECONDS_PER_PAGE` × pages), then
  `{"status": "succeeded", "analyzeResult": {...}}` with pages, lines, words and content read from the document.

Analyses are limited to `DOCUMENT_INTELLIGENCE_RPS` (default 15, the S0 tier's) requests per second and polls
to 50, across instances when rate limits live in Table Storage; over it the answer is 429 with `retry-after`.
In record mode requests go to `DOCUMENT_INTELLIGENCE_ENDPOINT` (key `DOCUMENT_INTELLIGENCE_KEY`) and only the
final poll is recorded; replay answers that poll from the recording.
"""

from __future__ import annotations

import datetime
import os
import re

from simulator import extend

from .analysis import analyze_result, read_pages
from .documents import document_of, result_url
from .forwarder import DocumentIntelligenceForwarder
from .operations import Operations, operation_id

PREFIXES = ("/documentintelligence", "/formrecognizer")
API_VERSION = r"\d{4}-\d{2}-\d{2}(-preview)?"
KNOWN_MODELS = ("prebuilt-read", "prebuilt-layout", "prebuilt-document")


class DocumentIntelligence:
    def __init__(self, operations: Operations, seconds: float, seconds_per_page: float, poll_after: str) -> None:
        self.operations = operations
        self.seconds = seconds
        self.seconds_per_page = seconds_per_page
        self.poll_after = poll_after  # the retry-after an SDK waits between polls

    async def analyze(self, request: extend.Request) -> extend.Response:
        api_version = _api_version(request)
        model_id = request.path_params["modelId"]
        _check_model(model_id)
        document, content_type = document_of(request)
        pages, size = read_pages(document, content_type)
        result_id = operation_id(model_id, document)
        result = analyze_result(model_id, api_version, pages, size)
        self.operations.start(result_id, self.seconds + self.seconds_per_page * len(pages), result)
        location = result_url(request, result_id, f"api-version={api_version}")
        return extend.Response(202, {"operation-location": location, "retry-after": self.poll_after})

    async def poll(self, request: extend.Request) -> extend.Response:
        _api_version(request)
        operation = self.operations.get(request.path_params["resultId"])
        if operation is None:
            raise extend.ApiError(
                404, "NotFound", "Resource not found.", extra={"innererror": _inner("ResultNotFound")}
            )
        now = self.operations.clock()
        body = {"createdDateTime": _timestamp(operation.created), "lastUpdatedDateTime": _timestamp(now)}
        if now < operation.ready_at:
            return extend.json_response({"status": "running", **body}, headers={"retry-after": self.poll_after})
        body["lastUpdatedDateTime"] = _timestamp(operation.ready_at)
        return extend.json_response({"status": "succeeded", **body, "analyzeResult": operation.result})


def initialize(simulator: extend.Simulator) -> None:
    service = DocumentIntelligence(
        Operations(),
        float(os.environ.get("DOCUMENT_INTELLIGENCE_SECONDS", "1.0")),
        float(os.environ.get("DOCUMENT_INTELLIGENCE_SECONDS_PER_PAGE", "0.25")),
        os.environ.get("DOCUMENT_INTELLIGENCE_POLL_AFTER", "1"),
    )
    analyses = simulator.limiter(
        "document-intelligence-analyze", requests=int(os.environ.get("DOCUMENT_INTELLIGENCE_RPS", "15"))
    )
    polls = simulator.limiter("document-intelligence-poll", requests=50)
    forwarder = DocumentIntelligenceForwarder(
        os.environ.get("DOCUMENT_INTELLIGENCE_ENDPOINT", ""), os.environ.get("DOCUMENT_INTELLIGENCE_KEY", "")
    )
    for prefix in PREFIXES:
        name = prefix.strip("/")
        simulator.add_route(
            f"{prefix}/documentModels/{{modelId}}:analyze",
            service.analyze,
            methods=("POST",),
            name=f"{name}-analyze",
            limit=analyses,
            forwarder=forwarder,
        )
        simulator.add_route(
            f"{prefix}/documentModels/{{modelId}}/analyzeResults/{{resultId}}",
            service.poll,
            name=f"{name}-poll",
            limit=polls,
            forwarder=forwarder,
        )


def _api_version(request: extend.Request) -> str:
    version = request.query_param("api-version")
    if not version:
        raise extend.ApiError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not re.fullmatch(API_VERSION, version):
        raise extend.ApiError(
            404,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI '{request.path}' does not support the API version "
            f"'{version}'.",
        )
    return version


def _check_model(model_id: str) -> None:
    if model_id not in KNOWN_MODELS:
        raise extend.ApiError(
            404, "NotFound", "Resource not found.", extra={"innererror": _inner("ModelNotFound", model_id)}
        )


def _inner(code: str, model_id: str | None = None) -> dict[str, str]:
    what = f"The requested model {model_id!r} was not found." if model_id else "The requested result was not found."
    return {"code": code, "message": what}


def _timestamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
