from __future__ import annotations

import json
import random
import re
from typing import Any

import jsonschema
import pytest

from simulator.errors import OpenAIError
from simulator.generators.tool_calls import (
    ChoiceMode,
    ToolCallPolicy,
    ToolCalls,
    ToolFormat,
    choose_tool_calls,
    parse_tools,
    tool_call_deltas,
)
from tests.generators.schemas import CORPUS, EXTRACT_PEOPLE, GET_CURRENT_WEATHER, GET_N_DAY_WEATHER_FORECAST, ORDER

CALL_ID = re.compile(r"call_[A-Za-z0-9]{24}")
ALWAYS = ToolCallPolicy(auto_probability=1.0)
DEFAULT = ToolCallPolicy()


def function(name: str, parameters: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, **extra}
    if parameters is not None:
        spec["parameters"] = parameters
    return {"type": "function", "function": spec}


WEATHER_TOOLS = [
    function("get_current_weather", GET_CURRENT_WEATHER, description="Get the current weather"),
    function("get_n_day_weather_forecast", GET_N_DAY_WEATHER_FORECAST, description="Get an N-day weather forecast"),
]
CORPUS_TOOLS = [function(name, schema) for name, schema in CORPUS.items()] + [function("no_parameters")]
SCHEMAS = {tool["function"]["name"]: tool["function"].get("parameters", {"type": "object"}) for tool in CORPUS_TOOLS}


def chat(tools: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "What's the weather like in Glasgow?"}], **extra}
    if tools is not None:
        body["tools"] = tools
    return body


def calls_for(body: dict[str, Any], rng: random.Random, policy: ToolCallPolicy = DEFAULT) -> ToolCalls | None:
    """What the chat generator does with a body: parse its tools once, then choose."""
    parsed = parse_tools(body)
    if parsed is None:
        return None
    tools, choice = parsed
    return choose_tool_calls(tools, choice, rng, policy, after_tool=body["messages"][-1]["role"] == "tool")


def test_required_always_calls_with_valid_arguments() -> None:
    validators = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}
    validators["all_of_event"] = jsonschema.Draft7Validator(SCHEMAS["all_of_event"])
    called: set[str] = set()
    for seed in range(300):
        result = calls_for(chat(CORPUS_TOOLS, tool_choice="required"), random.Random(seed))
        assert result is not None and result.finish_reason == "tool_calls"
        for call in result.calls:
            assert CALL_ID.fullmatch(call["id"]) and call["type"] == "function"
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            validators[name].validate(json.loads(arguments))
            called.add(name)
    assert called == set(SCHEMAS)


def test_named_function_is_always_the_one_called_and_finishes_with_stop() -> None:
    choice = {"type": "function", "function": {"name": "get_n_day_weather_forecast"}}
    for seed in range(50):
        result = calls_for(chat(WEATHER_TOOLS, tool_choice=choice), random.Random(seed), ALWAYS)
        assert result is not None and result.finish_reason == "stop"
        assert [call["function"]["name"] for call in result.calls] == ["get_n_day_weather_forecast"]
        jsonschema.validate(json.loads(result.calls[0]["function"]["arguments"]), GET_N_DAY_WEATHER_FORECAST)


def test_none_never_calls() -> None:
    assert all(
        calls_for(chat(WEATHER_TOOLS, tool_choice="none"), random.Random(seed), ALWAYS) is None for seed in range(50)
    )
    assert calls_for(chat(), random.Random(0), ALWAYS) is None


@pytest.mark.parametrize("probability", [0.0, 0.3, 1.0])
def test_auto_calls_with_the_configured_probability(probability: float) -> None:
    policy = ToolCallPolicy(auto_probability=probability)
    calls = sum(calls_for(chat(WEATHER_TOOLS), random.Random(seed), policy) is not None for seed in range(1000))
    assert abs(calls / 1000 - probability) < 0.05


def test_auto_after_a_tool_result_uses_its_own_probability() -> None:
    body = chat(WEATHER_TOOLS)
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 12}'},
    ]
    policy = ToolCallPolicy(auto_probability=1.0, after_tool_probability=0.0)
    assert all(calls_for(body, random.Random(seed), policy) is None for seed in range(100))


def test_parallel_calls_follow_parallel_tool_calls() -> None:
    policy = ToolCallPolicy(auto_probability=1.0, parallel_probability=1.0, max_parallel=3)
    parallel = calls_for(chat(WEATHER_TOOLS), random.Random(1), policy)
    assert parallel is not None and len(parallel.calls) == 3
    assert len({call["id"] for call in parallel.calls}) == 3
    single = calls_for(chat(WEATHER_TOOLS, parallel_tool_calls=False), random.Random(1), policy)
    assert single is not None and len(single.calls) == 1
    counts = {len(calls_for(chat(WEATHER_TOOLS), random.Random(seed), ALWAYS).calls) for seed in range(200)}
    assert counts == {1, 2, 3}


def test_allowed_tools_restrict_the_choice() -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "order"}}]},
    }
    for seed in range(30):
        result = calls_for(chat(CORPUS_TOOLS, tool_choice=choice), random.Random(seed))
        assert result is not None
        assert {call["function"]["name"] for call in result.calls} == {"order"}
        jsonschema.validate(json.loads(result.calls[0]["function"]["arguments"]), ORDER)


def test_custom_tools_get_free_text_input() -> None:
    tools = [{"type": "custom", "custom": {"name": "run_sql", "description": "Run a SQL query"}}]
    result = calls_for(chat(tools, tool_choice="required"), random.Random(4))
    assert result is not None
    (call,) = result.calls[:1]
    assert call["type"] == "custom" and call["custom"]["name"] == "run_sql"
    assert isinstance(call["custom"]["input"], str) and call["custom"]["input"]


