"""Injected faults as the official openai SDK sees them over a real socket: exception types, status, codes,
bodies, and the SDK's own retries (docs/faults.md, "As the openai SDK sees each fault").

Most tests run twice: once with the fault in the `x-simulator-fault` header, once with the same fault as a
per-deployment rule in `SIMULATOR_FAULTS`. Each test uses its own deployments, so "first N" counters, which
belong to (deployment, rule), are never shared between tests.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest
from openai import AzureOpenAI

from tests.e2e.test_runtime_config import running
from tests.support.server import SimulatorProcess

API_VERSION = "2024-10-21"
MESSAGES = [{"role": "user", "content": "hi"}]
# Name → fault, injected either way. Rules with `first=` are used by one test only.
FAULTS = {
    "retried-429": "429; retry-after=0.3; first=2",
    "rate-limit": "429; retry-after=2",
    "server-error": "500",
    "unavailable": "503; retry-after=1",
    "timeout": "408",
    "hang-408": "408; delay=0.3",
    "reset": "reset",
    "hang-reset": "reset; delay=0.3",
    "cut-3": "cut; after=3",
    "cut-1": "cut; after=1",
    "prompt-filter": "prompt-filter; category=hate; severity=high",
    "completion-filter": "completion-filter; category=self_harm; severity=low",
    "context-length": "context-length",
    "first-3": "503; first=3",
}


@dataclasses.dataclass(frozen=True)
class Injection:
    """How a test asks for a fault: `target(name)` gives the deployment to call and the headers to send."""

    via: str  # "header" or "config"

    def target(self, name: str) -> tuple[str, dict[str, str]]:
        if self.via == "header":
            return f"plain-{name}", {"x-simulator-fault": FAULTS[name]}
        return f"faulty-{name}", {}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    faults = {f"faulty-{name}": [fault] for name, fault in FAULTS.items()}
    env = {"SIMULATOR_SEED": "1", "SIMULATOR_FAULTS": json.dumps(faults)}
    with SimulatorProcess(env) as process:
        client(process).chat.completions.create(model="warm-up", messages=MESSAGES, max_tokens=1)
        yield process


@pytest.fixture(params=["header", "config"])
def inject(request: pytest.FixtureRequest) -> Injection:
    return Injection(request.param)


def client(server: SimulatorProcess, *, max_retries: int = 0, **options: object) -> AzureOpenAI:
    return AzureOpenAI(
        azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=max_retries, **options
    )


def counting_client(server: SimulatorProcess, max_retries: int) -> tuple[AzureOpenAI, list[httpx2.Response]]:
    """A client that records every HTTP response it receives, retries included."""
    seen: list[httpx2.Response] = []
    http_client = openai.DefaultHttpxClient(event_hooks={"response": [seen.append]})
    return client(server, max_retries=max_retries, http_client=http_client), seen


def chat(sdk: AzureOpenAI, deployment: str, headers: dict[str, str], **options: object):
    return sdk.chat.completions.create(
        model=deployment, messages=MESSAGES, max_tokens=5, extra_headers=headers, **options
    )


def test_429_retried_after_retry_after_ms(server: SimulatorProcess, inject: Injection) -> None:
    sdk, seen = counting_client(server, max_retries=2)
    deployment, headers = inject.target("retried-429")
    started = time.monotonic()
    completion = chat(sdk, deployment, headers)
    elapsed = time.monotonic() - started
    assert completion.choices[0].finish_reason == "length"
    assert [response.status_code for response in seen] == [429, 429, 200]
    assert [response.request.headers["x-stainless-retry-count"] for response in seen] == ["0", "1", "2"]
    assert {(r.headers["retry-after"], r.headers["retry-after-ms"]) for r in seen[:2]} == {("1", "300")}
    # Two waits of 300 ms. Waiting retry-after (1 s) would take >= 2 s; the SDK's own back-off >= 1.1 s.
    assert 0.6 <= elapsed < 1.0


def test_429_as_rate_limit_error(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("rate-limit")
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client(server), deployment, headers)
    error = caught.value
    assert error.status_code == 429 and error.code == "RateLimitReached"
    assert "exceeded the token rate limit" in error.message and "Please retry after 2 seconds" in error.message
    assert error.response.headers["retry-after"] == "2" and error.response.headers["retry-after-ms"] == "2000"


@pytest.mark.parametrize(
    ("name", "exception", "status", "code"),
    [
        ("server-error", openai.InternalServerError, 500, "InternalServerError"),
        ("unavailable", openai.InternalServerError, 503, "ServiceUnavailable"),
        ("timeout", openai.APIStatusError, 408, "Timeout"),
    ],
)
def test_status_faults(
    server: SimulatorProcess,
    inject: Injection,
    name: str,
    exception: type[openai.APIStatusError],
    status: int,
    code: str,
) -> None:
    deployment, headers = inject.target(name)
    with pytest.raises(exception) as caught:
        chat(client(server), deployment, headers)
    assert type(caught.value) is exception
    assert caught.value.status_code == status and caught.value.code == code


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("503; retry-after=0.05", 503), ("408", 408)])
def test_sdk_retries_status_faults(server: SimulatorProcess, fault: str, status: int) -> None:
    sdk, seen = counting_client(server, max_retries=1)
    completion = chat(sdk, "plain-retried", {"x-simulator-fault": f"{fault}; first=1; key=retried-{status}"})
    assert completion.usage.completion_tokens == 5
    assert [response.status_code for response in seen] == [status, 200]


def test_hung_request_ends_in_408(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("hang-408")
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client(server), deployment, headers)
    assert caught.value.status_code == 408
    assert time.monotonic() - started >= 0.3


def test_connection_reset(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("reset")
    with pytest.raises(openai.APIConnectionError) as caught:
        chat(client(server), deployment, headers)
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


def test_hung_request_closes_after_delay(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("hang-reset")
    started = time.monotonic()
    with pytest.raises(openai.APIConnectionError) as caught:
        chat(client(server), deployment, headers)
    assert type(caught.value) is openai.APIConnectionError
    assert 0.3 <= time.monotonic() - started < 1.0


def test_hung_request_outlasting_the_client_timeout(server: SimulatorProcess) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        chat(client(server, timeout=0.2), "plain-hang", {"x-simulator-fault": "reset; delay=2"})
    assert time.monotonic() - started < 1.0


def test_sdk_retries_a_reset(server: SimulatorProcess) -> None:
    sdk, seen = counting_client(server, max_retries=1)
    completion = chat(sdk, "plain-retried", {"x-simulator-fault": "reset; first=1; key=retried-reset"})
    assert completion.usage.completion_tokens == 5
    assert [response.status_code for response in seen] == [200, 200]  # the reset one broke while reading


@pytest.mark.parametrize(("name", "kept"), [("cut-3", 3), ("cut-1", 1)])
def test_stream_cut_after_k_events(server: SimulatorProcess, inject: Injection, name: str, kept: int) -> None:
    deployment, headers = inject.target(name)
    stream = chat(client(server), deployment, headers, stream=True)
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert len(received) == kept
    assert received[0].choices == [] and received[0].prompt_filter_results  # the first event AOAI sends


def test_cut_on_a_non_streamed_request_is_a_reset(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("cut-3")
    with pytest.raises(openai.APIConnectionError):
        chat(client(server), deployment, headers)


def test_prompt_filter(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("prompt-filter")
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client(server), deployment, headers)
    error = caught.value
    assert error.status_code == 400 and error.code == "content_filter" and error.param == "prompt"
    assert "content management policy" in error.message
    inner = error.body["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["hate"] == {"filtered": True, "severity": "high"}
    assert inner["content_filter_result"]["violence"] == {"filtered": False, "severity": "safe"}


def test_completion_filter(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("completion-filter")
    choice = chat(client(server), deployment, headers).choices[0]
    assert choice.finish_reason == "content_filter"
    results = choice.model_extra["content_filter_results"]
    assert results["self_harm"] == {"filtered": True, "severity": "low"}
    assert results["hate"] == {"filtered": False, "severity": "safe"}


def test_completion_filter_streamed(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("completion-filter")
    chunks = list(chat(client(server), deployment, headers, stream=True))
    endings = [chunk.choices[0] for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert [choice.finish_reason for choice in endings] == ["content_filter"]
    assert endings[0].model_extra["content_filter_results"]["self_harm"] == {"filtered": True, "severity": "low"}
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_context_length_exceeded(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("context-length")
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client(server), deployment, headers)
    error = caught.value
    assert error.code == "context_length_exceeded" and error.param == "messages"
    assert error.body["type"] == "invalid_request_error"
    assert "maximum context length is 128000 tokens" in error.message


def test_first_n_then_succeed(server: SimulatorProcess, inject: Injection) -> None:
    deployment, headers = inject.target("first-3")
    outcomes = [outcome(client(server), deployment, headers) for _ in range(5)]
    assert outcomes == [503, 503, 503, 200, 200]


def test_header_keys_name_separate_counters(server: SimulatorProcess) -> None:
    sdk = client(server)
    first = {"x-simulator-fault": "500; first=1; key=counter-a"}
    other = {"x-simulator-fault": "500; first=1; key=counter-b"}
    assert [outcome(sdk, "plain-keys", headers) for headers in (first, first, other, other)] == [500, 200, 500, 200]


def test_malformed_header_is_refused(server: SimulatorProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client(server), "plain-bad", {"x-simulator-fault": "429; rate=2"})
    message = caught.value.message
    assert "x-simulator-fault" in message and "rate must be a probability from 0 to 1" in message


def test_faults_on_the_v1_surface(server: SimulatorProcess) -> None:
    v1 = openai.OpenAI(base_url=f"{server.url}/openai/v1/", api_key=server.api_key, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        v1.chat.completions.create(model="faulty-rate-limit", messages=MESSAGES, max_tokens=5)
    with pytest.raises(openai.BadRequestError) as caught:
        v1.chat.completions.create(
            model="plain-v1", messages=MESSAGES, max_tokens=5, extra_headers={"x-simulator-fault": "prompt-filter"}
        )
    assert caught.value.code == "content_filter"


def outcome(sdk: AzureOpenAI, deployment: str, headers: dict[str, str]) -> int:
    """The status the SDK saw: 200, or the status of the error it raised."""
    try:
        chat(sdk, deployment, headers)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


def test_seeded_rate_is_deterministic_across_processes() -> None:
    """Pass/fail of the same traffic through two fresh processes with the same seed: a rule at rate 0.5 from
    the config, then one from the header. (Other seeds giving other sequences: tests/faults.)"""
    env = {"SIMULATOR_SEED": "7", "SIMULATOR_FAULTS": json.dumps({"coin": ["500; rate=0.5"]})}
    header = {"x-simulator-fault": "503; rate=0.5"}
    with running(env, env) as processes:
        sequences = []
        for process in processes:
            sdk = client(process)
            configured = [outcome(sdk, "coin", {}) for _ in range(24)]
            sequences.append((configured, [outcome(sdk, "plain-coin", header) for _ in range(24)]))
    assert sequences[0] == sequences[1]
    configured, per_request = sequences[0]
    assert set(configured) == {200, 500} and set(per_request) == {200, 503}
