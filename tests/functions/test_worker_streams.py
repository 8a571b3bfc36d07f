"""Streams through the real Functions worker: pacing survives the worker's web server and the host's proxy, a
client that leaves mid-stream is noticed (and its tokens settled), and injected resets and cuts reach the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.functions.conftest import KEY, app_settings, functions_host
from tests.support.functions_host import FunctionsHost
from tests.support.timing import loop_lag

MESSAGES = [{"role": "user", "content": "hi"}]
TTFT, TOKEN, TOKENS = 0.05, 0.01, 20  # the paced deployment: 50 ms to the first token, then 100 tokens/s
SLOW_TOKEN = 0.05  # the provisioned deployment streams 20 tokens/s, so a client can leave mid-stream
LATENCY = {
    "enabled": True,
    "deployments": {
        "paced": {"ttftMs": 50, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 100, "tokenStdMs": 0},
        "ptu": {"ttftMs": 10, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 20, "tokenStdMs": 0},
    },
}
# 4 PTU of gpt-4o: 10,000 input tokens per minute, so the bucket drains 1.67 % a second.
DEPLOYMENTS = {"paced": {"model": "gpt-4o"}, "ptu": {"model": "gpt-4o", "type": "provisioned", "ptu": 4}}
CONCURRENT = 20
BURST = 0.02  # ten times the spread of one write's chunks: anything less is one burst


@pytest.fixture(scope="module")
def host(worker_dir, tmp_path_factory) -> Iterator[FunctionsHost]:
    deployments = tmp_path_factory.mktemp("worker-streams") / "deployments.json"
    deployments.write_text(json.dumps(DEPLOYMENTS))
    settings = app_settings(
        OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments),
        SIMULATOR_LATENCY_ENABLED="true",
        SIMULATOR_LATENCY_CONFIG=json.dumps(LATENCY),
        SIMULATOR_COMPLETION_TOKENS=str(TOKENS),  # answers as long as max_tokens allows, up to 20
    )
    with functions_host(worker_dir, settings) as started:
        client(started).chat.completions.create(model="paced", messages=MESSAGES, max_tokens=1)  # warm
        yield started


def client(host: FunctionsHost, **options: object) -> OpenAI:
    return OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0, **options)


async def test_a_paced_stream_arrives_spread_over_the_modelled_time(host: FunctionsHost) -> None:
    sdk = AsyncOpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    async with sdk, loop_lag() as lag:
        started = time.monotonic()
        stream = await sdk.chat.completions.create(model="paced", messages=MESSAGES, max_tokens=TOKENS, stream=True)
        arrivals = [time.monotonic() - started async for c in stream if c.choices and c.choices[0].delta.content]
    assert len(arrivals) == TOKENS
    modelled_span = (TOKENS - 1) * TOKEN
    assert arrivals[0] >= TTFT - 0.002 and arrivals[-1] >= TTFT + modelled_span - 0.002
    # Token by token, not held back and sent in one burst at the end (which would make the span about 0). A busy
    # machine may deliver the first tokens late and the rest together: allow twice the lateness this loop saw.
    assert arrivals[-1] - arrivals[0] >= max(BURST, modelled_span - 2 * lag.worst - 0.01)


async def test_concurrent_paced_streams_are_all_served_in_time(host: FunctionsHost) -> None:
    """Many streams at once share the worker's one event loop; each still takes about its modelled time."""
    sdk = AsyncOpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)

    async def one() -> tuple[int, float]:
        started = time.monotonic()
        stream = await sdk.chat.completions.create(model="paced", messages=MESSAGES, max_tokens=TOKENS, stream=True)
        tokens = [chunk async for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
        return len(tokens), time.monotonic() - started

    async with sdk:
        results = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    assert [tokens for tokens, _ in results] == [TOKENS] * CONCURRENT
    assert min(seconds for _, seconds in results) >= TTFT + (TOKENS - 1) * TOKEN - 0.002


def ask(sdk: OpenAI, deployment: str) -> object:
    return sdk.chat.completions.with_raw_response.create(model=deployment, messages=MESSAGES, max_tokens=1)


def utilisation(raw: object) -> float:
    return float(raw.headers["azure-openai-deployment-utilization"].rstrip("%"))


def test_a_client_leaving_mid_stream_is_settled_and_the_worker_keeps_serving(host: FunctionsHost) -> None:
    sdk = client(host)
    before = len(host.invocations)
    raw = sdk.chat.completions.with_raw_response.create(model="ptu", messages=MESSAGES, max_tokens=1000, stream=True)
    charged = utilisation(raw)  # the estimate: prompt + 4 × max_tokens, about 40 % of the minute's capacity
    assert charged > 35
    stream = raw.parse()
    for received, _ in enumerate(stream, start=1):
        if received == 3:
            break
    stream.close()  # leaves about 1 s before the 20-token answer would end
    left = time.monotonic()
    # Settled on the answer's usage (prompt + 4 × 20 tokens, under 1 %) when the worker notices the client left.
    # Unsettled, the estimate would only drain at 1.67 % a second.
    while (now := utilisation(ask(sdk, "ptu"))) > charged / 2:
        assert time.monotonic() - left < 3, f"utilisation still {now} %: the left stream was not settled"
    invocations = host.invocations_since(before, count=2)
    assert [(i.function, i.status) for i in invocations[:1]] == [("v1_chat_completions", "Success")]
    assert sdk.chat.completions.create(model="paced", messages=MESSAGES, max_tokens=2).usage.completion_tokens == 2


def test_an_injected_reset_drops_the_connection(host: FunctionsHost) -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        client(host).chat.completions.create(
            model="paced", messages=MESSAGES, max_tokens=2, extra_headers={"x-simulator-fault": "reset"}
        )
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


@pytest.mark.parametrize("kept", [1, 3])
def test_an_injected_cut_ends_a_stream_after_k_events(host: FunctionsHost, kept: int) -> None:
    stream = client(host).chat.completions.create(
        model="paced",
        messages=MESSAGES,
        max_tokens=TOKENS,
        stream=True,
        extra_headers={"x-simulator-fault": f"cut; after={kept}"},
    )
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert len(received) == kept
    assert received[0].choices == [] and received[0].prompt_filter_results
