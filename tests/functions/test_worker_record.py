"""Record mode in the real worker: forwarded to a stand-in AOAI on loopback from inside the worker's event loop,
streamed through as it arrives, saved on request, then replayed by a second worker byte for byte."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import AsyncAzureOpenAI, AzureOpenAI

from tests.functions.conftest import KEY, app_settings, functions_host
from tests.support.functions_host import FunctionsHost
from tests.support.standin_aoai import StandinAOAI
from tests.support.timing import loop_lag

UPSTREAM_KEY = "worker-upstream-key"
API_VERSION = "2024-10-21"
MESSAGES = [{"role": "user", "content": "Record me through the worker"}]
BURST = 0.02  # ten times the spread of one write's chunks: anything less is one burst


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinAOAI]:
    with StandinAOAI(api_key=UPSTREAM_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-recordings")


@pytest.fixture(scope="module")
def recorder(worker_dir, standin: StandinAOAI, directory: Path) -> Iterator[FunctionsHost]:
    settings = app_settings(
        SIMULATOR_MODE="record",
        AZURE_OPENAI_ENDPOINT=standin.url,
        AZURE_OPENAI_KEY=UPSTREAM_KEY,
        RECORDING_STORE="files",
        RECORDING_DIR=str(directory),
        RECORDING_AUTOSAVE="false",
    )
    with functions_host(worker_dir, settings) as host:
        yield host


async def stream_arrivals(host: FunctionsHost) -> tuple[list[float], float]:
    """When each content chunk of a streamed answer arrived, and the worst timer lateness meanwhile."""
    client = AsyncAzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    async with client, loop_lag() as lag:
        started = time.monotonic()
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        arrivals = [time.monotonic() - started async for c in stream if c.choices and c.choices[0].delta.content]
    return arrivals, lag.worst


def sdk(host: FunctionsHost) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)


def test_record_stream_save_and_replay(
    recorder: FunctionsHost, standin: StandinAOAI, directory: Path, worker_dir
) -> None:
    answer = sdk(recorder).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content
    assert standin.requests[-1].headers.get("api-key") == UPSTREAM_KEY  # the upstream's key, not the client's

    arrivals, lateness = asyncio.run(stream_arrivals(recorder))
    # Passed on as the upstream sends it (an event every 30 ms), not gathered until the upstream's stream ends
    # (which would make this span about 0). A busy machine may bunch the first events: allow its lateness.
    upstream_span = (len(arrivals) - 1) * standin.event_delay
    assert arrivals[-1] - arrivals[0] >= max(BURST, upstream_span - 2 * lateness - 0.01)

    saved = httpx.post(f"{recorder.url}/++/recordings/save", headers={"api-key": KEY})
    assert saved.status_code == 200 and saved.json()["saved"] == 2
    [recording] = directory.rglob("*.yaml")
    assert UPSTREAM_KEY not in recording.read_text() and KEY not in recording.read_text()

    replay = app_settings(
        SIMULATOR_MODE="replay",
        RECORDING_STORE="files",
        RECORDING_DIR=str(directory),
        RECORDING_TIMING_SCALE="0",
        RECORDING_IGNORED_FIELDS="user,seed",
    )
    with functions_host(worker_dir, replay) as replayer:
        replayed = sdk(replayer).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert replayed.choices[0].message.content == answer.choices[0].message.content
    assert replayed.id == answer.id
