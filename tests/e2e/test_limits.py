"""Resource limits of a shared endpoint, over a real socket: each refusal AOAI-shaped, never a 500 or a stall."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulator.api.routes import ROUTES
from tests.support import spec
from tests.support.server import SimulatorProcess

GA = "?api-version=2024-10-21"
CHAT = f"/openai/deployments/chat/chat/completions{GA}"
COMPLETIONS = f"/openai/deployments/instruct/completions{GA}"
EMBEDDINGS = f"/openai/deployments/embed/embeddings{GA}"
LIMITS = {
    "SIMULATOR_MAX_CHOICES": "4",
    "SIMULATOR_MAX_MESSAGES": "5",
    "SIMULATOR_MAX_TOOLS": "3",
    "SIMULATOR_MAX_INPUTS": "6",
    "SIMULATOR_MAX_JSON_DEPTH": "12",
    "SIMULATOR_MAX_GENERATED_TOKENS": "40",
    "SIMULATOR_MAX_CONCURRENT_STREAMS": "2",
    "SIMULATOR_HEADER_TIMEOUT_SECONDS": "0.5",
    "SIMULATOR_BODY_TIMEOUT_SECONDS": "0.5",
    "SIMULATOR_MAX_HEADER_BYTES": "4096",
    "SIMULATOR_KEEPALIVE_TIMEOUT_SECONDS": "0.5",
}
USER = {"role": "user", "content": "hi"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("limits") / "deployments.json"
    config.write_text(
        json.dumps(
            {
                "chat": {"model": "gpt-4o"},
                "instruct": {"model": "gpt-35-turbo-instruct"},
                "embed": {"model": "text-embedding-3-small"},
            }
        )
    )
    env = {**LIMITS, "OPENAI_DEPLOYMENT_CONFIG_PATH": str(config), "SIMULATOR_LATENCY_ENABLED": "false"}
    with SimulatorProcess(env) as server:
        yield server
        output = server.stop()
    # Refusals are answers, not crashes: nothing above WARNING, no stack trace.
    assert "Traceback" not in output and " ERROR " not in output, output


@pytest.fixture
def client(limited: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.url, headers={"api-key": limited.api_key}, timeout=10) as http:
        yield http


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    return error


@pytest.mark.parametrize(
    ("path", "body", "param", "code"),
    [
        (CHAT, {"messages": [USER] * 6}, "messages", "array_above_max_length"),
        (
            CHAT,
            {"messages": [USER], "tools": [{"type": "function", "function": {"name": f"f{i}"}} for i in range(4)]},
            "tools",
            "array_above_max_length",
        ),
        (CHAT, {"messages": [USER], "n": 5}, "n", "invalid_value"),
        (COMPLETIONS, {"prompt": ["a", "b", "c"], "n": 2}, "n", "invalid_value"),
        (COMPLETIONS, {"prompt": ["a"] * 7}, "prompt", "array_above_max_length"),
        (EMBEDDINGS, {"input": ["a"] * 7}, "input", "array_above_max_length"),
        (CHAT, {"messages": [{"role": "user", "content": "hi", "extra": nested(12)}]}, None, "invalid_value"),
    ],
)
def test_a_request_past_a_limit_gets_a_400_naming_it(
    client: httpx.Client, path: str, body: dict[str, Any], param: str | None, code: str
) -> None:
    error = _error(client.post(path, json=body), 400)
    assert error.get("param") == param
    assert error["code"] == code


def test_at_the_limits_requests_are_answered(client: httpx.Client) -> None:
    assert client.post(CHAT, json={"messages": [USER] * 5, "n": 4, "max_tokens": 5}).status_code == 200
    assert client.post(COMPLETIONS, json={"prompt": ["a", "b"], "n": 2, "max_tokens": 3}).status_code == 200
    assert client.post(EMBEDDINGS, json={"input": ["a"] * 6}).status_code == 200
    # One input of token ids is one input, however many tokens it has.
    assert client.post(EMBEDDINGS, json={"input": list(range(50))}).status_code == 200


def test_generated_tokens_are_shared_by_the_choices_of_a_request(client: httpx.Client) -> None:
    body = client.post(CHAT, json={"messages": [USER], "n": 4, "max_tokens": 500}).json()
    assert body["usage"]["completion_tokens"] <= 40
    assert {choice["finish_reason"] for choice in body["choices"]} == {"length"}


def test_logprobs_count_in_the_generation_budget(client: httpx.Client) -> None:
    """A token with 3 `top_logprobs` costs 4 of the 40: 10 tokens, cut as at any cap, on every API."""
    asked = {"logprobs": True, "top_logprobs": 3}
    body = client.post(CHAT, json={"messages": [USER], "n": 2, "max_tokens": 500, **asked}).json()
    assert [len(choice["logprobs"]["content"]) for choice in body["choices"]] == [5, 5]
    assert body["usage"]["completion_tokens"] == 10
    body = client.post(COMPLETIONS, json={"prompt": "hi", "max_tokens": 500, "logprobs": 3}).json()
    assert len(body["choices"][0]["logprobs"]["tokens"]) == 10 and body["choices"][0]["finish_reason"] == "length"
    turn = {"model": "chat", "input": "hi", "top_logprobs": 3, "include": ["message.output_text.logprobs"]}
    raw = client.post("/openai/v1/responses", json=turn)
    assert raw.status_code == 200, raw.text
    spec.validate(raw.json(), "AzureResponse", spec.V1)
    response = raw.json()
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["usage"]["output_tokens"] == 10 and len(response["output"][0]["content"][0]["logprobs"]) == 10


@pytest.mark.parametrize("route", [route for route in ROUTES if "POST" in route.methods], ids=lambda route: route.name)
def test_deep_json_on_any_posted_route_is_never_a_500(
    limited: SimulatorProcess, client: httpx.Client, route: Any
) -> None:
    """Deep nesting once crashed prompt token counting (RecursionError → 500); every route is tried."""
    path = route.path.replace("{deployment}", "chat").replace("{path:path}", "x")
    deep = b'{"a":' * 1000 + b'"x"' + b"}" * 1000  # within the JSON parser's own limit (1,024 levels)
    body = b'{"model": "chat", "messages": [{"role": "user", "content": [%s]}], "input": [%s]}' % (deep, deep)
    response = client.post(f"{path}{GA}", content=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["error"]["message"], str)


def test_streams_past_the_cap_get_503_with_retry_after_and_slots_come_back() -> None:
    # Paced streams stay open: 400 tokens at gpt-4o's default 70 tokens/s take about six seconds.
    env = {"SIMULATOR_MAX_CONCURRENT_STREAMS": "2", "SIMULATOR_LATENCY_ENABLED": "true"}
    stream = {"messages": [USER], "stream": True, "max_tokens": 400}
    with SimulatorProcess(env) as server, httpx.Client(base_url=server.url, headers={"api-key": "test-key"}) as http:
        held = [http.stream("POST", CHAT, json=stream) for _ in range(2)]
        opened = [context.__enter__() for context in held]
        try:
            assert [response.status_code for response in opened] == [200, 200]
            refused = http.post(CHAT, json=stream)
            error = _error(refused, 503)
            assert refused.headers["retry-after"] == "1" and refused.headers["retry-after-ms"] == "1000"
            assert "SIMULATOR_MAX_CONCURRENT_STREAMS" in error["message"]
            # Whole answers are not streams: still served.
            assert http.post(CHAT, json={"messages": [USER], "max_tokens": 1}).status_code == 200
        finally:
            for context in held:
                context.__exit__(None, None, None)
        # The clients left: their slots come back as soon as the server notices.
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline and status != 200:
            status = http.post(CHAT, json={**stream, "max_tokens": 1}).status_code
        assert status == 200


def _raw(limited: SimulatorProcess, data: bytes = b"", *, trickle: bytes = b"") -> tuple[bytes, float]:
    """Send `data`, then `trickle` a byte at a time (every 0.1 s); return what came back and when it closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        try:
            for byte in trickle:
                sock.sendall(bytes([byte]))
                sock.settimeout(0.1)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                received += chunk
                if not chunk:
                    break
            sock.settimeout(10)
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        return received, time.monotonic() - started