def test_same_seed_same_calls() -> None:
    body = chat(CORPUS_TOOLS, tool_choice="required")
    assert calls_for(body, random.Random(9)) == calls_for(body, random.Random(9))


def test_stream_deltas_reassemble_into_the_calls() -> None:
    result = calls_for(chat(WEATHER_TOOLS), random.Random(2), ToolCallPolicy(1.0, 0.0, 1.0, 3))
    assert result is not None

    def split(text: str) -> list[tuple[str, int]]:
        return [(text[index : index + 4], 1) for index in range(0, len(text), 4)]

    deltas = tool_call_deltas(result.calls, split, len)
    rebuilt: dict[int, dict[str, Any]] = {}
    for delta, tokens in deltas:
        if "id" in delta:
            assert delta["function"]["arguments"] == ""
            assert tokens == len(delta["function"]["name"])
            rebuilt[delta["index"]] = {"id": delta["id"], "type": delta["type"], "function": dict(delta["function"])}
        else:
            assert set(delta) == {"index", "function"}
            rebuilt[delta["index"]]["function"]["arguments"] += delta["function"]["arguments"]
    assert [rebuilt[index] for index in sorted(rebuilt)] == result.calls


def test_responses_format_tools_are_flat_and_builtin_tools_are_never_called() -> None:
    body = {
        "tools": [{"type": "web_search"}, {"type": "function", "name": "extract_people", "parameters": EXTRACT_PEOPLE}],
        "tool_choice": {"type": "function", "name": "extract_people"},
    }
    parsed = parse_tools(body, ToolFormat.RESPONSES)
    assert parsed is not None
    tools, choice = parsed
    assert [tool.name for tool in tools] == ["extract_people"]
    assert choice.mode is ChoiceMode.NAMED and choice.allowed == ("extract_people",)


def too_long_name() -> str:
    return "f" * 65


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        (
            chat("get_weather"),
            "tools",
            "invalid_type",
            "Invalid type for 'tools': expected an array of objects, but got a string instead.",
        ),
        (
            chat([]),
            "tools",
            "empty_array",
            "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ),
        (
            chat(["get_weather"]),
            "tools[0]",
            "invalid_type",
            "Invalid type for 'tools[0]': expected an object, but got a string instead.",
        ),
        (chat([{"function": {"name": "f"}}]), "tools[0].type", "missing_required_parameter", None),
        (
            chat([{"type": "retrieval"}]),
            "tools[0].type",
            "invalid_value",
            "Invalid value: 'retrieval'. Supported values are: 'function' and 'custom'.",
        ),
        (chat([{"type": "function"}]), "tools[0].function", "missing_required_parameter", None),
        (
            chat([{"type": "function", "function": {"parameters": {}}}]),
            "tools[0].function.name",
            "missing_required_parameter",
            "Missing required parameter: 'tools[0].function.name'.",
        ),
        (
            chat([function("get weather")]),
            "tools[0].function.name",
            "invalid_value",
            "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the "
            "pattern '^[a-zA-Z0-9_-]+$'.",
        ),
        (chat([function(too_long_name())]), "tools[0].function.name", "string_above_max_length", None),
        (chat([function("f", "schema")]), "tools[0].function.parameters", "invalid_type", None),
        (
            chat([function("get_current_weather", GET_CURRENT_WEATHER, strict=True)]),
            "tools[0].function.parameters",
            "invalid_function_parameters",
            "Invalid schema for function 'get_current_weather': In context=(), 'additionalProperties' is required "
            "to be supplied and to be false.",
        ),
        (
            chat(tool_choice="auto"),
            "tool_choice",
            None,
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        ),
        (
            chat(WEATHER_TOOLS, tool_choice="any"),
            "tool_choice",
            "invalid_value",
            "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.",
        ),
        (
            chat(WEATHER_TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}}),
            "tool_choice",
            None,
            "Invalid value for 'tool_choice': function 'get_time' not found in 'tools'.",
        ),
        (
            chat(WEATHER_TOOLS, tool_choice={"type": "function"}),
            "tool_choice.function",
            "missing_required_parameter",
            None,
        ),
        (
            chat(WEATHER_TOOLS, tool_choice={"type": "function", "function": {}}),
            "tool_choice.function.name",
            "missing_required_parameter",
            None,
        ),
        (chat(WEATHER_TOOLS, tool_choice=3), "tool_choice", "invalid_type", None),
        (
            chat(WEATHER_TOOLS, parallel_tool_calls="yes"),
            "parallel_tool_calls",
            "invalid_type",
            "Invalid type for 'parallel_tool_calls': expected a boolean, but got a string instead.",
        ),
    ],
)
def test_bad_requests_get_openai_errors(
    body: dict[str, Any], param: str, code: str | None, message: str | None
) -> None:
    with pytest.raises(OpenAIError) as caught:
        parse_tools(body)
    error = caught.value.body()["error"]
    assert caught.value.status == 400
    assert (error["type"], error["param"], error.get("code")) == ("invalid_request_error", param, code)
    if message is not None:
        assert error["message"] == message


def test_valid_requests_pass_validation() -> None:
    parse_tools(chat())
    parse_tools(chat(WEATHER_TOOLS, tool_choice="auto", parallel_tool_calls=False))
    strict = [function("order", ORDER, strict=True)]
    parse_tools(chat(strict, tool_choice={"type": "function", "function": {"name": "order"}}))
