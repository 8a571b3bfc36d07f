"""The runtime config shared by every instance through one Azure Table Storage entity.

A PATCH is a compare-and-swap on the entity (If-Match its ETag; on a lost race, re-read and re-apply).
Each instance polls the entity every `poll_interval` seconds, asking only for one small property, and
re-reads the document when the ETag moved: a change through any instance reaches all within about one
interval. The entity remembers the fingerprint of the start-up config it derives from: an instance
started with different settings (a redeploy) resets it, while new instances of the same deployment
(scale-out, restarts) adopt the changes made at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from simulator.errors import OpenAIError
from simulator.runtime_config.document import RuntimeConfig, Validator, patched
from simulator.runtime_config.store import ConfigStore
from simulator.settings import SettingsError
from simulator.storage_clients import table_client

logger = logging.getLogger(__name__)

PARTITION = "runtime-config"
ROW = "current"
PART_CHARS = 30_000  # a string property holds at most 64 KiB of UTF-16
ATTEMPTS = 8
# Fail fast: a PATCH should answer 503 within a second or two, and the poller tries again anyway.
CLIENT_OPTIONS = {"retry_total": 2, "retry_backoff_factor": 0.2, "retry_backoff_max": 1, "connection_timeout": 5}


class TableConfigStore(ConfigStore):
    def __init__(
        self,
        initial: RuntimeConfig,
        client: TableClient,
        *,
        poll_interval: float = 1.5,
        validate: Validator | None = None,
        credential: Any = None,
    ) -> None:
        super().__init__(initial, validate=validate)
        self._client = client
        self._credential = credential  # closed with the client when the store made it
        self.poll_interval = poll_interval
        self._base = initial.fingerprint()
        # One shared config per start-up mode: a record-mode instance started against the same storage account
        # must never switch a fleet of replaying instances to forwarding (or the reverse).
        self._row = f"{ROW}-{initial.mode.value}"
        self._etag: str | None = None
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    def connect(
        cls,
        initial: RuntimeConfig,
        *,
        table_name: str,
        connection_string: str | None = None,
        account_url: str | None = None,
        **options: Any,
    ) -> TableConfigStore:
        """From a connection string, or an account URL and Entra ID (DefaultAzureCredential)."""
        if not connection_string and not account_url:
            raise SettingsError("the Table Storage config store needs a connection string or an account URL")
        client, credential = table_client(
            table_name, connection_string=connection_string, account_url=account_url, **CLIENT_OPTIONS
        )
        return cls(initial, client, credential=credential, **options)

    async def start(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            await self._client.create_table()
        await self._adopt_or_reset()
        self._poller = asyncio.create_task(self._poll(), name="runtime-config-poll")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()

    async def refresh(self) -> bool:
        """One poll: re-read the config if the entity changed. True when it did."""
        try:
            entity = await self._client.get_entity(PARTITION, self._row, select=["Version"])
        except ResourceNotFoundError:  # deleted under us: put ours back
            await self._write(self.current, None)
            return False
        if entity.metadata["etag"] == self._etag:
            return False
        entity = await self._client.get_entity(PARTITION, self._row)
        try:
            config = _decode(entity)
        except SettingsError as error:
            logger.error("the shared runtime config is invalid, keeping the current one: %s", error)
            self._etag = entity.metadata["etag"]
            return False
        self._etag = entity.metadata["etag"]
        self._swap(config)
        return True

    async def _poll(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
                failing = False
            except AzureError as error:
                if not failing:  # once per outage, not once per poll
                    logger.warning("cannot read the shared runtime config (will keep trying): %s", error)
                failing = True

    async def _adopt_or_reset(self) -> None:
        for _ in range(ATTEMPTS):
            try:
                entity = await self._client.get_entity(PARTITION, self._row)
            except ResourceNotFoundError:
                try:
                    await self._write(self.current, None)
                    return
                except ResourceExistsError:
                    continue  # another instance created it first: adopt theirs
            if entity.get("Base") == self._base:
                try:
                    self._etag = entity.metadata["etag"]
                    self._swap(_decode(entity))
                    return
                except SettingsError as error:
                    logger.error("the shared runtime config is invalid, replacing it: %s", error)
            try:
                await self._write(self.current, entity)
                return
            except ResourceModifiedError:
                continue
        raise RuntimeError("could not initialise the shared runtime config: too much contention")

    async def _apply(self, patch: Any) -> RuntimeConfig:
        try:
            for _ in range(ATTEMPTS):
                try:
                    entity = await self._client.get_entity(PARTITION, self._row)
                except ResourceNotFoundError:  # deleted under us: recreate it from ours, then patch that
                    with contextlib.suppress(ResourceExistsError):
                        await self._write(self.current, None)
                    continue
                try:
                    shared = _decode(entity)
                except SettingsError:
                    shared = self.current
                config = patched(shared, patch, self.validate)
                try:
                    await self._write(config, entity)
                    return config
                except (ResourceModifiedError, ResourceNotFoundError):
                    continue  # another instance changed it meanwhile: apply the patch to theirs
        except AzureError as error:
            raise OpenAIError(503, "ServiceUnavailable", f"The shared config store is unreachable: {error}") from None
        raise OpenAIError(409, "Conflict", "The config changed concurrently too often; retry the PATCH.")

    async def _write(self, config: RuntimeConfig, previous: Any) -> None:
        """Create the entity (`previous` None) or replace it if unchanged since `previous` was read."""
        text = json.dumps(config.to_json(), separators=(",", ":"))
        parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
        version = (previous.get("Version", 0) if previous is not None else 0) + 1
        entity: dict[str, Any] = {"PartitionKey": PARTITION, "RowKey": self._row, "Base": self._base}
        entity.update(Version=version, Parts=len(parts), **{f"Doc{i}": part for i, part in enumerate(parts)})
        if previous is None:
            metadata = await self._client.create_entity(entity)
        else:
            metadata = await self._client.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=previous.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        self._etag = metadata["etag"]


def _decode(entity: Any) -> RuntimeConfig:
    try:
        text = "".join(entity[f"Doc{i}"] for i in range(entity["Parts"]))
        document = json.loads(text)
    except (KeyError, TypeError, ValueError) as error:
        raise SettingsError(f"unreadable config entity: {error!r}") from None
    return RuntimeConfig.from_json(document)