def test_a_silent_connection_is_closed_after_the_header_timeout(limited: SimulatorProcess) -> None:
    received, elapsed = _raw(limited)
    assert received == b""
    assert elapsed < 5


@pytest.mark.parametrize("first", [b"", b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"], ids=["new", "kept-alive"])
def test_blank_lines_do_not_hold_a_connection(limited: SimulatorProcess, first: bytes) -> None:
    """Blank lines before a request line are skipped by the parser and begin no request; each one re-armed
    uvicorn's keep-alive timer, so a client sending one every few seconds held its connection for ever."""
    received, elapsed = _raw(limited, first, trickle=b"\r\n" * 30)
    assert received.count(b"HTTP/1.1 ") == (1 if first else 0)
    assert elapsed < 5


def test_headers_trickled_byte_by_byte_get_408_and_the_connection_closes(limited: SimulatorProcess) -> None:
    request = f"POST {CHAT} HTTP/1.1\r\nhost: x\r\napi-key: {limited.api_key}\r\n" + "x-slow: " + "a" * 200
    received, elapsed = _raw(limited, trickle=request.encode())
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["error"]["code"] == "RequestTimeout"
    assert elapsed < 5


def test_a_body_that_stops_arriving_gets_408(limited: SimulatorProcess) -> None:
    head = f"POST {CHAT} HTTP/1.1\r\nhost: x\r\napi-key: {limited.api_key}\r\ncontent-length: 100\r\n\r\n"
    received, elapsed = _raw(limited, head.encode() + b'{"messages": ')
    assert received.startswith(b"HTTP/1.1 408 "), received
    assert elapsed < 5


def test_oversized_headers_get_431(limited: SimulatorProcess) -> None:
    request = f"GET / HTTP/1.1\r\nhost: x\r\nx-big: {'a' * 5000}\r\n\r\n"
    received, _ = _raw(limited, request.encode())
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body)["error"]["code"] == "RequestHeaderFieldsTooLarge"


def test_an_idle_kept_alive_connection_is_closed(limited: SimulatorProcess) -> None:
    received, elapsed = _raw(limited, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200 ")
    assert elapsed < 5


def test_slow_clients_do_not_hold_the_server(limited: SimulatorProcess, client: httpx.Client) -> None:
    sockets = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\n")
        started = time.monotonic()
        assert client.post(CHAT, json={"messages": [USER], "max_tokens": 2}).status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "chat", "tools": [{"type": False}], "input": []}, 400),  # was a 500 (IndexError)
        ({"model": "chat", "tools": [{"type": False}], "input": ""}, 400),  # was a 200 echoing an invalid tool
        ({"model": "chat", "input": []}, 200),
    ],
)
def test_responses_found_by_the_fuzz_suite(client: httpx.Client, body: dict[str, Any], status: int) -> None:
    response = client.post("/openai/v1/responses", json=body)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "raw",
    [
        b"OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n",
        b"PROPFIND / HTTP/1.1\r\nhost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\r\n\r\n",
    ],
    ids=["options-star", "propfind", "not-http"],
)
def test_odd_requests_found_by_the_fuzz_suite_get_aoai_errors(limited: SimulatorProcess, raw: bytes) -> None:
    received, _ = _raw(limited, raw)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] in (b"400", b"404", b"405"), received
    assert json.loads(body)["error"]["message"]
