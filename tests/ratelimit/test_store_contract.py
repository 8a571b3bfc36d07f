"""Every limits store keeps the same promises: one suite, run against memory and against Azurite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import Unchanged
from simulator.ratelimit.stores.table import TableStore
from tests.ratelimit.conftest import StoreFactory, table_config
from tests.support.azurite import Azurite

NOW = 1_000_000.0


def charge(amount: int) -> Callable[[MeterState], int]:
    def change(state: MeterState) -> int:
        state.tokens.add(NOW, amount)
        return state.tokens.used(NOW)

    return change


def read(state: MeterState) -> int:
    return state.tokens.used(NOW)


async def test_a_new_key_starts_empty(stores: StoreFactory) -> None:
    assert await stores().transact("fresh", read) == 0


async def test_changes_persist_and_keys_are_separate(stores: StoreFactory) -> None:
    store = stores()
    assert await store.transact("a", charge(5)) == 5
    assert await store.transact("a", charge(7)) == 12
    assert await store.transact("b", read) == 0
    assert await stores().transact("a", read) == 12


async def test_keys_with_characters_table_keys_forbid(stores: StoreFactory) -> None:
    store = stores()
    await store.transact("a/b#c?d\\e", charge(3))
    assert await store.transact("a/b#c?d\\e", read) == 3
    assert await store.transact("a-b-c-d-e", read) == 0


async def test_every_meter_survives_the_store(stores: StoreFactory) -> None:
    def change(state: MeterState) -> None:
        state.requests.add(NOW, 2)
        state.utilisation.add(NOW, 10.0, 123.5)

    store = stores()
    await store.transact("meters", change)
    used = await stores().transact(
        "meters", lambda state: (state.requests.used(NOW), state.utilisation.level_at(NOW, 10.0))
    )
    assert used == (2, 123.5)


async def test_concurrent_changes_from_several_clients_are_all_applied(stores: StoreFactory) -> None:
    clients = [stores() for _ in range(3)]
    await asyncio.gather(*(client.transact("contended", charge(1)) for client in clients for _ in range(10)))
    assert await clients[0].transact("contended", read) == 30


async def test_a_change_that_changes_nothing_still_answers(stores: StoreFactory) -> None:
    store = stores()
    await store.transact("same", charge(4))
    assert await store.transact("same", lambda state: "unchanged") == "unchanged"
    assert await store.transact("same", read) == 4


async def test_a_change_that_says_it_changed_nothing_in_meaning_answers_its_value(stores: StoreFactory) -> None:
    store = stores()
    await store.transact("tidy", charge(4))

    def prune_later(state: MeterState) -> Unchanged[int]:
        return Unchanged(state.tokens.used(NOW + 120))  # tidies the expired bucket away: the same in meaning

    assert await store.transact("tidy", prune_later) == 0
    assert await store.transact("tidy", lambda state: state.tokens.used(NOW)) in (0, 4)


async def test_the_table_store_does_not_write_what_is_unchanged_in_meaning(azurite: Azurite) -> None:
    store = TableStore.from_config(table_config(azurite))
    try:
        await store.transact("quiet", charge(4))
        writes = store.operations.writes
        assert await store.transact("quiet", lambda state: Unchanged(state.tokens.used(NOW + 120))) == 0
        assert store.operations.writes == writes  # a refused instance only reads
        assert await store.transact("quiet", read) == 4
    finally:
        await store.aclose()
