"""Every way a stream can end gives its slot (SIMULATOR_MAX_CONCURRENT_STREAMS) and the open-stream count back,
once: each path is driven past a cap of 3 over a real socket, then no stream may be counted open and a new one
must be admitted. A leaked slot shows as a 503 before the cap's worth of requests is through; a slot given back
twice as an open-stream count below zero."""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.media import wav
from tests.support.server import REPO, SimulatorProcess
from tests.support.standin_aoai import StandinAOAI

CAP = 3
KEY = "slots-key"
UPSTREAM_KEY = "slots-upstream-key"
GA = "?api-version=2024-10-21"
PREVIEW = "?api-version=2025-04-01-preview"
USER = [{"role": "user", "content": "hi"}]
EXTENSION_PROMPT = [{"role": "user", "content": "extension"}]  # answered by the extension's generator
# The sample recording's streamed question (recordings/gpt-4o/chat-completions.yaml).
RECORDED = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    "stream": True,
}
DEPLOYMENTS = {
    "chat": {"model": "gpt-4o"},
    "gpt-4o": {"model": "gpt-4o"},
    "mini-tts": {"model": "gpt-4o-mini-tts"},
    "tts": {"model": "tts"},
    "transcribe": {"model": "gpt-4o-transcribe"},
    **{name: {"model": "gpt-4o"} for name in ("standin-500", "standin-429", "standin-cut")},
}
# Short paces, except a long answer (max_tokens 2000) that stays open until its client leaves.
LATENCY = {
    "enabled": True,
    "deployments": {
        name: {"ttftMs": 20, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 400, "tokenStdMs": 0}
        for name in ("chat", "gpt-4o")
    },
}
EXTENSION = """
import os

from simulator import extend


async def _ticks():
    for number in range(3):
        yield f"data: {number}\\n\\n".encode()
    yield b"data: [DONE]\\n\\n"


async def ticks(request):
    return extend.Response(200, {"content-type": "text/event-stream"}, stream=_ticks())


def generate(prompt):
    return "from the extension" if prompt.last_user_text == "extension" else None


def before(request):
    if request.headers.get("x-break") == "request":
        raise RuntimeError("a request hook that raises")


def after(request, response):
    how = request.headers.get("x-break")
    if how == "response":
        raise RuntimeError("a response hook that raises")
    if how == "api-error":
        raise extend.ApiError(429, "Throttled", "a response hook that refuses")
    if how == "to-json" and response.streamed:
        response.streamed = False
        response.set_json({"replaced": True})
    if how == "to-stream" and response.streamed:
        response.stream = _ticks()


def event(request, event):
    if request.headers.get("x-break") == "event":
        raise RuntimeError("an event hook that raises")
    return event


def initialize(simulator):
    upstream = os.environ.get("TICKS_UPSTREAM")
    forwarder = extend.Forwarder(upstream, auth={"api-key": os.environ["TICKS_KEY"]}) if upstream else None
    simulator.add_route("/ticks", ticks, methods=("POST",), forwarder=forwarder)
    simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, generate)
    simulator.on_request(before)
    simulator.on_response(after)
    simulator.on_stream_event(event)
"""

Drive = Callable[[httpx.Client], None]


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    server: str  # generate, record or replay
    drive: Drive


def _post(path: str, body: dict[str, Any], status: int = 200, **headers: str) -> Drive:
    """Send a request and read its answer to the end (a stream that is cut ends the read early)."""

    def drive(http: httpx.Client) -> None:
        try:
            with http.stream("POST", path, json=body, headers=headers) as answer:
                assert answer.status_code == status, answer.read()
                answer.read()
        except httpx.RemoteProtocolError:
            assert status == 200  # cut after its status: a fault or a broken upstream, as asked

    return drive


def _leave(path: str, body: dict[str, Any]) -> Drive:
    """Open a stream, read its first bytes and hang up."""

    def drive(http: httpx.Client) -> None:
        with http.stream("POST", path, json=body) as answer:
            assert answer.status_code == 200
            next(answer.iter_raw())

    return drive


def _get(path: str) -> Drive:
    def drive(http: httpx.Client) -> None:
        answer = http.get(path)
        assert answer.status_code == 200, answer.text

    return drive


def _transcription(http: httpx.Client) -> None:
    answer = http.post(
        f"/openai/deployments/transcribe/audio/transcriptions{PREVIEW}",
        data={"stream": "true", "response_format": "json"},
        files={"file": ("a.wav", wav(1.0), "audio/wav")},
    )
    assert answer.status_code == 200 and "transcript.text.done" in answer.text, answer.text


