"""What the simulator answers, before it becomes an HTTP response: a whole body or a stream of events."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import orjson


@dataclasses.dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class StreamEvent:
    """One SSE event, framed (`data: …\\n\\n`), and how many completion tokens it carries (for pacing).

    A generated token's event is kept as the stream's shared head and tail around its own text, and encoded
    when it is sent: a stream held open for minutes then costs a few references per token, not its bytes.
    """

    __slots__ = ("_head", "_piece", "_tail", "tokens")

    def __init__(self, data: bytes, tokens: int = 0) -> None:
        self._head, self._piece, self._tail, self.tokens = data, None, b"", tokens

    @classmethod
    def spliced(cls, head: bytes, piece: str, tail: bytes, tokens: int) -> StreamEvent:
        """The event `head + <piece as a JSON string> + tail`."""
        event = cls(head, tokens)
        event._piece, event._tail = piece, tail
        return event

    @property
    def data(self) -> bytes:
        if self._piece is None:
            return self._head
        return self._head + orjson.dumps(self._piece) + self._tail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamEvent) and (self.data, self.tokens) == (other.data, other.tokens)

    def __repr__(self) -> str:
        return f"StreamEvent({self.data!r}, tokens={self.tokens})"


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
