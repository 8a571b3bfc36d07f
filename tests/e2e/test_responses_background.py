"""Background responses over modelled latency: queued → in_progress → completed, cancel, and a dropped stream
resumed with `starting_after`. The latency is fixed (no spread), so the phases last a known time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from tests.e2e.test_responses import events_of, validate_stream
from tests.support.server import SimulatorProcess

RESPONSES = "/openai/v1/responses"
# Queued for the time to first token (0.5 s), in progress while 60 tokens come at 60 per second (about 1 s).
LATENCY = {
    "enabled": True,
    "operations": {"responses": {"ttftMs": 500, "ttftStdMs": 0, "tokensPerSecond": 60, "tokenStdMs": 0}},
}


@pytest.fixture(scope="module")
def paced_server() -> Iterator[SimulatorProcess]:
    env = {"SIMULATOR_SEED": "3", "SIMULATOR_COMPLETION_TOKENS": "60", "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY)}
    with SimulatorProcess(env) as process:
        yield process


@pytest.fixture
def http(paced_server: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=paced_server.url, headers={"api-key": paced_server.api_key}, timeout=20) as client:
        yield client


@pytest.fixture
def client(paced_server: SimulatorProcess) -> OpenAI:
    return OpenAI(base_url=f"{paced_server.url}/openai/v1/", api_key=paced_server.api_key, max_retries=0)


def statuses_until_done(client: OpenAI, response_id: str, *, timeout: float = 10.0) -> list[str]:
    """Every distinct status seen while polling, in order, until the response is no longer running."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.responses.retrieve(response_id).status
        if not seen or seen[-1] != status:
            seen.append(str(status))
        if status not in ("queued", "in_progress"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"still running after {timeout} s: {seen}")


def test_background_moves_from_queued_through_in_progress_to_completed(client: OpenAI) -> None:
    started = time.monotonic()
    created = client.responses.create(model="gpt-4o", input="Think in the background.", background=True)
    answered_in = time.monotonic() - started
    assert created.status == "queued" and created.background is True
    assert answered_in < 1.5  # at once: the modelled latency (0.5 s + 60 tokens at 60/s) would take 1.5 s
    seen = statuses_until_done(client, created.id)
    assert seen[-1] == "completed" and "in_progress" in seen
    assert seen[: seen.index("in_progress")] in ([], ["queued"])
    final = client.responses.retrieve(created.id)
    assert final.usage is not None and final.usage.output_tokens == 60 and final.output_text


def test_cancel_stops_a_running_response(client: OpenAI, http: httpx.Client) -> None:
    created = client.responses.create(model="gpt-4o", input="Cancel me.", background=True)
    cancelled = client.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert statuses_until_done(client, created.id) == ["cancelled"]
    plain = client.responses.create(model="gpt-4o", input="Not in the background.", max_output_tokens=16)
    refused = http.post(f"{RESPONSES}/{plain.id}/cancel")
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"


def test_a_dropped_stream_resumes_after_the_last_event_seen(paced_server: SimulatorProcess, http: httpx.Client) -> None:
    body = {"model": "gpt-4o", "input": "Stream in the background.", "background": True, "stream": True}
    seen: list[dict[str, object]] = []
    with http.stream("POST", RESPONSES, json=body) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line.removeprefix("data: ")))
            if len(seen) == 6:
                break  # the client drops the connection
    assert [event["type"] for event in seen[:3]] == ["response.created", "response.queued", "response.in_progress"]
    response_id = seen[0]["response"]["id"]  # type: ignore[index]
    last = seen[-1]["sequence_number"]
    resumed = events_of(http.get(f"{RESPONSES}/{response_id}", params={"stream": "true", "starting_after": last}))
    assert resumed[0]["sequence_number"] == last + 1  # type: ignore[operator]
    validate_stream(seen + resumed)
    assert resumed[-1]["type"] == "response.completed"
    whole = events_of(http.get(f"{RESPONSES}/{response_id}", params={"stream": "true"}))
    assert whole == seen + resumed


def test_the_sdk_resumes_a_background_stream(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-4o", input="Resume with the SDK.", background=True)
    events = list(client.responses.retrieve(created.id, stream=True, starting_after=2))
    assert events[0].sequence_number == 3
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == client.responses.retrieve(created.id).output_text


def test_a_stream_is_paced_by_the_latency_model(http: httpx.Client) -> None:
    """Never early: the first delta after the time to first token, the last after all 60 tokens at 60/s."""
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    with http.stream("POST", RESPONSES, json={"model": "gpt-4o", "input": "Paced.", "stream": True}) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                arrivals.append((time.monotonic() - started, line.removeprefix("event: ")))
    deltas = [at for at, kind in arrivals if kind == "response.output_text.delta"]
    assert len(deltas) == 60
    assert deltas[0] >= 0.5 and deltas[-1] >= 0.5 + 59 / 60
    assert arrivals[-1][1] == "response.completed"
