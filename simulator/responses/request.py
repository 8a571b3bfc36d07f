"""A Responses API request body, validated into typed values with OpenAI's wording for what is wrong.

The body's `input` is a string or a list of items (messages with content parts, function calls and their
outputs, earlier output items); `as_messages` turns it into the chat messages that token counting and the
chat generators already understand, so a Responses turn is counted and answered by the same code as chat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from simulator import errors, reasoning
from simulator.generators.response_format import JsonFormat, parse_format
from simulator.generators.tool_calls import Tool, ToolChoice, ToolFormat, parse_tools
from simulator.models import ModelSpec
from simulator.params import (
    MAX_CHAT_TOP_LOGPROBS,
    bounded_int,
    invalid_type,
    invalid_value,
    missing_or_invalid,
    missing_parameter,
    one_of,
    optional_int,
    string_too_long,
)

MIN_OUTPUT_TOKENS = 16  # the Responses API refuses a smaller max_output_tokens
MAX_METADATA_PAIRS = 16
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
INPUT_PART_TYPES = ("input_text", "input_image", "input_file", "input_audio", "output_text", "refusal")
INCLUDABLE = (
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
)
LOGPROBS = "message.output_text.logprobs"
TRUNCATIONS = ("auto", "disabled")
# Items the simulator reads for their tokens; any other item type is accepted and counted as its text.
_CALLABLE = ("function", "custom")


@dataclasses.dataclass(frozen=True, slots=True)
class ResponsesParams:
    items: list[dict[str, Any]]  # `input` as a list of items (a string becomes one user message)
    instructions: str | None
    max_output_tokens: int | None
    stream: bool
    store: bool
    background: bool
    previous_response_id: str | None
    seed: int | None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None  # None: no callable tools
    text_format: JsonFormat | None = None  # None: free text
    reasoning_effort: str | None = None  # a reasoning model's effort; None: not a reasoning model
    reasoning_summary: str | None = None  # `reasoning.summary`: auto, concise or detailed; None: no summary
    logprobs: int | None = None  # `include` asks for output text logprobs: this many `top_logprobs`; None: not


def parse_responses(
    body: Mapping[str, Any], model: ModelSpec, profile: reasoning.ReasoningProfile | None = None
) -> ResponsesParams:
    """Validate a Responses create body; raises `OpenAIError` (400, with `param`) for the first problem.
    `profile`: how the deployment reasons (None: not a reasoning model)."""
    effort, summary = _reasoning(body, profile)
    items = _input_items(body.get("input"))
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid_type("instructions", "a string", instructions)
    max_output_tokens = bounded_int(body, "max_output_tokens", MIN_OUTPUT_TOKENS)
    _check_number(body, "temperature", 0.0, 2.0)
    _check_number(body, "top_p", 0.0, 1.0)
    top_logprobs = bounded_int(body, "top_logprobs", 0, MAX_CHAT_TOP_LOGPROBS)
    stream = _optional_bool(body, "stream", False)
    store = _optional_bool(body, "store", True)
    background = _optional_bool(body, "background", False)
    if background and not store:
        raise errors.invalid_request(
            "Background responses must be stored: 'background' requires 'store' to be true.",
            "background",
            "invalid_value",
        )
    previous = body.get("previous_response_id")
    if previous is not None and not isinstance(previous, str):
        raise invalid_type("previous_response_id", "a string", previous)
    _check_metadata(body.get("metadata"))
    truncation = body.get("truncation")
    if truncation is not None and truncation not in TRUNCATIONS:
        raise invalid_value("truncation", truncation, TRUNCATIONS)
    logprobs = (top_logprobs or 0) if LOGPROBS in _check_include(body.get("include")) else None
    _check_hosted_tools(body.get("tools"), model)
    parsed_tools = parse_tools(body, ToolFormat.RESPONSES)
    text_format = _text_format(body.get("text"), items, instructions)
    return ResponsesParams(
        items=items,
        instructions=instructions,
        max_output_tokens=max_output_tokens,
        stream=stream,
        store=store,
        background=background,
        previous_response_id=previous,
        seed=optional_int(body, "seed"),
        tools=tuple(parsed_tools[0]) if parsed_tools else (),
        tool_choice=parsed_tools[1] if parsed_tools else None,
        text_format=text_format,
        reasoning_effort=effort,
        reasoning_summary=summary,
        logprobs=logprobs,
    )


def _reasoning(body: Mapping[str, Any], profile: reasoning.ReasoningProfile | None) -> tuple[str | None, str | None]:
    """`reasoning.effort` and `.summary`, and the sampling parameters reasoning models refuse."""
    options = body.get("reasoning")
    if options is not None and not isinstance(options, Mapping):
        raise invalid_type("reasoning", "an object", options)
    options = options or {}
    if profile is None:
        if options.get("effort") is not None:
            raise reasoning.unsupported_parameter("reasoning.effort")
        return None, None
    reasoning.check_sampling(body, profile, "responses")
    effort = reasoning.requested_effort(options.get("effort"), profile, "reasoning.effort")
    summary = options.get("summary")
    if summary is not None and summary not in reasoning.SUMMARIES:
        raise invalid_value("reasoning.summary", summary, reasoning.SUMMARIES)
    return effort, summary


def as_messages(items: Sequence[Mapping[str, Any]], instructions: str | None) -> list[dict[str, Any]]:
    """The chat messages equivalent to `items` (and the instructions as a system message), for token counting
    and for the chat generators' decisions (a last `tool` message makes "auto" less eager to call again)."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item["role"], "content": _chat_content(item.get("content"))})
        elif kind == "function_call_output" or kind == "custom_tool_call_output":
            messages.append({"role": "tool", "content": _text_of(item.get("output"))})
        elif kind == "function_call" or kind == "custom_tool_call":
            field = "arguments" if kind == "function_call" else "input"
            call = {"function": {"name": item.get("name", ""), "arguments": item.get(field, "")}}
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind not in ("reasoning", "item_reference"):
            # Earlier turns' reasoning is dropped from the context, as the service drops it; a reference to an item
            # counts as nothing (the simulator does not look stored items up by id).
            messages.append({"role": "user", "content": _text_of(item)})
    return messages


