"""Raw HTTP: the exact SSE bytes, error bodies and conformance with the official AOAI schemas."""

from __future__ import annotations

import json

import httpx
import pytest

from simulator.errors import ACCESS_DENIED, DEPLOYMENT_NOT_FOUND
from tests.support import spec
from tests.support.server import SimulatorProcess

CHAT = "/openai/deployments/chat/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


@pytest.fixture
def client(server: SimulatorProcess):
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=10) as http:
        yield http


def _events(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\n\n")
    return raw[:-2].split(b"\n\n")


def test_sse_sequence_is_exactly_aoai(client: httpx.Client) -> None:
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    response = client.post(CHAT, json=body)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = _events(response.content)
    assert all(event.startswith(b"data: ") for event in events)
    assert events[-1] == b"data: [DONE]"
    payloads = [json.loads(event[6:]) for event in events[:-1]]
    prompt_filter, opening, *content, closing, usage = payloads
    assert prompt_filter["id"] == "" and prompt_filter["object"] == "" and prompt_filter["created"] == 0
    assert prompt_filter["choices"] == [] and prompt_filter["prompt_filter_results"]
    assert opening["choices"][0]["delta"] == {"content": "", "refusal": None, "role": "assistant"}
    assert len(content) == 3 and all("content" in c["choices"][0]["delta"] for c in content)
    assert all(c["choices"][0]["content_filter_results"]["violence"]["filtered"] is False for c in content)
    assert closing["choices"][0]["delta"] == {} and closing["choices"][0]["finish_reason"] == "length"
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3
    assert {p["id"] for p in payloads[1:]} == {opening["id"]}
    assert all(p["object"] == "chat.completion.chunk" and p["usage"] is None for p in payloads[1:-1])
    for chunk in payloads[1:]:
        spec.validate(chunk, "createChatCompletionStreamResponse")


def test_stream_without_usage_has_no_usage_fields(client: httpx.Client) -> None:
    response = client.post(CHAT, json={**BODY, "stream": True})
    payloads = [json.loads(event[6:]) for event in _events(response.content)[:-1]]
    assert all("usage" not in p for p in payloads)
    assert payloads[-1]["choices"][0]["finish_reason"] == "length"


def test_bodies_match_the_official_schemas(client: httpx.Client) -> None:
    chat = client.post(CHAT, json=BODY).json()
    spec.validate(chat, "createChatCompletionResponse")
    spec.validate(chat, "AzureCreateChatCompletionResponse", spec.V1)
    completion = client.post(
        "/openai/deployments/instruct/completions?api-version=2024-10-21", json={"prompt": "x", "max_tokens": 2}
    ).json()
    spec.validate(completion, "createCompletionResponse")
    embeddings = client.post(
        "/openai/deployments/embed-small/embeddings?api-version=2024-10-21", json={"input": ["a", "b"]}
    ).json()
    spec.validate(embeddings, "OpenAI.CreateEmbeddingResponse", spec.V1)
    models = client.get("/openai/v1/models").json()
    spec.validate(models, "OpenAI.ListModelsResponse", spec.V1)


AUTH_CASES = [{}, {"api-key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]


@pytest.mark.parametrize("headers", AUTH_CASES)
def test_bad_credentials_get_aoai_401(server: SimulatorProcess, headers: dict[str, str]) -> None:
    response = httpx.post(server.url + CHAT, json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "401", "message": ACCESS_DENIED}}
    spec.validate_error(response.json())


def test_bearer_token_is_accepted(server: SimulatorProcess) -> None:
    response = httpx.post(server.url + CHAT, json=BODY, headers={"Authorization": f"Bearer {server.api_key}"})
    assert response.status_code == 200


ERROR_CASES = [
    ("POST", "/openai/deployments/chat/chat/completions", BODY, 400, "BadRequest"),
    ("POST", "/openai/deployments/chat/chat/completions?api-version=latest", BODY, 400, "BadRequest"),
    ("POST", CHAT, b"{not json", 400, None),
    ("POST", CHAT, b"[1, 2]", 400, None),
    ("POST", CHAT, b"", 400, None),
    ("POST", CHAT, {"messages": []}, 400, None),
    ("POST", CHAT, {}, 400, "missing_required_parameter"),
    ("POST", CHAT, {"messages": "hi"}, 400, "invalid_type"),
    ("POST", CHAT, {"messages": [{"role": "robot", "content": "x"}]}, 400, None),
    ("POST", CHAT, {"messages": [{"role": "user", "content": 5}]}, 400, None),
    ("POST", CHAT, {**BODY, "max_tokens": "many"}, 400, "invalid_type"),
    ("POST", CHAT, {**BODY, "max_tokens": 0}, 400, "integer_below_min_value"),
    ("POST", CHAT, {**BODY, "n": 1000}, 400, None),
    ("POST", CHAT, {**BODY, "stream": "yes"}, 400, "invalid_type"),
    ("POST", CHAT, {**BODY, "stream_options": {"include_usage": True}}, 400, None),
    ("GET", CHAT, None, 405, "405"),
    ("POST", "/openai/deployments/chat/unknown?api-version=2024-10-21", BODY, 404, "404"),
    ("GET", "/nothing/here", None, 404, "404"),
    ("POST", "/openai/v1/chat/completions", BODY, 400, "missing_required_parameter"),
    ("POST", "/openai/deployments/embed-ada/embeddings?api-version=2024-10-21", {"input": ""}, 400, None),
    ("POST", "/openai/deployments/embed-ada/embeddings?api-version=2024-10-21", {"input": [[]]}, 400, None),
    ("POST", "/openai/deployments/embed-ada/embeddings?api-version=2024-10-21", {"input": 5}, 400, "invalid_type"),
    (
        "POST",
        "/openai/deployments/embed-ada/embeddings?api-version=2024-10-21",
        {"input": "a", "encoding_format": "int8"},
        400,
        None,
    ),
    ("POST", "/openai/deployments/embed-ada/embeddings?api-version=2024-10-21", {"input": [[10**12]]}, 400, None),
    ("POST", "/openai/deployments/instruct/completions?api-version=2024-10-21", {"prompt": 5}, 400, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), ERROR_CASES)
def test_bad_input_gets_aoai_shaped_errors(client: httpx.Client, method, path, body, status, code) -> None:
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    response = client.request(method, path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    spec.validate_error(response.json())
    assert "Traceback" not in response.text


def test_unknown_deployments_can_be_refused(tmp_path) -> None:
    with SimulatorProcess({"ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS": "false"}) as server:
        response = httpx.post(server.url + CHAT, json=BODY, headers={"api-key": server.api_key})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "DeploymentNotFound", "message": DEPLOYMENT_NOT_FOUND}}


def test_oversized_bodies_get_413() -> None:
    with (
        SimulatorProcess({"SIMULATOR_MAX_BODY_BYTES": "65536"}) as server,
        httpx.Client(base_url=server.url, headers={"api-key": server.api_key}) as client,
    ):
        _check_413(client)


def _check_413(client: httpx.Client) -> None:
    huge = {"messages": [{"role": "user", "content": "x" * 70_000}]}
    response = client.post(CHAT, json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"
    spec.validate_error(response.json())

    def chunked():
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"x" * 8192
        yield b'"}]}'

    response = client.post(CHAT, content=chunked())
    assert response.status_code == 413


def test_health_needs_no_key(server: SimulatorProcess) -> None:
    response = httpx.get(server.url + "/")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_generated_key_is_printed_once_at_start() -> None:
    server = SimulatorProcess(api_key="")
    server.env.pop("SIMULATOR_API_KEY")
    server.start()
    output = server.stop()
    assert output.count("generated key") == 1
    (banner,) = [line for line in output.splitlines() if "api-key:" in line]
    key = banner.rsplit("api-key: ", 1)[1].strip()
    assert len(key) >= 24 and output.count(key) == 1  # shown once, in the banner, and never logged


def test_a_configured_key_is_never_printed() -> None:
    server = SimulatorProcess(api_key="configured-secret-key").start()
    output = server.stop()
    assert "configured-secret-key" not in output and "api-key: from SIMULATOR_API_KEY" in output
