"""Exporters against real receivers: Prometheus text at `/++/metrics`, and OTLP/HTTP posted to a stand-in
collector on loopback (decoded with the OTLP protobuf types), both from one simulator process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import AzureOpenAI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from simulator.telemetry.exporters import distro_sampling, entra_credential
from tests.support.receiver import PostReceiver
from tests.support.server import SimulatorProcess

PREDECESSOR_NAMES = [
    "aoai-api-simulator.latency.base",
    "aoai-api-simulator.latency.full",
    "aoai-api-simulator.tokens.used",
    "aoai-api-simulator.tokens.requested",
    "aoai-api-simulator.limits",
]


class Collector(PostReceiver):
    """An OTLP/HTTP receiver: every export request, decoded."""

    def metric_names(self) -> set[str]:
        return {
            metric.name
            for path, body in list(self.posts)
            if path == "/v1/metrics"
            for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def span_attributes(self) -> list[dict[str, Any]]:
        return [
            {attribute.key: attribute.value for attribute in span.attributes}
            for path, body in list(self.posts)
            if path == "/v1/traces"
            for resource in ExportTraceServiceRequest.FromString(body).resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    receiver = Collector().start()
    yield receiver
    receiver.stop()


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


def test_application_insights_samples_every_budgeted_span_unless_a_sampler_is_named() -> None:
    """The distro's default rate-limited sampler would drop spans the trace budget let through."""
    assert distro_sampling({}) == {"sampling_ratio": 1.0}
    assert distro_sampling({"OTEL_TRACES_SAMPLER": "microsoft.rate_limited", "OTEL_TRACES_SAMPLER_ARG": "2"}) == {}
