"""The limiter over the memory store, with an injected clock: AOAI's behaviour, request by request, and the
leases it renews ahead of need (with a store made slow or failing on purpose)."""

from __future__ import annotations

import asyncio

import pytest

from simulator.errors import OpenAIError
from simulator.ratelimit import RateLimitConfig, RateLimiter, leases, policy
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import MemoryStore, StoreError
from simulator.replies import Usage
from tests.ratelimit.factory import FakeClock, chat, provisioned, standard


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
    clock.advance(int(error.headers["retry-after-ms"]) / 1000)
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
    admitted = 0
    for _ in range(400):
        try:
            await limiter.admit(chat(deployment, max_tokens=30))
            admitted += 1
        except OpenAIError:
            pass
        clock.advance(0.01)
    assert admitted == 10_000 // 30


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
