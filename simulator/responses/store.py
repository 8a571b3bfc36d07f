"""Stored responses: what `previous_response_id`, `GET`, `DELETE`, `input_items` and background polling read.

A stored response is the finished response, its input items and the conversation's token count; a background
response also keeps its stream with the wall-clock moment each event is due, so its status (queued → in
progress → done) follows from the clock alone and any instance can poll it or resume its stream. Two
interchangeable stores keep them: `MemoryResponseStore` (one process, bounded, the default) and
`simulator.responses.blob_store.BlobResponseStore` (shared by every instance through Blob Storage).
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import orjson

DEFAULT_RETENTION_SECONDS = 30 * 24 * 3600.0  # the service keeps stored responses for 30 days
RUNNING = ("queued", "in_progress")


@dataclasses.dataclass(slots=True)
class Timeline:
    """A background response's stream: each event's bytes and the wall-clock time (seconds) it is due."""

    events: list[bytes]
    times: list[float]
    running_from: int = 2  # index of `response.in_progress`: before it the response is queued

    def released_by(self, now: float) -> int:
        """How many events are due by `now`."""
        return bisect.bisect_right(self.times, now)


@dataclasses.dataclass(slots=True)
class StoredResponse:
    id: str
    deployment: str
    response: dict[str, Any]  # the finished response object
    input_items: list[dict[str, Any]]
    conversation_tokens: int  # what a turn continuing this one inherits as prompt tokens
    created: float  # wall clock, seconds
    timeline: Timeline | None = None
    cancelled_at: float | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        timeline = self.timeline
        if timeline is None or now >= timeline.times[-1]:
            return str(self.response["status"])
        return "queued" if now < timeline.times[timeline.running_from] else "in_progress"

    def to_json(self) -> dict[str, Any]:
        document = {
            "id": self.id,
            "deployment": self.deployment,
            "response": self.response,
            "input_items": self.input_items,
            "conversation_tokens": self.conversation_tokens,
            "created": self.created,
            "cancelled_at": self.cancelled_at,
        }
        if self.timeline is not None:
            document["timeline"] = {
                "events": [event.decode() for event in self.timeline.events],
                "times": self.timeline.times,
                "running_from": self.timeline.running_from,
            }
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> StoredResponse:
        raw = document.get("timeline")
        timeline = None
        if raw is not None:
            timeline = Timeline([event.encode() for event in raw["events"]], raw["times"], raw["running_from"])
        return cls(
            id=document["id"],
            deployment=document["deployment"],
            response=document["response"],
            input_items=document["input_items"],
            conversation_tokens=document["conversation_tokens"],
            created=document["created"],
            timeline=timeline,
            cancelled_at=document.get("cancelled_at"),
        )


class ResponseStore(Protocol):
    """Where stored responses live. `cancel` marks a response still running as cancelled at `at` and returns it
    as it then is (None when unknown); a finished response is returned unchanged."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, stored: StoredResponse) -> None: ...

    async def get(self, response_id: str) -> StoredResponse | None: ...

    async def delete(self, response_id: str) -> bool: ...

    async def cancel(self, response_id: str, at: float) -> StoredResponse | None: ...


def cancel_if_running(stored: StoredResponse, at: float) -> bool:
    """Mark `stored` cancelled when it is still running at `at`; whether it changed."""
    if stored.status(at) in RUNNING:
        stored.cancelled_at = at
        return True
    return False


class MemoryResponseStore:
    """Stored responses in this process: the most recent `max_entries`, each for `retention` seconds.

    Each is kept encoded (compact JSON, about 2.5 KB for a short answer) rather than as Python objects (several
    times that), and a reader gets its own copy, as from any other store."""

    def __init__(
        self,
        max_entries: int = 10_000,
        retention: float = DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_entries = max_entries
        self.retention = retention
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, stored: StoredResponse) -> None:
        entries = self._entries
        # orjson's result keeps the buffer it grew (8 KB for a 1.6 KB response): held for days, copy it to size.
        entries[stored.id] = (stored.created, bytes(memoryview(orjson.dumps(stored.to_json()))))
        entries.move_to_end(stored.id)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)

    async def get(self, response_id: str) -> StoredResponse | None:
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        if self.clock() - entry[0] > self.retention:
            del self._entries[response_id]
            return None
        self._entries.move_to_end(response_id)
        return StoredResponse.from_json(orjson.loads(entry[1]))

    async def delete(self, response_id: str) -> bool:
        return self._entries.pop(response_id, None) is not None

    async def cancel(self, response_id: str, at: float) -> StoredResponse | None:
        stored = await self.get(response_id)
        if stored is not None and cancel_if_running(stored, at):
            await self.put(stored)
        return stored
