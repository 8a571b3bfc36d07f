"""The openai SDK's own retry, honouring `retry-after-ms`, gets through once the limiter says it will.

A minimal Starlette app puts the limiter in front of a fixed chat answer (the real pipeline is wired by the
app); a Provisioned deployment is used because its bucket drains in fractions of a second. A TPM refusal, whose
room comes back a little over a minute later, names 60 s, which the SDK waits as it is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator

import openai
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.deployments import Deployment
from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig, RateLimiter
from simulator.ratelimit.stores import MemoryStore
from tests.ratelimit.conftest import table_config
from tests.ratelimit.factory import chat, provisioned, standard
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


Served = tuple[str, list[int], list[float]]


@contextlib.asynccontextmanager
async def serving(limiter: RateLimiter, deployment: Deployment) -> AsyncIterator[Served]:
    """The limiter in front of a chat answer on a loopback port: its URL, each answer's status and each 429's
    `retry-after-ms` in seconds (checked against its `retry-after`)."""
    statuses: list[int] = []
    waits: list[float] = []

    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            admission = await limiter.admit(chat(deployment, prompt_tokens=1, max_tokens=body["max_tokens"]))
        except OpenAIError as error:
            statuses.append(error.status)
            waits.append(int(error.headers["retry-after-ms"]) / 1000)
            assert error.headers["retry-after"] == str(math.ceil(waits[-1]))
            return JSONResponse(error.body(), error.status, headers=error.headers)
        statuses.append(200)
        return JSONResponse(ANSWER, headers=admission.headers)

    app = Starlette(routes=[Route("/openai/deployments/{name}/chat/completions", completions, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(wait_for_port, port)
    try:
        yield f"http://127.0.0.1:{port}", statuses, waits
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with serving(RateLimiter(MemoryStore()), DEPLOYMENT) as served:
        yield served


async def test_sdk_waits_retry_after_ms_and_succeeds(server: Served) -> None:
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


class RetryWaits(logging.Handler):
    """The waits the SDK computes before each retry, read from its own log line ("Retrying request in %f seconds"),
    so the test sees the SDK's decision without sleeping through it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.waits: asyncio.Queue[float] = asyncio.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("Retrying request in"):
            self.waits.put_nowait(float(record.args[0]))  # type: ignore[index]


@pytest.mark.parametrize("backend", ["memory", "table"])
async def test_sdk_waits_the_minute_a_tpm_refusal_names(backend: str, request: pytest.FixtureRequest) -> None:
    config = RateLimitConfig() if backend == "memory" else table_config(request.getfixturevalue("azurite"))
    limiter = RateLimiter.from_config(config)
    await limiter.start()
    logger = logging.getLogger("openai._base_client")
    retries = RetryWaits()
    level = logger.level
    logger.addHandler(retries)
    logger.setLevel(logging.INFO)
    try:
        async with serving(limiter, standard("tpm", tpm=10_000, rpm=60_000)) as (url, statuses, waits):
            client = openai.AsyncAzureOpenAI(azure_endpoint=url, api_key="k", api_version="2024-10-21", max_retries=1)
            async with client:
                await client.chat.completions.create(model="tpm", messages=[], max_tokens=10_000)  # the whole minute
                retried = asyncio.create_task(client.chat.completions.create(model="tpm", messages=[], max_tokens=1))
                wait = await asyncio.wait_for(retries.waits.get(), 30)
                retried.cancel()  # the retry would come a minute later
                with contextlib.suppress(asyncio.CancelledError):
                    await retried
    finally:
        logger.removeHandler(retries)
        logger.setLevel(level)
        await limiter.aclose()
    # The room comes back a little over a minute later (a quarter-second bucket, a lease); the 429 says 60 s,
    # `retry-after: 60` and `retry-after-ms: 60000`, and the SDK waits exactly that, not a back-off of its own.
    assert statuses == [200, 429] and waits == [60.0]
    assert wait == 60.0
