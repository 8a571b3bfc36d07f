"""Server-sent events as Azure OpenAI frames them: `data: <json>\\n\\n`, closed by `data: [DONE]`."""

from __future__ import annotations

from typing import Any

from simulator.jsonenc import dumps

DONE = b"data: [DONE]\n\n"
MEDIA_TYPE = "text/event-stream; charset=utf-8"


def event(payload: Any) -> bytes:
    return b"data: " + (payload if isinstance(payload, bytes) else dumps(payload)) + b"\n\n"
