"""Stored responses as JSON blobs, one per response, shared by every instance of the simulator.

A load balancer may send each turn of a conversation, each poll of a background response and each resumed
stream to a different instance; they all read the same blob. A blob upload is atomic, so a reader never sees
half a response. Cancelling writes with If-Match on the ETag it read, so a cancel never overwrites a newer
write. Expiry is checked on read (the blob's creation time against the retention): an expired response reads
as unknown and its blob is deleted then.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import orjson
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from simulator.responses.store import DEFAULT_RETENTION_SECONDS, StoredResponse, cancel_if_running
from simulator.storage_clients import container_client

_JSON = ContentSettings(content_type="application/json")
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
CANCEL_ATTEMPTS = 5


class BlobResponseStore:
    def __init__(
        self,
        container: ContainerClient,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        credential: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.container = container
        self.retention = retention
        self.clock = clock
        self._credential = credential

    @classmethod
    def connect(
        cls,
        container: str,
        *,
        connection_string: str | None = None,
        account_url: str | None = None,
        retention: float = DEFAULT_RETENTION_SECONDS,
    ) -> BlobResponseStore:
        """From a connection string, or an account URL reached with DefaultAzureCredential (managed identity)."""
        client, credential = container_client(container, connection_string=connection_string, account_url=account_url)
        return cls(client, retention=retention, credential=credential)

    async def start(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            await self.container.create_container()

    async def close(self) -> None:
        await self.container.close()
        if self._credential is not None:
            await self._credential.close()

    async def put(self, stored: StoredResponse) -> None:
        await self._blob(stored.id).upload_blob(orjson.dumps(stored.to_json()), overwrite=True, content_settings=_JSON)

    async def get(self, response_id: str) -> StoredResponse | None:
        found = await self._read(response_id)
        return None if found is None else found[0]

    async def delete(self, response_id: str) -> bool:
        if not _ID.fullmatch(response_id):
            return False
        try:
            await self._blob(response_id).delete_blob()
        except ResourceNotFoundError:
            return False
        return True

    async def cancel(self, response_id: str, at: float) -> StoredResponse | None:
        for _ in range(CANCEL_ATTEMPTS):
            found = await self._read(response_id)
            if found is None:
                return None
            stored, etag = found
            if not cancel_if_running(stored, at):
                return stored
            try:
                await self._blob(response_id).upload_blob(
                    orjson.dumps(stored.to_json()),
                    overwrite=True,
                    content_settings=_JSON,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                continue  # written meanwhile (another cancel): read it again
            return stored
        return await self.get(response_id)

    async def _read(self, response_id: str) -> tuple[StoredResponse, str] | None:
        if not _ID.fullmatch(response_id):  # ids come from URLs: never a path inside the container
            return None
        blob = self._blob(response_id)
        try:
            downloader = await blob.download_blob()
            data = await downloader.readall()
        except ResourceNotFoundError:
            return None
        stored = StoredResponse.from_json(orjson.loads(data))
        if self.clock() - stored.created > self.retention:
            with contextlib.suppress(ResourceNotFoundError):
                await blob.delete_blob()
            return None
        return stored, downloader.properties.etag

    def _blob(self, response_id: str) -> Any:
        return self.container.get_blob_client(f"{response_id}.json")
