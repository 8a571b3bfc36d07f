"""The examples in extensions/, loaded together (comma-separated), driven over a real socket with the openai SDK.

canned_answers answers its prompts, echo_generator the rest (the first generator that answers wins); the
response hook stamps and redacts every answer; the latency rule is checked against the latency model's plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from openai import AzureOpenAI

from simulator.app import Simulator
from simulator.settings import Settings
from simulator.tokens import count_text
from tests.latency.helpers import make_request
from tests.support.server import SimulatorProcess

KEY = "examples-key"
EXAMPLES = ",".join(
    [
        "extensions/canned_answers.py",
        "extensions/echo_generator.py",
        "extensions/response_hook.py",
        "extensions/latency_rule.py",
        "extensions/document_intelligence",
    ]
)
CANNED = "The capital of France is Paris."


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with SimulatorProcess({"EXTENSION_PATH": EXAMPLES}, api_key=KEY) as process:
        yield process


@pytest.fixture
def client(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2024-10-21", max_retries=0)


def ask(client: AzureOpenAI, text: str, **options: object):
    return client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": text}], **options
    )


def test_canned_prompts_get_their_answer_with_exact_usage(client: AzureOpenAI) -> None:
    raw = ask(client, "  what is the capital of FRANCE ")
    reply = raw.parse()
    assert reply.choices[0].message.content == CANNED and reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == count_text(CANNED, "o200k_base")
    assert reply.system_fingerprint == "REDACTED" and raw.headers["x-simulator-hooked"] == "1"


def test_other_prompts_are_echoed_and_cut_at_the_cap(client: AzureOpenAI) -> None:
    reply = ask(client, "repeat after me please", max_tokens=2).parse()
    assert reply.choices[0].message.content == "repeat after"
    assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == 2
    assert ask(client, "echo me").parse().choices[0].message.content == "echo me"


def test_generated_answers_stream_with_usage_and_hooked_events(client: AzureOpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == CANNED
    assert chunks[-1].usage.completion_tokens == count_text(CANNED, "o200k_base")
    assert {c.system_fingerprint for c in chunks if c.choices} == {"REDACTED"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_the_response_hook_sees_refusals_and_other_apis(server: SimulatorProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        refused = http.post("/openai/v1/chat/completions", json={}, headers={"api-key": "wrong"})
        analysed = http.post(
            "/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
            json={"urlSource": "https://example.com/a.pdf"},
            headers={"ocp-apim-subscription-key": KEY},
        )
    assert refused.status_code == 401 and refused.headers["x-simulator-hooked"] == "1"
    assert json.loads(refused.content)["error"]["code"] == "401"
    assert analysed.status_code == 202 and analysed.headers["x-simulator-hooked"] == "1"


def test_the_latency_rule_paces_batch_requests_and_long_prompts() -> None:
    settings = Settings.from_env(
        {"SIMULATOR_API_KEY": KEY, "EXTENSION_PATH": "extensions/latency_rule.py", "SIMULATOR_LATENCY_CONFIG": (
            '{"enabled": true, "deployments": {"d": {"ttftMs": 300, "ttftStdMs": 0, "prefillMsPerToken": 0, '
            '"tokensPerSecond": 50, "tokenStdMs": 0}}}'
        )}
    )  # fmt: skip
    latency = Simulator.from_settings(settings).latency
    batch = latency.plan(make_request(headers={"x-latency-class": "batch"}), completion_tokens=21)
    assert batch.ttft == pytest.approx(2.0) and batch.total == pytest.approx(2.0 + 20 / 20)
    plain = latency.plan(make_request(prompt_tokens=100), completion_tokens=11)
    assert plain.ttft == pytest.approx(0.3) and plain.total == pytest.approx(0.3 + 10 / 50)
    long = latency.plan(make_request(prompt_tokens=5000), completion_tokens=1)
    assert long.ttft == pytest.approx(0.3 + 1.0)
