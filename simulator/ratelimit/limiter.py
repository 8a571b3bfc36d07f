"""The per-process entry point: admit a request against its deployment's limits, settle it when answered.

Each process keeps, per deployment, the lease it is spending and the last refusal it read. With the memory
store leases are exact (one request's cost), so every request is charged in the shared state as it arrives.
With Table Storage (leases of a share of the limit) requests are meant not to wait for the store: a lease half
spent or half way to expiry is renewed in the background, and so is a refusal half way through the time it is
trusted; a timer renews when a refusal says there will be room again, and when a lease's request window ends.
One renewal per deployment is in flight at a time. A request waits for the store only when its lease cannot
cover it and no trusted refusal explains why: the first request, a burst that outruns the renewal, a request
larger than the lease. Such requests queue behind the renewal in flight, and a renewal leases for every request
queued behind it plus the demand expected until the lease ends, so a burst costs a few round trips, not one
per request. A store that answers is never treated as failed: only an unreachable one leads to answers served
unlimited (fail-open), each counted in `served_unlimited` and logged (docs/rate-limits.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from simulator.context import OpenAIRequest
from simulator.deployments import Deployment
from simulator.errors import OpenAIError
from simulator.ratelimit import leases, policy
from simulator.ratelimit.config import FailureMode, RateLimitConfig
from simulator.ratelimit.failure import FailureStats, StoreGuard, StoreUnavailableError
from simulator.ratelimit.leases import Lease, ProvisionedLease, Refusal, StandardLease
from simulator.ratelimit.policy import ProvisionedLimits, StandardLimits
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import LimitStore, MemoryStore, StoreContentionError, Unchanged, open_store
from simulator.replies import Usage

logger = logging.getLogger(__name__)
Clock = Callable[[], float]
T = TypeVar("T")

# A token (or PTU) lease grows with the instance's demand up to this many times `lease_fraction` of the limit;
# the cap bounds what an instance can leave unspent when its demand stops, not the accuracy (docs/rate-limits.md).
MAX_LEASE_FACTOR = 5
# A request lease grows with the demand up to this share of the request window: under a burst a few instances
# take the window in a few round trips, and none holds more than it can spend before the window ends.
MAX_REQUEST_LEASE_SHARE = 0.25
# A rate measured over less time than this is mostly noise (a renewal right after another).
_SHORTEST_RATE_SPAN = 0.05
# Instances told by the store when there will be room again come back spread over this share of a lease period,
# at random, rather than all at that moment: one of them takes the room and the others read a refusal, instead
# of all but one losing a compare-and-swap.
REFUSAL_SPREAD = 0.1
# A waiting request whose new lease ended before it arrived (a store slower than a lease period, or a request
# window that ended during the round trip) renews again, this many times at most.
_RENEWALS_PER_WAIT = 3


@dataclasses.dataclass(slots=True)
class Admission:
    """A request let through: headers for its successful answer, and `settle` once the answer is complete."""

    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    _settle: Callable[[Usage], Awaitable[None]] | None = None

    @property
    def pending(self) -> bool:
        """Whether `settle` still has work (Provisioned deployments correct their estimate)."""
        return self._settle is not None

    async def settle(self, usage: Usage | None) -> None:
        """Report the actual usage (Provisioned corrects its estimate); later calls do nothing."""
        settle, self._settle = self._settle, None
        if settle is not None and usage is not None:
            await settle(usage)


@dataclasses.dataclass(slots=True)
class RenewalStats:
    """How often requests waited for the store (or a renewal in flight), and how often it was visited ahead of need."""

    waited: int = 0
    ahead: int = 0


@dataclasses.dataclass(slots=True, eq=False)
class _Ledger:
    """One deployment's state in this process."""

    name: str
    limits: policy.Limits
    cost: float = 0.0  # the latest request's: what a renewal ahead of need leases at least
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    lease: Lease | None = None
    refusal: Refusal | None = None
    # How long after the time a refusal names this instance goes on refusing (`REFUSAL_SPREAD`).
    offset: float = 0.0
    # Until then requests are refused without asking the store: it gave up a change to other instances' writes.
    busy_until: float = -math.inf
    correction: float = 0.0  # Provisioned: actual minus estimated costs not yet written to the store
    demand_at: float = -math.inf  # when the latest request arrived
    # Since the latest renewal, admitted or not: the demand rate that sizes the next lease.
    arrived_requests: int = 0
    arrived_cost: float = 0.0
    # Waiting for a renewal now: the next one leases at least this much, so one round trip serves them all.
    queued_requests: int = 0
    queued_cost: float = 0.0
    # Counts renewals, so that a renewal asked for earlier can tell it has been overtaken.
    version: int = 0
    renewed_at: float = -math.inf
    renewal: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None


