"""The per-process entry point: admit a request against its deployment's limits, settle it when answered.

Each process keeps, per deployment, the lease it is spending and the last refusal it read. With the memory
store leases are exact (one request's cost), so every request is charged in the shared state as it arrives.
With Table Storage (leases of a share of the limit) requests are meant not to wait for the store: a lease half
spent or half way to expiry is renewed in the background, and so is a refusal half way through the time it is
trusted; a timer renews when a refusal says there will be room again, and when a lease's request window ends.
One renewal per deployment is in flight at a time. A request waits for the store only when its lease cannot
cover it and no trusted refusal explains why: the first request, a burst that outruns the renewal, a request
larger than the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
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
from simulator.ratelimit.stores import LimitStore, MemoryStore, open_store
from simulator.replies import Usage

logger = logging.getLogger(__name__)
Clock = Callable[[], float]
T = TypeVar("T")

# A lease grows with the instance's demand up to this many times `lease_fraction` of the limit.
MAX_LEASE_FACTOR = 2
# A rate measured over less time than this is mostly noise (a renewal right after another).
_SHORTEST_RATE_SPAN = 0.05


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
    correction: float = 0.0  # Provisioned: actual minus estimated costs not yet written to the store
    demand_at: float = -math.inf  # when the latest request arrived
    spent: float = 0.0  # since the latest renewal: sizes the next lease to the demand
    # Counts renewals, so that a renewal asked for earlier can tell it has been overtaken.
    version: int = 0
    renewed_at: float = -math.inf
    renewal: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None


class RateLimiter:
    def __init__(self, store: LimitStore, config: RateLimitConfig | None = None, *, clock: Clock = time.time) -> None:
        """`clock` is wall-clock time by default because instances sharing a store must agree on windows."""
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
        self._guard = StoreGuard(self.config.failure_mode, self.config.store_timeout, self.config.retry_interval, clock)
        self._ledgers: dict[str, _Ledger] = {}
        self._limits_by_name: dict[str, tuple[Deployment, policy.Limits | None]] = {}

    @classmethod
    def from_config(cls, config: RateLimitConfig, *, clock: Clock = time.time) -> RateLimiter:
        return cls(open_store(config), config, clock=clock)

    @property
    def stats(self) -> FailureStats:
        return self._guard.stats

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
        admission = self._admit_locally(request, limits, ledger, cost, now)
        if admission is not None:
            return admission
        self.renewals.waited += 1
        async with ledger.lock:  # behind the renewal in flight, if any: it may bring what this request needs
            now = self._clock()
            admission = self._admit_locally(request, limits, ledger, cost, now)
            if admission is not None:
                return admission
            outcome = await self._renew(ledger, limits, cost, waiting=True)
            if outcome is None:
                self._store_failed()
                return Admission()
            if isinstance(outcome, Refusal):
                raise self._refuse(request, outcome, limits)
            return self._spend(ledger, outcome, cost, limits, self._clock())

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
        outcome = await self._transact(
            request.deployment.name, lambda state: leases.charge_standard(state, now, limits, cost)
        )
        if outcome is None:
            self._store_failed()
            return Admission()
        return self._exact_admission(request, outcome, limits)

    def _exact_admission(
        self, request: OpenAIRequest, outcome: Refusal | tuple[int, int], limits: StandardLimits
    ) -> Admission:
        if type(outcome) is tuple:
            return Admission(policy.standard_headers(limits, *outcome))
        raise self._refuse(request, outcome, limits)

    async def _transact(self, key: str, change: Callable[[MeterState], T]) -> T | None:
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
        refusal = ledger.refusal
        if refusal is None or now >= refusal.read_at + self._trust_seconds:
            return None
        refused = _check(refusal.state, now, limits, cost)
        if refused is None:
            return None
        if now >= refusal.read_at + self._trust_seconds / 2:
            self._renew_soon(ledger)
        raise self._refuse(request, refused, limits)

    def _spend(self, ledger: _Ledger, lease: Lease, cost: float, limits: policy.Limits, now: float) -> Admission:
        ledger.spent += cost
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
        now = self._clock()
        current = _lease(ledger, limits)
        if waiting:
            ledger.lease = None
        fraction, seconds = self._fraction, self.config.lease_seconds
        correction = ledger.correction
        wanted = self._wanted(ledger, limits, now)

        def change(state: MeterState) -> Lease | Refusal:
            if isinstance(limits, StandardLimits):
                assert current is None or isinstance(current, StandardLease)
                return leases.renew_standard(state, now, limits, int(cost), current, fraction, seconds, wanted)
            assert current is None or isinstance(current, ProvisionedLease)
            return leases.renew_provisioned(state, now, limits, cost, current, correction, fraction, seconds)

        outcome = await self._transact(ledger.name, change)
        if outcome is None:
            # The write may have landed unseen: spend the old lease to its end, but never give it back again.
            if current is not None:
                current.returnable = False
                ledger.lease = current
            return None
        ledger.correction -= correction
        ledger.version += 1
        ledger.renewed_at, ledger.spent = now, 0.0
        if isinstance(outcome, Refusal):
            ledger.lease = current  # still charged as it was: what it has left may serve smaller requests
            ledger.refusal = outcome
            self._renew_at(ledger, outcome.read_at + outcome.wait)
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

    def _wanted(self, ledger: _Ledger, limits: policy.Limits, now: float) -> int:
        """Tokens this instance spends in a lease period at its recent rate, up to `MAX_LEASE_FACTOR` leases:
        a burst renews a few times a second instead of once every few requests (fewer store round trips,
        less contention between instances), and the accuracy bound grows with the cap (docs/rate-limits.md)."""
        if not self._ahead or not isinstance(limits, StandardLimits) or ledger.renewed_at == -math.inf:
            return 0
        rate = ledger.spent / max(now - ledger.renewed_at, _SHORTEST_RATE_SPAN)
        ceiling = MAX_LEASE_FACTOR * self._fraction * limits.tokens_per_minute
        return math.ceil(min(ceiling, rate * self.config.lease_seconds))

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
        return policy.rate_limited(request, refusal.exceeded, refusal.wait, self.config.region, headers)

    def _store_failed(self) -> None:
        if self._guard.mode is FailureMode.OPEN:
            self._guard.stats.failed_open += 1
            return
        self._guard.stats.failed_closed += 1
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
