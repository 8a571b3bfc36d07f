"""Tool calls in generate mode: which tools the 'model' calls, with arguments valid for their schemas.

Three steps, so the Responses API can share the middle one: `parse_tools` validates a request's `tools`,
`tool_choice` and `parallel_tool_calls` (raising OpenAI's 400s) into typed values; `choose_calls` decides
what to call from those and a seeded random source; `chat_tool_calls` renders the calls as a chat
message's `tool_calls` (`choose_tool_calls` does the last two for chat), and `tool_call_deltas` as the
deltas of a stream.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from simulator import errors
from simulator.generators import envelope, lorem
from simulator.generators.json_schema import SchemaError, generate_json, strict_violation
from simulator.params import (
    empty_array,
    invalid_type,
    invalid_value,
    missing_or_invalid,
    missing_parameter,
    pattern_mismatch,
    string_too_long,
)

MAX_NAME_LENGTH = 64
NAME_PATTERN = "^[a-zA-Z0-9_-]+$"
_NAME = re.compile(NAME_PATTERN)
Arguments = Callable[[Any, random.Random], str]  # a function's arguments from its parameters' schema
_EMPTY_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}


class ToolFormat(enum.Enum):
    """Where a tool's fields live: chat nests them under `function`; the Responses API keeps them flat."""

    CHAT = "chat"
    RESPONSES = "responses"


class ChoiceMode(enum.StrEnum):
    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"
    NAMED = "named"  # one tool, named by tool_choice


@dataclasses.dataclass(frozen=True, slots=True)
class Tool:
    name: str
    kind: str  # "function": JSON arguments; "custom": free-form text input
    parameters: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ChoiceMode
    allowed: tuple[str, ...]  # names the model may call
    parallel: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCallPolicy:
    """How often the simulated model reaches for its tools when `tool_choice` leaves it free."""

    auto_probability: float = 0.5  # tool_choice "auto": chance of calling rather than answering with text
    after_tool_probability: float = 0.1  # the same when the last message is a tool result (ends agent loops)
    parallel_probability: float = 0.25  # chance of each further call when parallel calls are allowed
    max_parallel: int = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    name: str
    kind: str
    arguments: str  # JSON text for functions, free text for custom tools


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCalls:
    """A chat answer that calls tools instead of (not besides) answering with text."""

    calls: list[dict[str, Any]]  # the message's `tool_calls`
    # OpenAI answers "stop", not "tool_calls", when tool_choice named the function.
    finish_reason: str


def choose_tool_calls(
    tools: Sequence[Tool],
    choice: ToolChoice,
    rng: random.Random,
    policy: ToolCallPolicy = ToolCallPolicy(),
    *,
    after_tool: bool = False,
    arguments: Arguments = generate_json,
) -> ToolCalls | None:
    """The tool calls a chat answer makes (`parse_tools` gave `tools` and `choice`), or None for text.

    `after_tool`: the last message is a tool result, which makes "auto" less eager to call again. `arguments`
    makes a function's arguments from its parameters' schema (one that stops at the answer's cap, for chat).
    """
    calls = choose_calls(tools, choice, rng, policy, after_tool=after_tool, arguments=arguments)
    if not calls:
        return None
    finish_reason = "stop" if choice.mode is ChoiceMode.NAMED else "tool_calls"
    return ToolCalls(chat_tool_calls(calls, rng), finish_reason)


def parse_tools(
    body: Mapping[str, Any], tool_format: ToolFormat = ToolFormat.CHAT
) -> tuple[list[Tool], ToolChoice] | None:
    """The request's callable tools and tool choice; None when it has no tools."""
    raw_tools = body.get("tools")
    raw_choice = body.get("tool_choice")
    if raw_tools is None:
        if raw_choice is not None:
            raise errors.invalid_request(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                "tool_choice",
            )
        return None
    tools = _parse_tool_list(raw_tools, tool_format)
    parallel = body.get("parallel_tool_calls", True)
    if parallel is None:
        parallel = True
    if not isinstance(parallel, bool):
        raise invalid_type("parallel_tool_calls", "a boolean", parallel)
    choice = _parse_choice(raw_choice, tools, tool_format, parallel)
    return tools, choice


