"""Both response stores pass the same tests: in memory, and as blobs on Azurite."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from simulator.responses.blob_store import BlobResponseStore
from simulator.responses.store import MemoryResponseStore, ResponseStore, StoredResponse, Timeline
from tests.support.azurite import Azurite

_containers = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "blob"])
async def store_and_clock(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ResponseStore, Clock]]:
    clock = Clock()
    store: ResponseStore
    if request.param == "memory":
        store = MemoryResponseStore(max_entries=3, retention=60.0, clock=clock)
    else:
        azurite: Azurite = request.getfixturevalue("azurite")
        blob = BlobResponseStore.connect(
            f"responses{next(_containers)}", connection_string=azurite.connection_string, retention=60.0
        )
        blob.clock = clock
        store = blob
    await store.start()
    yield store, clock
    await store.close()


def stored(response_id: str, created: float, *, timeline: Timeline | None = None) -> StoredResponse:
    response = {"id": response_id, "object": "response", "status": "completed", "output": []}
    items = [{"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hé"}]}]
    return StoredResponse(response_id, "chat", response, items, 42, created, timeline)


async def test_put_get_delete(store_and_clock: tuple[ResponseStore, Clock]) -> None:
    store, clock = store_and_clock
    await store.put(stored("resp_a", clock.now))
    found = await store.get("resp_a")
    assert found is not None and found.to_json() == stored("resp_a", clock.now).to_json()
    assert await store.delete("resp_a") is True
    assert await store.get("resp_a") is None
    assert await store.delete("resp_a") is False


async def test_unknown_and_unsafe_ids_are_not_found(store_and_clock: tuple[ResponseStore, Clock]) -> None:
    store, _ = store_and_clock
    assert await store.get("resp_missing") is None
    assert await store.get("../../etc/passwd") is None
    assert await store.cancel("resp_missing", 0.0) is None


async def test_a_response_expires_after_the_retention(store_and_clock: tuple[ResponseStore, Clock]) -> None:
    store, clock = store_and_clock
    await store.put(stored("resp_old", clock.now))
    clock.now += 59.0
    assert await store.get("resp_old") is not None
    clock.now += 2.0
    assert await store.get("resp_old") is None


async def test_status_follows_the_timeline_and_cancel_stops_it(store_and_clock: tuple[ResponseStore, Clock]) -> None:
    store, clock = store_and_clock
    events = [f"event: e{n}\ndata: {{}}\n\n".encode() for n in range(5)]
    timeline = Timeline(events, [clock.now + 1, clock.now + 1, clock.now + 2, clock.now + 3, clock.now + 4])
    await store.put(stored("resp_bg", clock.now, timeline=timeline))
    found = await store.get("resp_bg")
    assert found is not None and found.timeline is not None and found.timeline.events == events
    assert found.status(clock.now + 1.5) == "queued"
    assert found.status(clock.now + 2.5) == "in_progress"
    assert found.status(clock.now + 4) == "completed"
    cancelled = await store.cancel("resp_bg", clock.now + 2.5)
    assert cancelled is not None and cancelled.status(clock.now + 10) == "cancelled"
    again = await store.get("resp_bg")
    assert again is not None and again.cancelled_at == clock.now + 2.5
    assert again.timeline is not None and again.timeline.released_by(again.cancelled_at) == 3


async def test_a_finished_response_is_not_cancelled(store_and_clock: tuple[ResponseStore, Clock]) -> None:
    store, clock = store_and_clock
    timeline = Timeline([b"a", b"b", b"c"], [clock.now, clock.now, clock.now + 1])
    await store.put(stored("resp_done", clock.now, timeline=timeline))
    unchanged = await store.cancel("resp_done", clock.now + 5)
    assert unchanged is not None and unchanged.status(clock.now + 5) == "completed"


async def test_memory_store_keeps_the_most_recently_used() -> None:
    store = MemoryResponseStore(max_entries=2)
    for name in ("resp_1", "resp_2"):
        await store.put(stored(name, store.clock()))
    assert await store.get("resp_1") is not None  # now the most recent
    await store.put(stored("resp_3", store.clock()))
    assert await store.get("resp_2") is None
    assert await store.get("resp_1") is not None and len(store) == 2
