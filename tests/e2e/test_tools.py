"""Tool calls and structured outputs in generate mode, through the openai SDK and on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import jsonschema
import pytest
from openai import AzureOpenAI, BadRequestError, OpenAI, pydantic_function_tool
from pydantic import BaseModel

from simulator.tokens import count_messages, count_text, count_tools
from tests.e2e.conftest import API_VERSION
from tests.generators.schemas import GET_CURRENT_WEATHER, GET_N_DAY_WEATHER_FORECAST, ORDER
from tests.support import spec
from tests.support.server import SimulatorProcess

CHAT = f"/openai/deployments/chat/chat/completions?api-version={API_VERSION}"
MESSAGES = [{"role": "user", "content": "What's the weather like in Glasgow?"}]
TOOLS = [
    {"type": "function", "function": {"name": "get_current_weather", "parameters": GET_CURRENT_WEATHER}},
    {"type": "function", "function": {"name": "get_n_day_weather_forecast", "parameters": GET_N_DAY_WEATHER_FORECAST}},
]
SCHEMAS = {tool["function"]["name"]: tool["function"]["parameters"] for tool in TOOLS}


def call_tokens(calls: list[dict[str, Any]]) -> int:
    """What usage counts for tool calls: the tokens of each name and its arguments (o200k_base for gpt-4o)."""
    return sum(
        count_text(call["function"]["name"], "o200k_base") + count_text(call["function"]["arguments"], "o200k_base")
        for call in calls
    )


@pytest.fixture
def client(server: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=10) as http:
        yield http


def stream_payloads(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(CHAT, json={**body, "stream": True, "stream_options": {"include_usage": True}})
    assert response.status_code == 200, response.text
    events = response.content[:-2].split(b"\n\n")
    assert events[-1] == b"data: [DONE]"
    return [json.loads(event.removeprefix(b"data: ")) for event in events[:-1]]


# Tool calls, whole.


def test_required_tool_choice_calls_with_valid_arguments_and_exact_usage(client: httpx.Client) -> None:
    for seed in range(8):
        body = client.post(CHAT, json={"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required", "seed": seed})
        completion = body.json()
        spec.validate(completion, "createChatCompletionResponse")
        (choice,) = completion["choices"]
        message = choice["message"]
        assert choice["finish_reason"] == "tool_calls"
        assert message["role"] == "assistant" and message["content"] is None and message["refusal"] is None
        assert message["tool_calls"]
        for call in message["tool_calls"]:
            assert call["type"] == "function" and call["id"].startswith("call_")
            jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS[call["function"]["name"]])
        assert completion["usage"]["completion_tokens"] == call_tokens(message["tool_calls"])
        assert completion["usage"]["prompt_tokens"] == count_messages(MESSAGES, "o200k_base") + count_tools(
            TOOLS, "o200k_base"
        )


def test_sdk_named_tool_choice_calls_that_function_once(azure: AzureOpenAI) -> None:
    named = {"type": "function", "function": {"name": "get_n_day_weather_forecast"}}
    for seed in range(5):
        completion = azure.chat.completions.create(
            model="chat", messages=MESSAGES, tools=TOOLS, tool_choice=named, seed=seed
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "stop"  # what OpenAI answers when tool_choice names the function
        (call,) = choice.message.tool_calls
        assert call.function.name == "get_n_day_weather_forecast"
        jsonschema.validate(json.loads(call.function.arguments), GET_N_DAY_WEATHER_FORECAST)


def test_parallel_tool_calls_false_makes_one_call(azure: AzureOpenAI) -> None:
    counts = set()
    for seed in range(20):
        kwargs: dict[str, Any] = {"model": "chat", "messages": MESSAGES, "tools": TOOLS, "tool_choice": "required"}
        parallel = azure.chat.completions.create(**kwargs, seed=seed)
        single = azure.chat.completions.create(**kwargs, seed=seed, parallel_tool_calls=False)
        counts.add(len(parallel.choices[0].message.tool_calls))
        assert len(single.choices[0].message.tool_calls) == 1
    assert 1 in counts and max(counts) > 1


def test_tool_choice_none_answers_with_text(azure: AzureOpenAI) -> None:
    completion = azure.chat.completions.create(
        model="chat", messages=MESSAGES, tools=TOOLS, tool_choice="none", max_tokens=8
    )
    choice = completion.choices[0]
    assert choice.message.tool_calls is None and choice.message.content
    assert completion.usage.completion_tokens == count_text(choice.message.content, "o200k_base") == 8


def test_tool_calls_respect_max_tokens(client: httpx.Client) -> None:
    body = {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required", "max_tokens": 7, "seed": 3}
    completion = client.post(CHAT, json=body).json()
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "length"
    assert completion["usage"]["completion_tokens"] == call_tokens(choice["message"]["tool_calls"]) <= 7


def test_sdk_parses_strict_pydantic_tools(azure: AzureOpenAI) -> None:
    class GetWeather(BaseModel):
        city: str
        unit: Literal["celsius", "fahrenheit"]
        days: int | None

    completion = azure.chat.completions.parse(
        model="chat", messages=MESSAGES, tools=[pydantic_function_tool(GetWeather)], tool_choice="required"
    )
    for call in completion.choices[0].message.tool_calls:
        assert isinstance(call.function.parsed_arguments, GetWeather)


# Tool calls, streamed.


def test_streamed_tool_calls_have_aoai_deltas(client: httpx.Client) -> None:
    body = {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required", "seed": 11}
    prompt_filter, opening, *deltas, closing, usage = stream_payloads(client, body)
    assert prompt_filter["choices"] == [] and prompt_filter["prompt_filter_results"]
    first = opening["choices"][0]["delta"]
    assert (first["role"], first["content"], first["refusal"]) == ("assistant", None, None)
    calls: list[dict[str, Any]] = []
    for delta in [first["tool_calls"][0]] + [d["choices"][0]["delta"]["tool_calls"][0] for d in deltas]:
        if "id" in delta:  # a call's first delta: index, id, type, name and empty arguments
            assert delta["index"] == len(calls) and delta["type"] == "function"
            assert delta["function"]["arguments"] == "" and delta["function"]["name"] in SCHEMAS
            calls.append({"id": delta["id"], "type": "function", "function": dict(delta["function"])})
        else:
            assert set(delta) == {"index", "function"} and set(delta["function"]) == {"arguments"}
            calls[delta["index"]]["function"]["arguments"] += delta["function"]["arguments"]
    for call in calls:
        jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS[call["function"]["name"]])
    assert closing["choices"][0]["delta"] == {} and closing["choices"][0]["finish_reason"] == "tool_calls"
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == call_tokens(calls)
    for chunk in [opening, *deltas, closing, usage]:
        spec.validate(chunk, "createChatCompletionStreamResponse")


def test_sdk_stream_accumulates_tool_calls(azure: AzureOpenAI) -> None:
    with azure.chat.completions.stream(
        model="chat", messages=MESSAGES, tools=TOOLS, tool_choice="required", seed=5
    ) as stream:
        done = [event for event in stream if event.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls" and len(done) == len(calls) >= 1
    for event, call in zip(done, calls, strict=True):
        assert event.arguments == call.function.arguments
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


# Structured outputs.


class Ingredient(BaseModel):
    name: str
    grams: int


class Recipe(BaseModel):
    title: str
    servings: int
    vegetarian: bool
    cuisine: Literal["italian", "thai", "mexican"]
    ingredients: list[Ingredient]
    notes: str | None


def test_sdk_parse_gives_the_pydantic_model(azure: AzureOpenAI) -> None:
    for seed in range(5):
        completion = azure.chat.completions.parse(
            model="chat", messages=[{"role": "user", "content": "A recipe"}], response_format=Recipe, seed=seed
        )
        message = completion.choices[0].message
        assert completion.choices[0].finish_reason == "stop"
        assert isinstance(message.parsed, Recipe)
        assert completion.usage.completion_tokens == count_text(message.content, "o200k_base")


def test_sdk_stream_parses_structured_output(v1: OpenAI) -> None:
    with v1.chat.completions.stream(
        model="chat", messages=[{"role": "user", "content": "A recipe"}], response_format=Recipe, seed=2
    ) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Recipe)
    assert len(deltas) > 5 and "".join(deltas) == final.choices[0].message.content


def test_json_schema_content_is_valid_and_cut_at_max_tokens(client: httpx.Client) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "order", "schema": ORDER, "strict": True}}
    whole = client.post(CHAT, json={"messages": MESSAGES, "response_format": response_format, "seed": 1}).json()
    spec.validate(whole, "createChatCompletionResponse")
    content = whole["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), ORDER)
    assert whole["usage"]["completion_tokens"] == count_text(content, "o200k_base")
    cut = client.post(CHAT, json={"messages": MESSAGES, "response_format": response_format, "max_tokens": 9}).json()
    content = cut["choices"][0]["message"]["content"]
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == count_text(content, "o200k_base") <= 9


def test_streamed_json_object_reassembles_with_exact_usage(client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Answer in JSON"}], "response_format": {"type": "json_object"}}
    _, opening, *content, closing, usage = stream_payloads(client, body)
    assert opening["choices"][0]["delta"] == {"content": "", "refusal": None, "role": "assistant"}
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in content)
    assert isinstance(json.loads(text), dict) and closing["choices"][0]["finish_reason"] == "stop"
    assert usage["usage"]["completion_tokens"] == count_text(text, "o200k_base") == len(content)


# Refusals: the same 400s as OpenAI, streamed or not.


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"tools": []}, "tools", "empty_array"),
        ({"tools": [{"type": "function", "function": {"name": "get weather"}}]}, "tools[0].function.name", None),
        ({"tool_choice": "required"}, "tool_choice", None),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice", None),
        ({"tools": TOOLS, "parallel_tool_calls": "yes"}, "parallel_tool_calls", "invalid_type"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "invalid_value"),
        ({"response_format": {"type": "json_object"}}, "messages", None),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "w", "strict": True, "schema": GET_CURRENT_WEATHER},
                }
            },
            "response_format",
            "invalid_value",
        ),
    ],
)
def test_bad_tools_and_formats_are_refused(
    azure: AzureOpenAI, extra: dict[str, Any], param: str, code: str | None, stream: bool
) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="chat", messages=MESSAGES, stream=stream, **extra)
    error = caught.value.body
    assert caught.value.status_code == 400 and error["param"] == param and error["type"] == "invalid_request_error"
    if code is not None:
        assert caught.value.code == code


def test_refusal_wording_and_schema(client: httpx.Client) -> None:
    response = client.post(CHAT, json={"messages": MESSAGES, "tool_choice": "auto"})
    assert response.status_code == 400
    spec.validate_error(response.json())
    assert response.json()["error"]["message"] == (
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
    )


# tool_choice "auto", with the probabilities from settings.


@pytest.fixture(scope="module")
def eager_server(tmp_path_factory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("eager") / "deployments.json"
    config.write_text(json.dumps({"chat": {"model": "gpt-4o"}}))
    env = {
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(config),
        "SIMULATOR_TOOL_CALL_PROBABILITY": "1",
        "SIMULATOR_TOOL_CALL_PROBABILITY_AFTER_TOOL": "0",
        "SIMULATOR_LATENCY_ENABLED": "false",
    }
    with SimulatorProcess(env) as process:
        yield process


def test_auto_follows_the_configured_probabilities(eager_server: SimulatorProcess) -> None:
    azure = AzureOpenAI(
        azure_endpoint=eager_server.url, api_key=eager_server.api_key, api_version=API_VERSION, max_retries=0
    )
    answers = [azure.chat.completions.create(model="chat", messages=MESSAGES, tools=TOOLS) for _ in range(5)]
    assert all(answer.choices[0].finish_reason == "tool_calls" for answer in answers)
    call = answers[0].choices[0].message.tool_calls[0]
    loop = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 12}'},
    ]
    after = azure.chat.completions.create(model="chat", messages=loop, tools=TOOLS, max_tokens=20)
    assert after.choices[0].message.tool_calls is None and after.choices[0].finish_reason == "length"