class RateLimiter:
    def __init__(
        self,
        store: LimitStore,
        config: RateLimitConfig | None = None,
        *,
        clock: Clock = time.time,
        random_source: random.Random | None = None,
    ) -> None:
        """`clock` is wall-clock time by default because instances sharing a store must agree on windows;
        `random_source` is seeded from the system by default because they must not draw the same offsets."""
        self._random = random_source or random.Random()
        self.config = config or RateLimitConfig()
        self.renewals = RenewalStats()
        self._store = store
        self._clock = clock
        self._fraction = self.config.effective_lease_fraction
        # Leasing (a shared store) renews ahead of need and trusts a refusal read from the store for a lease
        # period; exact (memory) limiting goes to the store on every request, which costs nothing there.
        self._ahead = self._fraction > 0
        self._trust_seconds = self.config.lease_seconds if self._ahead else 0.0
        # Exact limiting in this process's memory needs no coroutine or lease: the store, when it is that.
        self._in_place = store if isinstance(store, MemoryStore) and not self._ahead else None
        # A remote store bounds each of its round trips by `store_timeout`; the guard bounds a whole change.
        self._guard = StoreGuard(
            self.config.failure_mode, self.config.transaction_timeout, self.config.retry_interval, clock
        )
        self._ledgers: dict[str, _Ledger] = {}
        self._limits_by_name: dict[str, tuple[Deployment, policy.Limits | None]] = {}

    @classmethod
    def from_config(cls, config: RateLimitConfig, *, clock: Clock = time.time) -> RateLimiter:
        return cls(open_store(config), config, clock=clock)

    @property
    def stats(self) -> FailureStats:
        return self._guard.stats

    @property
    def served_unlimited(self) -> int:
        """Answers served without limits because the store could not be reached (fail-open), since start."""
        return self._guard.stats.failed_open

    async def start(self) -> None:
        """Prepare the store (create the table, open a connection) before traffic; a failure here is the
        failure policy's, not the caller's, and the store is tried again on the first request."""
        with contextlib.suppress(StoreUnavailableError):
            await self._guard.call(self._store.prepare)

    async def renewals_done(self) -> None:
        """Wait for the renewals in flight (tests and benchmarks read the store after them)."""
        tasks = [ledger.renewal for ledger in self._ledgers.values() if ledger.renewal is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for ledger in self._ledgers.values():
            if ledger.timer is not None:
                ledger.timer.cancel()
            if ledger.renewal is not None:
                ledger.renewal.cancel()
        await self.renewals_done()
        await self._store.aclose()

    async def admit(self, request: OpenAIRequest) -> Admission:
        """Charge the request or raise `OpenAIError`: 429 over a limit, 503 when the store fails closed."""
        limits = self._limits(request.deployment)
        if limits is None:
            return Admission()
        now = self._clock()
        if type(limits) is StandardLimits:
            # A larger cost could never pass.
            tokens = min(policy.standard_cost(request, limits), limits.tokens_per_minute)
            if self._in_place is not None:  # the local default: charged in place, at once
                outcome = leases.charge_standard(self._in_place.state(request.deployment.name), now, limits, tokens)
                return self._exact_admission(request, outcome, limits)
            if not self._ahead:
                return await self._admit_exactly(request, limits, tokens, now)
            cost: float = tokens
        else:
            cost = policy.provisioned_estimate(request, limits)
        ledger = self._ledgers.get(request.deployment.name)
        if ledger is None:
            ledger = self._ledgers[request.deployment.name] = _Ledger(request.deployment.name, limits)
        ledger.limits, ledger.cost, ledger.demand_at = limits, cost, now
        ledger.arrived_requests += 1
        ledger.arrived_cost += cost
        admission = self._admit_locally(request, limits, ledger, cost, now)
        if admission is not None:
            return admission
        self.renewals.waited += 1
        ledger.queued_requests += 1
        ledger.queued_cost += cost
        try:
            return await self._wait_for_lease(request, limits, ledger, cost)
        finally:
            ledger.queued_requests -= 1
            ledger.queued_cost -= cost

    async def _wait_for_lease(
        self, request: OpenAIRequest, limits: policy.Limits, ledger: _Ledger, cost: float
    ) -> Admission:
        """Behind the renewal in flight, if any: it was sized to every request waiting when it went to the store,
        so the requests queued behind it are mostly served from what it brings, without a round trip each."""
        async with ledger.lock:
            for _ in range(_RENEWALS_PER_WAIT):
                admission = self._admit_locally(request, limits, ledger, cost, self._clock())
                if admission is not None:
                    return admission
                try:
                    outcome = await self._renew(ledger, limits, cost, waiting=True)
                except StoreContentionError:
                    raise self._refuse(request, self._busy(ledger, limits, self._clock()), limits) from None
                if outcome is None:
                    return self._store_failed(request)
                if isinstance(outcome, Refusal):
                    raise self._refuse(request, outcome, limits)
            admission = self._admit_locally(request, limits, ledger, cost, self._clock())
            if admission is not None:
                return admission
        # Every lease had ended by the time it arrived: the store answers slower than a lease lasts.
        ledger.busy_until = self._clock() + self.config.lease_seconds
        raise self._refuse(request, self._busy(ledger, limits, self._clock()), limits)

    def _busy(self, ledger: _Ledger, limits: policy.Limits, now: float) -> Refusal:
        """A refusal until `busy_until`: the store could not be brought to grant in time, and others spend the
        budget meanwhile (it answered, so it has not failed: nothing is served unlimited)."""
        exceeded = policy.Exceeded.REQUESTS if isinstance(limits, StandardLimits) else policy.Exceeded.UTILISATION
        return Refusal(exceeded, max(ledger.busy_until - now, 0.001), MeterState(), now)

    def _limits(self, deployment: Deployment) -> policy.Limits | None:
        """The deployment's limits, computed once per deployment object (a reconfigured deployment is a new
        object, so it gets its new limits at once)."""
        cached = self._limits_by_name.get(deployment.name)
        if cached is not None and cached[0] is deployment:
            return cached[1]
        limits = policy.limits_for(deployment)
        self._limits_by_name[deployment.name] = (deployment, limits)
        return limits

    async def _admit_exactly(self, request: OpenAIRequest, limits: StandardLimits, cost: int, now: float) -> Admission:
        """Without leases (the memory store's default) a Standard request is charged in the store as it comes:
        no lease to keep, nothing to renew."""
        try:
            outcome = await self._transact(
                request.deployment.name, lambda state: leases.charge_standard(state, now, limits, cost)
            )
        except StoreContentionError:  # busy, not failed: others are spending the budget
            refusal = Refusal(policy.Exceeded.REQUESTS, self.config.lease_seconds, MeterState(), now)
            raise self._refuse(request, refusal, limits) from None
        if outcome is None:
            return self._store_failed(request)
        return self._exact_admission(request, outcome, limits)

    def _exact_admission(
        self, request: OpenAIRequest, outcome: Refusal | tuple[int, int], limits: StandardLimits
    ) -> Admission:
        if type(outcome) is tuple:
            return Admission(policy.standard_headers(limits, *outcome))
        raise self._refuse(request, outcome, limits)

    async def _transact(self, key: str, change: Callable[[MeterState], T | Unchanged[T]]) -> T | None:
        """The change, within the failure policy's time bound unless the store is local; None: it failed."""
        try:
            if self._store.local:
                return await self._store.transact(key, change)
            return await self._guard.call(lambda: self._store.transact(key, change))
        except StoreUnavailableError:
            return None

    def _admit_locally(
        self, request: OpenAIRequest, limits: policy.Limits, ledger: _Ledger, cost: float, now: float
    ) -> Admission | None:
        """From the lease, or a 429 from the trusted refusal; None when only the store can tell."""
        lease = _lease(ledger, limits)
        if lease is not None and lease.covers(now, cost, limits):  # type: ignore[arg-type]
            return self._spend(ledger, lease, cost, limits, now)
        if now < ledger.busy_until:
            raise self._refuse(request, self._busy(ledger, limits, now), limits)
        refusal = ledger.refusal
        if refusal is None or now >= refusal.read_at + self._trust_seconds:
            return None
        refused = _check(refusal.state, max(refusal.read_at, now - ledger.offset), limits, cost)
        if refused is None:
            return None
        if now >= refusal.read_at + self._trust_seconds / 2:
            self._renew_soon(ledger)
        raise self._refuse(request, refused, limits)

    def _spend(self, ledger: _Ledger, lease: Lease, cost: float, limits: policy.Limits, now: float) -> Admission:
        if isinstance(lease, StandardLease):
            assert isinstance(limits, StandardLimits)
            lease.spend(int(cost))
            admission = Admission(
                policy.standard_headers(
                    limits, lease.requests_outside + lease.requests, lease.tokens_outside + lease.tokens
                )
            )
        else:
            assert isinstance(limits, ProvisionedLimits)
            lease.spend(cost)
            admission = Admission(
                policy.utilisation_header(lease.utilisation(now, limits)), self._settler(ledger, limits, cost)
            )
        if self._ahead and lease.aging(now):
            self._renew_soon(ledger)
        return admission

    def _settler(self, ledger: _Ledger, limits: ProvisionedLimits, cost: float) -> Callable[[Usage], Awaitable[None]]:
        async def settle(usage: Usage) -> None:
            """The correction is written with the next renewal (at once when it reaches a lease's size)."""
            ledger.correction += policy.provisioned_actual(usage, limits) - cost
            if self._ahead and abs(ledger.correction) >= limits.tokens_per_minute * self._fraction:
                self._renew_soon(ledger)

        return settle

    # --- renewals ----------------------------------------------------------------------------------------

    async def _renew(
        self, ledger: _Ledger, limits: policy.Limits, cost: float, *, waiting: bool
    ) -> Lease | Refusal | None:
        """Trade the deployment's lease in for a new one, or read a refusal; None: the store failed. Runs under
        `ledger.lock`. While a request is `waiting` the old lease is not spent (that request needs more than it
        has); ahead of need it still is, and the new lease takes those spends over."""
        current = _lease(ledger, limits)
        if current is not None and not current.covers(self._clock(), cost, limits):  # type: ignore[arg-type]
            waiting = True  # a rest too small for the latest request: nobody spends it, it goes back if refused
        if waiting:
            ledger.lease = None
        fraction, seconds = self._fraction, self.config.lease_seconds
        correction = ledger.correction
        clock = self._clock
        applied = True  # whether the store took the correction

        def change(state: MeterState) -> Lease | Refusal | Unchanged[Refusal]:
            nonlocal applied
            # The time of this attempt: a store retries a lost compare-and-swap on a fresher state, and a time read
            # before the earlier round trips may lie in a window that the fresher state has already left.
            now = clock()
            tokens, requests = self._wanted(ledger, limits, now)
            outcome: Lease | Refusal
            if isinstance(limits, StandardLimits):
                assert current is None or isinstance(current, StandardLease)
                outcome = leases.renew_standard(
                    state, now, limits, int(cost), current, fraction, seconds, math.ceil(tokens), requests, waiting
                )
            else:
                assert current is None or isinstance(current, ProvisionedLease)
                renewal = (now, limits, cost, current, correction, fraction, seconds, tokens, waiting)
                # A correction that lowers the level may wait for the next grant: others only refuse a little
                # more meanwhile. Refused with it, this renewal is then only a read.
                if correction <= 0:
                    refused = leases.renew_provisioned(state.copy(), *renewal)
                    if isinstance(refused, Refusal) and not refused.returned:
                        applied = False
                        return Unchanged(refused)
                outcome = leases.renew_provisioned(state, *renewal)
            applied = True
            # A refusal that gives nothing back takes nothing: unless a correction is due, it is only a read.
            if isinstance(outcome, Refusal) and not outcome.returned and not correction:
                return Unchanged(outcome)
            return outcome

        try:
            outcome = await self._transact(ledger.name, change)
        except StoreContentionError:
            # None of its writes landed: the lease is as it was. Others are spending the budget meanwhile.
            ledger.lease = current
            ledger.busy_until = self._clock() + self._random.random() * seconds
            raise
        if outcome is None:
            # The write may have landed unseen: spend the old lease to its end, but never give it back again.
            if current is not None:
                current.returnable = False
                ledger.lease = current
            return None
        if applied:
            ledger.correction -= correction
        ledger.version += 1
        ledger.renewed_at = outcome.read_at if isinstance(outcome, Refusal) else outcome.granted_at
        ledger.arrived_requests, ledger.arrived_cost = 0, 0.0
        if isinstance(outcome, Refusal):
            if current is not None and outcome.returned:
                current.retire()  # given back: what it had left is the pool's again
            ledger.lease = current  # else still charged as it was: what it has left may serve smaller requests
            ledger.refusal = outcome
            ledger.offset = self._random.random() * REFUSAL_SPREAD * self.config.lease_seconds
            self._renew_at(ledger, outcome.read_at + outcome.wait + ledger.offset)
            return outcome
        if current is not None:
            outcome.take_over(current)  # type: ignore[arg-type]
        ledger.lease, ledger.refusal = outcome, None
        if isinstance(outcome, StandardLease):
            assert isinstance(limits, StandardLimits)
            window_ends = (outcome.request_window + 1) * limits.request_window_seconds
            if window_ends < outcome.expires_at:
                self._renew_at(ledger, window_ends)
        return outcome

    def _wanted(self, ledger: _Ledger, limits: policy.Limits, now: float) -> tuple[float, int]:
        """Tokens (or PTU units) and requests to lease beyond the floor: every request waiting for this renewal,
        and what the instance will spend before the lease expires at the rate requests arrived since the last
        renewal, up to `MAX_LEASE_FACTOR` leases and `MAX_REQUEST_LEASE_SHARE` of the request window. A burst
        then takes its share in a few round trips instead of one per request (docs/rate-limits.md)."""
        span = max(now - ledger.renewed_at, _SHORTEST_RATE_SPAN)  # infinite before the first renewal: no rate yet
        horizon = self.config.lease_seconds
        ceiling = MAX_LEASE_FACTOR * self._fraction * limits.tokens_per_minute
        cost = max(ledger.queued_cost, min(ceiling, ledger.arrived_cost / span * horizon))
        if not isinstance(limits, StandardLimits):
            return cost, 0
        window = limits.request_window_seconds
        horizon = min(horizon, (math.floor(now / window) + 1) * window - now)  # a request lease ends with its window
        share = min(MAX_REQUEST_LEASE_SHARE * limits.requests_per_window, ledger.arrived_requests / span * horizon)
        return cost, max(ledger.queued_requests, math.ceil(share))

    def _renew_soon(self, ledger: _Ledger) -> None:
        """Renew in the background, unless a renewal is already in flight."""
        if not self._ahead or (ledger.renewal is not None and not ledger.renewal.done()):
            return
        ledger.renewal = asyncio.get_running_loop().create_task(self._renew_ahead(ledger, ledger.version))

    async def _renew_ahead(self, ledger: _Ledger, version: int) -> None:
        async with ledger.lock:
            if ledger.version != version:  # a waiting request renewed first
                return
            self.renewals.ahead += 1
            try:
                await self._renew(ledger, ledger.limits, ledger.cost, waiting=False)
            except StoreContentionError:
                pass  # counted; the requests that need the store get 429s until `busy_until`
            except Exception:  # a background task has nobody to raise to
                logger.exception("rate-limit lease renewal for %s failed", ledger.name)

    def _renew_at(self, ledger: _Ledger, at: float) -> None:
        """At `at` (when a refusal says there is room again, or a request window ends), renew if a request came
        within the last lease period: a deployment nobody uses is left alone."""
        if not self._ahead or not math.isfinite(at):
            return
        if ledger.timer is not None:
            ledger.timer.cancel()
        version = ledger.version

        def due() -> None:
            ledger.timer = None
            if ledger.version == version and ledger.demand_at >= self._clock() - self.config.lease_seconds:
                self._renew_soon(ledger)

        ledger.timer = asyncio.get_running_loop().call_later(max(0.0, at - self._clock()), due)

    # --- answers -----------------------------------------------------------------------------------------

    def _refuse(self, request: OpenAIRequest, refusal: Refusal, limits: policy.Limits) -> OpenAIError:
        if isinstance(limits, StandardLimits):
            headers = policy.standard_headers(limits, refusal.remaining_requests, refusal.remaining_tokens)
        else:
            headers = policy.utilisation_header(refusal.utilisation)
        # A token counts until its quarter-second bucket has ended a minute ago (a leased one until a minute after its
        # lease could last be spent), so the room may come back up to 61.35 s later, and a utilisation bucket far
        # above 100 % drains for minutes; AOAI never names more than a minute, and a 429 then names the rest.
        wait = min(refusal.wait, policy.LONGEST_RETRY_SECONDS)
        return policy.rate_limited(request, refusal.exceeded, wait, self.config.region, headers)

    def _store_failed(self, request: OpenAIRequest) -> Admission:
        """Fail open (served unlimited, counted and logged, every one) or closed (503)."""
        stats = self._guard.stats
        if self._guard.mode is FailureMode.OPEN:
            stats.failed_open += 1
            logger.warning(
                "served a request to %s unlimited: the rate-limit store is unreachable (%d served unlimited so far)",
                request.deployment.name,
                stats.failed_open,
            )
            return Admission()
        stats.failed_closed += 1
        raise policy.store_unavailable(self.config.retry_interval)


def _lease(ledger: _Ledger, limits: policy.Limits) -> Lease | None:
    """The deployment's lease, if it is of its current kind (a deployment may be reconfigured at run time)."""
    lease = ledger.lease
    kind = StandardLease if isinstance(limits, StandardLimits) else ProvisionedLease
    return lease if isinstance(lease, kind) else None


def _check(state: MeterState, now: float, limits: policy.Limits, cost: float) -> Refusal | None:
    if isinstance(limits, StandardLimits):
        return leases.check_standard(state, now, limits, int(cost))
    return leases.check_provisioned(state, now, limits)
