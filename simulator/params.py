"""Typed, validated views of request bodies, with OpenAI's wording for what is wrong.

Validation lives here, once, so generated, recorded and replayed answers refuse the same requests,
and limits and latency read the same numbers (`max_tokens`, `n`, inputs). Upper bounds on counts and sizes
(choices, messages, tools, inputs) are resource limits: `simulator.limits` checks them, in every mode.
OpenAI's wording for refused parameters (`missing_parameter`, `invalid_type`, `invalid_value`, …) is defined
here once and shared with the tool and response-format parsers of `simulator.generators`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from simulator import errors, jsonenc
from simulator.errors import OpenAIError
from simulator.models import ModelSpec

if TYPE_CHECKING:  # parsed by the chat generator: these modules import the wording below
    from simulator.generators.response_format import JsonFormat
    from simulator.generators.tool_calls import Tool, ToolChoice

MAX_CHAT_TOP_LOGPROBS = 20
MAX_COMPLETION_LOGPROBS = 5
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
# Roles whose `content` both specs mark nullable: an assistant message holding only tool calls, a function result.
NULL_CONTENT_ROLES = ("assistant", "function")


@dataclasses.dataclass(frozen=True, slots=True)
class ChatParams:
    messages: list[dict[str, Any]]
    max_tokens: int | None
    n: int
    stream: bool
    include_usage: bool
    seed: int | None
    logprobs: int | None = None  # None: none asked for; else how many `top_logprobs` per token
    # Filled by the chat generator (simulator.generators.tool_calls / response_format), which own their parsing.
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None  # None: no tools
    response_format: JsonFormat | None = None  # None: free text
    reasoning_effort: str | None = None  # a reasoning model's effort (simulator.reasoning); None: not one


@dataclasses.dataclass(frozen=True, slots=True)
class CompletionParams:
    prompts: list[str]
    max_tokens: int | None
    n: int
    stream: bool
    include_usage: bool
    seed: int | None
    echo: bool
    logprobs: int | None = None  # None: none asked for; else how many alternatives per token


@dataclasses.dataclass(frozen=True, slots=True)
class EmbeddingParams:
    inputs: list[str | list[int]]
    dimensions: int | None
    base64: bool


def present(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The body without its null members. Both specs mark most optional fields nullable, and the service takes a
    field sent as null for one left out: an optional one gets its default, a required one is missing."""
    if None not in body.values():
        return body
    return {key: value for key, value in body.items() if value is not None}


