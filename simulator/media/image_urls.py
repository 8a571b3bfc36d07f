"""Images answered as URLs: published on the simulator itself at unguessable names that expire.

AOAI answers `response_format: url` with a link to a blob that works for a limited time. Here the link is
`{base}/++/images/{name}`, `name` being 192 random bits, so knowing one URL tells nothing of another; after
`ttl` seconds it answers 404. Locally the images live in this process's memory (bounded); with Azure Storage
configured they are blobs in one container, so whichever instance the link reaches can serve it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

NAME = re.compile(r"[A-Za-z0-9_-]{32}\.(png|jpeg|webp)")
PATH_PREFIX = "/++/images/"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredImage:
    data: bytes
    content_type: str
    expires_at: float  # time.time()


class ImageStore(Protocol):
    async def put(self, name: str, image: StoredImage) -> None: ...

    async def get(self, name: str) -> StoredImage | None:
        """The image, or None when there is none (expired ones may still be returned: the caller checks)."""
        ...

    async def delete(self, name: str) -> None: ...

    async def close(self) -> None: ...


class MemoryImageStore:
    """At most `capacity` images, the oldest dropped first: a load test asking for URLs cannot exhaust memory."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._images: collections.OrderedDict[str, StoredImage] = collections.OrderedDict()

    async def put(self, name: str, image: StoredImage) -> None:
        self._images[name] = image
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)

    async def get(self, name: str) -> StoredImage | None:
        return self._images.get(name)

    async def delete(self, name: str) -> None:
        self._images.pop(name, None)

    async def close(self) -> None:
        self._images.clear()


class BlobImageStore:
    """One blob per image, its expiry in the blob's metadata (a lifecycle rule may delete old blobs besides)."""

    def __init__(self, container: Any, credential: Any = None) -> None:
        self.container = container
        self._credential = credential
        self._ready = False

    @classmethod
    def connect(cls, container: str, *, connection_string: str | None, account_url: str | None) -> BlobImageStore:
        from simulator.storage_clients import container_client

        client, credential = container_client(container, connection_string=connection_string, account_url=account_url)
        return cls(client, credential)

    async def put(self, name: str, image: StoredImage) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContentSettings

        if not self._ready:
            with contextlib.suppress(ResourceExistsError):
                await self.container.create_container()
            self._ready = True
        await self.container.get_blob_client(name).upload_blob(
            image.data,
            overwrite=True,
            content_settings=ContentSettings(content_type=image.content_type),
            metadata={"expires": repr(image.expires_at)},
        )

    async def get(self, name: str) -> StoredImage | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = await self.container.get_blob_client(name).download_blob()
            data = await downloader.readall()
        except ResourceNotFoundError:
            return None
        properties = downloader.properties
        expires = _float(properties.metadata.get("expires"))
        return StoredImage(data, properties.content_settings.content_type or "application/octet-stream", expires)

    async def delete(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            await self.container.delete_blob(name)

    async def close(self) -> None:
        await self.container.close()
        if self._credential is not None:
            await self._credential.close()


class ImageUrls:
    def __init__(
        self, store: ImageStore, ttl: float, public_url: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock

    async def publish(self, data: bytes, content_type: str, extension: str, headers: Mapping[str, str]) -> str:
        """Store the image; its URL as the client that sent `headers` reaches the simulator."""
        name = f"{secrets.token_urlsafe(24)}.{extension}"
        await self.store.put(name, StoredImage(data, content_type, self.clock() + self.ttl))
        return f"{self.public_url or _base_url(headers)}{PATH_PREFIX}{name}"

    async def fetch(self, name: str) -> StoredImage | None:
        """The image if `name` is one and has not expired (an expired one is deleted on the way)."""
        if not NAME.fullmatch(name):
            return None
        image = await self.store.get(name)
        if image is None:
            return None
        if self.clock() >= image.expires_at:
            await self.store.delete(name)
            return None
        return image

    async def close(self) -> None:
        await self.store.close()


def _base_url(headers: Mapping[str, str]) -> str:
    host = headers.get("x-forwarded-host") or headers.get("host") or "localhost"
    scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    return f"{scheme}://{host.split(',')[0].strip()}"


def _float(value: str | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
