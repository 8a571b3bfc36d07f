"""Responses input items as the chat messages that token counting and the chat generator read."""

from __future__ import annotations

import pytest

from simulator import tokens
from simulator.errors import OpenAIError
from simulator.models import find_model
from simulator.responses.request import as_messages, chat_tools, parse_responses

GPT4O = find_model("gpt-4o")


def test_a_string_input_is_one_user_message() -> None:
    params = parse_responses({"input": "hello"}, GPT4O)
    assert as_messages(params.items, "Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]


def test_items_become_the_messages_chat_would_count() -> None:
    items = [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "What is in"}, {"type": "input_image", "image_url": "x"}],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "call_1", "name": "look", "arguments": '{"at": "it"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A cat."}]},
        {"type": "item_reference", "id": "msg_1"},
    ]
    messages = as_messages(parse_responses({"input": items}, GPT4O).items, None)
    assert [message["role"] for message in messages] == ["user", "assistant", "tool", "assistant"]
    counted = tokens.count_messages(messages, "o200k_base")
    image = tokens.IMAGE_TOKENS_LOW_DETAIL
    text = sum(tokens.count_text(t, "o200k_base") for t in ("What is in", "look", '{"at": "it"}', "a cat", "A cat."))
    roles = sum(tokens.count_text(role, "o200k_base") for role in ("user", "assistant", "tool", "assistant"))
    assert counted == tokens.REPLY_PRIMER + 4 * tokens.TOKENS_PER_MESSAGE + roles + text + image


def test_function_tools_are_counted_as_chat_counts_them() -> None:
    tool = {"type": "function", "name": "look", "description": "Look.", "parameters": {"type": "object"}}
    assert chat_tools([tool, {"type": "web_search_preview"}]) == [{"type": "function", "function": tool}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c"}]}, "input[0].name"),
        ({"input": [{"role": "user", "content": 3}]}, "input[0].content"),
        ({"input": "x", "metadata": {str(n): "v" for n in range(17)}}, "metadata"),
        ({"input": "x", "reasoning": "high"}, "reasoning"),
        ({"input": "x", "text": "json"}, "text"),
    ],
)
def test_refusals_name_the_parameter(body: dict[str, object], param: str) -> None:
    with pytest.raises(OpenAIError) as refused:
        parse_responses(body, GPT4O)
    assert refused.value.status == 400 and refused.value.param == param
