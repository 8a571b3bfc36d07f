"""Rate limits through HTTP: simulator server processes, the openai SDK, and Azurite for budgets shared by
several processes. The limits themselves are unit-tested in tests/ratelimit; here they are checked where a
client meets them: headers, 429 bodies, retry-after that the SDK can trust, streams, replay, scale-out."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncAzureOpenAI, AzureOpenAI

from simulator.ratelimit.config import DEFAULT_TABLE_LEASE_FRACTION
from simulator.ratelimit.limiter import MAX_LEASE_FACTOR
from tests.support import spec
from tests.support.azurite import Azurite
from tests.support.server import REPO, SimulatorProcess

API_VERSION = "2024-10-21"
CONTENT = "Say hello"  # gpt-4o is charged ceil(characters / 4) for the prompt: 3 tokens
PROMPT_CHARGE = math.ceil(len(CONTENT) / 4)
LIMITED = {
    "standard": {"model": "gpt-4o", "tokensPerMinute": 6_000},  # 36 RPM: 6 requests per 10-second window
    "tokens": {"model": "gpt-4o", "tokensPerMinute": 1_000, "requestsPerMinute": 600},
    "calls": {"model": "gpt-4o", "tokensPerMinute": 100_000, "requestsPerMinute": 12},
    "streamed": {"model": "gpt-4o", "tokensPerMinute": 1_000, "requestsPerMinute": 600},
    # 4 PTU of gpt-4o: 10,000 input tokens per minute, draining 166.7 per second.
    "ptu": {"model": "gpt-4o", "type": "provisioned", "ptu": 4},
}
ANSWER_TOKENS = 40  # every generated answer is exactly this long (SIMULATOR_COMPLETION_TOKENS)
MESSAGE = re.compile(
    r"Your requests to gpt-4o for gpt-4o in East US have exceeded the (token|call) rate limit for your current "
    r"OpenAI S0 pricing tier\. This request was for ChatCompletions_Create under Azure OpenAI API version "
    r"2024-10-21\. Please retry after (\d+) seconds?\. To increase your default rate limit, visit: "
    r"https://aka\.ms/oai/quotaincrease\."
)


def deployments_file(directory: Path, deployments: dict[str, Any]) -> str:
    path = directory / f"deployments-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(deployments))
    return str(path)


def start_all(processes: list[SimulatorProcess]) -> list[SimulatorProcess]:
    """Start server processes side by side: each takes a moment to import and bind."""
    with ThreadPoolExecutor(len(processes)) as pool:
        list(pool.map(SimulatorProcess.start, processes))
    return processes


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    directory = tmp_path_factory.mktemp("limits")
    env = {
        "OPENAI_DEPLOYMENT_CONFIG_PATH": deployments_file(directory, LIMITED),
        "SIMULATOR_COMPLETION_TOKENS": str(ANSWER_TOKENS),
        "SIMULATOR_SEED": "1",
    }
    with SimulatorProcess(env) as process:
        yield process


def sdk(server: SimulatorProcess, **options: Any) -> AzureOpenAI:
    options.setdefault("max_retries", 0)
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, **options)


def ask(client: AzureOpenAI, deployment: str, max_tokens: int, content: str = CONTENT) -> Any:
    """A chat completion, with its raw response (headers)."""
    return client.chat.completions.with_raw_response.create(
        model=deployment, messages=[{"role": "user", "content": content}], max_tokens=max_tokens
    )


def refused(client: AzureOpenAI, deployment: str, max_tokens: int) -> openai.RateLimitError:
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, deployment, max_tokens)
    return caught.value


def assert_aoai_429(error: openai.RateLimitError, wording: str) -> float:
    """The 429 as AOAI words it, valid against the spec; returns the wait it announces, in seconds."""
    body = error.response.json()
    if spec.available():
        spec.validate_error(body)
    assert body["error"]["code"] == "RateLimitReached"
    match = MESSAGE.fullmatch(body["error"]["message"])
    assert match is not None, body["error"]["message"]
    assert match.group(1) == wording
    headers = error.response.headers
    milliseconds = int(headers["retry-after-ms"])
    assert int(headers["retry-after"]) == math.ceil(milliseconds / 1000) == int(match.group(2))
    return milliseconds / 1000


def away_from_window_end(margin: float = 1.0) -> None:
    """Request windows are aligned on multiples of 10 s: start a sequence that must stay in one window early."""
    into = time.time() % 10
    if into > 10 - margin:
        time.sleep(10 - into + 0.01)


def test_success_headers_follow_the_configuration(limited: SimulatorProcess) -> None:
    client = sdk(limited)
    away_from_window_end()
    first, second = (ask(client, "standard", 10) for _ in range(2))
    cost = 10 + PROMPT_CHARGE
    for raw, used in ((first, 1), (second, 2)):
        assert raw.headers["x-ratelimit-limit-requests"] == "6"  # 36 RPM, counted per 10 s
        assert raw.headers["x-ratelimit-limit-tokens"] == "6000"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(6 - used)
        assert raw.headers["x-ratelimit-remaining-tokens"] == str(6_000 - used * cost)
        assert raw.parse().usage.completion_tokens == 10


def test_token_limit_429(limited: SimulatorProcess) -> None:
    client = sdk(limited)
    ask(client, "tokens", 600)
    error = refused(client, "tokens", 600)
    wait = assert_aoai_429(error, "token")
    assert 59 < wait <= 61  # the first charge leaves the 60-s window
    assert error.response.headers["x-ratelimit-remaining-tokens"] == str(1_000 - 600 - PROMPT_CHARGE)


def test_call_limit_429(limited: SimulatorProcess) -> None:
    client = sdk(limited)
    away_from_window_end()
    for _ in range(2):  # 12 RPM: 2 requests per 10-s window
        ask(client, "calls", 5)
    error = refused(client, "calls", 5)
    wait = assert_aoai_429(error, "call")
    assert 0 < wait <= 10
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"


async def test_streams_are_limited_and_counted_once(limited: SimulatorProcess) -> None:
    client = AsyncAzureOpenAI(
        azure_endpoint=limited.url, api_key=limited.api_key, api_version=API_VERSION, max_retries=0
    )
    async with client:
        raw = await client.chat.completions.with_raw_response.create(
            model="streamed", messages=[{"role": "user", "content": CONTENT}], max_tokens=600, stream=True
        )
        chunks = [chunk async for chunk in raw.parse()]
        assert any(chunk.choices and chunk.choices[0].finish_reason for chunk in chunks)
        assert raw.headers["x-ratelimit-remaining-tokens"] == str(1_000 - 600 - PROMPT_CHARGE)
        # Had the stream been charged twice (or again as it ended) there would be no room for this one.
        after = await client.chat.completions.with_raw_response.create(
            model="streamed", messages=[{"role": "user", "content": CONTENT}], max_tokens=300
        )
        assert after.headers["x-ratelimit-remaining-tokens"] == str(1_000 - 900 - 2 * PROMPT_CHARGE)
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(
                model="streamed", messages=[{"role": "user", "content": CONTENT}], max_tokens=300, stream=True
            )
    assert_aoai_429(caught.value, "token")


def utilisation(raw: Any) -> float:
    value = raw.headers["azure-openai-deployment-utilization"]
    assert re.fullmatch(r"\d+\.\d%", value)
    return float(value[:-1])


def test_provisioned_utilisation_and_sdk_retry(limited: SimulatorProcess) -> None:
    """Fill the utilisation bucket to just under 100 %, overfill it with one larger request, then let the SDK
    meet the 429 and retry on its own after exactly the announced wait."""
    client = sdk(limited)
    readings = [utilisation(ask(client, "ptu", ANSWER_TOKENS))]
    while readings[-1] < 95.0:  # each request: about 10 prompt + 4 × 40 answer tokens, 1.7 % of 10,000
        readings.append(utilisation(ask(client, "ptu", ANSWER_TOKENS)))
    assert readings == sorted(readings) and len(readings) > 40
    # Admitted while at or below 100 %, it takes the bucket to about 103 %: a wait of about 2 s.
    over = utilisation(ask(client, "ptu", ANSWER_TOKENS, "lorem ipsum " * 300))
    assert 100.0 < over < 110.0
    seen: list[tuple[float, httpx.Response]] = []
    sent: list[float] = []
    http_client = openai.DefaultHttpxClient(
        event_hooks={
            "request": [lambda request: sent.append(time.monotonic())],
            "response": [lambda response: seen.append((time.monotonic(), response))],
        }
    )
    retrying = sdk(limited, max_retries=2, http_client=http_client)
    completion = retrying.chat.completions.create(
        model="ptu", messages=[{"role": "user", "content": CONTENT}], max_tokens=ANSWER_TOKENS
    )
    assert completion.choices[0].message.content
    assert [response.status_code for _, response in seen] == [429, 200]
    answered_at, limited_response = seen[0]
    assert "provisioned throughput" in limited_response.json()["error"]["message"]
    assert float(limited_response.headers["azure-openai-deployment-utilization"][:-1]) > 100.0
    wait = int(limited_response.headers["retry-after-ms"]) / 1000
    assert 0.5 < wait < 7
    # The SDK waited what the 429 said (no sooner), and the one retry after that wait was served.
    assert wait - 0.005 <= sent[1] - answered_at < wait + 0.5


# --- replay -------------------------------------------------------------------------------------------------

SAMPLE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
# gpt-4o without max_tokens is charged its measured default, 640, plus ceil(58 characters / 4).
SAMPLE_COST = 640 + math.ceil(sum(len(message["content"]) for message in SAMPLE) / 4)


def test_replayed_answers_are_limited_once_per_request(tmp_path: Path) -> None:
    env = {
        "SIMULATOR_MODE": "replay",
        "RECORDING_DIR": str(REPO / "recordings"),
        "RECORDING_TIMING_SCALE": "0",
        "OPENAI_DEPLOYMENT_CONFIG_PATH": deployments_file(
            tmp_path, {"gpt-4o": {"model": "gpt-4o", "tokensPerMinute": 2_000, "requestsPerMinute": 600}}
        ),
    }
    with SimulatorProcess(env) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        url = f"/openai/deployments/gpt-4o/chat/completions?api-version={API_VERSION}"
        headers = {"api-key": server.api_key}
        plain = http.post(url, json={"messages": SAMPLE}, headers=headers)
        assert plain.status_code == 200
        assert plain.json()["choices"][0]["message"]["content"] == "The capital of France is Paris."
        assert plain.headers["x-ratelimit-remaining-tokens"] == str(2_000 - SAMPLE_COST)
        with http.stream("POST", url, json={"messages": SAMPLE, "stream": True}, headers=headers) as stream:
            body = stream.read()
        assert stream.status_code == 200 and body.rstrip().endswith(b"data: [DONE]")
        assert stream.headers["x-ratelimit-remaining-tokens"] == str(2_000 - 2 * SAMPLE_COST)
        third = http.post(url, json={"messages": SAMPLE}, headers=headers)
        assert third.headers["x-ratelimit-remaining-tokens"] == str(2_000 - 3 * SAMPLE_COST)
        fourth = http.post(url, json={"messages": SAMPLE}, headers=headers)
        assert fourth.status_code == 429 and fourth.json()["error"]["code"] == "RateLimitReached"
        assert "token rate limit" in fourth.json()["error"]["message"]


# --- several processes sharing one deployment through Table Storage -------------------------------------------

SHARED_TPM = 30_000
SHARED_COST = 100 + PROMPT_CHARGE
# The largest lease an instance holds on Table Storage: 1 % of the limit, twice that under a burst.
LEASE = math.ceil(SHARED_TPM * DEFAULT_TABLE_LEASE_FRACTION * MAX_LEASE_FACTOR)


async def spend(server: SimulatorProcess, requests: int, concurrency: int = 4) -> tuple[int, int]:
    """Send `requests` chat requests, `concurrency` at a time; (admitted, refused)."""
    client = AsyncAzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)
    counts = [0, 0]
    queue = iter(range(requests))

    async def one_client() -> None:
        for _ in queue:
            try:
                raw = await client.chat.completions.with_raw_response.create(
                    model="shared", messages=[{"role": "user", "content": CONTENT}], max_tokens=100
                )
            except openai.RateLimitError:
                counts[1] += 1
                continue
            # Limited, not served unlimited because the store failed (the fail-open policy drops the headers).
            assert "x-ratelimit-remaining-tokens" in raw.headers
            counts[0] += 1

    async with client:
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return counts[0], counts[1]


@pytest.fixture
def shared_servers(azurite: Azurite, tmp_path: Path) -> Iterator[list[SimulatorProcess]]:
    table = f"e2elimits{uuid.uuid4().hex[:12]}"
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "RATE_LIMIT_TABLE": table,
        "RUNTIME_CONFIG_TABLE": f"{table}config",
        "SIMULATOR_COMPLETION_TOKENS": "5",
        "OPENAI_DEPLOYMENT_CONFIG_PATH": deployments_file(
            tmp_path, {"shared": {"model": "gpt-4o", "tokensPerMinute": SHARED_TPM, "requestsPerMinute": 600_000}}
        ),
    }
    servers = start_all([SimulatorProcess(env) for _ in range(4)])
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


async def test_three_processes_share_one_budget_through_table_storage(shared_servers: list[SimulatorProcess]) -> None:
    *three, fourth = shared_servers
    # Half the budget first, spread over the three; then a fourth process sees what they left.
    half = await asyncio.gather(*(spend(server, 50) for server in three))
    served = sum(admitted for admitted, _ in half) * SHARED_COST
    assert served == 150 * SHARED_COST  # well under the limit: nothing refused
    raw = ask(sdk(fourth), "shared", 100)
    remaining = int(raw.headers["x-ratelimit-remaining-tokens"])
    # Leased units count as used: each of the three may hold one lease it has not spent yet.
    assert SHARED_TPM - served - 3 * LEASE - SHARED_COST <= remaining <= SHARED_TPM - served - SHARED_COST

    # Then all four well over the limit at once: together they stay within it (nothing leaves the 60-s window
    # during the test), short of it by at most the leases left unspent (one per process) and less than one
    # request's cost that nobody could use.
    rest = await asyncio.gather(*(spend(server, 150) for server in shared_servers))
    admitted = served + SHARED_COST + sum(admitted for admitted, _ in rest) * SHARED_COST
    assert SHARED_TPM - 4 * LEASE - SHARED_COST < admitted <= SHARED_TPM
    assert all(refused > 0 for _, refused in rest)