def _resumed(http: httpx.Client) -> None:
    """A background response streamed again from its start (`GET …?stream=true`)."""
    created = http.post("/openai/v1/responses", json={"model": "chat", "input": "hi", "background": True})
    assert created.status_code == 200, created.text
    resumed = http.get(f"/openai/v1/responses/{created.json()['id']}?stream=true")
    assert resumed.status_code == 200 and "response.completed" in resumed.text


CHAT = f"/openai/deployments/chat/chat/completions{GA}"
STREAM = {"messages": USER, "stream": True, "max_tokens": 5}
LONG = {"messages": USER, "stream": True, "max_tokens": 2000}
RESPONSES = "/openai/v1/responses"
SPEECH = f"/openai/deployments/mini-tts/audio/speech{PREVIEW}"
SPOKEN = {"model": "mini-tts", "voice": "alloy", "input": "hello there", "stream_format": "sse"}
CUT_UPSTREAM = f"/openai/deployments/standin-cut/chat/completions{GA}"
REPLAYED = f"/openai/deployments/gpt-4o/chat/completions{GA}"
PATHS = [
    Case("whole stream", "generate", _post(CHAT, STREAM)),
    Case("client leaves mid-stream", "generate", _leave(CHAT, LONG)),
    Case("fault: cut after 2 events", "generate", _post(CHAT, STREAM, **{"x-simulator-fault": "cut; after=2"})),
    Case("fault: reset", "generate", _post(CHAT, STREAM, **{"x-simulator-fault": "reset"})),
    Case("fault: 500", "generate", _post(CHAT, STREAM, 500, **{"x-simulator-fault": "500"})),
    Case("fault: 429", "generate", _post(CHAT, STREAM, 429, **{"x-simulator-fault": "429"})),
    Case("refused: bad request", "generate", _post(CHAT, {"stream": True, "messages": "no"}, 400)),
    Case("responses stream", "generate", _post(RESPONSES, {"model": "chat", "input": "hi", "stream": True})),
    Case(
        "responses background stream",
        "generate",
        _post(RESPONSES, {"model": "chat", "input": "hi", "stream": True, "background": True}),
    ),
    Case("responses resumed stream", "generate", _resumed),
    Case("responses: client leaves", "generate", _leave(RESPONSES, {"model": "chat", "input": "hi", "stream": True})),
    Case("speech audio", "generate", _post(SPEECH, {**SPOKEN, "stream_format": "audio"})),
    Case("speech sse", "generate", _post(SPEECH, SPOKEN)),
    Case("speech: client leaves", "generate", _leave(SPEECH, {**SPOKEN, "input": "x" * 400})),
    Case("gpt-4o-transcribe stream", "generate", _transcription),
    Case("extension generator stream", "generate", _post(CHAT, {**STREAM, "messages": EXTENSION_PROMPT})),
    Case("extension route stream", "generate", _post("/ticks", {})),
    Case("request hook raises", "generate", _post(CHAT, STREAM, 500, **{"x-break": "request"})),
    Case("response hook raises", "generate", _post(CHAT, STREAM, 500, **{"x-break": "response"})),
    Case("response hook refuses", "generate", _post(CHAT, STREAM, 429, **{"x-break": "api-error"})),
    Case("response hook answers whole", "generate", _post(CHAT, STREAM, **{"x-break": "to-json"})),
    Case("response hook answers another stream", "generate", _post(CHAT, STREAM, **{"x-break": "to-stream"})),
    Case("event hook raises", "generate", _post(CHAT, STREAM, **{"x-break": "event"})),
    Case("record: stream", "record", _post(f"/openai/deployments/chat/chat/completions{GA}", STREAM)),
    Case("record: upstream 500", "record", _post(f"/openai/deployments/standin-500/chat/completions{GA}", STREAM, 500)),
    Case("record: upstream 429", "record", _post(f"/openai/deployments/standin-429/chat/completions{GA}", STREAM, 429)),
    Case("record: upstream breaks off", "record", _post(CUT_UPSTREAM, STREAM)),
    Case("record: client leaves", "record", _leave(f"/openai/deployments/chat/chat/completions{GA}", STREAM)),
    Case("record: responses stream", "record", _post(RESPONSES, {"model": "chat", "input": "hi", "stream": True})),
    Case("record: extension forwarder stream", "record", _post("/ticks", {})),
    Case("record: response hook raises", "record", _post(CHAT, STREAM, 500, **{"x-break": "response"})),
    Case("replay: recorded stream", "replay", _post(REPLAYED, RECORDED)),
    Case("replay: client leaves", "replay", _leave(REPLAYED, RECORDED)),
    Case("replay: response hook answers whole", "replay", _post(REPLAYED, RECORDED, **{"x-break": "to-json"})),
    Case("replay: extension forwarder stream", "replay", _post("/ticks", {})),
]
# A stream each server admits while its slots are free.
ADMITTED = {
    "generate": (CHAT, STREAM),
    "record": (CHAT, STREAM),
    "replay": (REPLAYED, RECORDED),
}


