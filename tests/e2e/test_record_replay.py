"""Record and replay through the simulator's HTTP server, with the official openai SDK and raw httpx.

A record-mode server forwards to a stand-in Azure OpenAI on loopback (AOAI's wire format, deliberate delays)
and writes YAML; a second server process replays the same directory or Blob container. Bytes are compared
with httpx because the SDK would hide a difference in JSON layout or SSE framing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from azure.storage.blob import ContainerClient
from openai import AsyncAzureOpenAI, AzureOpenAI

from tests.support import spec
from tests.support.azurite import Azurite
from tests.support.server import REPO, SimulatorProcess
from tests.support.standin_aoai import StandinAOAI
from tests.support.timing import scheduler_lag

CLIENT_KEY = "client-key-e2e-5f1c9a"
UPSTREAM_KEY = "upstream-key-e2e-8d27b3"
API_VERSION = "2024-10-21"
EDITABLE = "Edit me"
SCRIPTED = {EDITABLE: ["Before", " the", " edit."]}


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    deployment: str
    operation: str  # the path after the deployment: chat/completions, embeddings, completions
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/openai/deployments/{self.deployment}/{self.operation}?api-version={API_VERSION}"


@dataclasses.dataclass(frozen=True, slots=True)
class TimedEvent:
    at: float  # seconds from sending the request to the event's arrival at the client
    data: bytes  # the event with its blank-line terminator


@dataclasses.dataclass(frozen=True, slots=True)
class Exchange:
    status: int
    headers: httpx.Headers
    body: bytes
    events: tuple[TimedEvent, ...]


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], **extra}


ROUND_TRIPS = {
    "chat": Case("gpt-4o", "chat/completions", chat("Name three rivers")),
    "chat-stream": Case(
        "gpt-4o", "chat/completions", chat("Name three seas", stream=True, stream_options={"include_usage": True})
    ),
    "embeddings": Case(
        "text-embedding-3-small", "embeddings", {"input": ["first text", "second text"], "dimensions": 64}
    ),
    "completions": Case("gpt-35-turbo-instruct", "completions", {"prompt": "Once upon a time", "max_tokens": 20}),
}
# One request per tokenizer and operation, so a server's one-off start-up costs never land in a timed request.
WARM_UPS = (
    Case("gpt-4o", "chat/completions", chat("warm up")),
    Case("text-embedding-3-small", "embeddings", {"input": "warm up"}),
    Case("gpt-35-turbo-instruct", "completions", {"prompt": "warm up"}),
)


def exchange(server: SimulatorProcess, case: Case, *, headers: dict[str, str] | None = None) -> Exchange:
    """Send `case` and keep the raw answer, with each SSE event's arrival time."""
    events: list[TimedEvent] = []
    pending = b""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        started = time.monotonic()
        request_headers = {"api-key": server.api_key, **(headers or {})}
        with http.stream("POST", case.path, json=case.body, headers=request_headers) as response:
            chunks = []
            for chunk in response.iter_raw():
                chunks.append(chunk)
                pending += chunk
                while b"\n\n" in pending:
                    event, pending = pending.split(b"\n\n", 1)
                    events.append(TimedEvent(time.monotonic() - started, event + b"\n\n"))
    return Exchange(response.status_code, response.headers, b"".join(chunks), tuple(events))


def warm_up(server: SimulatorProcess) -> None:
    for case in WARM_UPS:
        exchange(server, case)


def assert_aoai_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    spec.validate_error(body)
    return body["error"]


