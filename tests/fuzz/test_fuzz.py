"""Property-based fuzzing of every route over a real socket (docs/security.md: Fuzzing).

Properties, for every generated request: never a 5xx; never a hang (each answer within `TIMEOUT`); a 2xx body
valid against the route's answer schema in ../shared/specs (each event of a stream too); every 4xx an AOAI error
object with `code`, `message`, `param` and `type`. After the run the server still answers a well-formed chat
and has logged no stack trace.

`make test` runs `FUZZ_REQUESTS` (default 400) requests; `make fuzz` runs 10,000 and prints the counts per
family and status, and the run time.
"""

from __future__ import annotations

import collections
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.requests import MAX_BODY_BYTES, MAX_HEADER_BYTES, FuzzRequest, contract, fuzz_requests, send_raw
from tests.support import spec
from tests.support.server import SimulatorProcess

REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "400"))
TIMEOUT = 20.0
API_KEY = "fuzz-key"
DEPLOYMENTS = {
    "chat": {"model": "gpt-4o", "tokensPerMinute": 1_000_000_000},
    "mini": {"model": "gpt-4o-mini", "tokensPerMinute": 1_000_000_000},
    "reasoner": {"model": "o3-mini", "tokensPerMinute": 1_000_000_000},
    "instruct": {"model": "gpt-35-turbo-instruct", "tokensPerMinute": 1_000_000_000},
    "embed": {"model": "text-embedding-3-small", "tokensPerMinute": 1_000_000_000},
}
COUNTS: collections.Counter[str] = collections.Counter()
SLOWEST: list[tuple[float, str]] = []  # the slowest answers, for the summary


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("fuzz") / "deployments.json"
    config.write_text(json.dumps(DEPLOYMENTS))
    env = {
        "OPENAI_DEPLOYMENT_CONFIG_PATH": str(config),
        "SIMULATOR_ADMIN_KEY": "fuzz-admin-key",  # generated PATCHes to /++/config cannot change the server
        "SIMULATOR_FAULT_HEADER": "false",
        "SIMULATOR_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "SIMULATOR_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "SIMULATOR_HEADER_TIMEOUT_SECONDS": "1",
        "SIMULATOR_BODY_TIMEOUT_SECONDS": "2",
    }
    started = time.monotonic()
    with SimulatorProcess(env, api_key=API_KEY) as server:
        yield server
        output = server.stop()
    elapsed = time.monotonic() - started
    families = ", ".join(f"{name} {count}" for name, count in sorted(COUNTS.items()) if ":" not in name)
    statuses = ", ".join(f"{name[7:]} {count}" for name, count in sorted(COUNTS.items()) if name.startswith("status:"))
    print(f"\nfuzz: {COUNTS['total']} requests in {elapsed:.1f} s; families: {families}; statuses: {statuses}")
    print("slowest: " + "; ".join(f"{seconds:.2f} s {request}" for seconds, request in SLOWEST))
    assert "Traceback" not in output, output[-5000:]


@pytest.fixture(scope="module")
def client(fuzz_server: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.url, timeout=TIMEOUT) as http:
        yield http


@settings(
    max_examples=REQUESTS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(request=fuzz_requests(API_KEY))
def test_any_request_gets_an_aoai_answer(
    fuzz_server: SimulatorProcess, client: httpx.Client, request: FuzzRequest
) -> None:
    COUNTS["total"] += 1
    COUNTS[request.family] += 1
    started = time.monotonic()
    if request.raw is not None:
        status = _check_raw(send_raw(fuzz_server.port, request.raw, TIMEOUT), request)
    else:
        status = _check(client, request)
    COUNTS[f"status:{status}"] += 1
    SLOWEST.append((time.monotonic() - started, repr(request)[:160]))
    SLOWEST.sort(reverse=True)
    del SLOWEST[3:]


def test_the_server_still_answers_a_well_formed_chat(fuzz_server: SimulatorProcess, client: httpx.Client) -> None:
    response = client.post(
        "/openai/deployments/chat/chat/completions?api-version=2024-10-21",
        json={"messages": [{"role": "user", "content": "still there?"}], "max_tokens": 5},
        headers={"api-key": API_KEY},
    )
    assert response.status_code == 200, response.text
    spec.validate(response.json(), "createChatCompletionResponse")


def _check(client: httpx.Client, request: FuzzRequest) -> int:
    with client.stream(request.method, request.path, headers=list(request.headers), content=request.body) as response:
        body = response.read()
    status = response.status_code
    assert status < 500, (request, status, body[:1000])
    if request.method == "HEAD" or status in (204, 304):
        return status
    if status >= 400:
        _check_error(body, request)
    elif status < 300:
        _check_answer(request, response.headers.get("content-type", ""), body)
    return status


def _check_raw(received: bytes, request: FuzzRequest) -> int:
    if not received:  # closed without an answer: a silent idle connection, or bytes after a complete request
        return 0
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert status < 500, (request, received[:1000])
    if status >= 400 and body:
        _check_error(body, request)
    return status


def _check_error(body: bytes, request: FuzzRequest) -> None:
    try:
        document = json.loads(body)
    except ValueError:
        raise AssertionError(f"error answer is not JSON: {request} → {body[:500]!r}") from None
    spec.validate_error(document)


def _check_answer(request: FuzzRequest, content_type: str, body: bytes) -> None:
    terms = contract(request.route, request.method)
    if content_type.startswith("text/event-stream"):
        events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
        # Chat and completions streams end with `[DONE]`; the Responses API's with its `response.completed` event.
        if request.route.path.endswith("completions"):
            assert events and events[-1] == b"[DONE]", (request, body[-300:])
            events = events[:-1]
        assert events, (request, body[-300:])
        if terms.event is not None:
            validator = spec.validator(terms.event, terms.document)
            for event in events:
                _valid(validator, json.loads(event), request)
        return
    if not content_type.startswith("application/json"):
        return  # the dashboard's page and scripts, images, speech: no JSON to check
    document = json.loads(body)
    if terms.answer is not None:
        _valid(spec.validator(terms.answer, terms.document), document, request)


def _valid(validator: Any, document: Any, request: FuzzRequest) -> None:
    error = next(iter(validator.iter_errors(_trimmed(document))), None)
    assert error is None, (request, error.message if error else None, json.dumps(document)[:1000])


def _trimmed(value: Any) -> Any:
    """`value` with long arrays of numbers (embeddings) cut to their first items once every item is checked to
    be a number: jsonschema takes seconds over the millions of floats of a 2,048-input answer. One deviation of
    the service from the GA spec is allowed: an echoed prompt's first token has no logprob (`null` in
    `token_logprobs` and `top_logprobs`), which the spec's item types do not admit."""
    if isinstance(value, dict):
        for key, stand_in in (("token_logprobs", 0.0), ("top_logprobs", {})):
            if isinstance(value.get(key), list) and value[key][:1] == [None]:
                value = {**value, key: [stand_in, *value[key][1:]]}
        return {key: _trimmed(item) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) > 8 and all(isinstance(item, int | float) and not isinstance(item, bool) for item in value):
            return value[:8]
        return [_trimmed(item) for item in value]
    return value
