"""Structured outputs in generate mode: `response_format` → message content that is valid JSON.

`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` answers with an instance of the schema;
`{"type": "json_object"}` with some small JSON object; `{"type": "text"}` (or none) leaves the answer to the
text generator. The Responses API carries the same thing flattened in `text.format`; `parse_format` reads both.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

from simulator import errors
from simulator.generators.json_schema import SchemaError, generate_json, generate_json_within, strict_violation
from simulator.params import invalid_type, invalid_value, missing_or_invalid, missing_parameter

FORMAT_TYPES = ("json_object", "json_schema", "text")
# What a json_object answer looks like: one to four lorem keys with scalar values.
ANY_OBJECT: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["string", "integer", "boolean"]},
    "minProperties": 1,
    "maxProperties": 4,
}


@dataclasses.dataclass(frozen=True, slots=True)
class JsonFormat:
    """An answer that must be JSON: an instance of `schema`."""

    schema: Mapping[str, Any]
    name: str | None = None  # the json_schema's name; None for json_object
    strict: bool = False

    def content(self, rng: random.Random) -> str:
        try:
            return generate_json(self.schema, rng)
        except SchemaError:  # a schema nothing satisfies (only possible without strict): answer an empty object
            return "{}"

    def content_within(self, rng: random.Random, max_tokens: int | None, count_tokens: Callable[[str], int]) -> str:
        """Like `content`, falling back to the smallest instance when the usual one exceeds `max_tokens`."""
        try:
            return generate_json_within(self.schema, rng, max_tokens, count_tokens)
        except SchemaError:
            return "{}"


def parse_response_format(body: Mapping[str, Any]) -> JsonFormat | None:
    """A chat body's `response_format`, validated; None when the answer is free text."""
    raw = body.get("response_format")
    if raw is None:
        return None
    fmt = parse_format(raw, "response_format", nested=True)
    if fmt is not None and fmt.name is None and not _mentions_json(body.get("messages")):
        raise errors.invalid_request(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
            "messages",
        )
    return fmt


def parse_format(raw: Any, param: str, *, nested: bool) -> JsonFormat | None:
    """`raw` is chat's `response_format` (`nested`: the schema under `json_schema`) or Responses' `text.format`."""
    if not isinstance(raw, Mapping):
        raise invalid_type(param, "an object", raw)
    kind = raw.get("type")
    if kind is None:
        raise missing_parameter(f"{param}.type")
    if kind not in FORMAT_TYPES:
        raise invalid_value(f"{param}.type", kind, FORMAT_TYPES)
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonFormat(ANY_OBJECT)
    spec_param = f"{param}.json_schema" if nested else param
    spec = raw.get("json_schema") if nested else raw
    if not isinstance(spec, Mapping):
        raise missing_or_invalid(spec_param, "an object", spec)
    name = spec.get("name")
    if not isinstance(name, str):
        raise missing_or_invalid(f"{spec_param}.name", "a string", name)
    schema = spec.get("schema")
    if schema is None:
        schema = ANY_OBJECT
    elif not isinstance(schema, Mapping):
        raise invalid_type(f"{spec_param}.schema", "an object", schema)
    strict = spec.get("strict") is True
    if strict:
        _check_strict(schema, name, param)
    return JsonFormat(schema, name, strict)


def _check_strict(schema: Mapping[str, Any], name: str, param: str) -> None:
    kind = schema.get("type")
    if kind != "object":
        problem = f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."
    else:
        problem = strict_violation(schema)
    if problem:
        raise errors.invalid_request(f"Invalid schema for response_format '{name}': {problem}", param, "invalid_value")


def _mentions_json(messages: Any) -> bool:
    """Whether any message text says 'json' (in any case), as OpenAI demands for json_object."""
    if not isinstance(messages, list):
        return False
    return any("json" in text.lower() for message in messages for text in _texts(message))


def _texts(message: Any) -> list[str]:
    content = message.get("content") if isinstance(message, Mapping) else None
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part["text"] for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str)]
    return []
