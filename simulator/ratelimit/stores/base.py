"""The one primitive a limits store offers: change one deployment's state atomically."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from typing import Generic, TypeVar

from simulator.ratelimit.state import MeterState

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Unchanged(Generic[T]):
    """What a change returns when it left the state as it found it, in meaning (it may have tidied it, pruning
    expired buckets): a shared store need not write it back, so a refused instance only reads, and its reads
    never make another instance's compare-and-swap fail. `transact` returns `value`."""

    value: T


def outcome(result: T | Unchanged[T]) -> T:
    return result.value if isinstance(result, Unchanged) else result


class StoreError(Exception):
    """The store could not complete a change (an error, or an unusable answer)."""


class StoreContentionError(StoreError):
    """The store answered every time, but other instances changed the state first for longer than the caller
    will wait: the store is busy, not failed, and its limits are being spent by the others."""


class LimitStore(abc.ABC):
    """Keeps a `MeterState` per key (a deployment name).

    `transact` reads the state (a fresh one if the key is new), calls `change` on it, and saves what `change`
    left, as one atomic step: two changes to the same key never interleave, even from different processes.
    `change` must be a pure function of the state it is given (a store may call it again on a fresher state),
    and must not keep that state after it returns, nor raise (the memory store changes the state in place).
    """

    # A local store (this process's memory) cannot fail or be slow: the limiter calls it without the failure
    # policy's time bound, which would cost a task and a turn of the event loop per request.
    local: bool = False

    @abc.abstractmethod
    async def transact(self, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T: ...

    async def prepare(self) -> None:  # noqa: B027 - most stores have nothing to prepare
        """Create what the store needs and open its connections, so the first request does not pay for it."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
