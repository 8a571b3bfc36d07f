"""Typed, validated views of request bodies, with OpenAI's wording for what is wrong.

Validation lives here, once, so generated, recorded and replayed answers refuse the same requests,
and limits and latency read the same numbers (`max_tokens`, `n`, inputs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from simulator import errors
from simulator.models import ModelSpec

MAX_EMBEDDING_INPUTS = 2048
MAX_CHOICES = 128


@dataclasses.dataclass(frozen=True, slots=True)
class ChatParams:
    messages: list[dict[str, Any]]
    max_tokens: int | None
    n: int
    stream: bool
    include_usage: bool
    seed: int | None
    tools: list[dict[str, Any]] | None


@dataclasses.dataclass(frozen=True, slots=True)
class CompletionParams:
    prompts: list[str]
    max_tokens: int | None
    n: int
    stream: bool
    include_usage: bool
    seed: int | None
    echo: bool


@dataclasses.dataclass(frozen=True, slots=True)
class EmbeddingParams:
    inputs: list[str | list[int]]
    dimensions: int | None
    base64: bool


def parse_chat(body: Mapping[str, Any], model: ModelSpec) -> ChatParams:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _missing_or_invalid("messages", messages, "a non-empty array")
    for index, message in enumerate(messages):
        _check_message(index, message)
    if model.reasoning and body.get("max_tokens") is not None:
        raise errors.unsupported_parameter("max_tokens", "max_completion_tokens")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise errors.invalid_request(
            f"Invalid type for 'tools': expected an array, but got {_kind(tools)} instead.", "tools"
        )
    stream = _stream(body)
    return ChatParams(
        messages=messages,
        max_tokens=_max_tokens(body, "max_completion_tokens", "max_tokens"),
        n=_n(body),
        stream=stream,
        include_usage=_include_usage(body, stream),
        seed=_optional_int(body, "seed"),
        tools=tools or None,
    )


def parse_completion(body: Mapping[str, Any]) -> CompletionParams:
    prompt = body.get("prompt", "<|endoftext|>")
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(item, str) for item in prompt):
        prompts = list(prompt)
    else:
        raise _missing_or_invalid("prompt", prompt, "a string or an array of strings")
    stream = _stream(body)
    echo = body.get("echo", False)
    if not isinstance(echo, bool):
        raise _wrong_type("echo", echo, "a boolean")
    return CompletionParams(
        prompts=prompts,
        max_tokens=_max_tokens(body, "max_tokens"),
        n=_n(body),
        stream=stream,
        include_usage=_include_usage(body, stream),
        seed=_optional_int(body, "seed"),
        echo=echo,
    )


def parse_embedding(body: Mapping[str, Any], model: ModelSpec) -> EmbeddingParams:
    raw = body.get("input")
    inputs = _embedding_inputs(raw)
    if not inputs or len(inputs) > MAX_EMBEDDING_INPUTS:
        raise errors.invalid_request(
            f"'$.input' is invalid. Please check the API reference: it must hold 1 to {MAX_EMBEDDING_INPUTS} inputs.",
            "input",
        )
    dimensions = _optional_int(body, "dimensions")
    if dimensions is not None:
        if not model.supports_dimensions:
            raise errors.invalid_request("This model does not support specifying dimensions.", "dimensions")
        largest = model.embedding_dimensions or 0
        if not 1 <= dimensions <= largest:
            raise errors.invalid_request(
                f"Invalid value for 'dimensions': must be between 1 and {largest}.", "dimensions"
            )
    encoding_format = body.get("encoding_format", "float")
    if encoding_format not in ("float", "base64"):
        raise errors.invalid_request(
            f"Invalid value for 'encoding_format': expected 'float' or 'base64', got {encoding_format!r}.",
            "encoding_format",
        )
    return EmbeddingParams(inputs=inputs, dimensions=dimensions, base64=encoding_format == "base64")


def _embedding_inputs(raw: Any) -> list[str | list[int]]:
    if isinstance(raw, str):
        return [raw] if raw else []
    if not isinstance(raw, list) or not raw:
        raise _missing_or_invalid("input", raw, "a string or an array of strings or token arrays")
    if all(_is_token(item) for item in raw):
        return [raw]
    inputs: list[str | list[int]] = []
    for item in raw:
        if (isinstance(item, str) and item) or (
            isinstance(item, list) and item and all(_is_token(token) for token in item)
        ):
            inputs.append(item)
        else:
            raise errors.invalid_request(
                "'$.input' is invalid. Each input must be a non-empty string or a non-empty array of tokens.",
                "input",
            )
    return inputs


def _check_message(index: int, message: Any) -> None:
    if not isinstance(message, dict):
        raise errors.invalid_request(
            f"Invalid type for 'messages[{index}]': expected an object, but got {_kind(message)} instead.",
            f"messages[{index}]",
        )
    role = message.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool", "function"):
        raise errors.invalid_request(
            f"Invalid value: {role!r}. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', "
            "and 'developer'.",
            f"messages[{index}].role",
        )
    content = message.get("content")
    if content is None and role not in ("assistant",):
        raise errors.invalid_request(
            f"Missing required parameter: 'messages[{index}].content'.", f"messages[{index}].content"
        )
    if content is not None and not isinstance(content, str | list):
        raise errors.invalid_request(
            f"Invalid type for 'messages[{index}].content': expected one of a string or array of objects, but got "
            f"{_kind(content)} instead.",
            f"messages[{index}].content",
        )


def _max_tokens(body: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = _optional_int(body, name)
        if value is not None:
            if value < 1:
                raise errors.invalid_request(
                    f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
                    name,
                    "integer_below_min_value",
                )
            return value
    return None


def _n(body: Mapping[str, Any]) -> int:
    n = _optional_int(body, "n")
    if n is None:
        return 1
    if not 1 <= n <= MAX_CHOICES:
        raise errors.invalid_request(f"Invalid 'n': must be between 1 and {MAX_CHOICES}, got {n}.", "n")
    return n


def _stream(body: Mapping[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise _wrong_type("stream", stream, "a boolean")
    return stream


def _include_usage(body: Mapping[str, Any], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise errors.invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    if not isinstance(options, dict):
        raise _wrong_type("stream_options", options, "an object")
    return options.get("include_usage") is True


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(name, value, "an integer")
    return value


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _missing_or_invalid(name: str, value: Any, expected: str) -> errors.OpenAIError:
    if value is None:
        return errors.invalid_request(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    return _wrong_type(name, value, expected)


def _wrong_type(name: str, value: Any, expected: str) -> errors.OpenAIError:
    return errors.invalid_request(
        f"Invalid type for '{name}': expected {expected}, but got {_kind(value)} instead.", name, "invalid_type"
    )


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return names.get(type(value), type(value).__name__)
