"""The Table Storage store against Azurite, with two instances standing for two Function instances."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from simulator.errors import OpenAIError
from simulator.runtime_config import RuntimeConfig, TableConfigStore
from simulator.settings import Mode
from tests.support.azurite import Azurite

BASE = RuntimeConfig.from_json({"deployments": {"chat": {"model": "gpt-4o", "tokensPerMinute": 1000}}})


@pytest.fixture
async def stores(azurite: Azurite) -> AsyncIterator[Callable]:
    table = "cfg" + uuid.uuid4().hex[:12]
    opened: list[TableConfigStore] = []

    async def open_store(initial: RuntimeConfig = BASE, poll_interval: float = 60.0) -> TableConfigStore:
        store = TableConfigStore.connect(
            initial, table_name=table, connection_string=azurite.connection_string, poll_interval=poll_interval
        )
        await store.start()
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


async def test_a_patch_through_one_instance_reaches_the_other(stores: Callable) -> None:
    first, second = await stores(), await stores()
    config = await first.patch({"mode": "replay", "deployments": {"chat": {"tokensPerMinute": 5000}}})
    assert first.current == config
    assert await second.refresh() is True
    assert second.current == config
    assert second.current.deployments["chat"].tokens_per_minute == 5000
    assert await second.refresh() is False  # unchanged entity: no re-read


async def test_polling_delivers_the_change_and_notifies(stores: Callable) -> None:
    first = await stores()
    second = await stores(poll_interval=0.05)
    changed = asyncio.Event()
    second.subscribe(lambda config: changed.set())
    await first.patch({"faults": {"chat": ["500; first=1"]}})
    await asyncio.wait_for(changed.wait(), timeout=5)
    assert second.current.faults.to_json() == {"chat": ["500; first=1"]}


async def test_concurrent_patches_from_two_instances_both_apply(stores: Callable) -> None:
    first, second = await stores(), await stores()
    await asyncio.gather(
        *(first.patch({"deployments": {f"a{i}": {"model": "gpt-4o"}}}) for i in range(5)),
        *(second.patch({"deployments": {f"b{i}": {"model": "gpt-4o"}}}) for i in range(5)),
    )
    await first.refresh()
    expected = {"chat", *(f"a{i}" for i in range(5)), *(f"b{i}" for i in range(5))}
    assert set(first.current.deployments) == expected


async def test_a_bad_patch_changes_nothing_anywhere(stores: Callable) -> None:
    first, second = await stores(), await stores()
    with pytest.raises(OpenAIError) as caught:
        await first.patch({"deployments": {"chat": {"model": ""}}})
    assert caught.value.status == 400
    assert await second.refresh() is False
    assert first.current == second.current == BASE


async def test_new_instance_adopts_runtime_changes_but_new_settings_reset_them(stores: Callable) -> None:
    first = await stores()
    await first.patch({"mode": "replay"})
    scaled_out = await stores()  # same settings: keeps what was changed at run time
    assert scaled_out.current.mode is Mode.REPLAY
    redeployed = await stores(initial=RuntimeConfig.from_json({"mode": "generate"}))  # different settings
    assert redeployed.current.mode is Mode.GENERATE and not redeployed.current.deployments
    assert await first.refresh() is True
    assert first.current == redeployed.current


async def test_store_outage_is_a_503_and_polling_survives_it() -> None:
    emulator = Azurite().start()
    store = TableConfigStore.connect(
        BASE, table_name="cfgoutage", connection_string=emulator.connection_string, poll_interval=0.05
    )
    try:
        await store.start()
        emulator.stop()
        with pytest.raises(OpenAIError) as caught:
            await store.patch({"mode": "replay"})
        assert caught.value.status == 503
        assert store.current == BASE
        await asyncio.sleep(0.2)  # a few failed polls: the poller must keep running
        assert store._poller is not None and not store._poller.done()
    finally:
        emulator.stop()
        await store.close()


async def test_instances_started_in_other_modes_keep_their_own_config(stores: Callable) -> None:
    """A record-mode instance on the same storage account must never switch replaying instances' mode."""
    replaying = await stores(dataclasses.replace(BASE, mode=Mode.REPLAY))
    recording = await stores(dataclasses.replace(BASE, mode=Mode.RECORD))
    other_replayer = await stores(dataclasses.replace(BASE, mode=Mode.REPLAY))
    await recording.patch({"faults": {"chat": ["500"]}})
    assert await replaying.refresh() is False
    assert replaying.current.mode is Mode.REPLAY and replaying.current.faults.to_json() == {}
    await replaying.patch({"faults": {"chat": ["503"]}})
    assert await other_replayer.refresh() is True
    assert other_replayer.current.faults.to_json() == {"chat": ["503"]}
    assert recording.current.mode is Mode.RECORD
