from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest

from simulator.errors import OpenAIError
from simulator.generators.response_format import parse_format, parse_response_format
from tests.generators.schemas import EXTRACT_PEOPLE, MATH_REASONING, ORDER, UI_COMPONENT


def chat(response_format: Any, content: str = "Solve 8x + 7 = -23 and answer in JSON.") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "response_format": response_format}


def json_schema(name: str, schema: Any, strict: bool = True) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}


@pytest.mark.parametrize("schema", [MATH_REASONING, ORDER, UI_COMPONENT])
def test_json_schema_content_is_valid_for_the_schema(schema: dict[str, Any]) -> None:
    fmt = parse_response_format(chat(json_schema("answer", schema)))
    assert fmt is not None and fmt.strict and fmt.name == "answer"
    for seed in range(50):
        jsonschema.validate(json.loads(fmt.content(random.Random(seed))), schema)


def test_json_object_content_is_a_small_object() -> None:
    fmt = parse_response_format(chat({"type": "json_object"}))
    assert fmt is not None
    for seed in range(50):
        value = json.loads(fmt.content(random.Random(seed)))
        assert isinstance(value, dict) and 1 <= len(value) <= 4


def test_json_object_needs_the_word_json_in_the_messages() -> None:
    parts = [{"type": "text", "text": "Reply as JSON please"}]
    assert parse_response_format(chat({"type": "json_object"}, content=parts)) is not None  # type: ignore[arg-type]
    with pytest.raises(OpenAIError) as caught:
        parse_response_format(chat({"type": "json_object"}, content="Reply as an object"))
    assert caught.value.body()["error"] == {
        "code": None,
        "message": "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'.",
        "type": "invalid_request_error",
        "param": "messages",
    }


def test_text_and_absent_formats_leave_the_answer_to_text() -> None:
    assert parse_response_format({"messages": []}) is None
    assert parse_response_format(chat({"type": "text"})) is None


def test_responses_text_format_is_flat() -> None:
    fmt = parse_format({"type": "json_schema", "name": "people", "schema": EXTRACT_PEOPLE}, "text.format", nested=False)
    assert fmt is not None and not fmt.strict
    jsonschema.validate(json.loads(fmt.content(random.Random(1))), EXTRACT_PEOPLE)


def test_content_within_shrinks_to_fit() -> None:
    fmt = parse_response_format(chat(json_schema("ui", UI_COMPONENT)))
    assert fmt is not None
    usual = fmt.content(random.Random(5))
    fitted = fmt.content_within(random.Random(5), len(usual) - 1, len)
    assert len(fitted) < len(usual)
    jsonschema.validate(json.loads(fitted), UI_COMPONENT)


@pytest.mark.parametrize(
    ("response_format", "param", "code", "message"),
    [
        ("json", "response_format", "invalid_type", None),
        (
            {"type": "xml"},
            "response_format.type",
            "invalid_value",
            "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and 'text'.",
        ),
        (
            {"type": "json_schema"},
            "response_format.json_schema",
            "missing_required_parameter",
            "Missing required parameter: 'response_format.json_schema'.",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": ORDER}},
            "response_format.json_schema.name",
            "missing_required_parameter",
            None,
        ),
        (
            json_schema("people", EXTRACT_PEOPLE),
            "response_format",
            "invalid_value",
            "Invalid schema for response_format 'people': In context=(), 'additionalProperties' is required to be "
            "supplied and to be false.",
        ),
        (
            json_schema("list", {"type": "array", "items": {"type": "string"}}),
            "response_format",
            "invalid_value",
            "Invalid schema for response_format 'list': schema must be a JSON Schema of 'type: \"object\"', got "
            "'type: \"array\"'.",
        ),
    ],
)
def test_bad_formats_get_openai_errors(response_format: Any, param: str, code: str | None, message: str | None) -> None:
    with pytest.raises(OpenAIError) as caught:
        parse_response_format(chat(response_format))
    error = caught.value.body()["error"]
    assert (caught.value.status, error["param"], error.get("code")) == (400, param, code)
    if message is not None:
        assert error["message"] == message
