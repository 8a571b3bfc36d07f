"""The openai SDK's own retry, honouring `retry-after-ms`, gets through once the limiter says it will.

A minimal Starlette app puts the limiter in front of a fixed chat answer (the real pipeline is wired by the
app); a Provisioned deployment is used because its bucket drains in fractions of a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import openai
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimiter
from simulator.ratelimit.stores import MemoryStore
from tests.ratelimit.factory import chat, provisioned
from tests.support.ports import free_port, wait_for_port

DEPLOYMENT = provisioned("ptu", model="gpt-4o", ptu=100)  # 250,000 per minute, draining 4,167 per second
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[int], list[float]]]:
    limiter = RateLimiter(MemoryStore())
    statuses: list[int] = []
    waits: list[float] = []

    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            admission = await limiter.admit(chat(DEPLOYMENT, prompt_tokens=1, max_tokens=body["max_tokens"]))
        except OpenAIError as error:
            statuses.append(error.status)
            waits.append(int(error.headers["retry-after-ms"]) / 1000)
            return JSONResponse(error.body(), error.status, headers=error.headers)
        statuses.append(200)
        return JSONResponse(ANSWER, headers=admission.headers)

    app = Starlette(routes=[Route("/openai/deployments/{name}/chat/completions", completions, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(wait_for_port, port)
    yield f"http://127.0.0.1:{port}", statuses, waits
    server.should_exit = True
    await task


async def test_sdk_waits_retry_after_ms_and_succeeds(server: tuple[str, list[int], list[float]]) -> None:
    url, statuses, waits = server
    client = openai.AsyncAzureOpenAI(azure_endpoint=url, api_key="k", api_version="2024-10-21", max_retries=1)
    async with client:
        for _ in range(2):  # 126,001 each: the second takes the bucket to 101 %
            await client.chat.completions.create(model="ptu", messages=[], max_tokens=31_500)
        started = time.monotonic()
        raw = await client.chat.completions.with_raw_response.create(model="ptu", messages=[], max_tokens=1)
        elapsed = time.monotonic() - started
    assert statuses == [200, 200, 429, 200]
    assert raw.headers["azure-openai-deployment-utilization"].endswith("%")
    # About (252,002 - 250,000) / 4,166.7 per second ≈ 0.48 s; the SDK waited what the 429 said, and the retry
    # after that wait was served.
    assert 0.3 < waits[0] <= 0.48
    assert waits[0] <= elapsed < waits[0] + 1.0
