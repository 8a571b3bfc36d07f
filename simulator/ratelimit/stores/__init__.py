"""Where limits state lives: in memory, or in Azure Table Storage shared by several instances."""

from __future__ import annotations

from simulator.ratelimit.config import Backend, RateLimitConfig
from simulator.ratelimit.stores.base import LimitStore, StoreContentionError, StoreError, Unchanged
from simulator.ratelimit.stores.memory import MemoryStore


def open_store(config: RateLimitConfig) -> LimitStore:
    """The store the configuration names; the Table client is imported only when it is used."""
    if config.backend is Backend.TABLE:
        from simulator.ratelimit.stores.table import TableStore

        return TableStore.from_config(config)
    return MemoryStore()


__all__ = ["LimitStore", "MemoryStore", "StoreContentionError", "StoreError", "Unchanged", "open_store"]
