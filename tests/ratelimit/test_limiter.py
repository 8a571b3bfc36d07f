"""The limiter over the memory store, with an injected clock: AOAI's behaviour, request by request, and the
leases it renews ahead of need (with a store made slow or failing on purpose)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig, RateLimiter, leases, policy
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import MemoryStore, StoreContentionError, StoreError
from simulator.replies import Usage
from tests.ratelimit.factory import START, FakeClock, chat, provisioned, standard


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(MemoryStore(), RateLimitConfig(), clock=clock)


async def refusal(limiter: RateLimiter, request: object) -> OpenAIError:
    with pytest.raises(OpenAIError) as caught:
        await limiter.admit(request)  # type: ignore[arg-type]
    return caught.value


async def admitted_of(limiter: RateLimiter, request: object, clock: FakeClock, count: int, step: float) -> int:
    """Send `request` `count` times, `step` seconds apart; how many were admitted."""
    admitted = 0
    for _ in range(count):
        with contextlib.suppress(OpenAIError):
            await limiter.admit(request)  # type: ignore[arg-type]
            admitted += 1
        clock.advance(step)
    return admitted


async def test_success_headers_count_down_tokens_and_requests(limiter: RateLimiter) -> None:
    deployment = standard(tpm=8_000)
    first = await limiter.admit(chat(deployment, "x" * 8, max_tokens=98))
    assert first.headers == {
        "x-ratelimit-limit-requests": "8",
        "x-ratelimit-limit-tokens": "8000",
        "x-ratelimit-remaining-requests": "7",
        "x-ratelimit-remaining-tokens": "7900",
    }
    second = await limiter.admit(chat(deployment, "x" * 8, max_tokens=98))
    assert second.headers["x-ratelimit-remaining-tokens"] == "7800"
    assert second.headers["x-ratelimit-remaining-requests"] == "6"


async def test_token_limit_refuses_with_a_truthful_retry_after(limiter: RateLimiter, clock: FakeClock) -> None:
    deployment = standard(tpm=10_000, rpm=6_000)
    for _ in range(10):
        await limiter.admit(chat(deployment, max_tokens=1_000))
        clock.advance(3)
    error = await refusal(limiter, chat(deployment, max_tokens=1_000))
    assert error.status == 429 and error.code == "RateLimitReached"
    assert "token rate limit" in error.message
    wait = int(error.headers["retry-after-ms"]) / 1000
    assert 0 < wait <= 60
    assert error.headers["x-ratelimit-remaining-tokens"] == "0"
    clock.advance(wait - 0.01)
    await refusal(limiter, chat(deployment, max_tokens=1_000))
    clock.advance(0.01)
    await limiter.admit(chat(deployment, max_tokens=1_000))


async def test_request_limit_is_per_ten_second_window(limiter: RateLimiter, clock: FakeClock) -> None:
    deployment = standard(tpm=1_000)  # 6 RPM: one request per 10 s
    clock.advance(2.5)
    await limiter.admit(chat(deployment, max_tokens=1))
    error = await refusal(limiter, chat(deployment, max_tokens=1))
    assert "call rate limit" in error.message
    assert error.headers["retry-after-ms"] == "7501"
    assert error.headers["retry-after"] == "8"
    clock.advance(7.501)
    await limiter.admit(chat(deployment, max_tokens=1))


async def test_a_request_larger_than_the_limit_passes_alone(limiter: RateLimiter, clock: FakeClock) -> None:
    deployment = standard(tpm=1_000, rpm=600)
    await limiter.admit(chat(deployment, max_tokens=5_000))
    error = await refusal(limiter, chat(deployment, max_tokens=5_000))
    # The room comes back 60.25 s later (the bucket's end plus a minute): 60 s is the most a 429 names, and the
    # one more 429 at the 60th second names the rest.
    assert error.headers["retry-after-ms"] == "60000"
    clock.advance(60)
    error = await refusal(limiter, chat(deployment, max_tokens=5_000))
    assert error.headers["retry-after-ms"] == "251"  # a wait is rounded up, so that the limit has surely moved
    clock.advance(0.251)
    await limiter.admit(chat(deployment, max_tokens=5_000))


async def test_unlimited_deployments_get_no_headers(limiter: RateLimiter) -> None:
    admission = await limiter.admit(chat(standard(tpm=None), max_tokens=10**6))
    assert admission.headers == {}
    await admission.settle(Usage(1, 1))


async def test_reconfiguring_a_deployment_keeps_its_window(limiter: RateLimiter) -> None:
    await limiter.admit(chat(standard(tpm=10_000, rpm=600), max_tokens=6_000))
    error = await refusal(limiter, chat(standard(tpm=8_000, rpm=600), max_tokens=3_000))
    assert error.headers["x-ratelimit-remaining-tokens"] == "2000"
    admission = await limiter.admit(chat(standard(tpm=20_000, rpm=600), max_tokens=3_000))
    assert admission.headers["x-ratelimit-remaining-tokens"] == "11000"


async def test_deployments_have_separate_budgets(limiter: RateLimiter) -> None:
    await limiter.admit(chat(standard("a", tpm=1_000), max_tokens=1_000))
    await limiter.admit(chat(standard("b", tpm=1_000), max_tokens=1_000))


async def test_concurrent_requests_never_exceed_the_budget(limiter: RateLimiter) -> None:
    deployment = standard(tpm=10_000, rpm=60_000)
    outcomes = await asyncio.gather(
        *(limiter.admit(chat(deployment, max_tokens=100)) for _ in range(150)), return_exceptions=True
    )
    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 100


async def test_provisioned_refuses_above_full_utilisation_until_it_drains(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    deployment = provisioned(model="gpt-4o", ptu=1)  # 2,500 input tokens per minute
    first = await limiter.admit(chat(deployment, prompt_tokens=100, max_tokens=400))  # 100 + 4 × 400
    assert first.headers == {"azure-openai-deployment-utilization": "68.0%"}
    await limiter.admit(chat(deployment, prompt_tokens=100, max_tokens=400))  # admitted below 100 %: now 136 %
    error = await refusal(limiter, chat(deployment, prompt_tokens=1, max_tokens=1))
    assert error.status == 429 and "provisioned throughput" in error.message
    assert error.headers["azure-openai-deployment-utilization"] == "136.0%"
    wait = int(error.headers["retry-after-ms"]) / 1000
    assert wait == pytest.approx(900 / (2500 / 60), abs=0.002)
    clock.advance(wait)
    await limiter.admit(chat(deployment, prompt_tokens=1, max_tokens=1))


async def test_provisioned_settle_replaces_the_estimate_with_the_usage(limiter: RateLimiter) -> None:
    deployment = provisioned(model="gpt-4o", ptu=1)
    admission = await limiter.admit(chat(deployment, prompt_tokens=100, max_tokens=400))
    await admission.settle(Usage(100, 25))  # 100 + 4 × 25 = 200 instead of 1,700
    await admission.settle(Usage(100, 400))  # counted once: ignored
    second = await limiter.admit(chat(deployment, prompt_tokens=100, max_tokens=100))
    assert second.headers["azure-openai-deployment-utilization"] == "28.0%"  # (200 + 100 + 4 × 100) / 2,500


async def test_leased_limiting_in_one_process_still_respects_the_budget(clock: FakeClock) -> None:
    limiter = RateLimiter(MemoryStore(), RateLimitConfig(lease_fraction=0.05), clock=clock)
    deployment = standard(tpm=10_000, rpm=60_000)
    assert await admitted_of(limiter, chat(deployment, max_tokens=30), clock, 400, 0.01) == 10_000 // 30


class SlowStore(MemoryStore):
    """Applies a change at once but answers only when the test opens the gate: a store round trip in flight."""

    local = False  # remote, as far as the limiter knows: guarded by the failure policy

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.transactions = 0

    async def transact(self, key, change):  # type: ignore[no-untyped-def]
        self.transactions += 1
        result = await super().transact(key, change)
        await self.gate.wait()
        return result


async def used_tokens(store: MemoryStore, clock: FakeClock) -> int:
    return await store.transact("chat", lambda state: state.tokens.used(clock.now))


async def test_a_half_spent_lease_is_renewed_while_requests_go_on(clock: FakeClock) -> None:
    store = SlowStore()
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.05), clock=clock)
    deployment = standard(tpm=10_000, rpm=60_000)  # leases of 500 tokens and 500 requests
    await limiter.admit(chat(deployment, max_tokens=100))
    assert limiter.renewals.waited == 1
    store.gate.clear()  # from now on the store is slow to answer
    for _ in range(4):  # the third request leaves the lease less than half full: a renewal starts
        clock.advance(0.01)
        await limiter.admit(chat(deployment, max_tokens=100))
        await asyncio.sleep(0)
    assert limiter.renewals.waited == 1 and limiter.renewals.ahead == 1  # nobody waited for the renewal
    store.gate.set()
    await limiter.renewals_done()
    # What the old lease served while the renewal was in flight came out of the new one: the shared state
    # holds exactly what was served plus what this instance has leased and not spent.
    lease = limiter._ledgers["chat"].lease
    assert lease is not None
    assert await used_tokens(store, clock) == 5 * 100 + lease.tokens
    served = await limiter.admit(chat(deployment, max_tokens=100))
    assert served.headers["x-ratelimit-remaining-tokens"] == str(10_000 - 6 * 100)  # its own lease is remaining


async def test_a_failed_renewal_leaves_the_lease_to_spend_but_never_to_give_back(clock: FakeClock) -> None:
    store = SlowStore()
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.05), clock=clock)
    deployment = standard(tpm=10_000, rpm=60_000)
    for _ in range(3):
        await limiter.admit(chat(deployment, max_tokens=100))
    original = store.transact

    async def failing(key, change):  # type: ignore[no-untyped-def]
        raise StoreError("down")

    store.transact = failing  # type: ignore[method-assign]
    await limiter.renewals_done()
    lease = limiter._ledgers["chat"].lease
    assert lease is not None and lease.tokens == 200 and not lease.returnable
    for _ in range(2):
        await limiter.admit(chat(deployment, max_tokens=100))  # still served from what was leased
    store.transact = original  # type: ignore[method-assign]
    clock.advance(limiter.config.retry_interval)
    await limiter.admit(chat(deployment, max_tokens=100))
    await limiter.renewals_done()
    # The first lease's 500 stay charged (nothing given back twice); the new lease took over from there.
    lease = limiter._ledgers["chat"].lease
    assert await used_tokens(store, clock) == 500 + 100 + lease.tokens


def test_a_refused_renewal_keeps_the_old_lease_charged(clock: FakeClock) -> None:
    deployment = standard(tpm=1_000, rpm=60_000)
    limits = policy.limits_for(deployment)
    state = MeterState()
    lease = leases.renew_standard(state, clock.now, limits, 300, None, 0.0, 1.0)
    assert isinstance(lease, leases.StandardLease)
    state.tokens.add(clock.now, 600)  # another instance takes the rest but 100
    lease.spend(200)  # 100 left in the lease
    before = state.to_json()
    refusal = leases.renew_standard(state, clock.now, limits, 300, lease, 0.0, 1.0)
    assert isinstance(refusal, leases.Refusal)
    assert state.to_json() == before  # the lease's 100 remain charged and spendable
    assert refusal.remaining_tokens == 200  # counted as available to this instance: free 100 + its own 100
    granted = leases.renew_standard(state, clock.now, limits, 200, lease, 0.0, 1.0)
    assert isinstance(granted, leases.StandardLease) and granted.tokens == 200 and granted.took_tokens == 100


class RacedStore(MemoryStore):
    """A shared store whose next change loses a compare-and-swap once: another instance writes first, and the
    clock moves on while the loser reads the state again, as a Table Storage retry does."""

    local = False

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.interloper: Callable[[MeterState], object] | None = None

    async def transact(self, key, change):  # type: ignore[no-untyped-def]
        interloper, self.interloper = self.interloper, None
        if interloper is not None:
            change(self.state(key).copy())  # the attempt whose write lost: its result is thrown away
            interloper(self.state(key))
            self.clock.advance(0.003)  # the round trips of the lost write and of the fresh read
        return await super().transact(key, change)


async def test_a_retried_renewal_reads_the_clock_again_and_never_resets_the_window_backwards(
    clock: FakeClock,
) -> None:
    """A renewal that starts just before a request window ends and is retried after another instance opened the
    next window must charge that next window, not reset it to the one that ended (issue 14)."""
    store = RacedStore(clock)
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.01), clock=clock)
    deployment = standard(tpm=60_000)  # 360 RPM: 60 requests per 10-s window
    limits = policy.limits_for(deployment)
    assert isinstance(limits, policy.StandardLimits) and limits.requests_per_window == 60
    clock.advance(9.999)

    def other_instance(state: MeterState) -> None:  # takes 30 requests of the next window, at 10.001
        lease = leases.renew_standard(state, clock.now + 0.002, limits, 1, None, 0.5, 1.0)
        assert isinstance(lease, leases.StandardLease) and lease.requests == 30

    store.interloper = other_instance
    # The rest of the next window, well over its limit.
    admitted = await admitted_of(limiter, chat(deployment, max_tokens=1), clock, 200, 0.02)
    assert clock.now < START + 20  # all within the window the other instance opened
    assert 30 + admitted == 60


def test_a_renewal_dated_before_the_stored_window_charges_that_window(clock: FakeClock) -> None:
    """Clocks of instances differ by a little: a renewal whose time falls in the window before the stored one
    charges the stored window rather than wiping its count."""
    deployment = standard(tpm=60_000)
    limits = policy.limits_for(deployment)
    assert isinstance(limits, policy.StandardLimits)
    state = MeterState()
    first = leases.renew_standard(state, START + 10.001, limits, 1, None, 0.5, 1.0)
    assert isinstance(first, leases.StandardLease) and first.requests == 30
    late = leases.renew_standard(state, START + 9.999, limits, 1, None, 0.5, 1.0)
    assert isinstance(late, leases.StandardLease) and late.requests == 30
    assert late.request_window == first.request_window
    assert state.requests.used(START + 10.002) == 60


async def test_requests_waiting_for_a_renewal_share_one_round_trip(clock: FakeClock) -> None:
    """On a request-bound deployment every lease used to be one request, so every request was a compare-and-swap;
    now a renewal leases for every request queued behind it (issue 14)."""
    store = SlowStore()
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.01), clock=clock)
    deployment = standard(tpm=60_000)  # 60 requests per 10 s: 1 % of it is not one request
    store.gate.clear()
    waiting = [asyncio.create_task(limiter.admit(chat(deployment, max_tokens=1))) for _ in range(20)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.transactions == 1  # the first request's renewal is in flight; the others queue behind it
    store.gate.set()
    admissions = await asyncio.gather(*waiting)
    assert len(admissions) == 20
    assert store.transactions == 2  # the second renewal was sized to the 19 still waiting
    assert limiter.renewals.waited == 20 and limiter.served_unlimited == 0


async def test_a_request_lease_grows_with_the_demand_up_to_a_share_of_the_window(clock: FakeClock) -> None:
    store = SlowStore()
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.01), clock=clock)
    deployment = standard(tpm=60_000)  # 60 requests per 10 s
    for _ in range(40):  # 100 requests per second offered to this instance
        with contextlib.suppress(OpenAIError):
            await limiter.admit(chat(deployment, max_tokens=1))
        await limiter.renewals_done()
        clock.advance(0.01)
    lease = limiter._ledgers["chat"].lease
    assert isinstance(lease, leases.StandardLease)
    assert lease.granted_requests == 15  # a quarter of the window, not one request
    assert store.transactions < 10


def test_leased_tokens_count_for_a_minute_after_the_lease_could_last_be_spent(clock: FakeClock) -> None:
    deployment = standard(tpm=10_000, rpm=60_000)
    limits = policy.limits_for(deployment)
    assert isinstance(limits, policy.StandardLimits)
    state = MeterState()
    lease = leases.renew_standard(state, clock.now, limits, 100, None, 0.01, 1.0)
    assert isinstance(lease, leases.StandardLease) and lease.expires_at == clock.now + 1.0
    # Spent at the last moment the lease allows, the tokens still count a full 60 s later.
    assert state.tokens.used(lease.expires_at + 59.99) == 100
    assert state.tokens.used(lease.expires_at + 60.25) == 0


def test_a_refused_renewal_that_nobody_spends_meanwhile_returns_the_rest_to_the_pool(clock: FakeClock) -> None:
    """A waiting request's renewal, refused, means the lease cannot pay for it: what it has left goes back, where
    another instance may use it, rather than lie idle in every instance's lease."""
    deployment = standard(tpm=1_000, rpm=60_000)
    limits = policy.limits_for(deployment)
    assert isinstance(limits, policy.StandardLimits)
    state = MeterState()
    lease = leases.renew_standard(state, clock.now, limits, 300, None, 0.0, 1.0)
    assert isinstance(lease, leases.StandardLease)
    state.tokens.add(clock.now, 600)  # another instance takes the rest but 100
    lease.spend(200)  # 100 left in the lease
    refusal = leases.renew_standard(state, clock.now, limits, 300, lease, 0.0, 1.0, return_if_refused=True)
    assert isinstance(refusal, leases.Refusal) and refusal.returned
    assert state.tokens.used(clock.now) == 800  # 200 served and 600 leased elsewhere: 200 free for anyone


