"""Request, response and stream-event hooks: every request and answer, refusals included; a hook that raises
gives AOAI's 500 and a log line naming its extension."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from simulator.delivery import AbortConnection
from tests.extensions.support import CHAT, KEY, chat_body, serving, write_extension

HOOKS = """
from simulator import extend

seen = []

def cap_tokens(request: extend.Request) -> None:
    if request.path.endswith("/chat/completions"):
        body = request.json()
        body["max_tokens"] = 3
        request.set_json(body)
        request.headers["x-ms-client-request-id"] = "from-a-hook"
        request.state["noted"] = "yes"

def stamp(request: extend.Request, response: extend.Response) -> None:
    seen.append(response.status)
    response.headers["x-hooked"] = request.state.get("noted", "no")

def shout(request: extend.Request, event: extend.Event) -> extend.Event | None:
    if event.data == "[DONE]":
        return event
    payload = event.json()
    for choice in payload["choices"]:
        if choice.get("delta", {}).get("content"):
            choice["delta"]["content"] = choice["delta"]["content"].upper()
    event.set_json(payload)
    return event

def initialize(simulator: extend.Simulator) -> None:
    simulator.on_request(cap_tokens)
    simulator.on_response(stamp)
    simulator.on_stream_event(shout)
"""


async def test_request_hooks_change_what_is_answered_and_response_hooks_see_it(tmp_path: Path) -> None:
    async with serving(str(write_extension(tmp_path, HOOKS))) as client:
        answer = await client.post(CHAT, json=chat_body())
    assert answer.status_code == 200
    assert answer.json()["usage"]["completion_tokens"] == 3
    assert answer.headers["x-hooked"] == "yes"
    assert answer.headers["x-ms-client-request-id"] == "from-a-hook"


async def test_response_hooks_see_refusals_before_the_pipeline(tmp_path: Path) -> None:
    async with serving(str(write_extension(tmp_path, HOOKS))) as client:
        unauthorised = await client.post(CHAT, json=chat_body(), headers={"api-key": "wrong"})
        missing = await client.get("/nowhere")
        no_version = await client.post("/openai/deployments/chat/chat/completions", json=chat_body())
    assert unauthorised.status_code == 401 and unauthorised.headers["x-hooked"] == "no"
    assert missing.status_code == 404 and missing.headers["x-hooked"] == "no"
    assert no_version.status_code == 400 and no_version.headers["x-hooked"] == "yes"
    assert unauthorised.json()["error"]["code"] == "401"


async def test_event_hooks_see_each_streamed_event(tmp_path: Path) -> None:
    async with serving(str(write_extension(tmp_path, HOOKS))) as client:
        answer = await client.post(CHAT, json=chat_body(stream=True, max_tokens=20))
    events = [line[len("data: ") :] for line in answer.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    texts = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[1:-1] if json.loads(e)["choices"]]
    words = "".join(text for text in texts if text)
    assert words and words == words.upper()
    assert answer.headers["x-hooked"] == "yes"


async def test_a_request_hook_may_answer_instead(tmp_path: Path) -> None:
    source = """
    from simulator import extend

    def initialize(simulator):
        simulator.on_request(lambda request: extend.json_response({"blocked": True}, 403))
    """
    async with serving(str(write_extension(tmp_path, source))) as client:
        answer = await client.post(CHAT, json=chat_body())
    assert answer.status_code == 403 and answer.json() == {"blocked": True}
    assert answer.headers["apim-request-id"]


@pytest.mark.parametrize("kind", ["on_request", "on_response"])
async def test_a_hook_that_raises_gives_a_clean_500_naming_it(tmp_path: Path, kind: str, caplog) -> None:
    source = f"""
    def broken(*args):
        raise KeyError("nope")

    def initialize(simulator):
        simulator.{kind}(broken)
    """
    path = write_extension(tmp_path, source)
    with caplog.at_level(logging.ERROR, logger="simulator.extensions"):
        async with serving(str(path)) as client:
            answer = await client.post(CHAT, json=chat_body(), headers={"api-key": KEY})
            streamed = await client.post(CHAT, json=chat_body(stream=True), headers={"api-key": KEY})
    assert streamed.status_code == 500 and streamed.json()["error"]["code"] == "InternalServerError"
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {
            "code": "InternalServerError",
            "message": "The server had an error while processing your request. Sorry about that!",
            "param": None,
            "type": None,
        }
    }
    assert f"extension {path} raised in a {kind.removeprefix('on_')} hook" in caplog.text
    assert "KeyError" in caplog.text


async def test_an_event_hook_that_raises_drops_the_stream(tmp_path: Path, caplog) -> None:
    source = """
    def initialize(simulator):
        simulator.on_stream_event(lambda request, event: 1 / 0)
    """
    path = write_extension(tmp_path, source)
    with caplog.at_level(logging.ERROR, logger="simulator.extensions"):
        async with serving(str(path)) as client:
            with pytest.raises(AbortConnection):  # the server drops the connection mid-answer
                await client.post(CHAT, json=chat_body(stream=True))
    assert f"extension {path} raised in a stream event hook" in caplog.text


async def test_event_hooks_see_paced_streams_too(tmp_path: Path) -> None:
    """With latency on, a stream is paced by the pacer's timers; hooked, it is iterated on the same schedule."""
    latency = {"SIMULATOR_LATENCY_CONFIG": json.dumps({"enabled": True, "deployments": {"chat": {
        "ttftMs": 5, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 2000, "tokenStdMs": 0}}})}  # fmt: skip
    async with serving(str(write_extension(tmp_path, HOOKS)), latency) as client:
        answer = await client.post(CHAT, json=chat_body(stream=True, max_tokens=10))
    events = [line[len("data: ") :] for line in answer.text.split("\n\n") if line]
    texts = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[1:-1] if json.loads(e)["choices"]]
    words = "".join(text for text in texts if text)
    assert events[-1] == "[DONE]" and words and words == words.upper()


