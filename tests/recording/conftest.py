from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment
from simulator.models import Operation, find_model
from simulator.recording import Recorder, RecordingConfig, Replayer
from simulator.recording.persisters.files import FilePersister
from simulator.replies import JsonReply, Reply, StreamReply
from tests.support.standin_aoai import StandinAOAI

PATHS = {
    Operation.CHAT_COMPLETIONS: "chat/completions",
    Operation.COMPLETIONS: "completions",
    Operation.EMBEDDINGS: "embeddings",
}
MODELS = {
    Operation.CHAT_COMPLETIONS: "gpt-4o",
    Operation.COMPLETIONS: "gpt-35-turbo-instruct",
    Operation.EMBEDDINGS: "text-embedding-3-small",
}


def make_request(
    operation: Operation,
    body: dict[str, Any],
    *,
    deployment: str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "api-version=2024-10-21",
    surface: Surface = Surface.CLASSIC,
) -> OpenAIRequest:
    """An OpenAIRequest as the HTTP layer would build it."""
    name = deployment or MODELS[operation]
    if surface is Surface.V1:
        path = f"/openai/v1/{PATHS[operation]}"
    else:
        path = f"/openai/deployments/{name}/{PATHS[operation]}"
    raw = json.dumps(body).encode()
    return OpenAIRequest(
        operation=operation,
        deployment=Deployment(name, find_model(MODELS[operation])),
        surface=surface,
        method="POST",
        path=path,
        query=query,
        headers={"content-type": "application/json", "api-key": "client-secret-key", **(headers or {})},
        body=body,
        raw_body=raw,
        api_version="2024-10-21",
        received_at=time.monotonic(),
    )


def chat(content: str = "Say hello", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], **extra}


async def collect(reply: Reply) -> bytes:
    if isinstance(reply, JsonReply):
        assert isinstance(reply.body, bytes)
        return reply.body
    assert isinstance(reply, StreamReply) and reply.source is not None
    return b"".join([chunk async for chunk in reply.source])


async def timed_chunks(reply: StreamReply, started: float) -> list[tuple[float, bytes]]:
    assert reply.source is not None
    return [(time.monotonic() - started, chunk) async for chunk in reply.source]


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinAOAI]:
    with StandinAOAI() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, standin: StandinAOAI) -> RecordingConfig:
    return RecordingConfig(directory=tmp_path / "recordings", endpoint=standin.url, key=standin.api_key)


@pytest.fixture
async def recorder(config: RecordingConfig) -> AsyncIterator[Recorder]:
    recorder = Recorder(config, FilePersister(config.directory))
    yield recorder
    await recorder.close()


@pytest.fixture
def replayer(config: RecordingConfig) -> Replayer:
    return Replayer(config, FilePersister(config.directory))
