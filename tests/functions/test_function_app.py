"""The Azure Functions host: the functions registered on `function_app.app`, called as the worker calls them."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

import function_app
from simulator.api.routes import ROUTES

KEY = "functions-key"


@pytest.fixture(autouse=True)
def fresh_simulator(monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", KEY)
    monkeypatch.setenv("SIMULATOR_LATENCY_ENABLED", "false")
    monkeypatch.setattr(function_app, "_simulator", None)


@functools.cache
def _functions() -> dict:
    # azure-functions validates names on every get_functions() call and fails the second time: call it once.
    return {fn.get_function_name(): fn for fn in function_app.app.get_functions()}


def _request(method: str, path: str, body: bytes = b"", *, path_params=None, headers=None, query: str = "") -> Request:
    """A request shaped as the worker hands it over: a FastAPI/Starlette request with `path_params` set."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    raw_headers = [(k.lower().encode(), v.encode()) for k, v in {"api-key": KEY, **(headers or {})}.items()]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": raw_headers,
        "path_params": path_params or {},
    }
    return Request(scope, receive)


def test_every_route_is_a_function_with_its_route() -> None:
    functions = _functions()
    assert set(functions) == {route.name for route in ROUTES}
    for route in ROUTES:
        trigger = functions[route.name].get_trigger()
        assert trigger.route == route.function_route
        assert trigger.auth_level.value == "anonymous"
    assert functions["chat_completions"].get_trigger().route == "openai/deployments/{deployment}/chat/completions"
    assert functions["not_found"].get_trigger().route == "{*path}"


def test_host_json_removes_the_api_prefix() -> None:
    host = Path(function_app.__file__).with_name("host.json")
    assert json.loads(host.read_text())["extensions"]["http"]["routePrefix"] == ""


async def test_chat_function_answers() -> None:
    handler = _functions()["chat_completions"].get_user_function()
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}).encode()
    request = _request(
        "POST",
        "/openai/deployments/chat/chat/completions",
        body,
        path_params={"deployment": "chat"},
        query="api-version=2024-10-21",
    )
    response = await handler(request)
    assert response.status_code == 200
    payload = json.loads(response.body)
    assert payload["usage"]["completion_tokens"] == 4
    assert response.headers["x-ms-deployment-name"] == "chat"


async def test_streaming_function_returns_a_stream() -> None:
    handler = _functions()["v1_chat_completions"].get_user_function()
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
    response = await handler(_request("POST", "/openai/v1/chat/completions", body))
    assert isinstance(response, StreamingResponse)
    body = b"".join([chunk async for chunk in response.body_iterator])
    assert body.startswith(b"data: {") and body.endswith(b"data: [DONE]\n\n")


async def test_functions_refuse_bad_keys_and_paths() -> None:
    functions = _functions()
    request = _request("POST", "/openai/v1/embeddings", b"{}", headers={"api-key": "nope"})
    response = await functions["v1_embeddings"].get_user_function()(request)
    assert response.status_code == 401
    response = await functions["not_found"].get_user_function()(_request("GET", "/elsewhere"))
    assert response.status_code == 404 and json.loads(response.body)["error"]["code"] == "404"


async def test_the_simulator_is_built_lazily_once() -> None:
    assert function_app._simulator is None
    first = await function_app.get_simulator()
    assert await function_app.get_simulator() is first and first.api_key == KEY


async def test_the_catch_all_answers_health_checks_at_the_root() -> None:
    """An empty Functions route may not register as `/`; the catch-all `{*path}` then receives it."""
    response = await _functions()["not_found"].get_user_function()(_request("GET", "/", headers={"api-key": ""}))
    assert response.status_code == 200 and json.loads(response.body)["status"] == "ok"


async def test_a_simulator_that_cannot_start_answers_an_aoai_shaped_500(monkeypatch) -> None:
    monkeypatch.setattr(function_app, "_cannot_start", None)
    monkeypatch.setenv("SIMULATOR_MODE", "sideways")
    handler = _functions()["v1_chat_completions"].get_user_function()
    for _ in range(2):  # the failure is kept, not retried per request
        response = await handler(_request("POST", "/openai/v1/chat/completions", b"{}"))
        assert response.status_code == 500
        error = json.loads(response.body)["error"]
        assert error["code"] == "InternalServerError"
        assert error["message"].startswith("The simulator cannot start: ") and "SIMULATOR_MODE" in error["message"]
    assert function_app._simulator is None