async def test_event_hooks_leave_other_streams_alone(tmp_path: Path) -> None:
    """Speech streams audio through the same response class as SSE: its bytes are not events to hook."""
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps({"tts": {"model": "tts"}}))
    speech = "/openai/deployments/tts/audio/speech?api-version=2025-04-01-preview"
    body = {"model": "tts", "voice": "alloy", "input": "hello there", "response_format": "pcm"}
    async with serving("", {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments)}) as client:
        plain = await client.post(speech, json=body)
    async with serving(
        str(write_extension(tmp_path, HOOKS)), {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments)}
    ) as client:
        hooked = await client.post(speech, json=body)
    assert plain.status_code == hooked.status_code == 200
    assert hooked.content == plain.content and len(hooked.content) > 1000
    assert hooked.headers["x-hooked"] == "no"  # the response hook ran (the request hook notes chat only)


REPLACING = """
from simulator import extend

async def other_stream():
    yield b'data: {"replaced": true}\\n\\n'
    yield b"data: [DONE]\\n\\n"

def replace(request: extend.Request, response: extend.Response) -> None:
    if not response.streamed:
        return
    how = request.headers.get("x-replace")
    if how == "error":
        raise extend.ApiError(429, "Throttled", "not now")
    if how == "crash":
        raise RuntimeError("boom")
    if how == "json":
        response.streamed = False
        response.set_json({"replaced": True})
    if how == "stream":
        response.stream = other_stream()

def initialize(simulator: extend.Simulator) -> None:
    simulator.on_response(replace)
"""


async def open_streams(client) -> int:
    stats = (await client.get("/++/stats")).json()
    return sum(figures["open_streams"] for figures in stats["deployments"].values())


@pytest.mark.parametrize(
    ("how", "status", "body"),
    [
        ("error", 429, '{"error":{"code":"Throttled","message":"not now","param":null,"type":null}}'),
        ("crash", 500, None),
        ("json", 200, '{"replaced":true}'),
        ("stream", 200, 'data: {"replaced": true}\n\ndata: [DONE]\n\n'),
    ],
)
async def test_a_response_hook_that_replaces_a_stream_gives_its_slot_back_once(
    tmp_path: Path, how: str, status: int, body: str | None
) -> None:
    """A replaced stream is never sent, so only the hooks can end it: its slot (and the open-stream count) once
    leaked, and past SIMULATOR_MAX_CONCURRENT_STREAMS every stream was refused. A replacement stream holds the
    slot until it is sent."""
    path = str(write_extension(tmp_path, REPLACING))
    async with serving(path, {"SIMULATOR_MAX_CONCURRENT_STREAMS": "3"}) as client:
        for _ in range(5):
            answer = await client.post(CHAT, json=chat_body(stream=True), headers={"x-replace": how})
            assert answer.status_code == status, answer.text
            if body is not None:
                assert answer.text == body
            if how == "json":
                assert answer.headers["content-type"] == "application/json"
                assert answer.headers["content-length"] == str(len(body or ""))
        assert await open_streams(client) == 0
        admitted = await client.post(CHAT, json=chat_body(stream=True))
        assert admitted.status_code == 200 and admitted.text.endswith("data: [DONE]\n\n")
        assert await open_streams(client) == 0
