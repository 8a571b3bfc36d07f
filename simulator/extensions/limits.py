"""Extensions' request limits, kept in the rate limiter's store (memory, or Table Storage shared by every
instance), so a limit holds across instances as the deployments' limits do.

Each limit is a fixed window of `per_seconds` counted under its own key in the store, through the store's one
primitive (`transact`). A store that fails or does not answer in time lets the request through (fail open, as
the deployments' default) and says so in the log once per outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig
from simulator.ratelimit.policy import retry_headers
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import LimitStore, open_store

logger = logging.getLogger("simulator.extensions")
KEY_PREFIX = "extension-"


class LimitStores:
    """The one store every extension limit uses, opened when the first limit is made."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._store: LimitStore | None = None

    @property
    def store(self) -> LimitStore:
        if self._store is None:
            self._store = open_store(self.config)
        return self._store

    async def start(self) -> None:
        if self._store is not None:
            try:
                await asyncio.wait_for(self._store.prepare(), self.config.store_timeout * 4)
            except Exception as error:  # tried again on the first request
                logger.warning("extension limits: the store is not ready (%r)", error)

    async def aclose(self) -> None:
        if self._store is not None:
            await self._store.aclose()


class RequestLimiter:
    """`requests` per window of `per_seconds` (windows aligned on multiples of it, as AOAI's request window)."""

    def __init__(
        self,
        stores: LimitStores,
        name: str,
        requests: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if requests < 1 or per_seconds <= 0:
            raise ValueError(f"limit {name!r}: requests must be at least 1 and per_seconds positive")
        self.name = name
        self.requests = requests
        self.per_seconds = per_seconds
        self._stores = stores
        self._clock = clock
        self._failing = False

    async def check(self, key: str = "") -> None:
        now = self._clock()
        requests, length = self.requests, self.per_seconds

        def change(state: MeterState) -> float:
            window = state.requests
            window.resize(length)
            wait = window.wait(now, 1, requests)
            if wait == 0:
                window.add(now, 1)
            return wait

        store = self._stores.store
        name = f"{KEY_PREFIX}{self.name}" + (f"-{key}" if key else "")
        try:
            if store.local:
                wait = await store.transact(name, change)
            else:
                wait = await asyncio.wait_for(store.transact(name, change), self._stores.config.store_timeout)
        except Exception as error:
            if not self._failing:
                logger.warning("extension limit %s: the store failed (%r); requests pass unlimited", self.name, error)
            self._failing = True
            return
        self._failing = False
        if wait > 0:
            raise self.refusal(wait)

    def refusal(self, wait: float) -> OpenAIError:
        retry = retry_headers(wait)
        seconds = retry["retry-after"]
        return OpenAIError(
            429,
            "429",
            f"Requests to {self.name} have exceeded the call rate limit of {self.requests} per "
            f"{self.per_seconds:g} second{'' if self.per_seconds == 1 else 's'}. Please retry after {seconds} "
            f"second{'' if seconds == '1' else 's'}.",
            headers=retry,
        )
