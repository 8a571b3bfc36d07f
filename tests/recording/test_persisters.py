"""The same contract for the directory and for Blob Storage (on Azurite), then what Blob adds: live edits."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob.aio import ContainerClient

from simulator.models import Operation
from simulator.recording import Recorder, RecordingConfig, Replayer, open_persister
from simulator.recording.layout import UnsafeNameError
from simulator.recording.persisters import UNCHANGED, Persister, Stored, WriteConflictError
from simulator.recording.persisters.blob import BlobPersister
from simulator.recording.persisters.files import STALE_TEMPORARY_SECONDS, FilePersister
from simulator.recording.serializer import dumps, loads
from tests.recording.conftest import FakeClock, chat, collect, make_request
from tests.recording.test_matching import _interaction

_containers = itertools.count(1)


def _container_name() -> str:
    return f"recordings-{next(_containers)}"


@pytest.fixture(params=["files", "blob"])
async def persister(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Persister]:
    if request.param == "files":
        store: Persister = FilePersister(tmp_path)
    else:
        azurite = request.getfixturevalue("azurite")
        store = BlobPersister.from_connection_string(azurite.connection_string, _container_name(), prefix="team-a")
    yield store
    await store.close()


async def test_write_read_and_versions(persister: Persister) -> None:
    name = "gpt-4o/chat-completions.yaml"
    assert await persister.read(name) is None
    version = await persister.write(name, "version: 1\ninteractions: []\n", None)
    stored = await persister.read(name)
    assert stored == Stored("version: 1\ninteractions: []\n", version)
    assert await persister.read(name, version) is UNCHANGED
    newer = await persister.write(name, "version: 1\n", version)
    assert newer != version
    assert await persister.read(name, version) == Stored("version: 1\n", newer)
    with pytest.raises(WriteConflictError):
        await persister.write(name, "lost update", version)
    with pytest.raises(WriteConflictError):
        await persister.write(name, "lost update", None)
    await persister.write("text-embedding-3-small/embeddings.yaml", "version: 1\n", None)
    assert await persister.names() == ["gpt-4o/chat-completions.yaml", "text-embedding-3-small/embeddings.yaml"]


@pytest.mark.parametrize("name", ["../escape.yaml", "a/../../b.yaml", "/abs.yaml"])
async def test_names_outside_the_root_are_refused(persister: Persister, name: str) -> None:
    with pytest.raises(UnsafeNameError):
        await persister.write(name, "x", None)


async def test_two_instances_recording_into_one_blob_lose_nothing(azurite: Any, standin: Any) -> None:
    container = _container_name()
    config = RecordingConfig(
        endpoint=standin.url,
        key=standin.api_key,
        blob_connection_string=azurite.connection_string,
        blob_container=container,
    )
    instances = [Recorder(config, open_persister(config)) for _ in range(2)]

    async def one(number: int) -> None:
        recorder = instances[number % 2]
        await collect(await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(f"q{number}"))))

    await asyncio.gather(*(one(number) for number in range(30)))
    for recorder in instances:
        await recorder.close()
        await recorder.writer.persister.close()
    reader = BlobPersister.from_connection_string(azurite.connection_string, container)
    stored = await reader.read("gpt-4o/chat-completions.yaml")
    await reader.close()
    assert isinstance(stored, Stored)
    assert sorted(item.request.body["messages"][0]["content"] for item in loads(stored.text)) == sorted(
        f"q{number}" for number in range(30)
    )


async def test_an_edited_blob_reaches_a_running_replayer_within_the_refresh_interval(azurite: Any) -> None:
    container = _container_name()
    config = RecordingConfig(blob_connection_string=azurite.connection_string, blob_container=container)
    blob_name = "gpt-4o/chat-completions.yaml"
    upload = ContainerClient.from_connection_string(azurite.connection_string, container)
    await upload.create_container()
    await upload.upload_blob(blob_name, dumps([_interaction("before")]))
    clock = FakeClock()
    replayer = Replayer(config, open_persister(config), clock=clock, sleep=clock.sleep)

    async def served() -> bytes:
        reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("hi")))
        assert reply is not None
        return await collect(reply)

    assert await served() == b'{"content":"before"}'
    # Someone edits the YAML and uploads it over the old one, as a person would with Storage Explorer.
    await upload.upload_blob(blob_name, dumps([_interaction("after")]), overwrite=True)
    clock.now += 1.0
    assert await served() == b'{"content":"before"}'  # not checked again before the interval
    clock.now += config.refresh_interval
    assert await served() == b'{"content":"after"}'
    # A broken upload is reported in the log and the last good recording keeps serving.
    await upload.upload_blob(blob_name, "version: 1\ninteractions: [", overwrite=True)
    clock.now += config.refresh_interval
    assert await served() == b'{"content":"after"}'
    await upload.close()
    await replayer.cache.persister.close()


async def test_media_beside_the_recordings(persister: Persister) -> None:
    """Binary parts go beside the YAML under content-addressed names; they are not recordings themselves."""
    name = "tts/media/" + "ab" * 32 + ".mp3"
    assert await persister.read_media(name) is None
    await persister.write_media(name, b"\x00\xffaudio")
    await persister.write_media(name, b"\x00\xffaudio")  # again: harmless
    assert await persister.read_media(name) == b"\x00\xffaudio"
    assert await persister.names() == []
    for unsafe in ("tts/media/../../x.mp3", "tts/audio-speech.yaml", "media/" + "ab" * 32 + ".mp3/..", "x/y.mp3"):
        with pytest.raises(UnsafeNameError):
            await persister.write_media(unsafe, b"")


async def test_the_first_write_sweeps_what_killed_saves_left(tmp_path: Path) -> None:
    """Only our own temporary files beside names the persister writes, and only once untouched for an hour: a
    live save on another host sharing the folder cannot be told by its lock (docs/security.md, Crash safety)."""
    media = "ab" * 32
    abandoned = [
        ".chat-completions.yaml.0123456789abcdef.tmp",  # a recording's
        f"media/.{media}.mp3.0123456789abcdef.tmp",  # a media file's, beside the recordings
        ".embeddings.yaml.k2_x9q0a.tmp",  # named by tempfile.mkstemp, as earlier versions did
    ]
    kept = [
        ".chat-completions.yaml.fedcba9876543210.tmp",  # young: maybe a save under way on another host
        ".notes.txt.0123456789abcdef.tmp",  # not beside a recording
        ".chat-completions.yaml.tmp",  # not our pattern
        ".hidden/.chat-completions.yaml.0123456789abcdef.tmp",  # not a folder of recordings
        "chat-completions.yaml.0123456789abcdef.tmp",  # not hidden
    ]
    stale = time.time() - STALE_TEMPORARY_SECONDS - 1
    for index, name in enumerate(abandoned + kept):
        path = tmp_path / "gpt-4o" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a save")
        if index != len(abandoned):
            os.utime(path, (stale, stale))
    persister = FilePersister(tmp_path)
    assert await persister.read("gpt-4o/chat-completions.yaml") is None  # reading sweeps nothing
    assert len(_temporaries(tmp_path / "gpt-4o")) == len(abandoned + kept)
    await persister.write("gpt-4o/chat-completions.yaml", "version: 1\n", None)
    assert _temporaries(tmp_path / "gpt-4o") == sorted(kept)
    (tmp_path / "gpt-4o" / abandoned[0]).write_bytes(b"left by a save killed since")
    os.utime(tmp_path / "gpt-4o" / abandoned[0], (stale, stale))
    await persister.write_media(f"gpt-4o/media/{media}.mp3", b"audio")  # once a process: not again
    assert (tmp_path / "gpt-4o" / abandoned[0]).exists()


def _temporaries(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.tmp"))
