"""Leases: an instance takes a slice of a deployment's budget from the shared state in one atomic change and
spends it locally, so the shared state is written once per slice, not once per request.

Everything here is a pure function of a `MeterState` and the time; a store runs `grant_*` atomically. Leased
units count as used in the shared state from the moment they are granted, so instances together never take
more than the limit; what a lease leaves unspent goes back with the next grant (docs/rate-limits.md).
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


@dataclasses.dataclass(slots=True)
class StandardLease:
    tokens: int  # unspent
    token_bucket: int
    requests: int  # unspent
    request_window: int
    expires_at: float
    # What the rest of the world (the shared state without this lease) had left when it was granted.
    tokens_outside: int
    requests_outside: int

    def covers(self, now: float, cost: int, limits: StandardLimits) -> bool:
        window = math.floor(now / limits.request_window_seconds)
        return now < self.expires_at and window == self.request_window and self.tokens >= cost and self.requests >= 1

    def spend(self, cost: int) -> None:
        self.tokens -= cost
        self.requests -= 1


@dataclasses.dataclass(slots=True)
class ProvisionedLease:
    units: float  # unspent
    expires_at: float
    granted_at: float
    # The bucket's level without this lease's unspent units, when it was granted.
    level_outside: float

    def covers(self, now: float, cost: float) -> bool:
        return now < self.expires_at and self.units >= cost

    def spend(self, cost: float) -> None:
        self.units -= cost
        self.level_outside += cost

    def utilisation(self, now: float, limits: ProvisionedLimits) -> float:
        drained = limits.drain_per_second * max(0.0, now - self.granted_at)
        return max(0.0, self.level_outside - drained) / limits.tokens_per_minute


def check_standard(state: MeterState, now: float, limits: StandardLimits, cost: int) -> Refusal | None:
    state.requests.resize(limits.request_window_seconds)
    token_wait = state.tokens.wait(now, cost, limits.tokens_per_minute)
    request_wait = state.requests.wait(now, 1, limits.requests_per_window)
    if token_wait <= 0 and request_wait <= 0:
        return None
    exceeded = Exceeded.TOKENS if token_wait >= request_wait else Exceeded.REQUESTS
    return Refusal(
        exceeded,
        max(token_wait, request_wait),
        state,
        now,
        remaining_requests=limits.requests_per_window - state.requests.used(now),
        remaining_tokens=limits.tokens_per_minute - state.tokens.used(now),
    )


def grant_standard(
    state: MeterState,
    now: float,
    limits: StandardLimits,
    cost: int,
    returning: StandardLease | None,
    fraction: float,
    lease_seconds: float,
) -> StandardLease | Refusal:
    """Give back what `returning` left unspent, then lease at least `cost` tokens and one request."""
    state.requests.resize(limits.request_window_seconds)
    if returning is not None:
        state.tokens.give_back(returning.token_bucket, returning.tokens)
        state.requests.give_back(returning.request_window, returning.requests)
    refusal = check_standard(state, now, limits, cost)
    if refusal is not None:
        return dataclasses.replace(refusal, state=state.copy())
    tokens_free = limits.tokens_per_minute - state.tokens.used(now)
    requests_free = limits.requests_per_window - state.requests.used(now)
    tokens = min(tokens_free, max(cost, math.ceil(limits.tokens_per_minute * fraction)))
    requests = min(requests_free, max(1, math.floor(limits.requests_per_window * fraction)))
    return StandardLease(
        tokens=tokens,
        token_bucket=state.tokens.add(now, tokens),
        requests=requests,
        request_window=state.requests.add(now, requests),
        expires_at=now + lease_seconds,
        tokens_outside=tokens_free - tokens,
        requests_outside=requests_free - requests,
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


def grant_provisioned(
    state: MeterState,
    now: float,
    limits: ProvisionedLimits,
    cost: float,
    returning: float,
    correction: float,
    fraction: float,
    lease_seconds: float,
) -> ProvisionedLease | Refusal:
    """Apply `correction` (actual minus estimated costs settled since) and give back `returning` unspent units,
    then lease at least `cost` units; extra units are leased only while the bucket is below 100 %."""
    bucket = state.utilisation
    rate = limits.drain_per_second
    bucket.add(now, rate, correction - returning)
    refusal = check_provisioned(state, now, limits)
    if refusal is not None:
        return dataclasses.replace(refusal, state=state.copy())
    level = bucket.level_at(now, rate)
    extra = min(limits.tokens_per_minute * fraction, limits.tokens_per_minute - level)
    units = max(cost, extra)
    bucket.add(now, rate, units)
    return ProvisionedLease(units, now + lease_seconds, now, level_outside=level)


def apply_correction(state: MeterState, now: float, limits: ProvisionedLimits, correction: float) -> None:
    state.utilisation.add(now, limits.drain_per_second, correction)
