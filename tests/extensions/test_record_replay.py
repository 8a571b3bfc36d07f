"""Extensions in record and replay mode, against a stand-in upstream on loopback (the simulator itself, serving
the Document Intelligence example in generate mode): record keeps only the final poll, replay answers it."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import AnalyzeDocumentRequest
from azure.core.credentials import AzureKeyCredential

from tests.support.server import SimulatorProcess
from tests.support.standin_aoai import StandinAOAI

EXTENSION = {"EXTENSION_PATH": "extensions/document_intelligence,extensions/response_hook.py"}
DOCUMENT = b"Recorded once\nReplayed many times\n"


def analyse(server: SimulatorProcess, key: str) -> dict:
    client = DocumentIntelligenceClient(server.url, AzureKeyCredential(key))
    poller = client.begin_analyze_document(
        "prebuilt-layout", AnalyzeDocumentRequest(bytes_source=DOCUMENT), polling_interval=0.05
    )
    return poller.result().as_dict()


def test_document_intelligence_records_the_final_poll_and_replays_it(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    upstream_env = {**EXTENSION, "DOCUMENT_INTELLIGENCE_SECONDS": "0.4", "DOCUMENT_INTELLIGENCE_POLL_AFTER": "0"}
    with SimulatorProcess(upstream_env, api_key="upstream-key") as upstream:
        record_env = {
            **EXTENSION,
            "SIMULATOR_MODE": "record",
            "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",  # AOAI is not called here
            "RECORDING_DIR": str(recordings),
            "DOCUMENT_INTELLIGENCE_ENDPOINT": upstream.url,
            "DOCUMENT_INTELLIGENCE_KEY": "upstream-key",
        }
        with SimulatorProcess(record_env, api_key="recorder-key") as recorder:
            recorded = analyse(recorder, "recorder-key")
    assert recorded["content"] == "Recorded once\nReplayed many times"
    files = sorted(path.relative_to(recordings).as_posix() for path in recordings.rglob("*.yaml"))
    assert files == ["extensions/documentintelligence-poll.yaml"]
    text = (recordings / files[0]).read_text()
    assert "upstream-key" not in text and "recorder-key" not in text
    interactions = yaml.safe_load(text)["interactions"]
    assert len(interactions) == 1  # the running polls and the analyze request are not kept
    assert interactions[0]["response"]["body"]["status"] == "succeeded"

    # Generated analyses would run for a minute: the answer comes from the recording.
    replay_env = {**EXTENSION, "SIMULATOR_MODE": "replay", "RECORDING_DIR": str(recordings)}
    replay_env["DOCUMENT_INTELLIGENCE_SECONDS"] = "60"
    with SimulatorProcess(replay_env, api_key="replay-key") as replayer:
        assert analyse(replayer, "replay-key") == recorded
        with httpx.Client(base_url=replayer.url) as http:  # response hooks run on replayed answers too
            refused = http.get("/documentintelligence/documentModels/prebuilt-layout/analyzeResults/x")
    assert refused.status_code == 401 and refused.headers["x-simulator-hooked"] == "1"


STREAMING = """
import asyncio
import os

from simulator import extend


async def events():
    for n in range(3):
        yield f"data: {{\\"n\\": {n}}}\\n\\n".encode()
        await asyncio.sleep(0.05)
    yield b"data: [DONE]\\n\\n"


async def ticker(request):
    return extend.Response(200, {"content-type": "text/event-stream"}, stream=events())


def initialize(simulator):
    upstream = os.environ.get("TICKER_UPSTREAM", "")
    forwarder = extend.Forwarder(upstream, auth={"api-key": "k"})
    simulator.add_route("/ticker", ticker, methods=("POST",), name="ticker", forwarder=forwarder)
"""


def test_a_forwarder_relays_a_stream_as_it_comes_and_records_its_events(tmp_path: Path) -> None:
    extension = tmp_path / "ticker.py"
    extension.write_text(STREAMING)
    recordings = tmp_path / "recordings"
    expected = b'data: {"n": 0}\n\ndata: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    with SimulatorProcess({"EXTENSION_PATH": str(extension)}, api_key="k") as upstream:
        env = {
            "EXTENSION_PATH": str(extension),
            "SIMULATOR_MODE": "record",
            "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
            "RECORDING_DIR": str(recordings),
            "TICKER_UPSTREAM": upstream.url,
        }
        with (
            SimulatorProcess(env, api_key="k") as recorder,
            httpx.Client(base_url=recorder.url) as http,
            http.stream("POST", "/ticker", json={"q": 1}, headers={"api-key": "k"}) as answer,
        ):
            assert answer.headers["content-type"].startswith("text/event-stream")
            chunks = list(answer.iter_raw())
    assert b"".join(chunks) == expected
    assert len(chunks) > 1  # relayed as the upstream wrote it, not gathered first
    events = yaml.safe_load((recordings / "extensions" / "ticker.yaml").read_text())["interactions"][0]["response"]
    offsets = [event["at"] for event in events["events"]]
    assert len(offsets) == 4 and offsets == sorted(offsets) and offsets[-1] - offsets[0] >= 0.1
    with SimulatorProcess({**env, "SIMULATOR_MODE": "replay"}, api_key="k") as replayer:
        replayed = httpx.post(f"{replayer.url}/ticker", json={"q": 1}, headers={"api-key": "k"})
    assert replayed.content == expected


def test_hooks_change_what_clients_get_in_record_and_replay_not_what_is_recorded(tmp_path: Path) -> None:
    recordings = tmp_path / "aoai"
    hooked = {"EXTENSION_PATH": "extensions/response_hook.py,extensions/echo_generator.py"}
    ask = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}

    def chat(server: SimulatorProcess, **extra: object) -> httpx.Response:
        body = {**ask, **extra}
        return httpx.post(f"{server.url}/openai/v1/chat/completions", json=body, headers={"api-key": "k"})

    with StandinAOAI() as standin:
        env = {**hooked, "SIMULATOR_MODE": "record", "AZURE_OPENAI_ENDPOINT": standin.url}
        env.update(AZURE_OPENAI_KEY=standin.api_key, RECORDING_DIR=str(recordings))
        with SimulatorProcess(env, api_key="k") as recorder:
            whole, streamed = chat(recorder), chat(recorder, stream=True)
    assert whole.headers["x-simulator-hooked"] == "1" and whole.json()["system_fingerprint"] == "REDACTED"
    assert '"system_fingerprint":"REDACTED"' in streamed.text and "fp_standin" not in streamed.text
    saved = "".join(path.read_text() for path in recordings.rglob("*.yaml"))
    assert "fp_standin" in saved and "REDACTED" not in saved  # recordings keep what the service said

    env = {**hooked, "SIMULATOR_MODE": "replay", "RECORDING_DIR": str(recordings), "RECORDING_UNMATCHED": "generate"}
    with SimulatorProcess(env, api_key="k") as replayer:
        replayed, unmatched = chat(replayer), chat(replayer, messages=[{"role": "user", "content": "not recorded"}])
    assert replayed.json()["system_fingerprint"] == "REDACTED" and replayed.headers["x-simulator-hooked"] == "1"
    assert replayed.json()["choices"] == whole.json()["choices"]
    assert unmatched.json()["choices"][0]["message"]["content"] == "not recorded"  # the echo generator's answer