async def test_a_store_busy_with_other_writers_gets_429s_never_unlimited_answers(clock: FakeClock) -> None:
    """Contention that does not settle in time is not a failed store: the others are spending the budget."""
    store = SlowStore()

    async def contended(key, change):  # type: ignore[no-untyped-def]
        store.transactions += 1
        raise StoreContentionError("other writers changed it first")

    store.transact = contended  # type: ignore[method-assign]
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=0.01), clock=clock)
    error = await refusal(limiter, chat(standard(tpm=60_000), max_tokens=1))
    assert error.status == 429 and 0 < int(error.headers["retry-after-ms"]) <= 1_000
    assert limiter.stats.contended == 1 and limiter.served_unlimited == 0 and not limiter._guard.down
    await refusal(limiter, chat(standard(tpm=60_000), max_tokens=1))  # refused at once, until it backs off
    assert store.transactions == 1


@pytest.mark.parametrize("lease_fraction", [0.0, 0.01], ids=["in place", "leased"])
async def test_a_refusal_never_asks_for_more_than_a_minute(clock: FakeClock, lease_fraction: float) -> None:
    """Tokens count until their quarter-second bucket ended a minute ago (leased ones until a minute after the lease
    could last be spent), so the room comes back up to 61.35 s later; retry-after still says at most 60 s, as AOAI
    does, in both headers and the message."""
    store = MemoryStore() if lease_fraction == 0 else SlowStore()
    limiter = RateLimiter(store, RateLimitConfig(lease_fraction=lease_fraction), clock=clock)
    deployment = standard(tpm=10_000, rpm=60_000)
    await limiter.admit(chat(deployment, max_tokens=10_000))  # the whole minute's budget in one request
    error = await refusal(limiter, chat(deployment, max_tokens=100))
    assert error.headers["retry-after"] == "60" and error.headers["retry-after-ms"] == "60000"
    assert "Please retry after 60 seconds." in error.message


async def test_a_utilisation_refusal_names_a_minute_at_a_time(limiter: RateLimiter, clock: FakeClock) -> None:
    """One large request may take a PTU bucket far above 100 %: it drains for minutes, named 60 s at a time."""
    deployment = provisioned(ptu=1)  # 2,500 a minute
    await limiter.admit(chat(deployment, max_tokens=4_000))  # 16,000 and more: over six minutes to drain
    for _ in range(5):
        error = await refusal(limiter, chat(deployment, max_tokens=1))
        assert error.headers["retry-after"] == "60" and error.headers["retry-after-ms"] == "60000"
        clock.advance(60)
    error = await refusal(limiter, chat(deployment, max_tokens=1))
    assert int(error.headers["retry-after-ms"]) < 60_000
