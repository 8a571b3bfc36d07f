"""Extensions through the Azure Functions host: no function of their own, served by the catch-all function
(`{*path}`) before its 404, with hooks on the AOAI functions; nothing in function_app.py names them."""

from __future__ import annotations

import base64
import json

import pytest

import function_app
from simulator.tokens import count_text
from tests.extensions.test_examples import CANNED, EXAMPLES
from tests.functions.test_function_app import KEY, _functions, _request


@pytest.fixture(autouse=True)
def simulator_with_extensions(monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", KEY)
    monkeypatch.setenv("SIMULATOR_LATENCY_ENABLED", "false")
    monkeypatch.setenv("EXTENSION_PATH", EXAMPLES)
    monkeypatch.setenv("DOCUMENT_INTELLIGENCE_SECONDS", "0")
    monkeypatch.setenv("DOCUMENT_INTELLIGENCE_SECONDS_PER_PAGE", "0")
    monkeypatch.setattr(function_app, "_simulator", None)
    monkeypatch.setattr(function_app, "_cannot_start", None)


async def test_an_extension_route_is_served_by_the_catch_all_function() -> None:
    catch_all = _functions()["not_found"].get_user_function()
    body = json.dumps({"base64Source": base64.b64encode(b"Hello from Functions").decode()}).encode()
    analyze = "/documentintelligence/documentModels/prebuilt-read:analyze"
    accepted = await catch_all(
        _request("POST", analyze, body, headers={"content-type": "application/json"}, query="api-version=2024-11-30")
    )
    assert accepted.status_code == 202, accepted.body
    location = accepted.headers["operation-location"]
    path, _, query = location.split("://", 1)[1].partition("/")[2].partition("?")
    polled = await catch_all(_request("GET", f"/{path}", query=query))
    payload = json.loads(polled.body)
    assert payload["status"] == "succeeded" and payload["analyzeResult"]["content"] == "Hello from Functions"
    assert polled.headers["x-simulator-hooked"] == "1"
    missing = await catch_all(_request("GET", "/elsewhere"))
    assert missing.status_code == 404 and missing.headers["x-simulator-hooked"] == "1"


async def test_hooks_and_generators_run_on_the_aoai_functions() -> None:
    handler = _functions()["v1_chat_completions"].get_user_function()

    async def ask(text: str) -> tuple[dict, dict]:
        body = {"model": "chat", "messages": [{"role": "user", "content": text}], "max_tokens": 40}
        response = await handler(_request("POST", "/openai/v1/chat/completions", json.dumps(body).encode()))
        assert response.status_code == 200
        return json.loads(response.body), response.headers

    canned, headers = await ask("What is the capital of France?")
    assert canned["choices"][0]["message"]["content"] == CANNED
    assert canned["usage"]["completion_tokens"] == count_text(CANNED, "o200k_base")
    assert canned["system_fingerprint"] == "REDACTED" and headers["x-simulator-hooked"] == "1"
    echoed, _ = await ask("say this back")
    assert echoed["choices"][0]["message"]["content"] == "say this back"


async def test_the_latency_rule_is_loaded_in_the_functions_app() -> None:
    simulator = await function_app.get_simulator()
    assert [extension for extension, _ in simulator.extensions.latency_rules] == ["extensions/latency_rule.py"]


async def test_a_broken_extension_answers_every_request_with_a_500_naming_it(monkeypatch, tmp_path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def initialize(simulator):\n    raise RuntimeError('no database')\n")
    monkeypatch.setenv("EXTENSION_PATH", str(broken))
    response = await _functions()["not_found"].get_user_function()(_request("GET", "/anything"))
    error = json.loads(response.body)["error"]
    assert response.status_code == 500 and error["code"] == "InternalServerError"
    assert f"EXTENSION_PATH: {broken}: initialize() raised RuntimeError: no database" in error["message"]
