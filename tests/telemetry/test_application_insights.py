"""Application Insights through azure-monitor-opentelemetry, against a stand-in ingestion endpoint on loopback
(the connection string's `IngestionEndpoint`): metrics under the predecessor's names, one request per call
carrying its apim-request-id, and the request log line as a trace with the same id."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AzureOpenAI

from tests.support.ports import free_port
from tests.support.server import SimulatorProcess


class Ingestion:
    """Accepts `POST …/track` as Application Insights does and keeps the envelopes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.envelopes: list[dict[str, Any]] = []
        received = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                items = json.loads(body) if body.strip().startswith(b"[") else []
                received.envelopes.extend(items)
                answer = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [envelope["data"]["baseData"] for envelope in self.envelopes if envelope["data"]["baseType"] == kind]


@pytest.fixture(scope="module")
def ingestion() -> Iterator[Ingestion]:
    endpoint = Ingestion()
    yield endpoint
    endpoint.server.shutdown()


@pytest.fixture(scope="module")
def server(ingestion: Ingestion) -> Iterator[SimulatorProcess]:
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
    assert arrived(), [envelope["data"]["baseType"] for envelope in ingestion.envelopes]
    [request] = [r for r in ingestion.of_kind("RequestData") if r["properties"].get("aoai.request_id") == request_id]
    assert request["name"] == "ChatCompletions_Create gpt-4o" and request["responseCode"] == "200"
    [log] = [m for m in ingestion.of_kind("MessageData") if request_id in m["message"]]
    assert log["properties"]["deployment"] == "gpt-4o" and server.api_key not in json.dumps(ingestion.envelopes)
