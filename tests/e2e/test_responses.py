"""The Responses API through the official openai SDK and on the wire, every body and event checked against the
v1 spec (tests/support/spec.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from openai import AzureOpenAI, BadRequestError, NotFoundError, OpenAI
from pydantic import BaseModel

from simulator.tokens import REPLY_PRIMER, TOKENS_PER_MESSAGE, count_text
from tests.support import spec
from tests.support.server import SimulatorProcess

RESPONSES = "/openai/v1/responses"
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}]


class Forecast(BaseModel):
    city: str
    days: int
    rain: bool


@pytest.fixture
def http(server: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=20) as client:
        yield client


def events_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The SSE events of a Responses stream, each checked for its `event:` line matching its `type`."""
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name_line, data_line = block.split("\n")
        event = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {event['type']}"
        events.append(event)
    return events


def validate_stream(events: list[dict[str, Any]]) -> None:
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        spec.validate_response_event(event)


def test_create_answers_a_spec_valid_response_with_exact_usage(v1: OpenAI, http: httpx.Client) -> None:
    raw = http.post(RESPONSES, json={"model": "chat", "input": "Tell me about Glasgow.", "instructions": "Be brief."})
    assert raw.status_code == 200, raw.text
    spec.validate(raw.json(), "AzureResponse", spec.V1)
    response = v1.responses.create(model="chat", input="Tell me about Glasgow.", instructions="Be brief.")
    assert response.status == "completed" and response.object == "response"
    assert response.id.startswith("resp_") and response.output[0].id.startswith("msg_")
    text = response.output_text
    assert text and response.usage is not None
    assert response.usage.output_tokens == count_text(text, "o200k_base")
    expected_input = (
        REPLY_PRIMER
        + 2 * TOKENS_PER_MESSAGE
        + count_text("Be brief.", "o200k_base")
        + count_text("user", "o200k_base")
        + count_text("system", "o200k_base")
        + count_text("Tell me about Glasgow.", "o200k_base")
    )
    assert response.usage.input_tokens == expected_input
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert response.usage.input_tokens_details.cached_tokens == 0


