"""Chat completions through the official openai SDK, classic and v1 surfaces, sync and async."""

from __future__ import annotations

import pytest
from openai import AsyncAzureOpenAI, AzureOpenAI, BadRequestError, OpenAI

from simulator.tokens import count_text

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


def test_chat_usage_is_exact_and_capped(azure: AzureOpenAI) -> None:
    completion = azure.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=25)
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o"
    assert choice.message.role == "assistant"
    assert count_text(choice.message.content, "o200k_base") == completion.usage.completion_tokens
    assert completion.usage.completion_tokens == 25 and choice.finish_reason == "length"
    assert completion.usage.prompt_tokens == 3 + (3 + 1 + 3) + (3 + 1 + 1)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 25


def test_uncapped_answers_stop_naturally(azure: AzureOpenAI) -> None:
    completion = azure.chat.completions.create(model="chat", messages=MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    assert 100 <= completion.usage.completion_tokens <= 300
    assert completion.choices[0].message.content.endswith(".")


def test_n_choices_and_azure_fields(azure: AzureOpenAI) -> None:
    raw = azure.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES, max_tokens=5, n=3)
    body = raw.http_response.json()
    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 15
    assert body["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    assert body["choices"][0]["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    assert body["system_fingerprint"].startswith("fp_")
    assert raw.headers["x-ms-deployment-name"] == "chat"
    assert raw.headers["apim-request-id"]


def test_seed_makes_answers_repeatable(azure: AzureOpenAI) -> None:
    first = azure.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=30, seed=42)
    again = azure.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=30, seed=42)
    assert first.choices[0].message.content == again.choices[0].message.content


def test_reasoning_models_want_max_completion_tokens(azure: AzureOpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="reasoner", messages=MESSAGES, max_tokens=10)
    assert caught.value.code == "unsupported_parameter"
    assert "Use 'max_completion_tokens' instead" in caught.value.message
    ok = azure.chat.completions.create(model="reasoner", messages=MESSAGES, max_completion_tokens=10)
    assert ok.usage.completion_tokens == 10


def test_context_length_is_enforced(azure: AzureOpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="mini", messages=MESSAGES, max_tokens=200_000)
    assert caught.value.code == "invalid_value"
    huge = [{"role": "user", "content": "lorem " * 20_000}]
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="chat", messages=huge * 7, max_tokens=1000)
    assert caught.value.code == "context_length_exceeded"


def test_streaming_through_the_sdk(azure: AzureOpenAI) -> None:
    stream = azure.chat.completions.create(
        model="chat", messages=MESSAGES, max_tokens=12, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices == [] and chunks[0].id == ""
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(c.choices[0].delta.content for c in content_chunks)
    assert len(content_chunks) == 12 and count_text(text, "o200k_base") == 12
    ids = {c.id for c in chunks[1:]}
    assert len(ids) == 1
    assert chunks[1].choices[0].delta.role == "assistant"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12


async def test_async_clients(async_azure: AsyncAzureOpenAI) -> None:
    completion = await async_azure.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=7)
    assert completion.usage.completion_tokens == 7
    stream = await async_azure.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=4, stream=True)
    deltas = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices]
    assert "".join(d for d in deltas if d)


def test_v1_surface_uses_model_as_deployment(v1: OpenAI) -> None:
    completion = v1.chat.completions.create(model="mini", messages=MESSAGES, max_completion_tokens=9)
    assert completion.model == "gpt-4o-mini" and completion.usage.completion_tokens == 9
    models = {model.id for model in v1.models.list()}
    assert {"chat", "mini", "embed-small"} <= models


async def test_async_v1(async_v1) -> None:
    completion = await async_v1.chat.completions.create(model="chat", messages=MESSAGES, max_completion_tokens=3)
    assert completion.usage.completion_tokens == 3


def test_legacy_completions(azure: AzureOpenAI) -> None:
    completion = azure.completions.create(model="instruct", prompt="Once upon a time", max_tokens=16)
    assert completion.object == "text_completion"
    assert completion.usage.completion_tokens == 16
    assert count_text(completion.choices[0].text, "cl100k_base") == 16
    assert completion.usage.prompt_tokens == count_text("Once upon a time", "cl100k_base")
    echoed = azure.completions.create(model="instruct", prompt="Once upon a time", max_tokens=4, echo=True)
    assert echoed.choices[0].text.startswith("Once upon a time") and echoed.usage.completion_tokens == 4
    stream = azure.completions.create(model="instruct", prompt="Hello", max_tokens=5, stream=True)
    pieces = [chunk.choices[0].text for chunk in stream if chunk.choices]
    assert count_text("".join(pieces), "cl100k_base") == 5


def test_chat_model_refuses_completions(azure: AzureOpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.completions.create(model="chat", prompt="hi", max_tokens=5)
    assert caught.value.code == "OperationNotSupported"
    assert "completion operation does not work with the specified model, gpt-4o" in caught.value.message
