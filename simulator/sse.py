"""Server-sent events as Azure OpenAI frames them: `data: <json>\\n\\n`, closed by `data: [DONE]` (chat), or
named with an `event:` line (Responses)."""

from __future__ import annotations

from typing import Any

from simulator.jsonenc import dumps

DONE = b"data: [DONE]\n\n"
MEDIA_TYPE = "text/event-stream; charset=utf-8"


def event(payload: Any) -> bytes:
    return b"data: " + (payload if isinstance(payload, bytes) else dumps(payload)) + b"\n\n"


def named_event(name: str, payload: Any) -> bytes:
    """An event with an `event:` line, as the Responses API frames each of its typed events."""
    return b"event: " + name.encode() + b"\n" + event(payload)
