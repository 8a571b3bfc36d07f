"""Leases: an instance takes a slice of a deployment's budget from the shared state in one atomic change and
spends it locally, so the shared state is written once per slice, not once per request.

Everything here is a pure function of a `MeterState` and the time; a store runs `renew_*` atomically. Leased
units count as used in the shared state from the moment they are granted, so instances together never take
more than the limit. An instance holds one lease per deployment and renews it by trading it in: the renewal
gives back what the lease has unspent and takes a fresh one. The old lease may still be spent while the
renewal is in flight (requests do not wait for it); `take_over` moves those spends onto the new lease, so an
instance never has more than one lease's worth of unspent units (docs/rate-limits.md).
"""

from __future__ import annotations

import dataclasses
import math

from simulator.ratelimit.policy import Exceeded, ProvisionedLimits, StandardLimits
from simulator.ratelimit.state import MeterState


@dataclasses.dataclass(slots=True)
class Refusal:
    """Not now: `wait` seconds until the request fits if nothing else arrives. `state` is what was read (a copy
    when it came from a store), so the instance can refuse similar requests for a while without reading again."""

    exceeded: Exceeded
    wait: float
    state: MeterState
    read_at: float
    remaining_requests: int = 0
    remaining_tokens: int = 0
    utilisation: float = 0.0
    # The lease traded in was given back all the same: the state changed, and the lease is spent.
    returned: bool = False


@dataclasses.dataclass(slots=True)
class StandardLease:
    tokens: int  # unspent
    token_bucket: int
    requests: int  # unspent
    request_window: int
    granted_at: float
    expires_at: float
    # What the rest of the world (the shared state without this lease) had left when it was granted.
    tokens_outside: int
    requests_outside: int
    granted_tokens: int = 0
    granted_requests: int = 0
    # What the lease this one replaced had unspent when the renewal read it (and gave it back).
    took_tokens: int = 0
    took_requests: int = 0
    # False once a renewal may or may not have given it back (the store failed): never given back again.
    returnable: bool = True

    def covers(self, now: float, cost: int, limits: StandardLimits) -> bool:
        window = math.floor(now / limits.request_window_seconds)
        return now < self.expires_at and window == self.request_window and self.tokens >= cost and self.requests >= 1

    def spend(self, cost: int, requests: int = 1) -> None:
        self.tokens -= cost
        self.requests -= requests

    def aging(self, now: float) -> bool:
        """Half spent or half way to expiry: time to renew ahead of need, before a request has to wait."""
        return (
            2 * self.tokens < self.granted_tokens
            or 2 * self.requests < self.granted_requests
            or now >= (self.granted_at + self.expires_at) / 2
        )

    def take_over(self, old: StandardLease) -> None:
        """`old` was spent while this lease was being granted, after its unspent units had been read and given
        back: those spends come out of this lease, which was sized to cover them."""
        spent_tokens = max(0, self.took_tokens - old.tokens)
        spent_requests = max(0, self.took_requests - old.requests) if old.request_window == self.request_window else 0
        self.spend(min(spent_tokens, self.tokens), min(spent_requests, self.requests))
        old.retire()

    def retire(self) -> None:
        self.tokens = self.requests = 0
        self.returnable = False


@dataclasses.dataclass(slots=True)
class ProvisionedLease:
    units: float  # unspent
    granted_at: float
    expires_at: float
    # The bucket's level without this lease's unspent units, when it was granted.
    level_outside: float
    granted_units: float = 0.0
    took_units: float = 0.0
    returnable: bool = True

    def covers(self, now: float, cost: float, limits: ProvisionedLimits) -> bool:
        return now < self.expires_at and self.units >= cost

    def spend(self, cost: float) -> None:
        self.units -= cost
        self.level_outside += cost

    def aging(self, now: float) -> bool:
        return 2 * self.units < self.granted_units or now >= (self.granted_at + self.expires_at) / 2

    def take_over(self, old: ProvisionedLease) -> None:
        self.spend(min(max(0.0, self.took_units - old.units), self.units))
        old.retire()

    def retire(self) -> None:
        self.units = 0.0
        self.returnable = False

    def utilisation(self, now: float, limits: ProvisionedLimits) -> float:
        drained = limits.drain_per_second * max(0.0, now - self.granted_at)
        return max(0.0, self.level_outside - drained) / limits.tokens_per_minute


Lease = StandardLease | ProvisionedLease


def check_standard(state: MeterState, now: float, limits: StandardLimits, cost: int) -> Refusal | None:
    state.requests.resize(limits.request_window_seconds)
    token_wait = state.tokens.wait(now, cost, limits.tokens_per_minute)
    request_wait = state.requests.wait(now, 1, limits.requests_per_window)
    if token_wait <= 0 and request_wait <= 0:
        return None
    exceeded = limits.budget_exceeded if token_wait >= request_wait else Exceeded.REQUESTS
    return Refusal(
        exceeded,
        max(token_wait, request_wait),
        state,
        now,
        remaining_requests=limits.requests_per_window - state.requests.used(now),
        remaining_tokens=limits.tokens_per_minute - state.tokens.used(now),
    )


def charge_standard(state: MeterState, now: float, limits: StandardLimits, cost: int) -> Refusal | tuple[int, int]:
    """Exact limiting, without leases: charge one request of `cost` now, or refuse it. Admitted: the requests and
    tokens that remain after it. A refusal's state is the store's own (the caller must not keep it)."""
    tokens, requests = state.tokens, state.requests
    if requests.length != limits.request_window_seconds:
        requests.resize(limits.request_window_seconds)
    tokens_used, requests_used = tokens.used(now), requests.used(now)
    if tokens_used + cost > limits.tokens_per_minute or requests_used >= limits.requests_per_window:
        refusal = check_standard(state, now, limits, cost)
        if refusal is not None:
            return refusal
    tokens.add(now, cost)
    requests.add(now, 1)
    return limits.requests_per_window - requests_used - 1, limits.tokens_per_minute - tokens_used - cost


