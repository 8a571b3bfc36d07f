"""The failure policy: how long a request may wait for the shared store, and what happens when it cannot.

A failed call marks the store down for `retry_interval`; meanwhile requests do not wait for it at all, and the
first call after the interval probes it again. An outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from simulator.ratelimit.config import FailureMode
from simulator.ratelimit.stores.base import StoreContentionError, StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StoreUnavailableError(Exception):
    """The store did not answer in time or answered with an error; the failure mode decides what follows."""


@dataclasses.dataclass(slots=True)
class FailureStats:
    """Counters for telemetry: store failures seen, and requests served unlimited because of them."""

    store_failures: int = 0
    failed_open: int = 0
    failed_closed: int = 0
    outages: int = 0
    contended: int = 0  # changes given up because other instances kept writing first (answered 429)


class StoreGuard:
    def __init__(self, mode: FailureMode, timeout: float, retry_interval: float, clock: Callable[[], float]) -> None:
        self.mode = mode
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.stats = FailureStats()
        self._clock = clock
        self._down_until: float | None = None

    @property
    def down(self) -> bool:
        return self._down_until is not None

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` within the time bound, or raise `StoreUnavailableError` (at once while the store is down)."""
        if self._down_until is not None and self._clock() < self._down_until:
            raise StoreUnavailableError("the limits store is down")
        try:
            result = await asyncio.wait_for(operation(), self.timeout)
        except StoreContentionError:
            self.stats.contended += 1
            raise  # busy, not failed: the store stays up
        except (TimeoutError, StoreError, OSError) as error:
            self._mark_down(error)
            raise StoreUnavailableError(str(error) or type(error).__name__) from error
        if self._down_until is not None:
            self._down_until = None
            logger.warning("rate-limit store is back; limits are shared again")
        return result

    def _mark_down(self, error: BaseException) -> None:
        self.stats.store_failures += 1
        if self._down_until is None:
            self.stats.outages += 1
            action = "serving requests unlimited" if self.mode is FailureMode.OPEN else "refusing requests with 503"
            logger.error(
                "rate-limit store failed (%s: %s); %s until it answers again", type(error).__name__, error, action
            )
        self._down_until = self._clock() + self.retry_interval
