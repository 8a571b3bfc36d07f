"""Binary answers move out of the YAML into media files, and come back byte for byte on replay."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.media import MissingMediaError, externalize, republish, resolve
from simulator.recording.persisters.files import FilePersister
from simulator.recording.serializer import dumps, loads

AUDIO = bytes(range(256)) * 40
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 30


def _interaction(response: RecordedResponse) -> Interaction:
    return Interaction(RecordedRequest("POST", "/openai/deployments/d/audio/speech"), response)


async def test_binary_and_b64_json_round_trip_through_media_files(tmp_path: Path) -> None:
    persister = FilePersister(tmp_path)
    speech = _interaction(RecordedResponse.from_body(200, {"content-type": "audio/mpeg"}, 0.5, AUDIO))
    encoded = base64.b64encode(IMAGE).decode()
    picture_body = b'{"created":1,"data":[{"b64_json":"' + encoded.encode() + b'","revised_prompt":"x"}]}'
    picture = _interaction(RecordedResponse.from_body(200, {"content-type": "application/json"}, 1.0, picture_body))
    for item in (speech, picture):
        await externalize("d/audio-speech.yaml", item, persister)
    text = dumps([speech, picture])
    assert "base64" not in text and encoded not in text and len(text) < 2000
    assert speech.response.file is not None and (tmp_path / speech.response.file).read_bytes() == AUDIO
    loaded = loads(text)
    await resolve(loaded, persister)
    assert loaded[0].response.content() == AUDIO
    assert loaded[1].response.content() == picture_body
    assert dumps(loads(text)) == text  # rewriting a file keeps its references


async def test_small_binaries_stay_inline_and_missing_media_is_reported(tmp_path: Path) -> None:
    persister = FilePersister(tmp_path)
    small = _interaction(RecordedResponse.from_body(200, {"content-type": "audio/pcm"}, 0.1, b"\x00" * 100))
    await externalize("d/audio-speech.yaml", small, persister)
    assert small.response.file is None and "base64" in dumps([small])
    big = _interaction(RecordedResponse.from_body(200, {"content-type": "audio/wav"}, 0.1, AUDIO))
    await externalize("d/audio-speech.yaml", big, persister)
    assert big.response.file is not None
    (tmp_path / big.response.file).unlink()
    with pytest.raises(MissingMediaError):
        await resolve(loads(dumps([big])), persister)


async def test_linked_images_are_downloaded_and_published_anew_on_each_replay(tmp_path: Path) -> None:
    persister = FilePersister(tmp_path)
    body = (
        b'{"created":1,"data":[{"url":"https://blob.example/x.png?sig=s","revised_prompt":"r"},{"url":"https://gone"}]}'
    )
    linked = _interaction(RecordedResponse.from_body(200, {"content-type": "application/json"}, 1.0, body))

    async def download(url: str) -> bytes | None:
        return IMAGE if url.startswith("https://blob.example/") else None  # the second link has expired

    await externalize("d/image-generations.yaml", linked, persister, download)
    text = dumps([linked])
    assert '"$file"' in text or ("$file" in text and "https://gone" in text and "blob.example" not in text)
    [loaded] = loads(text)
    await resolve([loaded], persister)
    published: list[tuple[bytes, str]] = []

    async def publish(data: bytes, name: str) -> str:
        published.append((data, name))
        return f"http://simulator/++/images/{len(published)}.png"

    first = await republish(loaded.response, publish)
    second = await republish(loaded.response, publish)
    assert (
        first
        == b'{"created":1,"data":[{"url":"http://simulator/++/images/1.png","revised_prompt":"r"},{"url":"https://gone"}]}'
    )
    assert b"/images/2.png" in second and published[0][0] == IMAGE
