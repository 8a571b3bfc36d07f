"""What the simulator answers, before it becomes an HTTP response: a whole body or a stream of events."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson

from simulator.sequences import ComputedSequence


@dataclasses.dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Hidden reasoning tokens, part of `completion_tokens` (as the service counts them) but in no stream event:
    # latency spends them before the first visible token.
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclasses.dataclass(slots=True)
class StreamEvent:
    """One SSE event, framed (`data: …\\n\\n`), and how many completion tokens it carries (for pacing)."""

    data: bytes
    tokens: int = 0


class TextRun:
    """Consecutive events that differ only in one JSON string, `head + <text as JSON> + tail` each: the
    content chunks of a generated answer. A stream held open for minutes then costs a reference per token,
    not its bytes, and its events are encoded only when they are sent."""

    __slots__ = ("_between", "head", "tail", "texts", "weights")

    def __init__(self, head: bytes, texts: Sequence[str], tail: bytes, weights: Sequence[int] | None = None) -> None:
        self.head, self.texts, self.tail = head, texts, tail
        self.weights = weights  # each text's tokens; None: one each
        self._between = tail + head

    def __len__(self) -> int:
        return len(self.texts)

    def wrapped(self, before: bytes, after: bytes) -> TextRun:
        """The same texts inside `before … after`."""
        return TextRun(before + self.head, self.texts, self.tail + after, self.weights)

    def event(self, index: int) -> StreamEvent:
        tokens = 1 if self.weights is None else self.weights[index]
        return StreamEvent(self.head + orjson.dumps(self.texts[index]) + self.tail, tokens)

    def join(self, start: int, end: int) -> bytes:
        return self.head + self._between.join(map(orjson.dumps, self.texts[start:end])) + self.tail

    def token_counts(self) -> list[int]:
        return [1] * len(self.texts) if self.weights is None else list(self.weights)


class StreamEvents(ComputedSequence[StreamEvent]):
    """A generated stream's events, in order: single events and runs of content chunks (`TextRun`).

    Indexing gives `StreamEvent`s; what sends the stream asks for the bytes of a range at once (`join`).
    """

    __slots__ = ("_ends", "_parts")
    item_name = "stream event"

    def __init__(self, parts: Iterable[StreamEvent | TextRun] = ()) -> None:
        self._parts: list[StreamEvent | TextRun] = []
        self._ends: list[int] = []  # events up to and including each part
        for part in parts:
            self.append(part)

    def append(self, part: StreamEvent | TextRun) -> None:
        size = 1 if isinstance(part, StreamEvent) else len(part)
        if size:
            self._parts.append(part)
            self._ends.append((self._ends[-1] if self._ends else 0) + size)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _item(self, index: int) -> StreamEvent:
        part, offset = self._locate(index)
        return part if isinstance(part, StreamEvent) else part.event(offset)

    def _locate(self, index: int) -> tuple[StreamEvent | TextRun, int]:
        position = bisect.bisect_right(self._ends, index)
        return self._parts[position], index - (self._ends[position - 1] if position else 0)

    def join(self, start: int = 0, end: int | None = None) -> bytes:
        """The bytes of events `start` to `end` (exclusive; None: to the last), as one write."""
        ends = self._ends
        end = len(self) if end is None else min(end, len(self))
        if start >= end:
            return b""
        position = bisect.bisect_right(ends, start)
        if position < len(ends) and end <= ends[position]:  # within one part: what a release usually is
            part = self._parts[position]
            if type(part) is StreamEvent:
                return part.data
            offset = ends[position - 1] if position else 0
            return part.join(start - offset, end - offset)
        chunks = []
        while start < end:
            part, first = self._parts[position], start - (self._ends[position - 1] if position else 0)
            stop = min(self._ends[position], end)
            chunks.append(part.data if isinstance(part, StreamEvent) else part.join(first, first + stop - start))
            start, position = stop, position + 1
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def token_counts(self) -> list[int]:
        """Each event's completion tokens, in order (what latency paces by)."""
        counts: list[int] = []
        for part in self._parts:
            if isinstance(part, StreamEvent):
                counts.append(part.tokens)
            else:
                counts += part.token_counts()
        return counts

    def map_events(self, change: Callable[[StreamEvent], StreamEvent]) -> StreamEvents:
        """A copy with `change` applied to the single events; runs of content chunks are kept as they are."""
        return StreamEvents(change(part) if isinstance(part, StreamEvent) else part for part in self._parts)


@dataclasses.dataclass(slots=True)
class JsonReply:
    body: Any  # a JSON-serialisable object, or bytes already encoded
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    usage: Usage | None = None
    # What the answer created besides its body, for the core to keep (a Responses API response and its events).
    resource: Any = None
    # Answered at once, without modelled latency: the work it describes goes on (a background response).
    immediate: bool = False


@dataclasses.dataclass(slots=True)
class StreamReply:
    """A text/event-stream answer. Generated streams list their events up front (`events`) so latency can
    pace them; proxied or replayed streams supply `source`, an iterator that does its own timing."""

    events: StreamEvents | None = None
    source: AsyncIterator[bytes] | None = None
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    usage: Usage | None = None
    resource: Any = None  # as JsonReply.resource
    # Told once the stream has ended (sent, or the client left): the `time.monotonic()` of its first write
    # (None: nothing was written) and of its end. Telemetry measures streams through it.
    closed: Callable[[float | None, float], None] | None = None


Reply = JsonReply | StreamReply


class FinalisedSource:
    """A stream's source that runs `final` once when it ends, fails or is closed, whether or not it ever started.

    An async generator's `finally` does not run when it is closed before its first step, which is what happens to a
    stream whose client left before its headers went out, or that a response hook replaced: work that must happen
    when a stream is over (a Provisioned deployment's usage settled, an upstream connection released) goes here.
    """

    __slots__ = ("_final", "_iterator", "_source")

    def __init__(self, source: AsyncIterable[bytes], final: Callable[[], Awaitable[None]]) -> None:
        self._source = source
        self._iterator: AsyncIterator[bytes] | None = None
        self._final: Callable[[], Awaitable[None]] | None = final

    def __aiter__(self) -> FinalisedSource:
        return self

    async def __anext__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._source.__aiter__()
        try:
            return await self._iterator.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        final, self._final = self._final, None
        if final is None:
            return
        opened = self._iterator if self._iterator is not None else self._source
        close = getattr(opened, "aclose", None)
        try:
            if close is not None:
                await close()
        finally:
            await final()
