from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import pytest

from simulator.ratelimit import RateLimitConfig
from simulator.ratelimit.stores import LimitStore, MemoryStore
from simulator.ratelimit.stores.table import TableStore
from tests.support.azurite import Azurite

_tables = itertools.count()

StoreFactory = Callable[[], LimitStore]


def table_config(azurite: Azurite, **changes: object) -> RateLimitConfig:
    """A configuration naming a table of its own, so tests sharing the session's Azurite never meet."""
    return RateLimitConfig(connection_string=azurite.connection_string, table_name=f"limits{next(_tables)}", **changes)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "table"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Makes stores that share one state: the same dict in memory, the same table on Azurite."""
    opened: list[LimitStore] = []
    if request.param == "memory":
        shared = MemoryStore()

        def factory() -> LimitStore:
            return shared

    else:
        config = table_config(request.getfixturevalue("azurite"))

        def factory() -> LimitStore:
            store = TableStore.from_config(config)
            opened.append(store)
            return store

    yield factory
    for store in opened:
        await store.aclose()
