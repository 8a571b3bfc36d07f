"""The chat generator's tool calls and structured outputs: usage, stream pacing weights, cuts, fast path."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest

from simulator import jsonenc, tokens
from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment
from simulator.errors import OpenAIError
from simulator.generators.base import GenerationSettings
from simulator.generators.chat import ChatGenerator
from simulator.generators.text_stream import fit_pieces, token_pieces
from simulator.generators.tool_calls import ToolCallPolicy
from simulator.models import Operation, find_model
from simulator.params import invalid_type, parse_chat
from simulator.replies import JsonReply, StreamReply
from tests.generators.schemas import GET_CURRENT_WEATHER, ORDER

TOOLS = [{"type": "function", "function": {"name": "get_current_weather", "parameters": GET_CURRENT_WEATHER}}]
MESSAGES = [{"role": "user", "content": "Weather in Glasgow, as json"}]
ORDER_FORMAT = {"type": "json_schema", "json_schema": {"name": "order", "schema": ORDER, "strict": True}}
GENERATOR = ChatGenerator(GenerationSettings((20, 40), tool_calls=ToolCallPolicy(auto_probability=0.5)))


def answer(body: dict[str, Any], seed: int = 0) -> tuple[OpenAIRequest, JsonReply | StreamReply]:
    deployment = Deployment("chat", find_model("gpt-4o"))
    request = OpenAIRequest(
        Operation.CHAT_COMPLETIONS, deployment, Surface.CLASSIC, "POST", "/", "", {}, body, b"", None, 0.0
    )
    params = GENERATOR.parse(request)
    return request, GENERATOR.generate(request, params, random.Random(seed))


def payloads(reply: StreamReply) -> list[dict[str, Any]]:
    assert reply.events is not None
    return [jsonenc.loads(event.data[len(b"data: ") :]) for event in reply.events[:-1]]


@pytest.mark.parametrize("text", ['{"name":"Zoë","city":"東京","mood":"🙂"}', "plain words", ""])
def test_token_pieces_rejoin_and_weigh_exactly(text: str) -> None:
    pieces = token_pieces(text, "o200k_base")
    assert "".join(piece for piece, _ in pieces) == text
    assert sum(weight for _, weight in pieces) == tokens.count_text(text, "o200k_base")


def test_fit_pieces_keeps_at_most_the_limit() -> None:
    text = json.dumps({"city": "東京 and more words", "emoji": "🙂🙂🙂", "n": 12345})
    pieces = token_pieces(text, "o200k_base")
    for limit in range(len(pieces) + 2):
        kept, cut = fit_pieces(pieces, limit, "o200k_base")
        joined = "".join(piece for piece, _ in kept)
        assert text.startswith(joined) and cut == (limit < len(pieces))
        assert sum(weight for _, weight in kept) == tokens.count_text(joined, "o200k_base") <= limit


def test_choices_mix_calls_and_json_and_usage_adds_up() -> None:
    body = {"messages": MESSAGES, "tools": TOOLS, "response_format": ORDER_FORMAT, "n": 8}
    _, reply = answer(body, seed=4)
    assert isinstance(reply, JsonReply)
    total = 0
    kinds = set()
    for choice in reply.body["choices"]:
        message = choice["message"]
        if "tool_calls" in message:
            kinds.add("call")
            for call in message["tool_calls"]:
                jsonschema.validate(json.loads(call["function"]["arguments"]), GET_CURRENT_WEATHER)
                total += tokens.count_text(call["function"]["name"], "o200k_base")
                total += tokens.count_text(call["function"]["arguments"], "o200k_base")
        else:
            kinds.add("json")
            jsonschema.validate(json.loads(message["content"]), ORDER)
            total += tokens.count_text(message["content"], "o200k_base")
    assert kinds == {"call", "json"}
    assert reply.usage is not None and reply.usage.completion_tokens == total


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": TOOLS, "tool_choice": "required", "n": 2},
        {"response_format": ORDER_FORMAT},
        {"response_format": ORDER_FORMAT, "max_tokens": 7},
        {"tools": TOOLS, "tool_choice": "required", "max_tokens": 5},
    ],
)
def test_stream_events_carry_exactly_the_usage_tokens(extra: dict[str, Any]) -> None:
    """Latency paces a stream by its events' tokens: they must add up to the usage."""
    _, reply = answer({"messages": MESSAGES, **extra, "stream": True, "stream_options": {"include_usage": True}})
    assert isinstance(reply, StreamReply) and reply.events is not None and reply.usage is not None
    assert sum(event.tokens for event in reply.events) == reply.usage.completion_tokens
    assert payloads(reply)[-1]["usage"]["completion_tokens"] == reply.usage.completion_tokens
    if "max_tokens" in extra:
        assert reply.usage.completion_tokens <= extra["max_tokens"]


def test_a_cap_below_the_name_keeps_the_call_within_the_cap() -> None:
    _, reply = answer({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required", "max_tokens": 1})
    assert isinstance(reply, JsonReply) and reply.usage is not None
    choice = reply.body["choices"][0]
    assert choice["finish_reason"] == "length" and reply.usage.completion_tokens == 1
    assert [call["function"]["arguments"] for call in choice["message"]["tool_calls"]] == [""]


def test_plain_chat_never_runs_the_tokenizer_to_generate(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = Deployment("chat", find_model("gpt-4o"))
    body = {"messages": MESSAGES, "stream": True, "n": 2}
    request = OpenAIRequest(
        Operation.CHAT_COMPLETIONS, deployment, Surface.CLASSIC, "POST", "/", "", {}, body, b"", None, 0.0
    )
    params = GENERATOR.parse(request)

    def forbidden(*args: object) -> int:
        raise AssertionError("plain text must not be tokenized")

    monkeypatch.setattr(tokens, "count_text", forbidden)
    monkeypatch.setattr(tokens, "encoding", forbidden)
    reply = GENERATOR.generate(request, params, random.Random(0))
    assert isinstance(reply, StreamReply) and reply.usage is not None and reply.usage.completion_tokens >= 40


def test_parse_refuses_bad_tools_before_counting_them() -> None:
    with pytest.raises(OpenAIError) as caught:
        answer({"messages": MESSAGES, "tools": "get_current_weather"})
    assert caught.value.body()["error"]["param"] == "tools"


def test_one_wording_for_wrong_types() -> None:
    error = invalid_type("n", "an integer", 1.5).body()["error"]
    assert error["message"] == "Invalid type for 'n': expected an integer, but got a decimal instead."
    with pytest.raises(OpenAIError) as caught:
        parse_chat({"messages": [{"role": "user", "content": 3}]}, find_model("gpt-4o"))
    assert caught.value.body()["error"]["message"] == (
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an integer "
        "instead."
    )
