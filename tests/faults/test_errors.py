from __future__ import annotations

from simulator.faults import FaultConfig, FaultInjector, Refuse
from simulator.models import Operation
from tests.latency.helpers import make_request


def refused(fault: str, **request: object) -> Refuse:
    headers = {"x-simulator-fault": fault}
    decision = FaultInjector().choose(make_request(headers=headers, **request), FaultConfig())  # type: ignore[arg-type]
    assert isinstance(decision, Refuse)
    return decision


def test_429_has_aoai_wording_and_retry_headers() -> None:
    error = refused("429; retry-after=2.5").error
    assert error.status == 429
    assert error.headers == {"retry-after": "3", "retry-after-ms": "2500"}
    body = error.body()["error"]
    assert body["code"] == "RateLimitReached"
    assert body["message"].startswith("Your requests to gpt-4o for gpt-4o in East US have exceeded the token rate")
    assert (
        "ChatCompletions_Create under Azure OpenAI API version 2024-10-21. Please retry after 3 seconds."
        in (body["message"])
    )


def test_prompt_filter_body_matches_aoai() -> None:
    body = refused("prompt-filter; category=sexual; severity=high").error.body()["error"]
    assert body["code"] == "content_filter"
    assert (body["param"], body["status"]) == ("prompt", 400)
    assert body["message"].startswith("The response was filtered due to the prompt triggering Azure OpenAI's")
    inner = body["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["sexual"] == {"filtered": True, "severity": "high"}
    assert inner["content_filter_result"]["jailbreak"] == {"filtered": False, "detected": False}


def test_context_length_exceeded_is_sized_from_the_request() -> None:
    error = refused("context-length", prompt_tokens=1000, body={"max_tokens": 10}).error
    body = error.body()["error"]
    assert (error.status, body["code"], body["type"], body["param"]) == (
        400,
        "context_length_exceeded",
        "invalid_request_error",
        "messages",
    )
    assert (
        "maximum context length is 128000 tokens. However, you requested 128001 tokens (1000 in the messages"
        in (body["message"])
    )
    embeddings = refused("context-length", model="text-embedding-3-small", operation=Operation.EMBEDDINGS)
    assert embeddings.error.param == "input"


def test_server_errors_and_delay() -> None:
    assert refused("500").error.body()["error"]["code"] == "InternalServerError"
    unavailable = refused("503; retry-after=4").error
    assert (unavailable.status, unavailable.headers["retry-after"]) == (503, "4")
    timeout = refused("408; delay=1.5")
    assert (timeout.error.status, timeout.delay) == (408, 1.5)
