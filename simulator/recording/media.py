"""Binary parts of recordings (speech audio, generated images) kept beside the YAML, not inside it.

A recorded answer that is binary (an audio file) or that carries a large `b64_json` image is written as a
content-addressed file (`{deployment}/media/{sha256}.{ext}`) through the same persister as the YAML (a file
beside it, or a blob beside it), and the YAML holds only its name: `file: …` for a binary body, and
`{"$file": …}` in place of a `b64_json` string. A person can open the image or play the audio, and edit or
replace it. On replay the references are read back and the answer is sent byte for byte as it was recorded.

An image answered as a URL is downloaded while recording (the service's link expires) and kept the same way,
`{"$file": …}` in place of the `url`; replay publishes it again at a fresh simulator URL (`ImageUrls`) for each
answer, so a replayed link resolves as a live one does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from simulator.recording.interaction import Interaction, JsonStyle, RecordedResponse
from simulator.recording.layout import media_name
from simulator.recording.persisters import Persister

INLINE_LIMIT = 4096  # bytes: smaller binaries stay inline (base64) in the YAML
MARKER = "$file"
_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/opus": "opus",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
    "audio/flac": "flac",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/pcm": "pcm",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/webp": "webp",
}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


Download = Callable[[str], Awaitable[bytes | None]]
Publish = Callable[[bytes, str], Awaitable[str]]


async def externalize(
    cassette: str, interaction: Interaction, persister: Persister, download: Download | None = None
) -> None:
    """Move the answer's binary parts out to media files, leaving their names in the interaction; with
    `download`, images answered as URLs are fetched and kept too (one that cannot be fetched keeps its URL)."""
    response = interaction.response
    if response.binary is not None and len(response.binary) > INLINE_LIMIT:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        response.file = await _write(cassette, response.binary, _EXTENSIONS.get(content_type, "bin"), persister)
    for holder, key, data in list(_b64_images(response.body)):
        holder[key] = {MARKER: await _write(cassette, data, _image_extension(data), persister)}
    if download is None:
        return
    for item in _items(response.body):
        url = item.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            data = await download(url)
            if data is not None:
                item["url"] = {MARKER: await _write(cassette, data, _image_extension(data), persister)}


async def resolve(interactions: Iterable[Interaction], persister: Persister) -> None:
    """Read back every media file the interactions name (a missing one raises `MissingMediaError`): base64
    images go back into their answers; images answered as URLs wait in `response.media` for `republish`."""
    for interaction in interactions:
        response = interaction.response
        if response.file is not None and response.binary is None:
            response.binary = await _read(response.file, persister)
        for holder, key, name in list(_references(response.body, "b64_json")):
            holder[key] = base64.b64encode(await _read(name, persister)).decode()
        for _, _, name in _references(response.body, "url"):
            response.media[name] = await _read(name, persister)


async def republish(response: RecordedResponse, publish: Publish) -> bytes:
    """The recorded answer with each kept image published anew by `publish` (bytes, media name → URL)."""
    body = copy.deepcopy(response.body)
    for holder, key, name in list(_references(body, "url")):
        holder[key] = await publish(response.media[name], name)
    return (response.style or JsonStyle.COMPACT).encode(body)


def has_published_images(response: RecordedResponse) -> bool:
    return bool(response.media)


class MissingMediaError(LookupError):
    """A recording names a media file that is not there."""


async def _write(cassette: str, data: bytes, extension: str, persister: Persister) -> str:
    name = media_name(cassette, hashlib.sha256(data).hexdigest(), extension)
    await persister.write_media(name, data)
    return name


async def _read(name: str, persister: Persister) -> bytes:
    data = await persister.read_media(name)
    if data is None:
        raise MissingMediaError(f"media file {name} is missing")
    return data


def _items(body: Any) -> Iterator[dict[str, Any]]:
    """The images of an image answer (`data[]`)."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        yield from (item for item in body["data"] if isinstance(item, dict))


def _b64_images(body: Any) -> Iterator[tuple[dict[str, Any], str, bytes]]:
    """(holder, key, decoded bytes) for each large base64 `b64_json` string in an image answer."""
    for item in _items(body):
        value = item.get("b64_json")
        if isinstance(value, str) and len(value) > INLINE_LIMIT:
            try:
                data = base64.b64decode(value, validate=True)
            except binascii.Error:
                continue
            if base64.b64encode(data).decode() == value:  # only what re-encodes to the very same text
                yield item, "b64_json", data


def _references(body: Any, key: str) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(holder, key, media name) for each `{"$file": name}` under `key` in an image answer."""
    for item in _items(body):
        value = item.get(key)
        if isinstance(value, dict) and set(value) == {MARKER} and isinstance(value[MARKER], str):
            yield item, key, value[MARKER]


def _image_extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"
