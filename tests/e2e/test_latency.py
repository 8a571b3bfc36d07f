"""The latency model through HTTP, timed at the openai SDK (docs/latency.md).

Latencies are small and fixed (standard deviation 0), so each answer has one planned time. Timing noise on a
busy CI machine only ever makes an answer later, never earlier: the client starts its clock before the
server does, and the pacer releases on absolute deadlines. So every check is one-sided: never earlier than
planned (tight: `EARLY`), and late by at most `LATE` (generous) at the median of a stream's chunks or at the
best of a few repeats. These check that the right delays are applied; bench/latency_accuracy.py measures
accuracy under load.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from openai import AzureOpenAI

from tests.support.server import SimulatorProcess
from tests.support.timing import Lag, scheduler_lag

API_VERSION = "2024-10-21"
MESSAGES = [{"role": "user", "content": "hi"}]
EARLY = 0.002  # seconds: the pacer may wake up to half a 1 ms tick early
LATE = 0.025
REPEATS = 3
TTFT = 0.080
TOKEN = 0.010  # 100 tokens per second
FIXED = {"ttftStdMs": 0, "prefillMsPerToken": 0, "tokenStdMs": 0}
LATENCY = {
    "enabled": True,
    "operations": {"embeddings": {"ttftMs": 120, "ttftStdMs": 0, "prefillMsPerToken": 0}},
    "deployments": {
        "paced": {**FIXED, "ttftMs": 80, "tokensPerSecond": 100},
        "prefill": {**FIXED, "ttftMs": 40, "prefillMsPerToken": 0.1, "tokensPerSecond": 100},
        "bursty": {**FIXED, "ttftMs": 80, "tokensPerSecond": 100, "burstTokens": 5},
    },
}


def start(env: dict[str, str]) -> SimulatorProcess:
    process = SimulatorProcess({"SIMULATOR_SEED": "1", **env}).start()
    try:  # the first chat request of a process loads tiktoken's encoding: keep that out of the timings
        client(process).chat.completions.create(model="paced", messages=MESSAGES, max_tokens=1)
    except BaseException:
        process.stop()
        raise
    return process


def client(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    process = start({"SIMULATOR_LATENCY_ENABLED": "true", "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY)})
    client(process).embeddings.create(model="embed", input="warm-up")  # ada-002's encoding is another one
    yield process
    process.stop()


def assert_on_time(durations: Sequence[float], planned: float) -> None:
    """Repeats of one request: none came early, and the best was at most `LATE` late."""
    assert min(durations) >= planned - EARLY, f"{min(durations):.4f} s is earlier than planned {planned:.4f} s"
    assert min(durations) <= planned + LATE, f"best of {durations} is over {LATE} s later than {planned:.4f} s"


def assert_stream_on_time(arrivals: Sequence[float], planned: Sequence[float], lag: Lag) -> None:
    """Each chunk no earlier than planned; the chunks' median lateness at most `LATE` beyond the machine's own."""
    lateness = [arrival - plan for arrival, plan in zip(arrivals, planned, strict=True)]
    assert min(lateness) >= -EARLY, f"a chunk came {-min(lateness):.4f} s early: {lateness}"
    assert statistics.median(lateness) <= LATE + lag.typical, f"chunks came late: {lateness} ({lag.typical=:.4f})"


def repeat(request: Callable[[], int]) -> tuple[list[float], int]:
    """Durations of `REPEATS` runs of `request`, and what it returned (the same each time)."""
    durations, results = [], set()
    for _ in range(REPEATS):
        started = time.monotonic()
        results.add(request())
        durations.append(time.monotonic() - started)
    assert len(results) == 1
    return durations, results.pop()


def completion_tokens(sdk: AzureOpenAI, deployment: str, max_tokens: int) -> Callable[[], int]:
    def request() -> int:
        completion = sdk.chat.completions.create(model=deployment, messages=MESSAGES, max_tokens=max_tokens)
        return completion.usage.completion_tokens

    return request


def content_arrivals(sdk: AzureOpenAI, deployment: str, max_tokens: int) -> list[float]:
    """Seconds after the request at which the SDK yielded each chunk carrying text (one token each)."""
    started = time.monotonic()
    stream = sdk.chat.completions.create(model=deployment, messages=MESSAGES, max_tokens=max_tokens, stream=True)
    arrivals = [time.monotonic() - started for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert len(arrivals) == max_tokens
    return arrivals


def test_stream_first_token_and_pace(server: SimulatorProcess) -> None:
    with scheduler_lag() as lag:
        arrivals = content_arrivals(client(server), "paced", max_tokens=20)
    assert_stream_on_time(arrivals, [TTFT + index * TOKEN for index in range(20)], lag)


def test_non_streamed_answer_waits_for_the_whole_answer(server: SimulatorProcess) -> None:
    sdk = client(server)
    for max_tokens in (1, 20):
        durations, tokens = repeat(completion_tokens(sdk, "paced", max_tokens))
        assert tokens == max_tokens
        assert_on_time(durations, TTFT + (tokens - 1) * TOKEN)


def test_first_token_grows_with_the_prompt(server: SimulatorProcess) -> None:
    sdk = client(server)

    def prompt_tokens() -> int:
        long_prompt = [{"role": "user", "content": "lorem ipsum " * 1000}]
        completion = sdk.chat.completions.create(model="prefill", messages=long_prompt, max_tokens=1)
        return completion.usage.prompt_tokens

    durations, prompt = repeat(prompt_tokens)
    assert prompt > 1500
    assert_on_time(durations, 0.040 + 0.0001 * prompt)


def test_stream_released_in_bursts(server: SimulatorProcess) -> None:
    with scheduler_lag() as lag:
        arrivals = content_arrivals(client(server), "bursty", max_tokens=20)
    # Burst b (tokens 5b..5b+4) goes when its fifth token exists: TTFT + (5b + 4) intervals.
    assert_stream_on_time(arrivals, [TTFT + (index // 5 * 5 + 4) * TOKEN for index in range(20)], lag)
    for first in range(0, 20, 5):  # a burst is one write: its chunks arrive together
        assert arrivals[first + 4] - arrivals[first] < 0.005 + lag.worst


def test_embeddings_take_their_base_latency(server: SimulatorProcess) -> None:
    sdk = client(server)
    durations, dimensions = repeat(lambda: len(sdk.embeddings.create(model="embed", input="hello").data[0].embedding))
    assert dimensions == 1536
    assert_on_time(durations, 0.120)


def test_predecessor_setting_is_ms_per_completion_token() -> None:
    env = {
        "SIMULATOR_LATENCY_ENABLED": "true",
        "LATENCY_OPENAI_CHAT_COMPLETIONS_MEAN": "10",
        "LATENCY_OPENAI_CHAT_COMPLETIONS_STD_DEV": "0",
    }
    process = start(env)
    try:
        sdk = client(process)
        for max_tokens in (5, 25):
            durations, tokens = repeat(completion_tokens(sdk, "legacy", max_tokens))
            assert tokens == max_tokens
            assert_on_time(durations, tokens * 0.010)
    finally:
        process.stop()


def test_latency_disabled_adds_nothing() -> None:
    slow = {"deployments": {"chat": {"ttftMs": 5000, "tokensPerSecond": 1}}}
    env = {
        "SIMULATOR_LATENCY_ENABLED": "false",
        "SIMULATOR_LATENCY_CONFIG": json.dumps(slow),
        "LATENCY_OPENAI_CHAT_COMPLETIONS_MEAN": "1000",
    }
    process = start(env)
    try:
        sdk = client(process)
        durations, tokens = repeat(completion_tokens(sdk, "chat", 30))
        assert tokens == 30 and max(durations) < 0.2  # enabled, each would take 34 s
        assert content_arrivals(sdk, "chat", max_tokens=30)[-1] < 0.2
    finally:
        process.stop()
