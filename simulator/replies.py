"""What the simulator answers, before it becomes an HTTP response: a whole body or a stream of events."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any


@dataclasses.dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclasses.dataclass(slots=True)
class StreamEvent:
    """One SSE event, framed (`data: …\\n\\n`), and how many completion tokens it carries (for pacing)."""

    data: bytes
    tokens: int = 0


@dataclasses.dataclass(slots=True)
class JsonReply:
    body: Any  # a JSON-serialisable object, or bytes already encoded
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    usage: Usage | None = None


@dataclasses.dataclass(slots=True)
class StreamReply:
    """A text/event-stream answer. Generated streams list their events up front (`events`) so latency can
    pace them; proxied or replayed streams supply `source`, an iterator that does its own timing."""

    events: list[StreamEvent] | None = None
    source: AsyncIterator[bytes] | None = None
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    usage: Usage | None = None


Reply = JsonReply | StreamReply
