"""Recordings as YAML blobs in an Azure Storage container, laid out like the directory.

A blob upload is atomic (a single Put Blob, or a block list committed at once), so readers never see half a
file. Versions are ETags: a replaying instance re-downloads only when the ETag changed (a conditional GET that
answers 304 otherwise), and writers upload with If-Match so concurrent instances never overwrite each other.
"""

from __future__ import annotations

import contextlib
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
)
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from simulator.recording.layout import SUFFIX, check_media_name, check_name
from simulator.recording.persisters import UNCHANGED, Stored, Unchanged, WriteConflictError
from simulator.storage_clients import container_client

_YAML = ContentSettings(content_type="application/yaml; charset=utf-8")
_BINARY = ContentSettings(content_type="application/octet-stream")


class BlobPersister:
    def __init__(self, container: ContainerClient, *, prefix: str = "", credential: Any = None) -> None:
        self.container = container
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._credential = credential
        self._container_ready = False

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str, *, prefix: str = "") -> BlobPersister:
        client, _ = container_client(container, connection_string=connection_string, account_url=None)
        return cls(client, prefix=prefix)

    @classmethod
    def from_account_url(cls, account_url: str, container: str, *, prefix: str = "") -> BlobPersister:
        """Entra ID through DefaultAzureCredential (managed identity on Azure, developer login locally)."""
        client, credential = container_client(container, connection_string=None, account_url=account_url)
        return cls(client, prefix=prefix, credential=credential)

    async def read(self, name: str, known_version: str | None = None) -> Stored | Unchanged | None:
        blob = self.container.get_blob_client(self._blob_name(name))
        conditions: dict[str, Any] = {}
        if known_version is not None:
            conditions = {"etag": known_version, "match_condition": MatchConditions.IfModified}
        try:
            downloader = await blob.download_blob(**conditions)
            data = await downloader.readall()
        except (ResourceNotModifiedError, ResourceModifiedError):
            # Azure answers 304 when If-None-Match matches; Azurite answers 412. Either way: still that version.
            return UNCHANGED
        except ResourceNotFoundError:
            return None
        return Stored(data.decode(), downloader.properties.etag)

    async def write(self, name: str, text: str, expected_version: str | None) -> str:
        blob = self.container.get_blob_client(self._blob_name(name))
        if expected_version is None:
            conditions: dict[str, Any] = {"overwrite": False}
        else:
            conditions = {"overwrite": True, "etag": expected_version, "match_condition": MatchConditions.IfNotModified}
        await self._ensure_container()
        try:
            result = await blob.upload_blob(text.encode(), content_settings=_YAML, **conditions)
        except (ResourceExistsError, ResourceModifiedError) as error:
            raise WriteConflictError(f"blob {blob.blob_name} changed since it was read") from error
        return result["etag"]

    async def names(self) -> list[str]:
        found = []
        async for blob in self.container.list_blobs(name_starts_with=self.prefix or None):
            name = blob.name[len(self.prefix) :]
            if name.endswith(SUFFIX):
                found.append(name)
        return sorted(found)

    async def write_media(self, name: str, data: bytes) -> None:
        blob = self.container.get_blob_client(self.prefix + check_media_name(name))
        await self._ensure_container()
        await blob.upload_blob(data, overwrite=True, content_settings=_BINARY)

    async def read_media(self, name: str) -> bytes | None:
        blob = self.container.get_blob_client(self.prefix + check_media_name(name))
        try:
            downloader = await blob.download_blob()
            return await downloader.readall()
        except ResourceNotFoundError:
            return None

    async def close(self) -> None:
        await self.container.close()
        if self._credential is not None:
            await self._credential.close()

    def _blob_name(self, name: str) -> str:
        return self.prefix + check_name(name)

    async def _ensure_container(self) -> None:
        if self._container_ready:
            return
        with contextlib.suppress(ResourceExistsError):
            await self.container.create_container()
        self._container_ready = True
