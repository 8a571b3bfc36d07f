"""Limits state in Azure Table Storage, shared by every simulator instance that names the same table.

One entity per deployment, in its own partition (Table Storage serves about 2,000 entities/s per partition),
changed by optimistic concurrency: read with its ETag, write back only if nobody wrote in between, else read
again. The limiter's leases keep these changes to a few per second per deployment (docs/rate-limits.md).

A lost compare-and-swap is an answer, not a failure: it is retried for as long as the caller waits. Only a
round trip that takes longer than `operation_timeout` (a store that does not answer) or an error is a failure.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import math
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from simulator.ratelimit.config import RateLimitConfig
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores.base import LimitStore, StoreContentionError, StoreError, Unchanged
from simulator.storage_clients import table_client

T = TypeVar("T")

ROW_KEY = "limits"
STATE = "State"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9._-]{1,200}")
# Writers that lose a compare-and-swap back off a few milliseconds, doubling and jittered so they do not
# collide again; capped, because the winners do not back off and a loser must not starve behind them.
_BACKOFF_SECONDS = 0.002
_BACKOFF_DOUBLINGS = 3


@dataclasses.dataclass(slots=True)
class Operations:
    """Round trips made, for the load a deployment puts on its partition (benchmarks, statistics)."""

    reads: int = 0
    writes: int = 0
    conflicts: int = 0  # writes lost to another instance's (412, or 409 on a create)
    longest: float = 0.0  # seconds, the slowest round trip


def partition_key(key: str) -> str:
    """Deployment names may hold characters Table keys forbid (`/`, `#`, `?`, ...): those are hex-encoded,
    under a different prefix so that no encoded name equals a plain one."""
    if _PLAIN_KEY.fullmatch(key):
        return f"d-{key}"
    return "h-" + key.encode("utf-8").hex()[:900]


class TableStore(LimitStore):
    def __init__(
        self,
        client: TableClient,
        *,
        operation_timeout: float | None = None,
        contention_timeout: float | None = None,
        max_attempts: int | None = None,
        random_source: random.Random | None = None,
        closing: tuple[Any, ...] = (),
    ) -> None:
        self._client = client
        self._timeout = operation_timeout
        self._contention_timeout = contention_timeout  # None: for as long as the caller waits
        self._max_attempts = max_attempts
        self.operations = Operations()
        self._random = random_source or random.Random(0)
        self._closing = closing
        # Changes to one key from this process go one at a time: racing our own writes only wastes round trips.
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    @classmethod
    def from_config(cls, config: RateLimitConfig) -> TableStore:
        """Connection string when given (Azurite, keys), else the account URL with DefaultAzureCredential.

        Client retries are off: a failing store is the failure policy's business, within its time bound.
        """
        client, credential = table_client(
            config.table_name, connection_string=config.connection_string, account_url=config.account_url, retry_total=0
        )
        return cls(
            client,
            operation_timeout=config.store_timeout,
            contention_timeout=config.contention_timeout,
            closing=() if credential is None else (credential,),
        )

    async def transact(self, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T:
        async with self._locks[key]:
            with _as_store_errors():
                return await self._transact(partition_key(key), key, change)

    async def _transact(self, partition: str, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T:
        attempts = itertools.count() if self._max_attempts is None else range(self._max_attempts)
        loop = asyncio.get_running_loop()
        deadline = math.inf if self._contention_timeout is None else loop.time() + self._contention_timeout
        for attempt in attempts:
            entity = await self._read(partition)
            before = entity[STATE] if entity is not None else None
            state = MeterState.from_json(before) if before is not None else MeterState()
            result = change(state)
            if isinstance(result, Unchanged):
                return result.value
            after = state.to_json()
            if after == before or await self._write(partition, after, entity):
                return result
            if loop.time() >= deadline:
                raise StoreContentionError(f"other writers changed {key!r} first for {self._contention_timeout} s")
            await asyncio.sleep(_BACKOFF_SECONDS * 2 ** min(attempt, _BACKOFF_DOUBLINGS) * self._random.random())
        raise StoreContentionError(f"{self._max_attempts} writers in a row changed {key!r} first; giving up")

    async def _read(self, partition: str) -> Any:
        self.operations.reads += 1
        try:
            async with self._round_trip():
                return await self._client.get_entity(partition, ROW_KEY)
        except ResourceNotFoundError:  # no entity yet, or no table yet (a fresh account, or Azurite restarted)
            return None

    async def _write(self, partition: str, text: str, entity: Any) -> bool:
        """Save `text` if the entity is still as read; False if someone else changed it first."""
        row = {"PartitionKey": partition, "RowKey": ROW_KEY, STATE: text}
        self.operations.writes += 1
        try:
            async with self._round_trip():
                if entity is None:
                    await self._client.create_entity(row)
                else:
                    await self._client.update_entity(
                        row,
                        mode=UpdateMode.REPLACE,
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
        except (ResourceExistsError, ResourceModifiedError):
            self.operations.conflicts += 1
            return False
        except ResourceNotFoundError:
            if entity is None:
                await self._create_table()
            return False
        return True

    @contextlib.asynccontextmanager
    async def _round_trip(self) -> AsyncIterator[None]:
        """One request to the service, within the time bound; the longest is kept for statistics."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                yield
        finally:
            self.operations.longest = max(self.operations.longest, time.monotonic() - started)

    async def prepare(self) -> None:
        with _as_store_errors():
            await self._create_table()

    async def _create_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            async with self._round_trip():
                await self._client.create_table()

    async def aclose(self) -> None:
        await self._client.close()
        for resource in self._closing:
            await resource.close()


@contextlib.contextmanager
def _as_store_errors() -> Iterator[None]:
    """Azure's own errors (throttling, refused connections) come out as `StoreError`: the failure policy
    needs to know only the store's vocabulary, not the Azure SDK's."""
    try:
        yield
    except AzureError as error:
        raise StoreError(str(error) or type(error).__name__) from error
