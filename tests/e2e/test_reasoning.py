"""Reasoning models and logprobs through the official openai SDK over a socket, and error bodies on the wire."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from openai import AzureOpenAI, BadRequestError, OpenAI

from simulator.models import find_model
from simulator.reasoning import profile_for
from simulator.tokens import count_messages
from tests.e2e.conftest import API_VERSION
from tests.support import spec
from tests.support.server import SimulatorProcess

MESSAGES = [{"role": "user", "content": "Think it over."}]
THOUGHT = 300  # the paced deployment's fixed reasoning tokens
PACED = {
    "thinker": {"model": "o4-mini", "reasoningTokens": {"medium": THOUGHT}, "tokensPerMinute": 1_000_000},
    "charged": {"model": "o4-mini", "reasoningTokens": {"high": [100, 300]}, "tokensPerMinute": 1_000_000},
    "ptu-thinker": {"model": "o4-mini", "type": "provisioned", "ptu": 1, "reasoningTokens": {"medium": THOUGHT}},
}
VISIBLE = 10  # SIMULATOR_COMPLETION_TOKENS of the paced server
# Thought at 1,000 tokens/s (0.3 s), visible tokens at 1,000/s, nothing else: the first token waits for the thought.
LATENCY = {
    "deployments": {
        name: {"ttftMs": 0, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 1000, "tokenStdMs": 0}
        for name in PACED
    }
}


@pytest.fixture(scope="module")
def paced(tmp_path_factory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("reasoning") / "deployments.json"
    config.write_text(json.dumps(PACED))
    env = {
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(config),
        "SIMULATOR_LATENCY_ENABLED": "true",
        "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY),
        "SIMULATOR_COMPLETION_TOKENS": str(VISIBLE),
    }
    with SimulatorProcess(env) as process:
        yield process


def paced_client(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


def test_reasoning_tokens_in_usage(azure: AzureOpenAI, v1: OpenAI) -> None:
    completion = azure.chat.completions.create(model="reasoner", messages=MESSAGES, reasoning_effort="low", seed=7)
    usage = completion.usage
    thought = usage.completion_tokens_details.reasoning_tokens
    low, high = profile_for(find_model("o3-mini")).tokens["low"]  # type: ignore[union-attr]
    assert low <= thought <= high and usage.completion_tokens > thought
    assert completion.choices[0].finish_reason == "stop" and completion.choices[0].message.content
    again = v1.chat.completions.create(model="reasoner", messages=MESSAGES, reasoning_effort="low", seed=7)
    assert again.usage.completion_tokens_details.reasoning_tokens == thought


def test_a_tight_cap_leaves_an_empty_answer(azure: AzureOpenAI) -> None:
    completion = azure.chat.completions.create(model="reasoner", messages=MESSAGES, max_completion_tokens=40)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == ""
    assert completion.usage.completion_tokens == completion.usage.completion_tokens_details.reasoning_tokens == 40


def test_streamed_usage_counts_the_thought(azure: AzureOpenAI) -> None:
    stream = azure.chat.completions.create(
        model="reasoner", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    usage = chunks[-1].usage
    assert text and usage.completion_tokens_details.reasoning_tokens > 0
    assert usage.completion_tokens - usage.completion_tokens_details.reasoning_tokens == len(
        [chunk for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    )


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"temperature": 0.2}, "temperature", "unsupported_parameter"),  # o3-mini refuses it outright
        ({"reasoning_effort": "minimal"}, "reasoning_effort", "invalid_value"),
        ({"logprobs": True}, "logprobs", "unsupported_parameter"),
    ],
)
def test_reasoning_refusals_name_the_parameter(azure: AzureOpenAI, kwargs: dict, param: str, code: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="reasoner", messages=MESSAGES, **kwargs)
    assert (caught.value.param, caught.value.code, caught.value.type) == (param, code, "invalid_request_error")
    spec.validate_error(caught.value.response.json())


def test_thought_comes_before_the_first_token(paced: SimulatorProcess) -> None:
    client = paced_client(paced)
    started = time.monotonic()
    stream = client.chat.completions.create(model="thinker", messages=MESSAGES, max_completion_tokens=THOUGHT + 5)
    assert stream.usage.completion_tokens_details.reasoning_tokens == THOUGHT
    # THOUGHT reasoning tokens then 4 intervals at 1 ms: at least 0.3 s, whatever the machine's load.
    assert time.monotonic() - started >= (THOUGHT + 4) / 1000 - 0.001
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="thinker", messages=MESSAGES, max_completion_tokens=THOUGHT + 5, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    assert time.monotonic() - started >= THOUGHT / 1000 - 0.001
    stream.close()


def test_standard_limits_charge_the_expected_thought(paced: SimulatorProcess) -> None:
    raw = paced_client(paced).chat.completions.with_raw_response.create(
        model="charged", messages=[{"role": "user", "content": "x" * 40}], reasoning_effort="high"
    )
    # The model's default answer, 40 characters of prompt, and the middle of this deployment's high range.
    charged = find_model("o4-mini").default_token_cost + 10 + 200
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) == 1_000_000 - charged
    assert raw.parse().usage.completion_tokens_details.reasoning_tokens in range(100, 301)


def test_provisioned_utilisation_counts_the_thought(paced: SimulatorProcess) -> None:
    client = paced_client(paced)
    model = find_model("o4-mini")
    prompt = count_messages(MESSAGES, model.encoding)
    first = client.chat.completions.with_raw_response.create(model="ptu-thinker", messages=MESSAGES)
    assert first.parse().usage.completion_tokens == THOUGHT + VISIBLE
    second = client.chat.completions.with_raw_response.create(model="ptu-thinker", messages=MESSAGES)
    # The first settled at its usage, thought included; the second is charged its estimate: the model's default
    # answer plus the middle of medium's range (this deployment's single value). Output weighs 4 input tokens.
    settled = prompt + 4 * (THOUGHT + VISIBLE)
    estimate = prompt + 4 * (model.default_token_cost + THOUGHT)
    capacity = 2_500  # one PTU of a model without a figure of its own
    shown = float(second.headers["azure-openai-deployment-utilization"].rstrip("%"))
    # Draining at capacity / 60 per second, over the second that two paced answers take at most here.
    assert 100 * (settled + estimate - capacity / 60) / capacity <= shown <= 100 * (settled + estimate) / capacity


def test_chat_logprobs(azure: AzureOpenAI) -> None:
    completion = azure.chat.completions.create(
        model="chat", messages=MESSAGES, max_tokens=20, logprobs=True, top_logprobs=4
    )
    choice = completion.choices[0]
    assert "".join(entry.token for entry in choice.logprobs.content) == choice.message.content
    assert all(len(entry.top_logprobs) == 4 for entry in choice.logprobs.content)
    stream = azure.chat.completions.create(
        model="chat", messages=MESSAGES, max_tokens=20, logprobs=True, top_logprobs=1, stream=True
    )
    content, tokens = "", ""
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            content += chunk.choices[0].delta.content
            tokens += "".join(entry.token for entry in chunk.choices[0].logprobs.content)
    assert content == tokens and len(content) > 0


def test_completion_logprobs(azure: AzureOpenAI) -> None:
    completion = azure.completions.create(model="instruct", prompt="Once", max_tokens=8, logprobs=2)
    logprobs = completion.choices[0].logprobs
    assert "".join(logprobs.tokens) == completion.choices[0].text
    assert len(logprobs.token_logprobs) == len(logprobs.top_logprobs) == len(logprobs.text_offset) == 8


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b""])
def test_malformed_bodies_get_every_error_field(server: SimulatorProcess, content: bytes) -> None:
    response = httpx.post(
        f"{server.url}/openai/deployments/chat/chat/completions?api-version={API_VERSION}",
        content=content,
        headers={"api-key": server.api_key, "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (None, None, "invalid_request_error")
    spec.validate_error(response.json())
