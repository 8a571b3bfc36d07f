"""`/++/stats`, `/++/metrics` and the request log, end to end: the openai SDK against the local server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AzureOpenAI

from tests.support.server import SimulatorProcess

DEPLOYMENTS = {
    "chat": {"model": "gpt-4o"},
    "by-requests": {"model": "gpt-4o", "tokensPerMinute": 100_000, "requestsPerMinute": 6},  # 1 per 10 s
    "by-tokens": {"model": "gpt-4o", "tokensPerMinute": 1_000, "requestsPerMinute": 600},
}
PROMPT = "a prompt that must stay out of the logs"
MESSAGES = [{"role": "user", "content": PROMPT}]
FIXED_TTFT = {"ttftMs": 30, "ttftStdMs": 0, "prefillMsPerToken": 0}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("telemetry") / "deployments.json"
    config.write_text(json.dumps(DEPLOYMENTS))
    env = {
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(config),
        "SIMULATOR_REQUEST_LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "SIMULATOR_LATENCY_CONFIG": json.dumps({"enabled": True, "deployments": {"chat": FIXED_TTFT}}),
    }
    process = SimulatorProcess(env, api_key="telemetry-secret-key").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def traffic(server: SimulatorProcess) -> dict[str, Any]:
    """One run of requests that touches every figure; returns the request ids it saw."""
    client = AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version="2024-10-21", max_retries=0)
    ids = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES, max_tokens=20)
        ids.append(raw.headers["apim-request-id"])
    for _ in range(2):
        for _chunk in client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=20, stream=True):
            pass
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="chat", messages=MESSAGES, max_tokens=5, extra_headers={"x-simulator-fault": "429"}
        )
    client.chat.completions.create(model="by-requests", messages=MESSAGES, max_tokens=5)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="by-requests", messages=MESSAGES, max_tokens=5)
    client.chat.completions.create(model="by-tokens", messages=MESSAGES, max_tokens=800)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="by-tokens", messages=MESSAGES, max_tokens=800)
    return {"ids": ids, "limited_id": limited.value.response.headers["apim-request-id"]}


def stats(server: SimulatorProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/++/stats", headers={"api-key": server.api_key})
    assert response.status_code == 200
    return response.json()


def test_stats_need_the_key(server: SimulatorProcess) -> None:
    assert httpx.get(f"{server.url}/++/stats").status_code == 401


def test_stats_per_deployment(server: SimulatorProcess, traffic: dict[str, Any]) -> None:
    document = stats(server)
    assert document["mode"] == "generate" and document["instances"] == 1
    assert document["rate_limiter"]["served_unlimited"] == 0
    chat = document["deployments"]["chat"]
    for window in ("1m", "5m", "15m"):
        assert chat[window]["requests"] == 6
    minute = chat["1m"]
    assert minute["rate_limited"] == {"tokens": 0, "requests": 0, "utilisation": 0, "fault": 1}
    assert minute["tokens"]["used"] > 5 * 20 and minute["tokens"]["limit"] is None
    assert minute["latency_ms"]["p50"] >= 25  # the configured 30 ms to first token, within a bucket
    # Never before the configured 30 ms (less half a bucket); how much later depends on the machine's load.
    assert 30 / 1.1 <= minute["ttft_ms"]["p50"] <= minute["latency_ms"]["p99"]
    assert chat["limits"] is None and sum(chat["series"]["requests"]) == 6
    by_requests = document["deployments"]["by-requests"]
    assert by_requests["1m"]["rate_limited"]["requests"] == 1
    assert by_requests["limits"] == {"tokens_per_minute": 100_000, "requests_per_minute": 6}
    by_tokens = document["deployments"]["by-tokens"]["1m"]
    assert by_tokens["rate_limited"]["tokens"] == 1 and by_tokens["tokens"]["limit"] == 1_000
    assert by_tokens["tokens"]["requested"] >= 1_600


def test_open_streams_return_to_zero(server: SimulatorProcess, traffic: dict[str, Any]) -> None:
    deadline = time.monotonic() + 10
    while stats(server)["deployments"]["chat"]["open_streams"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats(server)["deployments"]["chat"]["open_streams"] == 0


def test_prometheus_is_off_by_default(server: SimulatorProcess) -> None:
    response = httpx.get(f"{server.url}/++/metrics", headers={"api-key": server.api_key})
    assert response.status_code == 404 and "SIMULATOR_METRICS_PROMETHEUS" in response.json()["error"]["message"]


def test_one_json_line_per_request_with_its_id_and_never_the_key_or_prompt(
    server: SimulatorProcess, traffic: dict[str, Any]
) -> None:
    output = "".join(server._output)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = {line["request_id"]: line for line in lines if line["logger"] == "simulator.requests"}
    assert len(requests) == 10
    for request_id in traffic["ids"]:
        line = requests[request_id]
        assert line["deployment"] == "chat" and line["status_code"] == 200 and line["mode"] == "generate"
        assert line["completion_tokens"] == 20 and line["operation"] == "ChatCompletions_Create"
    refused = requests[traffic["limited_id"]]
    assert refused["status_code"] == 429 and refused["rate_limit_reason"] == "requests"
    assert server.api_key not in output and PROMPT not in output
