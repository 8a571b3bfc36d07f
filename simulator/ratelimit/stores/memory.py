"""Limits state in this process's memory: the local default, exact and cheap."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores.base import LimitStore, Unchanged, outcome

T = TypeVar("T")


class MemoryStore(LimitStore):
    """Atomic because `change` is synchronous: nothing else runs on the event loop while it does."""

    local = True

    def __init__(self) -> None:
        self._states: dict[str, MeterState] = {}

    async def transact(self, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T:
        return outcome(change(self.state(key)))

    def state(self, key: str) -> MeterState:
        """The deployment's state itself: the limiter charges it in place, without a coroutine per request."""
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = MeterState()
        return state

    async def aclose(self) -> None:
        self._states.clear()