def sdk(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


def post(server: SimulatorProcess, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {} if key is None else {"api-key": key}
    return httpx.post(server.url + path, headers=headers, timeout=10, **kwargs)


def recordings(directory: Path) -> dict[str, str]:
    """Every YAML file under `directory`, by relative name."""
    return {path.relative_to(directory).as_posix(): path.read_text() for path in sorted(directory.rglob("*.yaml"))}


def interactions(text: str) -> list[dict[str, Any]]:
    document = yaml.safe_load(text)
    assert document["version"] == 1
    return document["interactions"]


def answer_text(exchange: Exchange) -> str:
    return json.loads(exchange.body)["choices"][0]["message"]["content"]


def eventually(probe: Callable[[], Any], accept: Callable[[Any], bool], *, timeout: float) -> Any:
    """Poll `probe` until `accept` holds or `timeout` passes; the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@contextmanager
def serving(env: dict[str, str]) -> Iterator[SimulatorProcess]:
    with SimulatorProcess(env, api_key=CLIENT_KEY) as server:
        yield server


def record_env(standin: StandinAOAI, directory: Path, **extra: str) -> dict[str, str]:
    return {
        "SIMULATOR_MODE": "record",
        "AZURE_OPENAI_ENDPOINT": standin.url,
        "AZURE_OPENAI_KEY": UPSTREAM_KEY,
        "RECORDING_STORE": "files",
        "RECORDING_DIR": str(directory),
        "RECORDING_UPSTREAM_TIMEOUT_SECONDS": "1",
        **extra,
    }


def replay_env(directory: Path, **extra: str) -> dict[str, str]:
    return {
        "SIMULATOR_MODE": "replay",
        "RECORDING_STORE": "files",
        "RECORDING_DIR": str(directory),
        "RECORDING_REFRESH_SECONDS": "0.2",
        **extra,
    }


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinAOAI]:
    with StandinAOAI(api_key=UPSTREAM_KEY, scripted=SCRIPTED) as server:
        yield server


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
def recorder(standin: StandinAOAI, directory: Path) -> Iterator[SimulatorProcess]:
    with serving(record_env(standin, directory)) as server:
        warm_up(server)
        yield server


@pytest.fixture(scope="module")
def recorded(recorder: SimulatorProcess) -> dict[str, Exchange]:
    """The round-trip cases as the record-mode server answered them."""
    return {name: exchange(recorder, case) for name, case in ROUND_TRIPS.items()}


@pytest.fixture(scope="module")
def replayer(directory: Path, recorded: dict[str, Exchange]) -> Iterator[SimulatorProcess]:
    with serving(replay_env(directory)) as server:
        warm_up(server)
        yield server


# Record mode: a proxy to the real service.


def test_record_mode_answers_with_the_upstream_answer(recorder: SimulatorProcess, standin: StandinAOAI) -> None:
    client = sdk(recorder)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Say hello"}])
    assert reply.id.startswith("chatcmpl-standin") and reply.system_fingerprint == "fp_standin"
    assert reply.model == "gpt-4o-2024-11-20" and len((reply.choices[0].message.content or "").split()) == 8
    assert reply.usage is not None and reply.usage.completion_tokens == 8

    vectors = client.embeddings.create(
        model="text-embedding-3-small", input="hello", dimensions=8, encoding_format="float"
    )
    assert vectors.model == "text-embedding-3-small" and len(vectors.data[0].embedding) == 8

    completion = client.completions.create(model="gpt-35-turbo-instruct", prompt="Once upon a time")
    assert completion.id.startswith("cmpl-standin") and len(completion.choices[0].text.split()) == 8

    paths = [received.path for received in standin.requests[-3:]]
    assert paths == [
        "/openai/deployments/gpt-4o/chat/completions",
        "/openai/deployments/text-embedding-3-small/embeddings",
        "/openai/deployments/gpt-35-turbo-instruct/completions",
    ]


def test_record_mode_streams_as_the_upstream_streams(recorder: SimulatorProcess, standin: StandinAOAI) -> None:
    started = time.monotonic()
    stream = sdk(recorder).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Stream it"}], stream=True
    )
    arrivals = [(time.monotonic() - started, chunk) for chunk in stream]

    # Prompt filter, role, eight words, finish, then [DONE] (which the SDK swallows): the stand-in sends event n
    # no earlier than its first delay plus n event delays. A buffering proxy could not deliver the first chunk
    # before the stand-in sent [DONE].
    assert len(arrivals) == 11
    done_sent_at_the_earliest = standin.first_event_delay + 11 * standin.event_delay
    assert arrivals[0][0] < done_sent_at_the_earliest - 0.15
    assert arrivals[-1][0] >= standin.first_event_delay + 10 * standin.event_delay
    words = "".join(chunk.choices[0].delta.content or "" for _, chunk in arrivals if chunk.choices)
    assert len(words.split()) == 8 and arrivals[1][1].id.startswith("chatcmpl-standin")


def test_upstream_status_and_headers_pass_through(recorder: SimulatorProcess) -> None:
    answer = exchange(recorder, Case("gpt-4o", "chat/completions", chat("Which headers?")))
    assert answer.status == 200
    assert answer.headers["x-ms-region"] == "Sweden Central"  # the simulator's own would say "Simulated"
    assert answer.headers["apim-request-id"].startswith("00000000-0000-4000-8000-")
    assert answer.headers["x-ratelimit-remaining-tokens"] == "99000"
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")

    with pytest.raises(openai.RateLimitError) as raised:
        sdk(recorder).chat.completions.create(model="standin-429", messages=[{"role": "user", "content": "Too many"}])
    assert raised.value.status_code == 429 and raised.value.response.headers["retry-after"] == "7"
    assert raised.value.code == "RateLimitReached"


def test_upstream_failures_reach_the_client_as_aoai_errors(
    recorder: SimulatorProcess, directory: Path, standin: StandinAOAI
) -> None:
    failing = Case("standin-500", "chat/completions", chat("Fail"))
    error = assert_aoai_error(
        post(recorder, failing.path, key=CLIENT_KEY, json=failing.body), 500, "InternalServerError"
    )
    assert error["message"] == "The server had an error while processing your request."

    hanging = Case("standin-hang", "chat/completions", chat("Hang"))
    started = time.monotonic()
    response = post(recorder, hanging.path, key=CLIENT_KEY, json=hanging.body)
    assert_aoai_error(response, 504, "GatewayTimeout")
    assert 0.9 <= time.monotonic() - started < 5  # RECORDING_UPSTREAM_TIMEOUT_SECONDS=1

    assert not {"standin-500", "standin-hang", "standin-429"} & {path.name for path in directory.iterdir()}


def test_an_upstream_stream_that_breaks_off_breaks_the_clients_off_too(
    recorder: SimulatorProcess, directory: Path
) -> None:
    """Ended cleanly instead, the client would take the first events for a whole answer: the SDK ends its
    iteration without an error when the body ends, `[DONE]` or not."""
    stream = sdk(recorder).chat.completions.create(
        model="standin-cut", messages=[{"role": "user", "content": "Break off"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIConnectionError):  # httpx's RemoteProtocolError: the chunked body was cut
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2  # the stand-in breaks off after its second event
    assert "standin-cut" not in {path.name for path in directory.iterdir()}


def test_an_unreachable_upstream_answers_bad_gateway(standin: StandinAOAI, tmp_path: Path) -> None:
    refused = StandinAOAI()  # never started: its port refuses connections
    env = record_env(standin, tmp_path, AZURE_OPENAI_ENDPOINT=refused.url)
    with serving(env) as server, pytest.raises(openai.APIStatusError) as raised:
        sdk(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Anyone?"}])
    assert raised.value.status_code == 502 and raised.value.code == "BadGateway"
    assert f"127.0.0.1:{refused.port}" in raised.value.message
    assert recordings(tmp_path) == {}


def test_no_secret_is_written(recorder: SimulatorProcess, directory: Path, standin: StandinAOAI) -> None:
    bearer = exchange(
        recorder,
        Case("gpt-4o", "chat/completions", chat("Bearer auth")),
        headers={"api-key": "", "Authorization": f"Bearer {CLIENT_KEY}"},
    )
    assert bearer.status == 200
    upstream = standin.requests[-1]
    assert upstream.headers["api-key"] == UPSTREAM_KEY and "Authorization" not in upstream.headers

    files = recordings(directory)
    assert {"gpt-4o/chat-completions.yaml", "text-embedding-3-small/embeddings.yaml"} <= set(files)
    for name, text in files.items():
        lowered = text.lower()
        for secret in (CLIENT_KEY, UPSTREAM_KEY, "api-key", "authorization", "apim-request-id"):
            assert secret.lower() not in lowered, f"{secret} written to {name}"


# Replay from a second process: the same bytes, the same timings.


@pytest.mark.parametrize("case", ["chat", "embeddings", "completions"])
def test_replay_serves_the_recorded_bytes(case: str, recorded: dict[str, Exchange], replayer: SimulatorProcess) -> None:
    replayed = exchange(replayer, ROUND_TRIPS[case])
    assert replayed.status == recorded[case].status == 200
    assert replayed.body == recorded[case].body
    assert replayed.headers["content-type"] == recorded[case].headers["content-type"]
    assert replayed.headers["x-ms-region"] == "Sweden Central"


def test_replay_serves_the_recorded_stream_with_its_timings(
    recorded: dict[str, Exchange], replayer: SimulatorProcess, directory: Path
) -> None:
    original = recorded["chat-stream"]
    exchange(replayer, ROUND_TRIPS["chat-stream"])  # loads the recording file: timings are about pacing, not parsing
    with scheduler_lag() as lag:
        replayed = exchange(replayer, ROUND_TRIPS["chat-stream"])

    assert [event.data for event in replayed.events] == [event.data for event in original.events]
    assert replayed.body == original.body and replayed.body.endswith(b"data: [DONE]\n\n")
    assert replayed.headers["content-type"] == "text/event-stream; charset=utf-8"

    (stored,) = [
        each
        for each in interactions((directory / "gpt-4o" / "chat-completions.yaml").read_text())
        if each["request"]["body"] == ROUND_TRIPS["chat-stream"].body
    ]
    offsets = [event["at"] for event in stored["response"]["events"]]
    # Prompt filter, role, eight words, finish, usage, [DONE]: 50 ms, then 30 ms apart at the stand-in.
    assert len(offsets) == len(replayed.events) == 13
    assert offsets[-1] >= 0.05 + 12 * 0.03
    # Replay releases each event at its recorded offset, never early. The client also counts the request's way in
    # and each event's way out (a few ms on a busy two-core machine, with an occasional scheduling hiccup), so the
    # gaps between events are compared too: they carry no such constant.
    lateness = [after.at - at for at, after in zip(offsets, replayed.events, strict=True)]
    assert min(lateness) >= -0.001
    # Beyond that, the machine's own scheduling delay over the same stretch (tens of ms on a loaded machine).
    assert statistics.median(lateness) < 0.010 + lag.typical and max(lateness) < 0.030 + lag.worst
    gap_errors = [
        abs((after.at - previous.at) - (at - previous_at))
        for (previous_at, at), (previous, after) in zip(
            itertools.pairwise(offsets), itertools.pairwise(replayed.events), strict=True
        )
    ]
    assert statistics.median(gap_errors) < 0.003 + lag.typical
    # The client saw the recording-time stream at about the same offsets.
    drift = [abs(after.at - before.at) for before, after in zip(original.events, replayed.events, strict=True)]
    assert statistics.median(drift) < 0.010 + lag.typical and max(drift) < 0.030 + lag.worst


def test_unmatched_requests_get_a_no_recording_error(replayer: SimulatorProcess) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        sdk(replayer).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Never recorded"}])
    assert raised.value.code == "RecordingNotFound"
    assert "no recording" in raised.value.message.lower()
    assert "/openai/deployments/gpt-4o/chat/completions" in raised.value.message


def test_unmatched_requests_are_generated_when_configured(directory: Path, recorded: dict[str, Exchange]) -> None:
    with serving(replay_env(directory, RECORDING_UNMATCHED="generate")) as server:
        generated = sdk(server).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Never recorded"}], max_tokens=5
        )
        replayed = exchange(server, ROUND_TRIPS["chat"])
    assert not generated.id.startswith("chatcmpl-standin") and generated.choices[0].message.content
    assert generated.usage is not None and 0 < generated.usage.completion_tokens <= 5
    assert replayed.body == recorded["chat"].body


def test_an_edited_recording_changes_what_replay_serves(
    recorder: SimulatorProcess, replayer: SimulatorProcess, directory: Path
) -> None:
    case = Case("edited-chat", "chat/completions", chat(EDITABLE))
    before = exchange(recorder, case)
    assert answer_text(before) == "Before the edit."
    assert answer_text(exchange(replayer, case)) == "Before the edit."

    path = directory / "edited-chat" / "chat-completions.yaml"
    path.write_text(path.read_text().replace("Before the edit.", "After the edit by hand."))

    after = eventually(lambda: exchange(replayer, case), lambda got: "After" in answer_text(got), timeout=5)
    assert answer_text(after) == "After the edit by hand."
    assert json.loads(after.body)["id"] == json.loads(before.body)["id"]


async def test_concurrent_recordings_lose_nothing(
    recorder: SimulatorProcess, replayer: SimulatorProcess, directory: Path
) -> None:
    prompts = [f"Concurrent question {number}" for number in range(30)]

    async def ask(server: SimulatorProcess, prompt: str) -> dict[str, Any]:
        async with AsyncAzureOpenAI(
            azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0
        ) as client:
            reply = await client.chat.completions.create(
                model="concurrent-chat", messages=[{"role": "user", "content": prompt}]
            )
            return reply.model_dump()

    answers = await asyncio.gather(*(ask(recorder, prompt) for prompt in prompts))
    text = (directory / "concurrent-chat" / "chat-completions.yaml").read_text()
    stored = interactions(text)
    assert sorted(each["request"]["body"]["messages"][0]["content"] for each in stored) == sorted(prompts)

    replays = await asyncio.gather(*(ask(replayer, prompt) for prompt in prompts))
    assert replays == answers
    assert len({answer["id"] for answer in answers}) == 30


# Autosave off: nothing on disk until asked (or until a clean shutdown).


def test_without_autosave_recordings_wait_for_the_save_endpoint(standin: StandinAOAI, tmp_path: Path) -> None:
    with serving(record_env(standin, tmp_path, RECORDING_AUTOSAVE="false")) as server:
        assert exchange(server, ROUND_TRIPS["chat"]).status == 200
        assert exchange(server, ROUND_TRIPS["chat-stream"]).events[-1].data == b"data: [DONE]\n\n"
        assert recordings(tmp_path) == {}

        assert_aoai_error(post(server, "/++/recordings/save"), 401, "401")
        assert recordings(tmp_path) == {}

        saved = post(server, "/++/recordings/save", key=CLIENT_KEY)
        assert saved.status_code == 200 and saved.json() == {"saved": 2}
        assert len(interactions(recordings(tmp_path)["gpt-4o/chat-completions.yaml"])) == 2
        assert post(server, "/++/recordings/save", key=CLIENT_KEY).json() == {"saved": 0}

        assert exchange(server, ROUND_TRIPS["completions"]).status == 200
        assert "gpt-35-turbo-instruct/completions.yaml" not in recordings(tmp_path)
    # A clean shutdown saves what is still in memory.
    assert len(interactions(recordings(tmp_path)["gpt-35-turbo-instruct/completions.yaml"])) == 1


# Blob Storage: recordings in a container, edits picked up live.


def test_blob_recordings_replay_and_follow_uploaded_edits(
    standin: StandinAOAI, azurite: Azurite, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:12]
    storage = {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "RECORDING_STORE": "auto",
        "RECORDING_CONTAINER": f"recordings-{suffix}",
        "RUNTIME_CONFIG_TABLE": f"config{suffix}",
        "RECORDING_REFRESH_SECONDS": "0.3",
    }
    case = Case("gpt-4o", "chat/completions", chat(EDITABLE))
    with serving({**record_env(standin, tmp_path), **storage}) as server:
        before = exchange(server, case)
        streamed = exchange(server, ROUND_TRIPS["chat-stream"])
    assert answer_text(before) == "Before the edit."

    names = (azurite.connection_string, storage["RECORDING_CONTAINER"])
    with ContainerClient.from_connection_string(*names) as container:
        blob = container.get_blob_client("gpt-4o/chat-completions.yaml")
        text = blob.download_blob().readall().decode()
        assert len(interactions(text)) == 2
        for secret in (CLIENT_KEY, UPSTREAM_KEY, "AccountKey", azurite.connection_string.split("AccountKey=")[1][:20]):
            assert secret not in text
        assert recordings(tmp_path) == {}

        with serving({"SIMULATOR_MODE": "replay", **storage}) as server:
            assert exchange(server, case).body == before.body
            assert exchange(server, ROUND_TRIPS["chat-stream"]).body == streamed.body

            blob.upload_blob(text.replace("Before the edit.", "After the upload."), overwrite=True)
            after = eventually(lambda: exchange(server, case), lambda got: "After" in answer_text(got), timeout=10)
            assert answer_text(after) == "After the upload."


# The shipped samples, with the requests docs/recordings.md shows.

CURL = re.compile(r'"\$BASE/(?P<path>[^"]+)".*?-d \'(?P<body>[^\']+)\'', re.DOTALL)


def documented_sample_requests() -> list[Case]:
    docs = (REPO / "docs" / "recordings.md").read_text()
    section = docs.split("## The shipped samples", 1)[1].split("\n## ", 1)[0]
    cases = []
    for match in CURL.finditer(section):
        deployment, operation = match["path"].split("?")[0].split("/", 1)
        cases.append(Case(deployment, operation, json.loads(match["body"])))
    return cases


def test_the_shipped_samples_replay_out_of_the_box() -> None:
    cases = documented_sample_requests()
    assert len(cases) == 4
    with SimulatorProcess({"SIMULATOR_MODE": "replay"}, api_key=CLIENT_KEY) as server:
        answers = [exchange(server, case) for case in cases]
        unmatched = exchange(server, Case("gpt-4o", "chat/completions", chat("Not in the samples")))

    assert [answer.status for answer in answers] == [200, 200, 200, 200]
    plain, streamed, with_usage, embedding = answers
    assert answer_text(plain) == "The capital of France is Paris."
    deltas = [json.loads(event.data[6:]) for event in streamed.events[:-1]]
    text = "".join(delta["choices"][0]["delta"].get("content", "") for delta in deltas if delta["choices"])
    assert text == "The capital of France is Paris." and streamed.events[-1].data == b"data: [DONE]\n\n"
    assert b'"usage":' in with_usage.body
    assert len(json.loads(embedding.body)["data"][0]["embedding"]) == 1536
    assert unmatched.status == 404 and json.loads(unmatched.body)["error"]["code"] == "RecordingNotFound"


def test_audio_and_images_record_beside_the_yaml_and_replay_byte_for_byte(standin: StandinAOAI, tmp_path: Path) -> None:
    """Multipart requests match on fields and file digest whatever the boundary; binary answers (speech, a
    b64_json image) are kept as files beside the YAML and replayed exactly."""
    from tests.support.media import wav

    audio = wav(2.0)

    def transcribe(server: SimulatorProcess, boundary: str) -> httpx.Response:
        files = {"file": ("clip.wav", audio, "audio/wav")}
        data = {"response_format": "json", "language": "en"}
        path = f"/openai/deployments/whisper/audio/transcriptions?api-version={API_VERSION}"
        request = httpx.Request("POST", server.url + path, files=files, data=data, headers={"api-key": server.api_key})
        chosen = request.headers["content-type"].split("boundary=")[1]
        content = request.read().replace(chosen.encode(), boundary.encode())
        headers = {"api-key": server.api_key, "content-type": f"multipart/form-data; boundary={boundary}"}
        return httpx.post(server.url + path, content=content, headers=headers, timeout=10)

    speech = Case("tts", "audio/speech", {"input": "Say this aloud", "voice": "alloy"})
    image = Case("dalle", "images/generations", {"prompt": "a red kite", "response_format": "b64_json"})
    linked = Case("dalle", "images/generations", {"prompt": "a blue kite", "response_format": "url"})
    with serving(record_env(standin, tmp_path)) as server:
        heard = transcribe(server, "recorded-boundary-1")
        said, drawn, link = exchange(server, speech), exchange(server, image), exchange(server, linked)
    assert heard.status_code == said.status == drawn.status == link.status == 200
    upstream_url = json.loads(link.body)["data"][0]["url"]
    assert upstream_url.startswith(standin.url)  # record mode passes the service's own link on
    assert said.headers["content-type"] == "audio/mpeg" and len(said.body) == 14_000
    files = recordings(tmp_path)
    assert set(files) == {
        "whisper/audio-transcriptions.yaml",
        "tts/audio-speech.yaml",
        "dalle/image-generations.yaml",
    }
    [heard_record] = interactions(files["whisper/audio-transcriptions.yaml"])
    form = heard_record["request"]["body"]
    assert form["file"]["size"] == len(audio) and form["language"] == "en"
    [said_record] = interactions(files["tts/audio-speech.yaml"])
    media = said_record["response"]["file"]
    assert media.startswith("tts/media/") and media.endswith(".mp3")
    assert (tmp_path / media).read_bytes() == said.body
    drawn_record, link_record = interactions(files["dalle/image-generations.yaml"])
    reference = drawn_record["response"]["body"]["data"][0]["b64_json"]["$file"]
    assert (tmp_path / reference).read_bytes().startswith(b"\x89PNG")
    kept = link_record["response"]["body"]["data"][0]["url"]["$file"]  # downloaded: the service's link expires
    assert (tmp_path / kept).read_bytes() == httpx.get(upstream_url).content
    assert all(len(text) < 4000 for text in files.values())  # no base64 in the YAML
    with serving(replay_env(tmp_path)) as server:
        replayed = transcribe(server, "another-boundary-2")
        assert replayed.status_code == 200 and replayed.content == heard.content
        assert exchange(server, speech).body == said.body
        assert exchange(server, image).body == drawn.body
        replayed_links = [json.loads(exchange(server, linked).body)["data"][0] for _ in range(2)]
        urls = [item["url"] for item in replayed_links]
        assert urls[0] != urls[1] and all(url.startswith(f"{server.url}/++/images/") for url in urls)
        assert all(httpx.get(url).content == (tmp_path / kept).read_bytes() for url in urls)
        assert replayed_links[0]["revised_prompt"] == "Revised: a blue kite"