def choose_calls(
    tools: Sequence[Tool],
    choice: ToolChoice,
    rng: random.Random,
    policy: ToolCallPolicy,
    *,
    after_tool: bool = False,
    arguments: Arguments = generate_json,
) -> list[Call]:
    """What the simulated model calls: nothing, one tool, or (when allowed) a few in parallel."""
    candidates = [tool for tool in tools if tool.name in choice.allowed]
    if choice.mode is ChoiceMode.NONE or not candidates:
        return []
    if choice.mode is ChoiceMode.AUTO:
        chance = policy.after_tool_probability if after_tool else policy.auto_probability
        if rng.random() >= chance:
            return []
    count = 1
    if choice.parallel and choice.mode is not ChoiceMode.NAMED:
        while count < policy.max_parallel and rng.random() < policy.parallel_probability:
            count += 1
    return [_call(rng.choice(candidates), rng, arguments) for _ in range(count)]


def chat_tool_calls(calls: Sequence[Call], rng: random.Random) -> list[dict[str, Any]]:
    """Calls as a chat message's `tool_calls` entries."""
    entries: list[dict[str, Any]] = []
    for call in calls:
        call_id = envelope.random_id("call_", rng, 24)
        if call.kind == "custom":
            entries.append({"id": call_id, "type": "custom", "custom": {"name": call.name, "input": call.arguments}})
        else:
            entries.append(
                {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            )
    return entries


def tool_call_deltas(
    calls: Sequence[Mapping[str, Any]],
    split: Callable[[str], Sequence[tuple[str, int]]],
    count_tokens: Callable[[str], int],
) -> list[tuple[dict[str, Any], int]]:
    """Streamed `delta.tool_calls` entries, each with the completion tokens it carries (for pacing): each
    call's id, type and name first (the name's tokens), then its arguments in fragments.

    `split` cuts the arguments text into the fragments one chunk carries, each with its token count.
    """
    deltas: list[tuple[dict[str, Any], int]] = []
    for index, call in enumerate(calls):
        kind = call["type"]
        field = "input" if kind == "custom" else "arguments"
        head = {key: value for key, value in call[kind].items() if key != field}
        opening = {"index": index, "id": call["id"], "type": kind, kind: {**head, field: ""}}
        deltas.append((opening, count_tokens(head["name"])))
        deltas.extend(({"index": index, kind: {field: piece}}, tokens) for piece, tokens in split(call[kind][field]))
    return deltas


def _call(tool: Tool, rng: random.Random, arguments: Arguments) -> Call:
    if tool.kind == "custom":
        return Call(tool.name, tool.kind, "".join(lorem.lorem_pieces(rng.randint(3, 12), rng)))
    try:
        text = arguments(tool.parameters or _EMPTY_PARAMETERS, rng)
    except SchemaError:  # a schema nothing satisfies: real models still answer with something
        text = "{}"
    return Call(tool.name, tool.kind, text)


# Parsing, with OpenAI's error wording.


def _parse_tool_list(raw: Any, tool_format: ToolFormat) -> list[Tool]:
    if not isinstance(raw, list):
        raise invalid_type("tools", "an array of objects", raw)
    if not raw:
        raise empty_array("tools")
    tools = [_parse_tool(index, item, tool_format) for index, item in enumerate(raw)]
    return [tool for tool in tools if tool is not None]


def _parse_tool(index: int, raw: Any, tool_format: ToolFormat) -> Tool | None:
    param = f"tools[{index}]"
    if not isinstance(raw, Mapping):
        raise invalid_type(param, "an object", raw)
    kind = raw.get("type")
    if kind is None:
        raise missing_parameter(f"{param}.type")
    if not isinstance(kind, str):
        raise invalid_type(f"{param}.type", "a string", kind)
    if kind not in ("function", "custom"):
        if tool_format is ToolFormat.RESPONSES:
            return None  # built-in tools (web_search, file_search, …): the simulator never calls them
        raise invalid_value(f"{param}.type", kind, ("function", "custom"))
    if tool_format is ToolFormat.CHAT:
        param = f"{param}.{kind}"
        raw = raw.get(kind)
        if not isinstance(raw, Mapping):
            raise missing_or_invalid(param, "an object", raw)
    name = _parse_name(f"{param}.name", raw.get("name"))
    if kind == "custom":
        return Tool(name, kind)
    parameters = raw.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise invalid_type(f"{param}.parameters", "an object", parameters)
    if raw.get("strict") is True:
        problem = strict_violation(parameters or _EMPTY_PARAMETERS)
        if problem:
            raise errors.invalid_request(
                f"Invalid schema for function '{name}': {problem}", f"{param}.parameters", "invalid_function_parameters"
            )
    return Tool(name, kind, parameters)


def _parse_name(param: str, name: Any) -> str:
    if not isinstance(name, str):
        raise missing_or_invalid(param, "a string", name)
    if len(name) > MAX_NAME_LENGTH:
        raise string_too_long(param, MAX_NAME_LENGTH, len(name))
    if not _NAME.match(name):
        raise pattern_mismatch(param, NAME_PATTERN)
    return name


def _parse_choice(raw: Any, tools: Sequence[Tool], tool_format: ToolFormat, parallel: bool) -> ToolChoice:
    names = tuple(tool.name for tool in tools)
    if raw is None:
        return ToolChoice(ChoiceMode.AUTO, names, parallel)
    if isinstance(raw, str):
        if raw not in ("none", "auto", "required"):
            raise invalid_value("tool_choice", raw, ("none", "auto", "required"))
        return ToolChoice(ChoiceMode(raw), names, parallel)
    if not isinstance(raw, Mapping):
        raise invalid_type("tool_choice", "a string or an object", raw)
    kind = raw.get("type")
    if kind is None:
        raise missing_parameter("tool_choice.type")
    if kind == "allowed_tools":
        return _parse_allowed_tools(raw, names, tool_format, parallel)
    if kind not in ("function", "custom"):
        if tool_format is ToolFormat.RESPONSES:  # a built-in tool: nothing the simulator calls
            return ToolChoice(ChoiceMode.NONE, (), parallel)
        raise invalid_value("tool_choice.type", kind, ("function", "custom", "allowed_tools"))
    name = _named_tool("tool_choice", raw, tool_format, names)
    return ToolChoice(ChoiceMode.NAMED, (name,), parallel)


def _parse_allowed_tools(
    raw: Mapping[str, Any], names: tuple[str, ...], tool_format: ToolFormat, parallel: bool
) -> ToolChoice:
    param = "tool_choice"
    if tool_format is ToolFormat.CHAT:
        param, raw = "tool_choice.allowed_tools", raw.get("allowed_tools")
        if not isinstance(raw, Mapping):
            raise missing_or_invalid(param, "an object", raw)
    mode = raw.get("mode")
    if mode not in ("auto", "required"):
        raise (
            missing_parameter(f"{param}.mode")
            if mode is None
            else invalid_value(f"{param}.mode", mode, ("auto", "required"))
        )
    entries = raw.get("tools")
    if not isinstance(entries, list):
        raise missing_or_invalid(f"{param}.tools", "an array", entries)
    allowed = tuple(
        _named_tool(f"{param}.tools[{index}]", entry, tool_format, names) for index, entry in enumerate(entries)
    )
    return ToolChoice(ChoiceMode(mode), allowed, parallel)


def _named_tool(param: str, raw: Any, tool_format: ToolFormat, names: tuple[str, ...]) -> str:
    """The tool a `{"type": "function", "function": {"name": …}}` reference names; it must be in `tools`."""
    if not isinstance(raw, Mapping):
        raise invalid_type(param, "an object", raw)
    kind = raw.get("type", "function")
    if tool_format is ToolFormat.CHAT:
        param, raw = f"{param}.{kind}", raw.get(kind)
        if not isinstance(raw, Mapping):
            raise missing_or_invalid(param, "an object", raw)
    name = raw.get("name")
    if not isinstance(name, str):
        raise missing_or_invalid(f"{param}.name", "a string", name)
    if name not in names:
        raise errors.invalid_request(
            f"Invalid value for 'tool_choice': function '{name}' not found in 'tools'.", "tool_choice"
        )
    return name
