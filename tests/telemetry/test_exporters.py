"""Exporters against real receivers: Prometheus text at `/++/metrics`, and OTLP/HTTP posted to a stand-in
collector on loopback (decoded with the OTLP protobuf types), both from one simulator process."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import AzureOpenAI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from simulator.telemetry.exporters import entra_credential
from tests.support.ports import free_port
from tests.support.server import SimulatorProcess

PREDECESSOR_NAMES = [
    "aoai-api-simulator.latency.base",
    "aoai-api-simulator.latency.full",
    "aoai-api-simulator.tokens.used",
    "aoai-api-simulator.tokens.requested",
    "aoai-api-simulator.limits",
]


class Collector:
    """An OTLP/HTTP receiver: keeps every decoded export request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.traces: list[ExportTraceServiceRequest] = []
        received = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/metrics":
                    received.metrics.append(ExportMetricsServiceRequest.FromString(body))
                elif self.path == "/v1/traces":
                    received.traces.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def metric_names(self) -> set[str]:
        return {
            metric.name
            for export in self.metrics
            for resource in export.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def span_attributes(self) -> list[dict[str, Any]]:
        return [
            {attribute.key: attribute.value for attribute in span.attributes}
            for export in self.traces
            for resource in export.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    receiver = Collector()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def server(collector: Collector) -> Iterator[SimulatorProcess]:
    env = {
        "SIMULATOR_METRICS_PROMETHEUS": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    process = SimulatorProcess(env).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def request_ids(server: SimulatorProcess) -> list[str]:
    client = AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version="2024-10-21", max_retries=0)
    ids = []
    for stream in (False, True):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}], max_tokens=10, stream=stream
        )
        raw.parse()  # reads a stream to its end
        ids.append(raw.headers["apim-request-id"])
    return ids


def test_prometheus_text_has_the_predecessors_names(server: SimulatorProcess, request_ids: list[str]) -> None:
    assert httpx.get(f"{server.url}/++/metrics").status_code == 401
    response = httpx.get(f"{server.url}/++/metrics", headers={"api-key": server.api_key})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in PREDECESSOR_NAMES[:4]:
        assert name.replace("-", "_").replace(".", "_") in text, name
    assert 'deployment="gpt-4o"' in text and 'status_code="200"' in text and 'mode="generate"' in text
    assert "aoai_api_simulator_latency_ttft" in text and "aoai_api_simulator_streams_open" in text


def test_otlp_receives_metrics_and_spans_with_request_ids(collector: Collector, request_ids: list[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        spans = {attributes["aoai.request_id"].string_value for attributes in collector.span_attributes()}
        if {"aoai-api-simulator.latency.full", "aoai-api-simulator.latency.ttft"} <= collector.metric_names() and (
            set(request_ids) <= spans
        ):
            break
        time.sleep(0.1)
    assert {"aoai-api-simulator.latency.base", "aoai-api-simulator.tokens.used"} <= collector.metric_names()
    assert "aoai-api-simulator.latency.ttft" in collector.metric_names()
    by_id = {attributes["aoai.request_id"].string_value: attributes for attributes in collector.span_attributes()}
    assert set(request_ids) <= set(by_id)
    streamed = by_id[request_ids[1]]
    assert streamed["aoai.stream"].bool_value and streamed["aoai.deployment"].string_value == "gpt-4o"
    assert streamed["http.response.status_code"].int_value == 200


def test_entra_id_as_terraform_configures_it() -> None:
    assert entra_credential("") is None
    assert entra_credential("InstrumentationKey=abc") is None
    credential = entra_credential("ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD")
    assert type(credential).__name__ == "ManagedIdentityCredential"
