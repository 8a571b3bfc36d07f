"""simulator.reasoning: effort profiles, seeded plans, refusals and summaries of reasoning models."""

from __future__ import annotations

import random

import pytest

from simulator import reasoning
from simulator.deployments import parse_deployment
from simulator.errors import OpenAIError
from simulator.models import find_model
from simulator.settings import SettingsError


def profile(model: str) -> reasoning.ReasoningProfile:
    found = reasoning.profile_for(find_model(model))
    assert found is not None
    return found


def error_of(raised: pytest.ExceptionInfo[OpenAIError]) -> dict[str, object]:
    return raised.value.body()["error"]


def test_only_reasoning_models_have_a_profile() -> None:
    assert reasoning.profile_for(find_model("gpt-4o")) is None
    assert reasoning.profile_for(find_model("gpt-5-chat")) is None
    for name in ("o1", "o1-mini", "o3", "o3-mini-2025-01-31", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano"):
        assert reasoning.is_reasoning_model(find_model(name))
        assert profile(name).default_effort == "medium"


def test_minimal_effort_is_gpt5s_alone() -> None:
    assert profile("gpt-5").efforts == ("minimal", "low", "medium", "high")
    assert profile("o3-mini").efforts == ("low", "medium", "high")
    with pytest.raises(OpenAIError) as raised:
        reasoning.requested_effort("minimal", profile("o3-mini"), "reasoning_effort")
    assert error_of(raised) == {
        "code": "invalid_value",
        "message": "Invalid value: 'minimal'. Supported values are: 'low', 'medium', and 'high'.",
        "param": "reasoning_effort",
        "type": "invalid_request_error",
    }


def test_effort_defaults_and_o1_mini_refuses_it() -> None:
    assert reasoning.requested_effort(None, profile("o3"), "reasoning_effort") == "medium"
    assert reasoning.requested_effort("high", profile("o3"), "reasoning.effort") == "high"
    with pytest.raises(OpenAIError) as raised:
        reasoning.requested_effort("low", profile("o1-mini"), "reasoning_effort")
    assert error_of(raised)["code"] == "unsupported_parameter"
    with pytest.raises(OpenAIError) as raised:
        reasoning.requested_effort(3, profile("o3"), "reasoning.effort")
    assert error_of(raised)["param"] == "reasoning.effort"
    assert error_of(raised)["code"] == "invalid_type"


def test_plans_are_seeded_and_grow_with_effort() -> None:
    spec = profile("o4-mini")
    drawn = {
        effort: [reasoning.plan(spec, effort, random.Random(seed)).tokens for seed in range(50)]
        for effort in spec.efforts
    }
    assert drawn["low"] == [reasoning.plan(spec, "low", random.Random(seed)).tokens for seed in range(50)]
    for effort, values in drawn.items():
        low, high = spec.tokens[effort]
        assert all(low <= value <= high for value in values)
    assert sum(drawn["low"]) < sum(drawn["medium"]) < sum(drawn["high"])


def test_reasoning_is_spent_first_under_a_cap() -> None:
    plan = reasoning.ReasoningPlan("medium", 700)
    assert plan.within(10_000) == (700, 9_300)
    assert plan.within(500) == (500, 0)  # all thought, no answer: finish_reason "length", empty content


def test_expected_tokens_is_the_middle_of_the_range() -> None:
    spec = profile("o3-mini")
    assert reasoning.expected_tokens(spec, "high") == sum(spec.tokens["high"]) // 2
    assert reasoning.expected_tokens(spec, None) == sum(spec.tokens["medium"]) // 2
    assert reasoning.expected_tokens(spec, "nonsense") == sum(spec.tokens["medium"]) // 2


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        (
            "o3",
            {"temperature": 0.2},
            {
                "code": "unsupported_value",
                "message": "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default "
                "(1) value is supported.",
                "param": "temperature",
                "type": "invalid_request_error",
            },
        ),
        (
            "o3-mini",
            {"temperature": 1},
            {
                "code": "unsupported_parameter",
                "message": "Unsupported parameter: 'temperature' is not supported with this model.",
                "param": "temperature",
                "type": "invalid_request_error",
            },
        ),
        ("gpt-5", {"presence_penalty": 0.5}, {"code": "unsupported_value", "param": "presence_penalty"}),
        ("gpt-5", {"logprobs": True}, {"code": "unsupported_parameter", "param": "logprobs"}),
        ("o4-mini", {"top_p": 0.9}, {"code": "unsupported_value", "param": "top_p"}),
    ],
)
def test_chat_sampling_refusals(model: str, body: dict[str, object], expected: dict[str, object]) -> None:
    with pytest.raises(OpenAIError) as raised:
        reasoning.check_sampling(body, profile(model), "chat")
    error = error_of(raised)
    assert raised.value.status == 400
    assert {key: error[key] for key in expected} == expected


