"""Resource limits of one instance: how much work one request may ask for, and how many streams it holds at once.

A shared endpoint meets clients that ask for unbounded work (a million messages, 128 choices of a thousand
prompts, JSON nested until the interpreter's stack runs out) and clients that hold streams open. Each limit
refuses with an AOAI-shaped error before any work is done. The checks read field names, not operations, so a
route added to the route table is covered as soon as its requests go through `Simulator.answer`: any `n`, any
`messages`, `tools`, `input` or `prompt` array, any nesting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from simulator import errors
from simulator.errors import OpenAIError
from simulator.params import array_too_long
from simulator.replies import Reply, StreamReply
from simulator.settings import Settings

STREAM_RETRY_SECONDS = 1


@dataclasses.dataclass(frozen=True, slots=True)
class RequestLimits:
    """What one request may ask for. The defaults are the service's own where it has one (128 choices and tools,
    2,048 inputs) and otherwise far above what a real client sends."""

    max_choices: int = 128
    max_messages: int = 2048
    max_tools: int = 128
    max_inputs: int = 2048
    max_json_depth: int = 64

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            max_choices=settings.max_choices,
            max_messages=settings.max_messages,
            max_tools=settings.max_tools,
            max_inputs=settings.max_inputs,
            max_json_depth=settings.max_json_depth,
        )

    def check(self, raw_body: bytes, body: Mapping[str, Any]) -> None:
        """Raise the 400 for the first limit `body` passes."""
        self._check_depth(raw_body, body)
        self._check_length(body, "messages", self.max_messages)
        self._check_length(body, "tools", self.max_tools)
        inputs = body.get("input")
        if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int):  # not one input of token ids
            self._check_length(body, "input", self.max_inputs)
        prompts = body.get("prompt")
        prompt_count = 1
        if isinstance(prompts, list) and prompts and not isinstance(prompts[0], int):
            self._check_length(body, "prompt", self.max_inputs)
            prompt_count = len(prompts)
        n = body.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and n * prompt_count > self.max_choices:
            raise too_many_choices(n, prompt_count, self.max_choices)

    def _check_depth(self, raw_body: bytes, body: Mapping[str, Any]) -> None:
        # A body cannot nest deeper than it has brackets: most bodies are cleared by two counts in C.
        if raw_body.count(b"{") + raw_body.count(b"[") <= self.max_json_depth:
            return
        if json_depth(body, self.max_json_depth) > self.max_json_depth:
            raise errors.invalid_request(
                f"The request body nests JSON more than {self.max_json_depth} levels deep "
                "(SIMULATOR_MAX_JSON_DEPTH); flatten it.",
                code="invalid_value",
            )

    @staticmethod
    def _check_length(body: Mapping[str, Any], name: str, maximum: int) -> None:
        value = body.get(name)
        if isinstance(value, list) and len(value) > maximum:
            raise array_too_long(name, maximum, len(value))


def json_depth(value: Any, stop_after: int) -> int:
    """How deep `value` nests (a scalar is 0, `[]` is 1), without recursion; counting stops past `stop_after`."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_after:
                return deepest
        pending.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def too_many_choices(n: int, prompts: int, maximum: int) -> OpenAIError:
    asked = f"{n}" if prompts == 1 else f"{n} for each of {prompts} prompts ({n * prompts} choices)"
    return errors.invalid_request(
        f"Invalid 'n': a request may ask for at most {maximum} choices, but this one asks for {asked}.",
        "n",
        "invalid_value",
    )


class StreamSlots:
    """The streams an instance is sending at once. Past the cap a stream is refused at once, with 503 and
    `retry-after`, rather than queued: a client that waits for a slot would look like a stalled stream."""

    __slots__ = ("limit", "open")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def acquire(self) -> Callable[[], None]:
        """Take a slot, or raise the 503; the returned function gives it back (once, however often called)."""
        if self.open >= self.limit:
            raise too_many_streams(self.limit)
        self.open += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open -= 1

        return release


def too_many_streams(limit: int) -> OpenAIError:
    return OpenAIError(
        503,
        "ServiceUnavailable",
        f"This simulator instance is already sending its limit of {limit} concurrent streams "
        f"(SIMULATOR_MAX_CONCURRENT_STREAMS). Please retry after {STREAM_RETRY_SECONDS} second.",
        headers={"retry-after": str(STREAM_RETRY_SECONDS), "retry-after-ms": str(STREAM_RETRY_SECONDS * 1000)},
    )


def hold_until_sent(reply: Reply, release: Callable[[], None]) -> Reply:
    """Keep a stream's slot until the response has sent its last byte or its client has left (the response calls
    `closed` then, telemetry's hook included); an answer that is not a stream gives it back now."""
    if not isinstance(reply, StreamReply):
        release()
        return reply
    measured = reply.closed

    def closed(first_write: float | None, end: float) -> None:
        release()
        if measured is not None:
            measured(first_write, end)

    reply.closed = closed
    return reply
