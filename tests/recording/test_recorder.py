"""Record mode against the stand-in: what is forwarded, what is written, what is never written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.context import Surface
from simulator.errors import OpenAIError
from simulator.models import Operation
from simulator.recording import Recorder, RecordingConfig
from simulator.recording.forwarder import upstream_error
from simulator.recording.persisters.files import FilePersister
from simulator.recording.serializer import loads
from simulator.replies import JsonReply, StreamReply
from tests.recording.conftest import chat, collect, make_request
from tests.support.ports import free_port
from tests.support.standin_aoai import StandinAOAI

SECRETS = ["client-secret-key", "client-bearer-token", "functions-key-secret", "query-code-secret", "search-key"]


def _yaml_files(root: Path) -> dict[Path, str]:
    return {path: path.read_text() for path in root.rglob("*.yaml")}


async def test_no_secret_reaches_any_recording(recorder: Recorder, config: RecordingConfig, standin: Any) -> None:
    headers = {
        "Authorization": "Bearer client-bearer-token",
        "x-functions-key": "functions-key-secret",
        "Cookie": "session=client-secret-key",
    }
    body = chat(
        "Answer from my index",
        data_sources=[
            {"type": "azure_search", "parameters": {"authentication": {"type": "api_key", "key": "search-key"}}}
        ],
    )
    query = "api-version=2024-10-21&code=query-code-secret"
    for stream in (False, True):
        request = make_request(Operation.CHAT_COMPLETIONS, {**body, "stream": stream}, headers=headers, query=query)
        await collect(await recorder.forward(request))

    files = _yaml_files(config.directory)
    assert len(files) == 1
    for text in files.values():
        for secret in [*SECRETS, standin.api_key]:
            assert secret not in text
        assert "REDACTED" in text  # the body keeps its shape
        assert "apim-request-id" not in text and "x-ratelimit" not in text  # per-request noise
    upstream = standin.requests[-1]
    assert upstream.headers["api-key"] == standin.api_key
    assert "code=" not in upstream.query and "Authorization" not in upstream.headers


async def test_deployment_names_are_mapped_upstream_and_kept_in_recordings(tmp_path: Path, standin: Any) -> None:
    config = RecordingConfig(
        directory=tmp_path, endpoint=standin.url, key=standin.api_key, deployment_map={"gpt-4o": "prod-gpt-4o"}
    )
    recorder = Recorder(config, FilePersister(tmp_path))
    await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat("classic")))
    assert standin.requests[-1].path == "/openai/deployments/prod-gpt-4o/chat/completions"
    v1 = make_request(Operation.CHAT_COMPLETIONS, chat("v1", model="gpt-4o"), surface=Surface.V1)
    await recorder.forward(v1)
    assert json.loads(standin.requests[-1].body)["model"] == "prod-gpt-4o"
    await recorder.close()
    interactions = loads((tmp_path / "gpt-4o" / "chat-completions.yaml").read_text())
    assert [item.request.path for item in interactions] == [
        "/openai/deployments/gpt-4o/chat/completions",
        "/openai/v1/chat/completions",
    ]
    assert interactions[1].request.body["model"] == "gpt-4o"


async def test_upstream_5xx_is_an_aoai_error_and_not_recorded(recorder: Recorder, config: RecordingConfig) -> None:
    with pytest.raises(OpenAIError) as raised:
        await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(), deployment="standin-500"))
    assert raised.value.status == 500 and raised.value.code == "InternalServerError"
    assert raised.value.body()["error"]["param"] is None and raised.value.body()["error"]["type"] is None
    assert _yaml_files(config.directory) == {}


def test_an_upstream_errors_fields_are_kept() -> None:
    sent = {"error": {"code": None, "message": "Busy", "param": "messages", "type": "server_error"}}
    error = upstream_error(503, json.dumps(sent).encode(), {"Retry-After": "2", "x-other": "1"})
    assert error.body() == sent and error.headers == {"Retry-After": "2"}
    assert upstream_error(502, b"<html>", {}).body()["error"] == {
        "code": "502",
        "message": "Azure OpenAI answered 502.",
        "param": None,
        "type": None,
    }


async def test_upstream_5xx_is_recorded_when_configured(tmp_path: Path, standin: Any) -> None:
    config = RecordingConfig(directory=tmp_path, endpoint=standin.url, key=standin.api_key, record_failures=True)
    recorder = Recorder(config, FilePersister(tmp_path))
    with pytest.raises(OpenAIError):
        await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(), deployment="standin-500"))
    (interaction,) = loads((tmp_path / "standin-500" / "chat-completions.yaml").read_text())
    assert interaction.response.status == 500


async def test_upstream_429_passes_through_unrecorded(recorder: Recorder, config: RecordingConfig) -> None:
    reply = await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(), deployment="standin-429"))
    assert isinstance(reply, JsonReply) and reply.status == 429 and reply.headers["retry-after"] == "7"
    assert _yaml_files(config.directory) == {}


async def test_refused_connection_is_a_502(tmp_path: Path) -> None:
    config = RecordingConfig(directory=tmp_path, endpoint=f"http://127.0.0.1:{free_port()}", key="k")
    recorder = Recorder(config, FilePersister(tmp_path))
    with pytest.raises(OpenAIError) as raised:
        await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat()))
    await recorder.close()
    assert raised.value.status == 502 and raised.value.code == "BadGateway"


async def test_a_silent_upstream_is_a_504(tmp_path: Path, standin: Any) -> None:
    config = RecordingConfig(directory=tmp_path, endpoint=standin.url, key=standin.api_key, read_timeout=0.2)
    recorder = Recorder(config, FilePersister(tmp_path))
    with pytest.raises(OpenAIError) as raised:
        await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(), deployment="standin-hang"))
    await recorder.close()
    assert raised.value.status == 504 and raised.value.code == "GatewayTimeout"


async def test_a_stream_the_client_abandons_is_not_recorded(recorder: Recorder, config: RecordingConfig) -> None:
    reply = await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(stream=True)))
    assert isinstance(reply, StreamReply) and reply.source is not None
    await anext(reply.source)
    await reply.source.aclose()  # type: ignore[attr-defined]
    assert _yaml_files(config.directory) == {}


async def test_without_autosave_nothing_is_written_until_save(tmp_path: Path, standin: Any) -> None:
    config = RecordingConfig(directory=tmp_path, endpoint=standin.url, key=standin.api_key, autosave=False)
    recorder = Recorder(config, FilePersister(tmp_path))
    await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat("one")))
    await collect(await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat("two", stream=True))))
    await recorder.forward(make_request(Operation.EMBEDDINGS, {"input": "three", "dimensions": 4}))
    assert recorder.unsaved == 3 and _yaml_files(tmp_path) == {}
    assert await recorder.save() == 3
    assert len(loads((tmp_path / "gpt-4o" / "chat-completions.yaml").read_text())) == 2
    assert len(loads((tmp_path / "text-embedding-3-small" / "embeddings.yaml").read_text())) == 1
    await recorder.close()


async def test_entra_id_token_is_sent_when_no_key_is_set(tmp_path: Path) -> None:
    class StaticCredential:
        """Stands in for DefaultAzureCredential, which needs a real identity."""

        def __init__(self) -> None:
            self.scopes: list[str] = []

        async def get_token(self, *scopes: str) -> Any:
            self.scopes.extend(scopes)
            return type("AccessToken", (), {"token": "entra-token", "expires_on": 2**40})()

        async def close(self) -> None:
            return None

    from simulator.recording.forwarder import Forwarder

    with StandinAOAI(bearer_token="entra-token", api_key="unused") as server:
        credential = StaticCredential()
        config = RecordingConfig(directory=tmp_path, endpoint=server.url)
        forwarder = Forwarder(server.url, credential=credential)
        recorder = Recorder(config, FilePersister(tmp_path), forwarder=forwarder)
        for _ in range(2):
            reply = await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat()))
            assert reply.status == 200
        await recorder.close()
    assert credential.scopes == ["https://cognitiveservices.azure.com/.default"]  # cached for the second call
    assert "entra-token" not in (tmp_path / "gpt-4o" / "chat-completions.yaml").read_text()


class CountingPersister(FilePersister):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes = 0

    async def write(self, name: str, text: str, expected_version: str | None) -> str:
        self.writes += 1
        return await super().write(name, text, expected_version)


async def test_concurrent_recordings_for_one_deployment_lose_nothing(tmp_path: Path, standin: Any) -> None:
    config = RecordingConfig(directory=tmp_path, endpoint=standin.url, key=standin.api_key)
    persister = CountingPersister(tmp_path)
    recorder = Recorder(config, persister)

    async def one(number: int) -> None:
        body = chat(f"question {number}", stream=number % 2 == 0)
        await collect(await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, body)))

    await asyncio.gather(*(one(number) for number in range(60)))
    await recorder.close()
    interactions = loads((tmp_path / "gpt-4o" / "chat-completions.yaml").read_text())
    questions = sorted(item.request.body["messages"][0]["content"] for item in interactions)
    assert questions == sorted(f"question {number}" for number in range(60))
    assert persister.writes < 60  # batched: one write carries every interaction that completed meanwhile
