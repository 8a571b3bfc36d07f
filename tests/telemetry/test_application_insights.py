"""Application Insights through azure-monitor-opentelemetry, against a stand-in ingestion endpoint on loopback
(the connection string's `IngestionEndpoint`): metrics under the predecessor's names, one request per call
carrying its apim-request-id, and the request log line as a trace with the same id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AzureOpenAI

from tests.support.receiver import PostReceiver
from tests.support.server import SimulatorProcess


def accepted(path: str, body: bytes) -> bytes:
    """What the ingestion service answers to a batch it took whole."""
    count = len(json.loads(body)) if body.strip().startswith(b"[") else 0
    return json.dumps({"itemsReceived": count, "itemsAccepted": count, "errors": []}).encode()


class Ingestion(PostReceiver):
    """Accepts `POST …/track` as Application Insights does; its envelopes by kind."""

    def __init__(self) -> None:
        super().__init__(accepted)

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return [item for _, body in list(self.posts) if body.strip().startswith(b"[") for item in json.loads(body)]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [envelope["data"]["baseData"] for envelope in self.envelopes if envelope["data"]["baseType"] == kind]


@pytest.fixture(scope="module")
def ingestion() -> Iterator[Ingestion]:
    endpoint = Ingestion().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def server(ingestion: Ingestion, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    url = f"http://127.0.0.1:{ingestion.port}/"
    env = {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": (
            f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={url};LiveEndpoint={url}"
        ),
        # Nothing leaves the machine: no SDK self-telemetry to Microsoft, no Azure VM metadata probe.
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "SIMULATOR_REQUEST_LOG_LEVEL": "INFO",
        # The exporter keeps what it failed to send under the temporary directory, in a folder named after the
        # instrumentation key, user and working directory, and sends it again later: an earlier run's metrics
        # (or a concurrent run's) would otherwise reach this endpoint too, and could pass for this run's.
        "TMPDIR": str(tmp_path_factory.mktemp("azure-monitor-storage")),
    }
    process = SimulatorProcess(env).start()
    yield process
    process.stop()


def test_metrics_requests_and_logs_reach_application_insights(server: SimulatorProcess, ingestion: Ingestion) -> None:
    client = AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version="2024-10-21", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )
    request_id = raw.headers["apim-request-id"]
    wanted = {"aoai-api-simulator.latency.full", "aoai-api-simulator.tokens.used"}

    def arrived() -> bool:
        metrics = {metric["name"] for data in ingestion.of_kind("MetricData") for metric in data["metrics"]}
        requests = [r for r in ingestion.of_kind("RequestData") if r["properties"].get("aoai.request_id") == request_id]
        logs = [m for m in ingestion.of_kind("MessageData") if request_id in m["message"]]
        return wanted <= metrics and bool(requests) and bool(logs)

    deadline = time.monotonic() + 30
    while not arrived() and time.monotonic() < deadline:
        time.sleep(0.1)
    kinds = {envelope["data"]["baseType"] for envelope in ingestion.envelopes}
    metrics = {metric["name"] for data in ingestion.of_kind("MetricData") for metric in data["metrics"]}
    assert arrived(), (kinds, metrics, server._output[-20:])
    [request] = [r for r in ingestion.of_kind("RequestData") if r["properties"].get("aoai.request_id") == request_id]
    assert request["name"] == "ChatCompletions_Create gpt-4o" and request["responseCode"] == "200"
    [log] = [m for m in ingestion.of_kind("MessageData") if request_id in m["message"]]
    assert log["properties"]["deployment"] == "gpt-4o" and server.api_key not in json.dumps(ingestion.envelopes)
