"""Request limits and stream slots without a server: the checks, their wording, and slots given back once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.errors import OpenAIError
from simulator.limits import RequestLimits, StreamSlots, json_depth

LIMITS = RequestLimits()


def check(body: dict[str, Any], limits: RequestLimits = LIMITS) -> None:
    limits.check(json.dumps(body).encode(), body)


def refusal(body: dict[str, Any], limits: RequestLimits = LIMITS) -> OpenAIError:
    with pytest.raises(OpenAIError) as caught:
        check(body, limits)
    assert caught.value.status == 400
    return caught.value


def test_the_defaults_are_the_services_own_limits() -> None:
    error = refusal({"tools": [{"type": "function"}] * 129})
    assert error.message == (
        "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an array with "
        "length 129 instead."
    )
    assert (error.param, error.code) == ("tools", "array_above_max_length")
    check({"tools": [{}] * 128, "n": 128, "input": ["a"] * 2048, "messages": [{}] * 2048})
    assert refusal({"input": ["a"] * 2049}).param == "input"
    assert refusal({"messages": [{}] * 2049}).param == "messages"


def test_choices_count_every_prompt() -> None:
    error = refusal({"prompt": ["a"] * 3, "n": 50})
    assert "50 for each of 3 prompts (150 choices)" in error.message
    check({"prompt": ["a"] * 2, "n": 64})
    check({"prompt": list(range(500)), "n": 128})  # one prompt of token ids


def test_odd_types_are_left_to_validation() -> None:
    check({"n": "many", "messages": "all", "tools": {}, "input": 5, "prompt": None})


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_depth_counts_containers() -> None:
    assert json_depth(1, 10) == 0
    assert json_depth([], 10) == 1
    assert json_depth({"a": [{"b": []}]}, 10) == 4
    assert json_depth(nested(5000), 10) == 11  # stops counting past the limit, without recursion


def test_deep_bodies_are_refused_and_shallow_wide_ones_are_not() -> None:
    limits = RequestLimits(max_json_depth=8)
    assert "8 levels" in refusal({"a": nested(8)}, limits).message
    check({"a": nested(7), "wide": [[1]] * 1000}, limits)


def test_a_stream_slot_comes_back_once() -> None:
    slots = StreamSlots(2)
    first, second = slots.acquire(), slots.acquire()
    with pytest.raises(OpenAIError) as caught:
        slots.acquire()
    assert caught.value.status == 503 and caught.value.headers["retry-after"] == "1"
    first()
    first()
    assert slots.open == 1
    third = slots.acquire()
    second()
    third()
    assert slots.open == 0
