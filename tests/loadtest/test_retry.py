from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from loadtest.retry import RetryPolicy, retry_after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250", "retry-after": "3"}, 0.25),  # milliseconds win, as in the openai SDK
        ({"retry-after": "3"}, 3.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after": "-4"}, 0.0),
        ({}, None),
    ],
)
def test_retry_after_reads_milliseconds_then_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(CaseInsensitiveDict(headers)) == expected


def test_policy_waits_as_asked_within_the_cap() -> None:
    policy = RetryPolicy(max_retries=3, max_wait=10.0)
    assert policy.delay({"retry-after": "4"}, attempt=0) == 4.0
    assert policy.delay({"retry-after": "45"}, attempt=1) == 10.0


def test_policy_backs_off_exponentially_without_a_header() -> None:
    policy = RetryPolicy(max_retries=5, max_wait=3.0)
    assert [policy.delay({}, attempt) for attempt in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_policy_gives_up_after_the_last_retry() -> None:
    policy = RetryPolicy(max_retries=2, max_wait=60.0)
    assert policy.delay({"retry-after-ms": "10"}, attempt=1) == 0.01
    assert policy.delay({"retry-after-ms": "10"}, attempt=2) is None
    assert RetryPolicy(max_retries=0, max_wait=60.0).delay({}, attempt=0) is None
