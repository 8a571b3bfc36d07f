"""Reading a streamed chat completion: split the server-sent events, note when the first token arrived, keep the
usage chunk, and tell a complete stream (ended by `[DONE]`) from a broken one."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from loadtest.tally import Usage, usage_from


class SseDecoder:
    """Turns arbitrary byte chunks into the `data` payloads of whole events (an event ends with a blank line)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[str]:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        *events, self._buffer = self._buffer.split(b"\n\n")
        for event in events:
            lines = [line for line in event.split(b"\n") if line.startswith(b"data:")]
            if lines:
                yield b"\n".join(_field_value(line) for line in lines).decode("utf-8")


@dataclasses.dataclass(slots=True)
class StreamObserver:
    """What one stream revealed so far; `observe` is called with each payload and the time it was read."""

    first_token_at: float | None = None
    usage: Usage | None = None
    done: bool = False
    error: str | None = None

    def observe(self, payload: str, now: float) -> bool:
        """Record one payload; return True when it carried the stream's first generated token."""
        if payload == "[DONE]":
            self.done = True
            return False
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            self.error = f"event is not JSON: {payload[:80]!r}"
            return False
        if "error" in event:
            self.error = f"error event: {json.dumps(event['error'])[:200]}"
        self.usage = usage_from(event) or self.usage
        if self.first_token_at is None and _carries_token(event):
            self.first_token_at = now
            return True
        return False

    def problem(self) -> str | None:
        """Why the stream counts as failed, if it does."""
        if self.error is not None:
            return self.error
        return None if self.done else "stream ended without data: [DONE]"


def _field_value(line: bytes) -> bytes:
    value = line[len(b"data:") :]
    return value[1:] if value.startswith(b" ") else value


def _carries_token(event: dict[str, Any]) -> bool:
    """The prompt-filter event and the role-only first delta carry no token; text or a tool call does."""
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or delta.get("refusal"):
            return True
    return False