def renew_standard(
    state: MeterState,
    now: float,
    limits: StandardLimits,
    cost: int,
    current: StandardLease | None,
    fraction: float,
    lease_seconds: float,
    wanted_tokens: int = 0,
    wanted_requests: int = 0,
    return_if_refused: bool = False,
) -> StandardLease | Refusal:
    """Trade `current` in: give back what it has unspent, then lease at least `cost` tokens and one request —
    `fraction` of the limits, or what the instance wants if more (the requests waiting for this renewal and what
    it expects to spend in a lease period), never more than the window has left. Refused, `current` stays
    charged as it was, so the instance may go on spending it — unless `return_if_refused` (nobody spends it
    meanwhile, and a refusal means it cannot pay for this request): then what it has left goes back to the pool,
    where another instance may use it, instead of lying idle in every instance's lease (N × one request's cost
    of the TPM, with N instances).

    The tokens are charged to the window as if spent at the lease's expiry, the last moment they may be: each
    then counts for at least 60 s after it is really spent, so a sliding window of served tokens never holds
    more than the limit, however many instances hold leases (docs/rate-limits.md)."""
    state.requests.resize(limits.request_window_seconds)
    # Another instance's clock may already have opened the next request window: charge that one, never reset it
    # to the window before (which would wipe what the others counted in it).
    now = max(now, state.requests.ends(state.requests.window - 1))
    took_tokens = took_requests = given_tokens = given_requests = 0
    if current is not None and current.returnable:
        took_tokens, took_requests = current.tokens, current.requests
        given_tokens = state.tokens.give_back(current.token_bucket, took_tokens)
        given_requests = state.requests.give_back(current.request_window, took_requests)
    refusal = check_standard(state, now, limits, cost)
    if refusal is not None:
        returned = return_if_refused and (given_tokens > 0 or given_requests > 0)
        refusal = dataclasses.replace(refusal, state=state.copy(), returned=returned)
        if current is not None and not returned:
            state.tokens.restore(current.token_bucket, given_tokens)
            state.requests.restore(current.request_window, given_requests)
        return refusal
    tokens_free = limits.tokens_per_minute - state.tokens.used(now)
    requests_free = limits.requests_per_window - state.requests.used(now)
    # At least what the old lease had: it may all be spent while this one is in flight (`take_over`).
    tokens = min(tokens_free, max(cost, math.ceil(limits.tokens_per_minute * fraction), wanted_tokens, took_tokens))
    # No more requests than the tokens pay for at this cost, nor more tokens than the requests spend: what one
    # limit leaves unspendable would otherwise be held from the other instances (a token-bound deployment's
    # request window taken by leases of requests that never come).
    spendable = max(1, min(wanted_requests, -(-tokens // max(cost, 1))))
    requests = min(requests_free, max(1, math.floor(limits.requests_per_window * fraction), spendable, took_requests))
    tokens = min(tokens, max(cost, requests * cost, took_tokens))
    return StandardLease(
        tokens=tokens,
        token_bucket=state.tokens.add_later(now, now + lease_seconds, tokens),
        requests=requests,
        request_window=state.requests.add(now, requests),
        granted_at=now,
        expires_at=now + lease_seconds,
        tokens_outside=tokens_free - tokens,
        requests_outside=requests_free - requests,
        granted_tokens=tokens,
        granted_requests=requests,
        took_tokens=took_tokens,
        took_requests=took_requests,
    )


def check_provisioned(state: MeterState, now: float, limits: ProvisionedLimits) -> Refusal | None:
    """Above 100 % every request is refused until the bucket drains to 100 %; below it any request is served."""
    bucket = state.utilisation
    rate = limits.drain_per_second
    wait = bucket.wait(now, rate, limits.tokens_per_minute)
    if wait <= 0:
        return None
    utilisation = bucket.level_at(now, rate) / limits.tokens_per_minute
    return Refusal(Exceeded.UTILISATION, wait, state, now, utilisation=utilisation)


def renew_provisioned(
    state: MeterState,
    now: float,
    limits: ProvisionedLimits,
    cost: float,
    current: ProvisionedLease | None,
    correction: float,
    fraction: float,
    lease_seconds: float,
    wanted: float = 0.0,
    return_if_refused: bool = False,
) -> ProvisionedLease | Refusal:
    """Apply `correction` (actual minus estimated costs settled since), trade `current` in, then lease at least
    `cost` units. More — `fraction` of the capacity, or what the instance `wanted` (the requests waiting for this
    renewal, its expected demand) — only up to 100 %: a central bucket would admit one request above it, not a
    lease's worth. `return_if_refused` as for `renew_standard`."""
    bucket = state.utilisation
    rate = limits.drain_per_second
    bucket.add(now, rate, correction)
    took = given = 0.0
    if current is not None and current.returnable:
        took = current.units
        given = bucket.take(now, rate, took)
    refusal = check_provisioned(state, now, limits)
    if refusal is not None:
        returned = return_if_refused and given > 0
        refusal = dataclasses.replace(refusal, state=state.copy(), returned=returned)
        if not returned:
            bucket.add(now, rate, given)
        return refusal
    level = bucket.level_at(now, rate)
    extra = min(max(limits.tokens_per_minute * fraction, wanted), limits.tokens_per_minute - level)
    units = max(cost, extra, took)
    bucket.add(now, rate, units)
    return ProvisionedLease(units, now, now + lease_seconds, level_outside=level, granted_units=units, took_units=took)
