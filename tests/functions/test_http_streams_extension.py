"""The Functions host path as the HTTP streams extension serves it: the extension's own FastAPI app and
uvicorn server (what the worker runs), the function registered on it, and the openai SDK over a socket.

The local host writes a paced stream from timer callbacks, running the server's ASGI `send` at once
(`Pacer.deliver`); that only works where `send` finishes without suspending. This checks that the
extension's stack (FastAPI's middleware around uvicorn's `send`) lets it, so streams on Azure are paced the
same way, not through the slower fallback.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import uvicorn
from azurefunctions.extensions.http.fastapi.web import WebApp
from openai import AsyncOpenAI

import function_app
from simulator.api import responses
from simulator.latency import Pacer
from tests.functions.test_function_app import KEY, _functions
from tests.support.ports import free_port

TTFT, TOKEN, TOKENS = 0.05, 0.01, 20
LATENCY = {
    "enabled": True,
    "deployments": {
        "paced": {"ttftMs": 50, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 100, "tokenStdMs": 0}
    },
}


@pytest.fixture
async def extension_server(monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", KEY)
    monkeypatch.setenv("SIMULATOR_LATENCY_ENABLED", "true")
    monkeypatch.setenv("SIMULATOR_LATENCY_CONFIG", json.dumps(LATENCY))
    monkeypatch.setenv("SIMULATOR_COMPLETION_TOKENS", str(TOKENS))  # answers as long as max_tokens allows
    monkeypatch.setattr(function_app, "_simulator", None)
    web = WebApp()
    web.route(_functions()["v1_chat_completions"].get_user_function())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web.get_app(), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        assert not serving.done(), "the extension's server stopped before it started"
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/openai/v1"
    server.should_exit = True
    await serving


async def test_paced_streams_are_written_from_the_timer_under_the_extension(extension_server, monkeypatch) -> None:
    deliveries = fallbacks = 0
    finish, deliver = responses._finish, Pacer.deliver

    def counted_finish(step, waiting):
        nonlocal fallbacks
        fallbacks += 1
        return finish(step, waiting)

    def counted_deliver(pacer, stream, write):
        nonlocal deliveries
        deliveries += 1
        return deliver(pacer, stream, write)

    monkeypatch.setattr(responses, "_finish", counted_finish)
    monkeypatch.setattr(Pacer, "deliver", counted_deliver)
    client = AsyncOpenAI(base_url=extension_server, api_key=KEY, max_retries=0)
    await client.chat.completions.create(model="paced", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    started = time.monotonic()
    stream = await client.chat.completions.create(
        model="paced",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=TOKENS,
        stream=True,
    )
    arrivals, text = [], ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
            text += chunk.choices[0].delta.content
    assert len(arrivals) == TOKENS and text
    assert arrivals[0] >= TTFT - 0.002 and arrivals[-1] >= TTFT + (TOKENS - 1) * TOKEN - 0.002  # paced
    assert deliveries == 1  # written from timer callbacks (`Pacer.deliver`), not iterated by a task
    assert fallbacks == 0  # and each write finished at once: none needed a task to complete it
