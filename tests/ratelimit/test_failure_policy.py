"""When Table Storage fails: a bounded wait, then fail open or closed, and recovery when it is back."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from simulator.errors import OpenAIError
from simulator.ratelimit import FailureMode, RateLimitConfig, RateLimiter
from tests.ratelimit.factory import chat, standard
from tests.support.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.support.ports import free_port

# Each request costs more than a lease (1 % of 1,000) and a request lease is one request, so each lease serves
# one request; the limiter renews it in the background after each one.
DEPLOYMENT = standard("outage", tpm=1_000, rpm=600)


@dataclasses.dataclass
class OffsetClock:
    """Wall time, plus whatever the test skips, so the retry interval passes without sleeping."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def own_azurite() -> Iterator[Azurite]:
    emulator = Azurite().start()
    yield emulator
    emulator.stop()


def limiter_for(connection_string: str, mode: FailureMode, clock: OffsetClock) -> RateLimiter:
    config = RateLimitConfig(
        connection_string=connection_string,
        table_name="outage",
        failure_mode=mode,
        store_timeout=0.5,
        retry_interval=30.0,
        lease_seconds=20.0,  # leases outlive the Azurite restart, however slow it is
    )
    return RateLimiter.from_config(config, clock=clock)


@pytest.fixture
async def limiters(own_azurite: Azurite) -> AsyncIterator[tuple[RateLimiter, RateLimiter, OffsetClock]]:
    clock = OffsetClock()
    clock.offset = 10.5 - time.time() % 10  # starts half a second into a 10-s request window: no boundary soon
    opened = (
        limiter_for(own_azurite.connection_string, FailureMode.OPEN, clock),
        limiter_for(own_azurite.connection_string, FailureMode.CLOSED, clock),
    )
    yield *opened, clock
    for limiter in opened:
        await limiter.aclose()


async def timed_admit(limiter: RateLimiter) -> tuple[dict[str, str] | OpenAIError, float]:
    started = time.monotonic()
    try:
        outcome: dict[str, str] | OpenAIError = (await limiter.admit(chat(DEPLOYMENT, max_tokens=100))).headers
    except OpenAIError as error:
        outcome = error
    return outcome, time.monotonic() - started


async def test_outage_fails_open_or_closed_quickly_and_recovers(
    own_azurite: Azurite,
    limiters: tuple[RateLimiter, RateLimiter, OffsetClock],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fail_open, fail_closed, clock = limiters
    for limiter in (fail_open, fail_closed):
        headers, _ = await timed_admit(limiter)
        assert isinstance(headers, dict) and "x-ratelimit-remaining-tokens" in headers
        await limiter.renewals_done()

    own_azurite.stop()
    caplog.set_level(logging.WARNING, logger="simulator.ratelimit.failure")
    caplog.set_level(logging.WARNING, logger="simulator.ratelimit.limiter")
    for limiter in (fail_open, fail_closed):
        # The lease renewed ahead of need serves one more request; renewing it again finds the store down.
        headers, _ = await timed_admit(limiter)
        assert isinstance(headers, dict) and "x-ratelimit-remaining-tokens" in headers
        started = time.monotonic()
        await limiter.renewals_done()
        assert time.monotonic() - started < 1.0
    served, first_wait = await timed_admit(fail_open)
    assert served == {}  # served, unlimited and without rate-limit headers
    refused, _ = await timed_admit(fail_closed)
    assert isinstance(refused, OpenAIError)
    assert (refused.status, refused.code, refused.headers["retry-after"]) == (503, "ServiceUnavailable", "30")
    assert first_wait < 0.05
    # While the store is down nobody waits for it, and the outage is logged once per limiter.
    for _ in range(5):
        served, wait = await timed_admit(fail_open)
        assert served == {} and wait < 0.05
    assert fail_open.stats.failed_open == 6 and fail_open.stats.outages == 1
    assert fail_closed.stats.failed_closed == 1
    assert len([record for record in caplog.records if record.levelno == logging.ERROR]) == 2
    # Every answer served unlimited is counted where statistics can read it, and logged.
    assert fail_open.served_unlimited == 6 and fail_closed.served_unlimited == 0
    unlimited = [record for record in caplog.records if "served a request to outage unlimited" in record.message]
    assert len(unlimited) == 6 and "6 served unlimited so far" in unlimited[-1].message

    own_azurite.start()  # same ports, empty storage: the table must come back by itself
    clock.offset += 31
    # Both share the deployment; each also holds a lease renewed ahead of need, which counts as used.
    for limiter, remaining in ((fail_open, "900"), (fail_closed, "700")):
        headers, _ = await timed_admit(limiter)
        assert isinstance(headers, dict) and headers["x-ratelimit-remaining-tokens"] == remaining
        await limiter.renewals_done()
    assert "limits are shared again" in caplog.text


async def test_a_store_that_never_answers_is_abandoned_within_the_bound() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        port = free_port()
        silent.bind(("127.0.0.1", port))
        silent.listen(8)
        connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        )
        limiter = limiter_for(connection_string, FailureMode.CLOSED, OffsetClock())
        try:
            refused, wait = await timed_admit(limiter)
        finally:
            await limiter.aclose()
    assert isinstance(refused, OpenAIError) and refused.status == 503
    assert 0.5 <= wait < 1.0