def test_max_output_tokens_cuts_the_answer_as_incomplete(v1: OpenAI) -> None:
    response = v1.responses.create(model="chat", input="Write a long story.", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 16
    assert response.output[0].status == "incomplete"


def test_stream_emits_every_event_in_order_and_valid(http: httpx.Client) -> None:
    raw = http.post(RESPONSES, json={"model": "chat", "input": "Stream, please.", "stream": True})
    events = events_of(raw)
    validate_stream(events)
    kinds = [event["type"] for event in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas > 0
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    final = events[-1]["response"]
    assert final["output"][0]["content"][0]["text"] == text
    assert final["usage"]["output_tokens"] == count_text(text, "o200k_base")
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []


def test_sdk_stream_helper_accumulates_the_final_response(v1: OpenAI) -> None:
    with v1.responses.stream(model="chat", input="Stream with the helper.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text == "".join(deltas)
    assert v1.responses.retrieve(final.id).output_text == final.output_text


def test_parse_with_a_pydantic_model(v1: OpenAI) -> None:
    parsed = v1.responses.parse(model="chat", input="Forecast for Oban.", text_format=Forecast)
    assert isinstance(parsed.output_parsed, Forecast)


def test_json_object_needs_json_in_the_input(http: httpx.Client) -> None:
    body = {"model": "chat", "input": "An object.", "text": {"format": {"type": "json_object"}}}
    refused = http.post(RESPONSES, json=body)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "input"
    answered = http.post(RESPONSES, json={**body, "input": "An object, as JSON."})
    assert isinstance(json.loads(answered.json()["output"][0]["content"][0]["text"]), dict)


def test_function_calls_have_schema_valid_arguments_and_stream_as_argument_deltas(
    v1: OpenAI, http: httpx.Client
) -> None:
    response = v1.responses.create(model="chat", input="Weather in Oban?", tools=TOOLS, tool_choice="required")
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls and all(call.name == "get_weather" for call in calls)
    for call in calls:
        jsonschema.validate(json.loads(call.arguments), WEATHER)
        assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    raw = http.post(
        RESPONSES,
        json={"model": "chat", "input": "Weather?", "tools": TOOLS, "tool_choice": "required", "stream": True},
    )
    events = events_of(raw)
    validate_stream(events)
    pieces = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert pieces == "".join(e["arguments"] for e in done)
    # The tool's result continues the conversation; the answer after it is usually text (ends agent loops).
    follow = v1.responses.create(
        model="chat",
        previous_response_id=response.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": '{"temp": 12}'}],
        tools=TOOLS,
    )
    assert follow.status == "completed"


def test_previous_response_id_carries_the_earlier_turns_tokens(v1: OpenAI) -> None:
    first = v1.responses.create(model="chat", input="First turn.", instructions="Be brief.")
    second = v1.responses.create(model="chat", input="Second turn.", previous_response_id=first.id)
    assert first.usage is not None and second.usage is not None
    first_input = TOKENS_PER_MESSAGE + count_text("user", "o200k_base") + count_text("First turn.", "o200k_base")
    second_input = TOKENS_PER_MESSAGE + count_text("user", "o200k_base") + count_text("Second turn.", "o200k_base")
    # Instructions are not carried over; the first turn's input and output are.
    assert second.usage.input_tokens == first_input + first.usage.output_tokens + second_input + REPLY_PRIMER
    assert second.previous_response_id == first.id


def test_retrieve_delete_and_the_404_for_unknown_ids(v1: OpenAI, http: httpx.Client) -> None:
    created = v1.responses.create(model="chat", input="Keep me.")
    fetched = http.get(f"{RESPONSES}/{created.id}")
    spec.validate(fetched.json(), "AzureResponse", spec.V1)
    assert fetched.json()["output"][0]["content"][0]["text"] == created.output_text
    deleted = http.delete(f"{RESPONSES}/{created.id}")
    assert deleted.json() == {"id": created.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(NotFoundError) as missing:
        v1.responses.retrieve(created.id)
    assert missing.value.status_code == 404
    body = http.get(f"{RESPONSES}/{created.id}").json()
    spec.validate_error(body)
    assert body["error"]["message"] == f"Response with id '{created.id}' not found."
    assert http.delete(f"{RESPONSES}/{created.id}").status_code == 404
    unknown = http.post(RESPONSES, json={"model": "chat", "input": "Hi", "previous_response_id": "resp_nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "previous_response_id"


def test_store_false_keeps_nothing(v1: OpenAI) -> None:
    created = v1.responses.create(model="chat", input="Forget me.", store=False)
    assert created.store is False
    with pytest.raises(NotFoundError):
        v1.responses.retrieve(created.id)


def test_input_items_are_paged_like_the_spec(v1: OpenAI, http: httpx.Client) -> None:
    messages = [{"role": "user", "content": f"Message {n}."} for n in range(5)]
    created = v1.responses.create(model="chat", input=messages)  # type: ignore[arg-type]
    listed = http.get(f"{RESPONSES}/{created.id}/input_items", params={"limit": 2, "order": "asc"}).json()
    spec.validate(listed, "OpenAI.ResponseItemList", spec.V1)
    assert [item["content"][0]["text"] for item in listed["data"]] == ["Message 0.", "Message 1."]
    assert listed["has_more"] is True
    following = http.get(
        f"{RESPONSES}/{created.id}/input_items", params={"limit": 10, "order": "asc", "after": listed["last_id"]}
    ).json()
    assert [item["content"][0]["text"] for item in following["data"]] == ["Message 2.", "Message 3.", "Message 4."]
    assert following["has_more"] is False
    newest_first = [item.content[0].text for item in v1.responses.input_items.list(created.id)]  # type: ignore[union-attr]
    assert newest_first == [f"Message {n}." for n in reversed(range(5))]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": 5}, "input"),
        ({"input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": [{"type": "picture"}]}]}, "input[0].content[0].type"),
        ({"input": "hi", "max_output_tokens": 5}, "max_output_tokens"),
        ({"input": "hi", "temperature": 3}, "temperature"),
        ({"input": "hi", "background": True, "store": False}, "background"),
        ({"input": "hi", "tools": [{"type": "web_search_preview"}]}, "tools"),
        ({"input": "hi", "tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name"),
        ({"input": "hi", "tool_choice": "required"}, "tool_choice"),
        ({"input": "hi", "text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"input": "hi", "include": ["everything"]}, "include[0]"),
        ({"input": "hi", "truncation": "sometimes"}, "truncation"),
        ({"input": "hi", "metadata": {"k": 1}}, "metadata.k"),
    ],
)
def test_invalid_requests_get_openai_errors_with_param(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    refused = http.post(RESPONSES, json={"model": "chat", **body})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    spec.validate_error(refused.json())


def test_hosted_tools_are_refused_as_a_deployment_without_them_refuses(v1: OpenAI) -> None:
    with pytest.raises(BadRequestError) as refused:
        v1.responses.create(model="chat", input="Search", tools=[{"type": "web_search_preview"}])
    assert "Hosted tool 'web_search_preview' is not supported with gpt-4o." in str(refused.value)


def test_classic_preview_path_needs_an_api_version(azure: AzureOpenAI, http: httpx.Client) -> None:
    response = azure.responses.create(model="chat", input="Classic path.")
    assert response.status == "completed"
    assert azure.responses.retrieve(response.id).id == response.id
    missing = http.post("/openai/responses", json={"model": "chat", "input": "hi"})
    assert missing.status_code == 400 and "api-version" in missing.json()["error"]["message"]


def test_unknown_deployment_and_wrong_kind(http: httpx.Client) -> None:
    embed = http.post(RESPONSES, json={"model": "embed-ada", "input": "hi"})
    assert embed.status_code == 400 and embed.json()["error"]["code"] == "OperationNotSupported"


def test_reasoning_models_think_before_they_answer(v1: OpenAI, http: httpx.Client) -> None:
    response = v1.responses.create(model="reasoner", input="Why is the sky blue?", reasoning={"effort": "low"})
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary == []
    usage = response.usage
    assert usage is not None and usage.output_tokens_details.reasoning_tokens > 0
    visible = count_text(response.output_text, "o200k_base")
    assert usage.output_tokens == usage.output_tokens_details.reasoning_tokens + visible
    assert response.reasoning is not None and response.reasoning.effort == "low"
    cut = v1.responses.create(model="reasoner", input="Think hard.", reasoning={"effort": "high"}, max_output_tokens=16)
    assert cut.status == "incomplete" and [item.type for item in cut.output] == ["reasoning"]
    assert cut.usage is not None and cut.usage.output_tokens == cut.usage.output_tokens_details.reasoning_tokens == 16


def test_reasoning_summaries_stream_as_their_events(http: httpx.Client, v1: OpenAI) -> None:
    body = {"model": "reasoner", "input": "Explain tides.", "reasoning": {"effort": "medium", "summary": "auto"}}
    events = events_of(http.post(RESPONSES, json={**body, "stream": True}))
    validate_stream(events)
    kinds = [event["type"] for event in events]
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    summary = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    done = [e["text"] for e in events if e["type"] == "response.reasoning_summary_text.done"]
    assert summary == "".join(done) and done[0].startswith("**")
    final = events[-1]["response"]
    assert [part["text"] for part in final["output"][0]["summary"]] == done
    with v1.responses.stream(**body) as stream:  # type: ignore[arg-type]
        final_sdk = stream.get_final_response()
    assert final_sdk.output[0].type == "reasoning" and final_sdk.output[0].summary


@pytest.mark.parametrize(
    ("model", "extra", "param", "code"),
    [
        ("reasoner", {"temperature": 0.5}, "temperature", "unsupported_parameter"),
        ("reasoner", {"top_p": 0.9}, "top_p", "unsupported_parameter"),
        ("reasoner", {"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
        ("reasoner", {"reasoning": {"summary": "verbose"}}, "reasoning.summary", "invalid_value"),
        ("chat", {"reasoning": {"effort": "low"}}, "reasoning.effort", "unsupported_parameter"),
    ],
)
def test_reasoning_parameters_are_refused_as_the_service_refuses_them(
    http: httpx.Client, model: str, extra: dict[str, Any], param: str, code: str
) -> None:
    refused = http.post(RESPONSES, json={"model": model, "input": "hi", **extra})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    spec.validate_error(refused.json())


def test_faults_apply_to_the_responses_api(http: httpx.Client) -> None:
    body = {"model": "chat", "input": "Faults, please."}
    limited = http.post(RESPONSES, json=body, headers={"x-simulator-fault": "429; retry-after=3"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert "Responses_Create" in limited.json()["error"]["message"]
    filtered = http.post(RESPONSES, json=body, headers={"x-simulator-fault": "completion-filter"}).json()
    assert filtered["status"] == "incomplete" and filtered["incomplete_details"] == {"reason": "content_filter"}
    assert http.get(f"{RESPONSES}/{filtered['id']}").json()["incomplete_details"] == {"reason": "content_filter"}
    streamed = http.post(RESPONSES, json={**body, "stream": True}, headers={"x-simulator-fault": "completion-filter"})
    events = events_of(streamed)
    validate_stream(events)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(RESPONSES, json={**body, "stream": True}, headers={"x-simulator-fault": "cut; after=3"})


def test_output_text_logprobs_when_included(http: httpx.Client) -> None:
    body = {"model": "chat", "input": "hi", "include": ["message.output_text.logprobs"], "top_logprobs": 2}
    response = http.post(RESPONSES, json={**body, "max_output_tokens": 20}).json()
    spec.validate(response, "AzureResponse", spec.V1)
    part = response["output"][0]["content"][0]
    assert "".join(entry["token"] for entry in part["logprobs"]) == part["text"]
    assert all(len(entry["top_logprobs"]) == 2 for entry in part["logprobs"])
    events = events_of(http.post(RESPONSES, json={**body, "max_output_tokens": 20, "stream": True}))
    validate_stream(events)
    deltas = [event for event in events if event["type"] == "response.output_text.delta"]
    assert all(event["logprobs"][0]["token"] == event["delta"] for event in deltas)
    plain = http.post(RESPONSES, json={"model": "chat", "input": "hi", "max_output_tokens": 16}).json()
    assert plain["output"][0]["content"][0]["logprobs"] == []


def test_faults_apply_to_stored_response_routes(v1: OpenAI, http: httpx.Client) -> None:
    created = v1.responses.create(model="chat", input="Poll me.", max_output_tokens=16)
    where = f"{RESPONSES}/{created.id}"
    limited = http.get(where, headers={"x-simulator-fault": "429; retry-after=2"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    failed = http.get(f"{where}/input_items", headers={"x-simulator-fault": "500"})
    assert failed.status_code == 500
    spec.validate_error(failed.json())
    with pytest.raises(httpx.RemoteProtocolError):
        http.delete(where, headers={"x-simulator-fault": "reset"})
    # The server deleted it; only the answer was lost, as when a connection drops after the work is done.
    assert http.get(where).status_code == 404