class Servers:
    """The three servers, started when a case first needs one (a generate-mode one is the record server's
    upstream for the extension route)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: dict[str, SimulatorProcess] = {}
        self.standin: StandinAOAI | None = None
        self.extension = folder / "slots_extension.py"
        self.extension.write_text(textwrap.dedent(EXTENSION))
        self.deployments = folder / "deployments.json"
        self.deployments.write_text(json.dumps(DEPLOYMENTS))
        self.recordings = folder / "recordings"
        shutil.copytree(REPO / "recordings" / "gpt-4o", self.recordings / "gpt-4o")

    def __call__(self, kind: str) -> SimulatorProcess:
        if kind not in self.started:
            self.started[kind] = SimulatorProcess(self._env(kind), api_key=KEY).start()
        return self.started[kind]

    def _env(self, kind: str) -> dict[str, str]:
        env = {
            "SIMULATOR_MAX_CONCURRENT_STREAMS": str(CAP),
            "OPENAI_DEPLOYMENT_CONFIG_PATH": str(self.deployments),
            "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY),
            "EXTENSION_PATH": str(self.extension),
            "RECORDING_STORE": "files",
            "RECORDING_DIR": str(self.recordings),
        }
        if kind == "record":
            self.standin = StandinAOAI(api_key=UPSTREAM_KEY).start()
            env |= {"SIMULATOR_MODE": "record", "AZURE_OPENAI_ENDPOINT": self.standin.url}
            env |= {"AZURE_OPENAI_KEY": UPSTREAM_KEY, "RECORDING_UPSTREAM_TIMEOUT_SECONDS": "2"}
            env |= {"TICKS_UPSTREAM": self("generate").url, "TICKS_KEY": KEY}
        elif kind == "replay":
            self("record")  # its recordings (the forwarded extension route's too) are replayed
            env |= {"SIMULATOR_MODE": "replay", "RECORDING_REFRESH_SECONDS": "0.2"}
        return env

    def stop(self) -> str:
        output = "".join(server.stop() for server in self.started.values())
        if self.standin is not None:
            self.standin.stop()
        return output


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("slots"))
    yield started
    output = started.stop()
    assert "Exception in ASGI application" not in output, output  # extensions' failures are logged, not crashes


def open_streams(server: SimulatorProcess) -> int:
    stats = httpx.get(f"{server.url}/++/stats", headers={"api-key": KEY}).json()
    return sum(figures["open_streams"] for figures in stats["deployments"].values())


def settled_open_streams(server: SimulatorProcess) -> int:
    """Open streams once the server has seen its streams end: a client that left is noticed at the stream's next
    write, and a stream is counted closed just after its last byte. Polled, not slept."""
    deadline = time.monotonic() + 10
    while (count := open_streams(server)) > 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_a_stream_gives_its_slot_back_however_it_ends(servers: Servers, path: Case) -> None:
    server = servers(path.server)
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=20) as http:
        for _ in range(CAP + 2):
            path.drive(http)
        assert settled_open_streams(server) == 0
        where, body = ADMITTED[path.server]
        with http.stream("POST", where, json=body) as admitted:
            assert admitted.status_code == 200
            assert admitted.read().endswith(b"data: [DONE]\n\n")
        assert settled_open_streams(server) == 0


def _background(http: httpx.Client) -> Any:
    created = http.post(RESPONSES, json={"model": "chat", "input": "hi", "background": True, "max_output_tokens": 2000})
    assert created.status_code == 200, created.text
    return http.stream("GET", f"{RESPONSES}/{created.json()['id']}?stream=true")


HELD: dict[str, Callable[[httpx.Client], Any]] = {
    "chat": lambda http: http.stream("POST", CHAT, json=LONG),
    "speech": lambda http: http.stream("POST", SPEECH, json={**SPOKEN, "input": "x" * 2000}),
    "resumed background response": _background,
}


@pytest.mark.parametrize("kind", HELD)
def test_every_kind_of_stream_holds_a_slot(servers: Servers, kind: str) -> None:
    """Speech always streams its audio, and a background response can be streamed again later: both hold a
    connection as long as a chat stream does, so both count against the cap."""
    server = servers("generate")
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=20) as http:
        held = [HELD[kind](http) for _ in range(CAP)]
        try:
            assert [context.__enter__().status_code for context in held] == [200] * CAP
            assert http.post(CHAT, json=STREAM).status_code == 503
        finally:
            for context in held:
                context.__exit__(None, None, None)
        assert settled_open_streams(server) == 0
        deadline = time.monotonic() + 10  # the server notices the clients left at their streams' next writes
        while (status := http.post(CHAT, json=STREAM).status_code) == 503 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert status == 200