def chat_tools(raw_tools: Any) -> list[dict[str, Any]]:
    """The callable tools of a Responses body in chat's nesting, for `tokens.count_tools`."""
    if not isinstance(raw_tools, list):
        return []
    return [
        {"type": "function", "function": tool}
        for tool in raw_tools
        if isinstance(tool, Mapping) and tool.get("type") in _CALLABLE
    ]


def _input_items(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise missing_or_invalid("input", "a string or an array of input items", raw)
    for index, item in enumerate(raw):
        _check_item(f"input[{index}]", item)
    return raw


def _check_item(param: str, item: Any) -> None:
    if not isinstance(item, Mapping):
        raise invalid_type(param, "an object", item)
    kind = item.get("type", "message")
    if not isinstance(kind, str):
        raise invalid_type(f"{param}.type", "a string", kind)
    if kind == "message":
        one_of(f"{param}.role", item.get("role"), MESSAGE_ROLES)
        content = item.get("content")
        if isinstance(content, str):
            return
        if not isinstance(content, list):
            raise missing_or_invalid(f"{param}.content", "a string or an array of content parts", content)
        for position, part in enumerate(content):
            part_param = f"{param}.content[{position}]"
            if not isinstance(part, Mapping):
                raise invalid_type(part_param, "an object", part)
            if part.get("type") not in INPUT_PART_TYPES:
                raise invalid_value(f"{part_param}.type", part.get("type"), INPUT_PART_TYPES)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        for field in ("call_id", "output"):
            if item.get(field) is None:
                raise missing_parameter(f"{param}.{field}")
    elif kind in ("function_call", "custom_tool_call"):
        for field in ("call_id", "name"):
            if not isinstance(item.get(field), str):
                raise missing_or_invalid(f"{param}.{field}", "a string", item.get(field))


def _chat_content(content: Any) -> Any:
    """Responses content parts as chat parts: text parts become `text`, images stay images (85 tokens)."""
    if not isinstance(content, list):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal", "")})
        elif kind == "input_image":
            parts.append({"type": "input_image"})
        else:  # files and audio: counted by what they name, as the simulator never reads them
            parts.append({"type": "text", "text": str(part.get("filename") or part.get("file_id") or "")})
    return parts


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # function_call_output may be a list of content parts
        return "".join(str(part.get("text", "")) for part in value if isinstance(part, Mapping))
    if isinstance(value, Mapping):
        return "".join(str(field) for key, field in value.items() if key not in ("type", "id", "status"))
    return "" if value is None else str(value)


def _text_format(raw: Any, items: list[dict[str, Any]], instructions: str | None) -> JsonFormat | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise invalid_type("text", "an object", raw)
    fmt = raw.get("format")
    if fmt is None:
        return None
    parsed = parse_format(fmt, "text.format", nested=False)
    if parsed is not None and parsed.name is None:
        texts = [instructions or ""] + [str(message.get("content")) for message in as_messages(items, None)]
        if not any("json" in text.lower() for text in texts):
            raise errors.invalid_request(
                "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
                "'json_object'.",
                "input",
                "invalid_value",
            )
    return parsed


def _check_hosted_tools(raw: Any, model: ModelSpec) -> None:
    """Built-in tools (web search, file search, code interpreter, …) run inside the service; the simulator has
    none of them, so it answers as AOAI answers for a deployment that does not offer the tool."""
    if not isinstance(raw, list):
        return
    for tool in raw:
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if isinstance(kind, str) and kind not in _CALLABLE:
            raise errors.invalid_request(f"Hosted tool '{kind}' is not supported with {model.name}.", "tools")


def _check_metadata(raw: Any) -> None:
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise invalid_type("metadata", "an object", raw)
    if len(raw) > MAX_METADATA_PAIRS:
        raise errors.invalid_request(
            f"Invalid 'metadata': too many properties. Expected an object with at most {MAX_METADATA_PAIRS} "
            f"properties, but got an object with {len(raw)} properties instead.",
            "metadata",
            "object_above_max_properties",
        )
    for key, value in raw.items():
        if len(key) > 64:
            raise string_too_long(f"metadata.{key}", 64, len(key))
        if not isinstance(value, str):
            raise invalid_type(f"metadata.{key}", "a string", value)
        if len(value) > 512:
            raise string_too_long(f"metadata.{key}", 512, len(value))


def _check_include(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_type("include", "an array of strings", raw)
    for index, entry in enumerate(raw):
        if entry not in INCLUDABLE:
            raise invalid_value(f"include[{index}]", entry, INCLUDABLE)
    return raw


def _check_number(body: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(name, "a number", value)
    if not low <= value <= high:
        raise errors.invalid_request(
            f"Invalid '{name}': decimal {'below minimum' if value < low else 'above maximum'} value. Expected a value "
            f"{'>=' if value < low else '<='} {low if value < low else high:g}, but got {value:g} instead.",
            name,
            "decimal_below_min_value" if value < low else "decimal_above_max_value",
        )


def _optional_bool(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(name, "a boolean", value)
    return value
