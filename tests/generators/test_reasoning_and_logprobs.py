"""Chat and completions for reasoning models (hidden tokens, caps, refusals) and with logprobs (shape, tokens
that concatenate to the content, whole and streamed), validated against the GA spec."""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator import jsonenc, reasoning
from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment, parse_deployment
from simulator.errors import OpenAIError
from simulator.generators.base import GenerationSettings
from simulator.generators.chat import ChatGenerator
from simulator.generators.completions import CompletionGenerator
from simulator.models import Operation, find_model
from simulator.replies import JsonReply, StreamReply
from tests.generators.test_chat_answers import ORDER_FORMAT
from tests.support import spec

MESSAGES = [{"role": "user", "content": "Think, then answer."}]
SETTINGS = GenerationSettings((20, 40))
CHAT = ChatGenerator(SETTINGS)
COMPLETIONS = CompletionGenerator(SETTINGS)
needs_spec = pytest.mark.skipif(not spec.available(), reason="AOAI specs not present")


def request(deployment: Deployment, body: dict[str, Any], operation: Operation) -> OpenAIRequest:
    return OpenAIRequest(operation, deployment, Surface.CLASSIC, "POST", "/", "", {}, body, b"", None, 0.0)


def chat(body: dict[str, Any], model: str = "o4-mini", seed: int = 0, deployment: Deployment | None = None) -> Any:
    parsed = request(deployment or Deployment("d", find_model(model)), body, Operation.CHAT_COMPLETIONS)
    return CHAT.generate(parsed, CHAT.parse(parsed), random.Random(seed))


def completion(body: dict[str, Any], seed: int = 0) -> Any:
    parsed = request(Deployment("d", find_model("gpt-35-turbo-instruct")), body, Operation.COMPLETIONS)
    return COMPLETIONS.generate(parsed, COMPLETIONS.parse(parsed), random.Random(seed))


def payloads(reply: StreamReply) -> list[dict[str, Any]]:
    assert reply.events is not None
    return [jsonenc.loads(event.data[len(b"data: ") :]) for event in reply.events[:-1]]


def test_reasoning_tokens_are_counted_and_seeded() -> None:
    reply = chat({"messages": MESSAGES, "reasoning_effort": "high"}, seed=3)
    assert isinstance(reply, JsonReply)
    usage = reply.body["usage"]
    thought = usage["completion_tokens_details"]["reasoning_tokens"]
    low, high = reasoning.profile_for(find_model("o4-mini")).tokens["high"]  # type: ignore[union-attr]
    assert low <= thought <= high
    visible = len(reply.body["choices"][0]["message"]["content"].split())  # lorem: about one word per token
    assert 20 <= usage["completion_tokens"] - thought <= 40 and visible > 0
    assert reply.usage is not None and reply.usage.reasoning_tokens == thought
    again = chat({"messages": MESSAGES, "reasoning_effort": "high"}, seed=3)
    assert again.body["usage"] == usage


def test_effort_sizes_the_thought() -> None:
    def thought(effort: str) -> int:
        replies = [chat({"messages": MESSAGES, "reasoning_effort": effort}, seed=seed) for seed in range(20)]
        return sum(reply.body["usage"]["completion_tokens_details"]["reasoning_tokens"] for reply in replies)

    assert thought("low") < thought("medium") < thought("high")


@needs_spec
def test_a_tight_cap_is_spent_on_thought() -> None:
    reply = chat({"messages": MESSAGES, "max_completion_tokens": 50})
    spec.validate(reply.body, "createChatCompletionResponse")
    spec.validate(reply.body, "AzureCreateChatCompletionResponse", spec.V1)
    choice = reply.body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == ""
    assert reply.body["usage"]["completion_tokens"] == 50
    assert reply.body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 50


def test_a_cap_left_over_by_thought_cuts_the_answer() -> None:
    deployment = parse_deployment("d", {"model": "o3-mini", "reasoningTokens": {"medium": 100}})
    reply = chat({"messages": MESSAGES, "max_completion_tokens": 110}, deployment=deployment)
    usage = reply.body["usage"]
    assert usage["completion_tokens"] == 110
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 100
    assert reply.body["choices"][0]["finish_reason"] == "length"
    assert reply.body["choices"][0]["message"]["content"]


def test_a_deployment_default_effort_applies() -> None:
    deployment = parse_deployment(
        "d", {"model": "gpt-5", "reasoningEffort": "minimal", "reasoningTokens": {"minimal": 0, "high": 999}}
    )
    reply = chat({"messages": MESSAGES}, deployment=deployment)
    assert reply.body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    reply = chat({"messages": MESSAGES, "reasoning_effort": "high"}, deployment=deployment)
    assert reply.body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 999


