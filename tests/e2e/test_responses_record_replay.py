"""Record and replay of the Responses API against the stand-in AOAI: whole answers and named-event streams kept
byte for byte (with their timings), and a replayed response's id retrievable afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from openai import OpenAI

from tests.e2e.test_record_replay import CLIENT_KEY, UPSTREAM_KEY, record_env, replay_env, serving
from tests.support.server import SimulatorProcess
from tests.support.standin_aoai import StandinAOAI

RESPONSES = "/openai/v1/responses"
PLAIN = {"model": "gpt-4o", "input": "Name three lochs"}
STREAMED = {"model": "gpt-4o", "input": "Name three glens", "stream": True}


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinAOAI]:
    with StandinAOAI(api_key=UPSTREAM_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("response-recordings")


def post(server: SimulatorProcess, body: dict[str, object]) -> httpx.Response:
    return httpx.post(server.url + RESPONSES, json=body, headers={"api-key": CLIENT_KEY}, timeout=10)


def sdk(server: SimulatorProcess) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/openai/v1/", api_key=CLIENT_KEY, max_retries=0)


@pytest.fixture(scope="module")
def recorded(standin: StandinAOAI, directory: Path) -> Iterator[dict[str, httpx.Response]]:
    with serving(record_env(standin, directory)) as recorder:
        answers = {"plain": post(recorder, PLAIN), "streamed": post(recorder, STREAMED)}
        # The recorder keeps what it relayed: the upstream ids can be retrieved from it.
        for answer in answers.values():
            assert answer.status_code == 200, answer.text
        assert sdk(recorder).responses.retrieve(answers["plain"].json()["id"]).output_text
        yield answers


def test_recordings_keep_named_events_readably(recorded: dict[str, httpx.Response], directory: Path) -> None:
    document = yaml.safe_load((directory / "gpt-4o" / "responses.yaml").read_text())
    streamed = [entry for entry in document["interactions"] if entry["request"]["body"].get("stream")]
    events = streamed[0]["response"]["events"]
    assert events[0]["event"] == "response.created" and events[0]["data"]["type"] == "response.created"
    assert events[-1]["event"] == "response.completed"
    assert all("raw" not in event for event in events)


def test_replay_serves_the_recorded_bytes_and_keeps_the_ids(
    recorded: dict[str, httpx.Response], directory: Path
) -> None:
    with serving(replay_env(directory)) as replayer:
        plain = post(replayer, PLAIN)
        assert plain.content == recorded["plain"].content
        streamed = post(replayer, STREAMED)
        assert streamed.content == recorded["streamed"].content
        client = sdk(replayer)
        for answer in (plain.json(), recorded["streamed"]):
            response_id = answer["id"] if isinstance(answer, dict) else _streamed_id(answer)
            retrieved = client.responses.retrieve(response_id)
            assert retrieved.id == response_id and retrieved.output_text
        # A replayed turn continues like a real one: its id is a valid previous_response_id.
        continued = post(replayer, {**PLAIN, "input": "Another loch", "previous_response_id": plain.json()["id"]})
        assert continued.status_code == 404  # not recorded: replay's own 404, not an unknown previous id
        assert continued.json()["error"]["code"] == "RecordingNotFound"


def _streamed_id(answer: httpx.Response) -> str:
    first = answer.text.split("\n\n")[0].split("\n")[1].removeprefix("data: ")
    return str(httpx.Response(200, content=first).json()["response"]["id"])
