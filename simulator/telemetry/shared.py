"""`/++/stats` over every instance: each publishes a compact summary of its own figures to one Table Storage
entity (`PartitionKey` "stats", `RowKey` its instance id) every `SIMULATOR_STATS_PUBLISH_SECONDS`, and a
stats request reads the partition and adds them up. Requests never write: the cost is one upsert per
instance per interval, and one query per stats request (cached for a second, as dashboards poll).

A summary older than three intervals is an instance that stopped (scaled in, crashed) and is left out; one
that closes cleanly deletes its entity.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import time
import zlib
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from simulator.settings import Settings
from simulator.storage_clients import table_client
from simulator.telemetry.stats import Stats, Summary

logger = logging.getLogger(__name__)

PARTITION = "stats"
STALE_INTERVALS = 3
READ_CACHE_SECONDS = 1.0
LARGEST_SUMMARY = 60 * 1024  # a binary property holds at most 64 KiB
CLIENT_OPTIONS = {"retry_total": 1, "retry_backoff_factor": 0.2, "retry_backoff_max": 1, "connection_timeout": 5}
_ROW_KEY_UNSAFE = re.compile(r"[/\\#?\x00-\x1f\x7f]")


def instance_id() -> str:
    """Azure's id of this instance (WEBSITE_INSTANCE_ID), else host name and process id."""
    name = os.environ.get("WEBSITE_INSTANCE_ID") or f"{socket.gethostname()}-{os.getpid()}"
    return _ROW_KEY_UNSAFE.sub("_", name)[:200]


class SharedStats:
    def __init__(
        self, stats: Stats, client: TableClient, *, interval: float, instance: str | None = None, credential: Any = None
    ) -> None:
        self.stats = stats
        self.interval = interval
        self.instance = instance or instance_id()
        self._client = client
        self._credential = credential  # closed with the client when this made it
        self._publisher: asyncio.Task[None] | None = None
        self._cached: tuple[float, list[Summary]] | None = None
        self._failing = False

    @classmethod
    def from_settings(cls, settings: Settings, stats: Stats) -> SharedStats:
        """From the storage connection string, or the table endpoint and Entra ID (DefaultAzureCredential)."""
        client, credential = table_client(
            settings.stats_table,
            connection_string=settings.storage_connection_string,
            account_url=settings.table_url,
            **CLIENT_OPTIONS,
        )
        return cls(stats, client, interval=settings.stats_publish_seconds, credential=credential)

    async def start(self) -> None:
        with contextlib.suppress(ResourceExistsError, AzureError):
            await self._client.create_table()
        self._publisher = asyncio.create_task(self._publish_every_interval(), name="stats-publisher")

    async def close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
        with contextlib.suppress(AzureError):  # gone from the sums at once, not after three intervals
            await self._client.delete_entity(PARTITION, self.instance)
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()

    async def publish(self) -> None:
        """Write this instance's summary now."""
        data = zlib.compress(json.dumps(self.stats.summary(), separators=(",", ":")).encode())
        if len(data) > LARGEST_SUMMARY:
            logger.warning("the stats summary (%d bytes) is too large to publish; other instances miss it", len(data))
            return
        entity = {"PartitionKey": PARTITION, "RowKey": self.instance, "Summary": data, "PublishedAt": time.time()}
        await self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def summaries(self) -> list[Summary]:
        """This instance's summary as it is now, and the latest of every other live instance."""
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > READ_CACHE_SECONDS:
            self._cached = (now, await self._others())
        return [self.stats.summary(), *self._cached[1]]

    async def _others(self) -> list[Summary]:
        oldest = time.time() - STALE_INTERVALS * self.interval
        found = []
        try:
            async for entity in self._client.query_entities(f"PartitionKey eq '{PARTITION}'"):
                if entity["RowKey"] == self.instance or entity.get("PublishedAt", 0) < oldest:
                    continue
                try:
                    found.append(json.loads(zlib.decompress(bytes(entity["Summary"]))))
                except (KeyError, ValueError, zlib.error):
                    logger.warning("skipping an unreadable stats summary of instance %s", entity["RowKey"])
        except ResourceNotFoundError:
            return []
        except AzureError as error:
            logger.warning("cannot read other instances' stats (showing this instance's only): %s", error)
            return []
        return found

    async def _publish_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.publish()
            except AzureError as error:
                if not self._failing:  # once per outage, not every interval
                    logger.warning("cannot publish stats to Table Storage: %s", error)
                self._failing = True
            else:
                self._failing = False
