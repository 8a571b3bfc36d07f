"""Image URLs: unguessable, expiring, and served by any instance when the images live in Blob Storage."""

from __future__ import annotations

import uuid

import pytest

from simulator.media.image_urls import BlobImageStore, ImageUrls, MemoryImageStore

HEADERS = {"host": "sim.example:8000", "x-forwarded-proto": "https"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def _expires(urls: ImageUrls, clock: Clock) -> None:
    url = await urls.publish(b"png bytes", "image/png", "png", HEADERS)
    assert url.startswith("https://sim.example:8000/++/images/") and url.endswith(".png")
    image = await urls.fetch(_name(url))
    assert image is not None and image.data == b"png bytes" and image.content_type == "image/png"
    other = await urls.publish(b"png bytes", "image/png", "png", HEADERS)
    assert _name(other) != _name(url)  # random names, never derived from the content
    clock.now += urls.ttl
    assert await urls.fetch(_name(url)) is None
    assert await urls.fetch("../../etc/passwd") is None


async def test_memory_urls_expire() -> None:
    clock = Clock()
    await _expires(ImageUrls(MemoryImageStore(), 60.0, clock=clock), clock)


async def test_memory_store_is_bounded() -> None:
    store = MemoryImageStore(capacity=2)
    urls = ImageUrls(store, 60.0, public_url="http://public/")
    names = [_name(await urls.publish(bytes([n]), "image/png", "png", {})) for n in range(3)]
    assert await urls.fetch(names[0]) is None and (await urls.fetch(names[2])) is not None
    assert (await urls.publish(b"x", "image/png", "png", {})).startswith("http://public/++/images/")


@pytest.mark.parametrize("instances", [2])
async def test_blob_urls_are_served_by_another_instance_and_expire(azurite, instances) -> None:
    clock = Clock()
    container = f"images-{uuid.uuid4().hex[:12]}"
    stores = [
        BlobImageStore.connect(container, connection_string=azurite.connection_string, account_url=None)
        for _ in range(instances)
    ]
    writer, reader = (ImageUrls(store, 60.0, clock=clock) for store in stores)
    try:
        url = await writer.publish(b"\x89PNG...", "image/png", "png", HEADERS)
        image = await reader.fetch(_name(url))
        assert image is not None and image.data == b"\x89PNG..." and image.content_type == "image/png"
        await _expires(reader, clock)
        clock.now += 60.0
        assert await reader.fetch(_name(url)) is None
        assert await stores[0].get(_name(url)) is None  # deleted once found expired
    finally:
        for urls in (writer, reader):
            await urls.close()


async def test_the_public_base_on_azure_is_the_apps_host_name() -> None:
    """Behind the Functions host the request's Host is the worker's own address: WEBSITE_HOSTNAME is the base."""
    from simulator.app import image_urls_for
    from simulator.settings import Settings

    azure = image_urls_for(Settings.from_env({"WEBSITE_HOSTNAME": "sim.azurewebsites.net"}))
    assert (await azure.publish(b"x", "image/png", "png", HEADERS)).startswith("https://sim.azurewebsites.net/++/")
    chosen = image_urls_for(
        Settings.from_env({"WEBSITE_HOSTNAME": "sim.azurewebsites.net", "SIMULATOR_PUBLIC_URL": "https://sim.test/"})
    )
    assert (await chosen.publish(b"x", "image/png", "png", HEADERS)).startswith("https://sim.test/++/images/")
