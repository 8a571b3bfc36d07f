"""Conversation state of the Responses API, around the store: what a turn inherits, what an answer leaves.

`prepare` gives a turn that names `previous_response_id` the earlier turns' tokens; `keep` stores what an
answer created, whatever the mode (generated, recorded or replayed answers alike, so a replayed response can
be retrieved afterwards). Retrieval (`find`, `view`, `delete`, `input_items`, `cancel`, `resume`) reads the
store only, so every instance answers alike. Background responses are generated at once and kept with the
wall-clock moment each event is due: their status is a function of the clock, and a resumed stream releases
the remaining events at those moments, on whichever instance serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from simulator import errors, jsonenc
from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.generators.responses import CreatedResponse
from simulator.latency import LatencyModel
from simulator.recording.sse import EventSplitter
from simulator.replies import JsonReply, Reply, StreamReply
from simulator.responses import body as items
from simulator.responses.store import ResponseStore, StoredResponse, Timeline

FINAL_EVENT_TYPES = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')
MAX_PAGE = 100


def not_found(response_id: str) -> OpenAIError:
    return OpenAIError(404, None, f"Response with id '{response_id}' not found.", type="invalid_request_error")


class ResponsesService:
    def __init__(
        self,
        store: ResponseStore,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.sleep = sleep

    async def prepare(self, request: OpenAIRequest, *, strict: bool) -> None:
        """Set `request.history_tokens` from the response it continues. `strict` (generate mode): an unknown
        id is AOAI's 404; recording and replay leave that to the real (or recorded) service."""
        previous = request.body.get("previous_response_id")
        if not isinstance(previous, str):
            return
        stored = await self.store.get(previous)
        if stored is not None:
            request.history_tokens = stored.conversation_tokens
        elif strict:
            raise OpenAIError(
                404,
                "previous_response_not_found",
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                type="invalid_request_error",
            )

    async def keep(self, request: OpenAIRequest, reply: Reply, latency: LatencyModel) -> Reply:
        """Store what `reply` created unless the request said `store: false`; the reply, possibly wrapped."""
        if reply.status != 200 or request.body.get("store") is False:
            return reply
        created = reply.resource
        if isinstance(created, CreatedResponse):
            await self.store.put(self._generated(request, reply, created, latency))
        elif isinstance(reply, JsonReply):
            response = reply.body if isinstance(reply.body, dict) else _json(reply.body)
            await self._put_answer(request, response)
        elif reply.source is not None:
            reply.source = self._capturing(request, reply.source)
        return reply

    async def find(self, response_id: str) -> StoredResponse:
        stored = await self.store.get(response_id)
        if stored is None:
            raise not_found(response_id)
        return stored

    def view(self, stored: StoredResponse) -> dict[str, Any]:
        """The response as it stands now: a background response is queued or in progress until it is due."""
        status = stored.status(self.wall_clock())
        if status == stored.response["status"]:
            return stored.response
        return items.snapshot(stored.response, status)

    async def delete(self, response_id: str) -> dict[str, Any]:
        if not await self.store.delete(response_id):
            raise not_found(response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    async def cancel(self, response_id: str) -> dict[str, Any]:
        stored = await self.find(response_id)
        if stored.timeline is None:
            raise errors.invalid_request("Only responses created with background=true can be cancelled.")
        cancelled = await self.store.cancel(response_id, self.wall_clock())
        if cancelled is None:
            raise not_found(response_id)
        return self.view(cancelled)

    async def input_items(
        self, response_id: str, *, limit: int = 20, order: str = "desc", after: str | None, before: str | None
    ) -> dict[str, Any]:
        """A page of the response's input items, cursor-paged by item id as the spec's `ResponseItemList`."""
        check_page(limit, order)
        stored = await self.find(response_id)
        listed = stored.input_items if order == "asc" else stored.input_items[::-1]
        ids = [item["id"] for item in listed]
        start, end = 0, len(listed)
        if after is not None:
            start = _position(ids, after, "after") + 1
        if before is not None:
            end = _position(ids, before, "before")
        page = listed[start:end][:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + len(page) < end,
        }

    def resume(self, stored: StoredResponse, starting_after: int | None) -> AsyncIterator[bytes]:
        """A background response's events after `starting_after` (a sequence number), each when it is due;
        a cancelled response's stream ends where it was cancelled."""
        timeline = stored.timeline
        if timeline is None:
            raise errors.invalid_request(
                "Only responses created with background=true can be streamed again.", "stream", "invalid_value"
            )
        first = 0 if starting_after is None else starting_after + 1
        end = len(timeline.events)
        if stored.cancelled_at is not None:
            end = min(end, timeline.released_by(stored.cancelled_at))
        return self._release(timeline, first, end)

    async def _release(self, timeline: Timeline, first: int, end: int) -> AsyncIterator[bytes]:
        index = first
        while index < end:
            due = timeline.times[index]
            wait = due - self.wall_clock()
            if wait > 0:
                await self.sleep(wait)
            stop = index + 1
            while stop < end and timeline.times[stop] <= due:
                stop += 1
            yield b"".join(timeline.events[index:stop])
            index = stop

    def _generated(
        self, request: OpenAIRequest, reply: Reply, created: CreatedResponse, latency: LatencyModel
    ) -> StoredResponse:
        response = created.response
        stored = StoredResponse(
            id=response["id"],
            deployment=request.deployment.name,
            response=response,
            input_items=created.input_items,
            conversation_tokens=created.conversation_tokens,
            created=self.wall_clock(),
        )
        if response["background"] and created.events is not None:
            # One plan for both the stored timeline and the stream the client may be reading: a background
            # stream is the stored one released from its first event, the same as a resumed one.
            events = created.events
            thought = reply.usage.reasoning_tokens if reply.usage else 0
            offsets = latency.plan(request, chunk_tokens=events.token_counts(), reasoning_tokens=thought).offsets
            started = self.wall_clock() - (self.monotonic() - request.received_at)
            stored.timeline = Timeline(
                [events.join(index, index + 1) for index in range(len(events))],
                [started + offset for offset in offsets],
            )
            if isinstance(reply, StreamReply):
                reply.source = self._release(stored.timeline, 0, len(events))
        return stored

    async def _put_answer(self, request: OpenAIRequest, response: Any) -> None:
        """Keep a recorded or replayed response, so its id can be retrieved and continued."""
        if not isinstance(response, dict) or response.get("object") != "response" or "id" not in response:
            return
        usage = response.get("usage") or {}
        conversation = request.history_tokens + (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
        raw_input = request.body.get("input")
        input_items = (
            [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw_input}]}]
            if isinstance(raw_input, str)
            else [item for item in raw_input or () if isinstance(item, dict)]
        )
        listed = [
            {"id": item.get("id") or f"{response['id']}_in{index}", **item} for index, item in enumerate(input_items)
        ]
        await self.store.put(
            StoredResponse(
                id=response["id"],
                deployment=request.deployment.name,
                response=response,
                input_items=listed,
                conversation_tokens=conversation,
                created=self.wall_clock(),
            )
        )

    async def _capturing(self, request: OpenAIRequest, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Relay a recorded or replayed stream, keeping the response its final event carries."""
        splitter = EventSplitter()
        final: bytes | None = None
        try:
            async for chunk in source:
                for event in splitter.feed(chunk):
                    if any(kind in event for kind in FINAL_EVENT_TYPES):
                        final = event
                yield chunk
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        if final is not None:
            payload = _json(final.partition(b"data: ")[2].strip())
            if isinstance(payload, dict):
                await self._put_answer(request, payload.get("response"))


def check_page(limit: int, order: str) -> None:
    """Refuse a page size or order `input_items` does not take (before looking the response up)."""
    if not 1 <= limit <= MAX_PAGE:
        raise errors.invalid_request(
            f"Invalid 'limit': expected a value between 1 and {MAX_PAGE}, but got {limit} instead.",
            "limit",
            "invalid_value",
        )
    if order not in ("asc", "desc"):
        raise errors.invalid_request(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value"
        )


def _position(ids: list[str], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise errors.invalid_request(f"No input item with id '{cursor}' in this response.", param) from None


def _json(data: Any) -> Any:
    try:
        return jsonenc.loads(data)
    except (jsonenc.JSONDecodeError, TypeError):
        return None