def test_chat_accepts_defaults_and_nulls() -> None:
    body = {"temperature": 1, "top_p": 1.0, "presence_penalty": 0, "frequency_penalty": None, "logprobs": False}
    reasoning.check_sampling(body, profile("o3"), "chat")


def test_responses_refuse_sampling_outright() -> None:
    with pytest.raises(OpenAIError) as raised:
        reasoning.check_sampling({"top_p": 1}, profile("gpt-5"), "responses")
    assert error_of(raised)["message"] == "Unsupported parameter: 'top_p' is not supported with this model."
    reasoning.check_sampling({"temperature": None}, profile("gpt-5"), "responses")


def test_summaries() -> None:
    assert reasoning.summary_texts(random.Random(1), "auto", 0) == []
    concise = reasoning.summary_texts(random.Random(1), "concise", 5000)
    detailed = reasoning.summary_texts(random.Random(1), "detailed", 5000)
    assert len(concise) == 1 and len(detailed) == 3
    assert all(text.startswith("**") and "**\n\n" in text for text in detailed)
    assert reasoning.summary_texts(random.Random(1), "detailed", 5000) == detailed


def test_deployment_overrides() -> None:
    deployment = parse_deployment(
        "thinker", {"model": "o3-mini", "reasoningEffort": "high", "reasoningTokens": {"high": [10, 20], "low": 5}}
    )
    spec = deployment.reasoning_profile
    assert spec is not None
    assert spec.default_effort == "high"
    assert spec.tokens["high"] == (10, 20) and spec.tokens["low"] == (5, 5)
    assert spec.tokens["medium"] == profile("o3-mini").tokens["medium"]
    assert deployment.to_json()["reasoningTokens"] == {"high": [10, 20], "low": [5, 5]}
    assert parse_deployment("plain", {"model": "o3"}).reasoning_profile == profile("o3")


@pytest.mark.parametrize(
    "entry",
    [
        {"model": "gpt-4o", "reasoningEffort": "low"},
        {"model": "o3", "reasoningEffort": "extreme"},
        {"model": "o3", "reasoningEffort": "minimal"},
        {"model": "o3", "reasoningTokens": {"low": [5, 1]}},
        {"model": "o3", "reasoningTokens": {"huge": [1, 2]}},
        {"model": "o3", "reasoningTokens": [1, 2]},
    ],
)
def test_bad_overrides_are_refused(entry: dict[str, object]) -> None:
    with pytest.raises(SettingsError, match="deployment 'bad'"):
        parse_deployment("bad", entry)


def test_requested_summary() -> None:
    assert reasoning.requested_summary(None) is None
    assert reasoning.requested_summary("detailed") == "detailed"
    with pytest.raises(OpenAIError) as raised:
        reasoning.requested_summary("verbose")
    assert error_of(raised)["param"] == "reasoning.summary" and error_of(raised)["code"] == "invalid_value"