def parse_chat(body: Mapping[str, Any], model: ModelSpec, *, reasoning_effort: str | None = None) -> ChatParams:
    """`reasoning_effort`: the effort the chat generator validated for a reasoning deployment (its profile
    is the deployment's, which this module does not see)."""
    body = present(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise missing_or_invalid("messages", "a non-empty array", messages)
    for index, message in enumerate(messages):
        _check_message(index, message)
    if model.reasoning and body.get("max_tokens") is not None:
        raise errors.unsupported_parameter("max_tokens", "max_completion_tokens")
    stream = _stream(body)
    return ChatParams(
        messages=messages,
        max_tokens=_max_tokens(body, "max_completion_tokens", "max_tokens"),
        n=_n(body),
        stream=stream,
        include_usage=_include_usage(body, stream),
        seed=optional_int(body, "seed"),
        logprobs=_chat_logprobs(body) if "logprobs" in body or "top_logprobs" in body else None,
        reasoning_effort=reasoning_effort,
    )


def parse_completion(body: Mapping[str, Any]) -> CompletionParams:
    body = present(body)
    prompts = _prompts(body.get("prompt", "<|endoftext|>"))
    stream = _stream(body)
    echo = body.get("echo", False)
    if not isinstance(echo, bool):
        raise invalid_type("echo", "a boolean", echo)
    return CompletionParams(
        prompts=prompts,
        max_tokens=_max_tokens(body, "max_tokens"),
        n=_n(body),
        stream=stream,
        include_usage=_include_usage(body, stream),
        seed=optional_int(body, "seed"),
        echo=echo,
        logprobs=bounded_int(body, "logprobs", 0, MAX_COMPLETION_LOGPROBS),
    )


def parse_embedding(body: Mapping[str, Any], model: ModelSpec) -> EmbeddingParams:
    body = present(body)
    raw = body.get("input")
    inputs = _embedding_inputs(raw)
    if not inputs:
        raise errors.invalid_request(
            "'$.input' is invalid. Please check the API reference: it must hold at least one input.", "input"
        )
    dimensions = optional_int(body, "dimensions")
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
        raise invalid_value("encoding_format", encoding_format, ("float", "base64"))
    return EmbeddingParams(inputs=inputs, dimensions=dimensions, base64=encoding_format == "base64")


def _prompts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    if not isinstance(prompt, list):
        raise invalid_type("prompt", "a string or an array of strings", prompt)
    if not prompt:
        raise empty_array("prompt")
    for index, item in enumerate(prompt):
        if not isinstance(item, str):
            raise invalid_type(f"prompt[{index}]", "a string", item)
    return list(prompt)


def _embedding_inputs(raw: Any) -> list[str | list[int]]:
    if isinstance(raw, str):
        return [raw] if raw else []
    if not isinstance(raw, list) or not raw:
        raise missing_or_invalid("input", "a string or an array of strings or token arrays", raw)
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
        raise invalid_type(f"messages[{index}]", "an object", message)
    role = one_of(f"messages[{index}].role", message.get("role"), ROLES)
    content = message.get("content")
    if content is None and role not in NULL_CONTENT_ROLES:
        raise missing_parameter(f"messages[{index}].content")
    if content is not None and not isinstance(content, str | list):
        raise invalid_type(f"messages[{index}].content", "one of a string or array of objects", content)


def _max_tokens(body: Mapping[str, Any], *names: str) -> int | None:
    for name in names:  # on every chat request: `optional_int` inline rather than through `bounded_int`
        value = optional_int(body, name)
        if value is not None:
            if value < 1:
                raise _below_minimum(name, 1, value)
            return value
    return None


def _chat_logprobs(body: Mapping[str, Any]) -> int | None:
    """`top_logprobs` when `logprobs` is true (0 without it); None when no logprobs are asked for."""
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise invalid_type("logprobs", "a boolean", logprobs)
    top = bounded_int(body, "top_logprobs", 0, MAX_CHAT_TOP_LOGPROBS)
    if not logprobs:
        if top is not None:  # wording unverified
            raise errors.invalid_request(
                "Invalid 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is set.", "top_logprobs"
            )
        return None
    return top or 0


def bounded_int(body: Mapping[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    """An optional integer within [low, high] (no upper bound when `high` is None), refused in OpenAI's words."""
    value = optional_int(body, name)
    if value is None:
        return None
    if value < low:
        raise _below_minimum(name, low, value)
    if high is not None and value > high:
        raise errors.invalid_request(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def _below_minimum(name: str, low: int, value: int) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
        name,
        "integer_below_min_value",
    )


def _n(body: Mapping[str, Any]) -> int:
    n = optional_int(body, "n")
    if n is None:
        return 1
    if n < 1:
        raise errors.invalid_request(
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.",
            "n",
            "integer_below_min_value",
        )
    return n


def _stream(body: Mapping[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise invalid_type("stream", "a boolean", stream)
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
        raise invalid_type("stream_options", "an object", options)
    return options.get("include_usage") is True


def optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    return value


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# OpenAI's wording for parameters it refuses. The service names the offending parameter by its path
# (`tools[0].function.name`) in both the message and `param`; clients and their tests match on these strings.


def json_kind(value: Any) -> str:
    """How OpenAI names the JSON type of a value it did not expect."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    names = {dict: "an object", list: "an array", str: "a string", type(None): "null"}
    return names.get(type(value), "an object")


def shown(value: Any) -> str:
    """A client's value quoted in a message: a string as it is, anything else as JSON (`null`, `true`, `[1]`),
    never in Python's spelling (`None`, `True`, `['x']`)."""
    return value if isinstance(value, str) else jsonenc.text(value)


def missing_parameter(param: str) -> OpenAIError:
    return errors.invalid_request(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def invalid_type(param: str, expected: str, value: Any) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {json_kind(value)} instead.", param, "invalid_type"
    )


def missing_or_invalid(param: str, expected: str, value: Any) -> OpenAIError:
    """`missing_parameter` when the value is absent (None), else `invalid_type`."""
    return missing_parameter(param) if value is None else invalid_type(param, expected, value)


def invalid_value(param: str, value: Any, supported: Sequence[str]) -> OpenAIError:
    quoted = [f"'{item}'" for item in supported]
    listed = (
        quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])}{',' if len(quoted) > 2 else ''} and {quoted[-1]}"
    )
    return errors.invalid_request(
        f"Invalid value: '{shown(value)}'. Supported values are: {listed}.", param, "invalid_value"
    )


def one_of(param: str, value: Any, supported: Sequence[str]) -> Any:
    """`value`, which is required and must be one of `supported`."""
    if value is None:
        raise missing_parameter(param)
    if value not in supported:
        raise invalid_value(param, value, supported)
    return value


def empty_array(param: str) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        param,
        "empty_array",
    )


def array_too_long(param: str, maximum: int, length: int) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid '{param}': array too long. Expected an array with maximum length {maximum}, but got an array "
        f"with length {length} instead.",
        param,
        "array_above_max_length",
    )


def string_too_long(param: str, maximum: int, length: int) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid '{param}': string too long. Expected a string with maximum length {maximum}, but got a string "
        f"with length {length} instead.",
        param,
        "string_above_max_length",
    )


def pattern_mismatch(param: str, pattern: str) -> OpenAIError:
    return errors.invalid_request(
        f"Invalid '{param}': string does not match pattern. Expected a string that matches the pattern '{pattern}'.",
        param,
        "invalid_value",
    )