def test_streamed_reasoning_answer_carries_visible_tokens_only() -> None:
    body = {"messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    reply = chat(body, seed=5)
    assert isinstance(reply, StreamReply) and reply.events is not None and reply.usage is not None
    usage = payloads(reply)[-1]["usage"]
    thought = usage["completion_tokens_details"]["reasoning_tokens"]
    assert thought > 0 and reply.usage.reasoning_tokens == thought
    assert sum(reply.events.token_counts()) == usage["completion_tokens"] - thought


@pytest.mark.parametrize(
    ("model", "body", "param", "code"),
    [
        ("o3", {"temperature": 0.5}, "temperature", "unsupported_value"),
        ("o3-mini", {"top_p": 0.5}, "top_p", "unsupported_parameter"),
        ("o3-mini", {"reasoning_effort": "minimal"}, "reasoning_effort", "invalid_value"),
        ("o1-mini", {"reasoning_effort": "low"}, "reasoning_effort", "unsupported_parameter"),
        ("gpt-4o", {"reasoning_effort": "low"}, "reasoning_effort", "unsupported_parameter"),
        ("gpt-5", {"logprobs": True}, "logprobs", "unsupported_parameter"),
    ],
)
def test_refusals(model: str, body: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(OpenAIError) as raised:
        chat({"messages": MESSAGES, **body}, model=model)
    error = raised.value.body()["error"]
    assert (raised.value.status, error["param"], error["code"], error["type"]) == (
        400,
        param,
        code,
        "invalid_request_error",
    )


# --- logprobs ---------------------------------------------------------------------------------------------------


@needs_spec
@pytest.mark.parametrize("extra", [{}, {"response_format": ORDER_FORMAT}])
def test_chat_logprobs_concatenate_to_the_content(extra: dict[str, Any]) -> None:
    reply = chat({"messages": MESSAGES, "logprobs": True, "top_logprobs": 3, "n": 2, **extra}, model="gpt-4o")
    spec.validate(reply.body, "createChatCompletionResponse")
    spec.validate(reply.body, "AzureCreateChatCompletionResponse", spec.V1)
    for choice in reply.body["choices"]:
        content = choice["logprobs"]["content"]
        assert "".join(entry["token"] for entry in content) == choice["message"]["content"]
        for entry in content:
            assert bytes(entry["bytes"]).decode() == entry["token"]
            assert len(entry["top_logprobs"]) == 3
            assert entry["top_logprobs"][0]["token"] == entry["token"]
            values = [alternative["logprob"] for alternative in entry["top_logprobs"]]
            assert values == sorted(values, reverse=True) and all(value <= 0 for value in values)


def test_chat_logprobs_off_and_without_top() -> None:
    assert chat({"messages": MESSAGES}, model="gpt-4o").body["choices"][0]["logprobs"] is None
    reply = chat({"messages": MESSAGES, "logprobs": True}, model="gpt-4o")
    assert all(entry["top_logprobs"] == [] for entry in reply.body["choices"][0]["logprobs"]["content"])


@needs_spec
def test_streamed_chat_logprobs() -> None:
    body = {"messages": MESSAGES, "logprobs": True, "top_logprobs": 2, "stream": True}
    reply = chat(body, model="gpt-4o", seed=2)
    whole = chat({**body, "stream": False}, model="gpt-4o", seed=2)
    content, tokens = [], []
    for payload in payloads(reply)[1:]:
        spec.validate(payload, "createChatCompletionStreamResponse")
        spec.validate(payload, "AzureCreateChatCompletionStreamResponse", spec.V1)
        choice = payload["choices"][0]
        if choice["delta"].get("content"):
            content.append(choice["delta"]["content"])
            (entry,) = choice["logprobs"]["content"]
            tokens.append(entry["token"])
    assert "".join(content) == "".join(tokens) == whole.body["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": "yes"}, "logprobs"),
    ],
)
def test_chat_logprobs_refusals(body: dict[str, Any], param: str) -> None:
    with pytest.raises(OpenAIError) as raised:
        chat({"messages": MESSAGES, **body}, model="gpt-4o")
    assert raised.value.body()["error"]["param"] == param


@needs_spec
def test_completion_logprobs() -> None:
    reply = completion({"prompt": "Say it", "logprobs": 3, "max_tokens": 12})
    spec.validate(reply.body, "createCompletionResponse")
    choice = reply.body["choices"][0]
    logprobs = choice["logprobs"]
    assert "".join(logprobs["tokens"]) == choice["text"]
    assert logprobs["text_offset"] == [sum(map(len, logprobs["tokens"][:i])) for i in range(len(logprobs["tokens"]))]
    assert all(
        len(top) == 3 and max(top.values()) == value
        for top, value in zip(logprobs["top_logprobs"], logprobs["token_logprobs"], strict=True)
    )


def test_echoed_completion_logprobs_cover_the_prompt() -> None:
    reply = completion({"prompt": "Say it twice", "logprobs": 1, "echo": True, "max_tokens": 5})
    choice = reply.body["choices"][0]
    logprobs = choice["logprobs"]
    assert choice["text"].startswith("Say it twice") and "".join(logprobs["tokens"]) == choice["text"]
    assert logprobs["tokens"][:3] == ["Say", " it", " twice"]
    assert logprobs["token_logprobs"][0] is None and logprobs["top_logprobs"][0] is None
    assert reply.body["usage"]["completion_tokens"] == 5


@needs_spec
def test_streamed_completion_logprobs() -> None:
    reply = completion({"prompt": "Say it", "logprobs": 2, "stream": True, "echo": True, "max_tokens": 6}, seed=1)
    text, offsets = "", []
    for payload in payloads(reply)[1:]:
        # The GA spec has no completion chunk schema; its response schema fits once finish_reason is a string.
        # The echoed prompt's first token has a null logprob, as OpenAI answers and the spec does not say.
        choice = payload["choices"][0]
        if offsets:
            spec.validate({**payload, "choices": [{**choice, "finish_reason": "stop"}]}, "createCompletionResponse")
        if choice["text"]:
            tokens = choice["logprobs"]["tokens"]
            assert "".join(tokens) == choice["text"] and len(tokens) == (2 if not offsets else 1)
            offsets.append(choice["logprobs"]["text_offset"][0])
            assert offsets[-1] == len(text)
            assert choice["logprobs"]["text_offset"] == [
                len(text) + len("".join(tokens[:i])) for i in range(len(tokens))
            ]
            text += choice["text"]
    assert text.startswith("Say it") and len(offsets) == 1 + 6  # the echoed prompt in one chunk, then a token each
