"""The per-process entry point: admit a request against its deployment's limits, settle it when answered.

Each process keeps, per deployment, the lease it is spending and the last refusal it read; it goes to the
store only when the lease cannot cover a request. With the memory store leases are exact (one request's
cost), so every request is charged in the shared state as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.ratelimit import leases, policy
from simulator.ratelimit.config import FailureMode, RateLimitConfig
from simulator.ratelimit.failure import FailureStats, StoreGuard, StoreUnavailableError
from simulator.ratelimit.leases import ProvisionedLease, Refusal, StandardLease
from simulator.ratelimit.policy import ProvisionedLimits, StandardLimits
from simulator.ratelimit.state import MeterState
from simulator.ratelimit.stores import LimitStore, open_store
from simulator.replies import Usage

Clock = Callable[[], float]
L = TypeVar("L", StandardLease, ProvisionedLease)


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
class _Ledger:
    """One deployment's state in this process."""

    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    standard: StandardLease | None = None
    provisioned: ProvisionedLease | None = None
    refusal: Refusal | None = None
    correction: float = 0.0  # Provisioned: actual minus estimated costs not yet written to the store


class RateLimiter:
    def __init__(self, store: LimitStore, config: RateLimitConfig | None = None, *, clock: Clock = time.time) -> None:
        """`clock` is wall-clock time by default because instances sharing a store must agree on windows."""
        self.config = config or RateLimitConfig()
        self._store = store
        self._clock = clock
        self._fraction = self.config.effective_lease_fraction
        # A refusal read from the store is trusted for a lease period, but only when leasing: exact (memory)
        # limiting re-reads every time, which costs nothing there.
        self._trust_seconds = self.config.lease_seconds if self._fraction > 0 else 0.0
        self._guard = StoreGuard(self.config.failure_mode, self.config.store_timeout, self.config.retry_interval, clock)
        self._ledgers: dict[str, _Ledger] = {}

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

    async def aclose(self) -> None:
        await self._store.aclose()

    async def admit(self, request: OpenAIRequest) -> Admission:
        """Charge the request or raise `OpenAIError`: 429 over a limit, 503 when the store fails closed."""
        limits = policy.limits_for(request.deployment)
        if limits is None:
            return Admission()
        ledger = self._ledgers.setdefault(request.deployment.name, _Ledger())
        if isinstance(limits, StandardLimits):
            return await self._admit_standard(request, limits, ledger)
        return await self._admit_provisioned(request, limits, ledger)

    # --- Standard ----------------------------------------------------------------------------------------

    async def _admit_standard(self, request: OpenAIRequest, limits: StandardLimits, ledger: _Ledger) -> Admission:
        cost = min(policy.token_cost(request), limits.tokens_per_minute)  # a larger one could never pass
        lease = ledger.standard
        if lease is not None and lease.covers(self._clock(), cost, limits):
            return self._spend_standard(lease, cost, limits)
        async with ledger.lock:
            now = self._clock()
            lease = ledger.standard
            if lease is not None and lease.covers(now, cost, limits):
                return self._spend_standard(lease, cost, limits)
            ledger.standard = None  # given back by the grant; if the store fails, lost rather than returned twice
            fraction, seconds = self._fraction, self.config.lease_seconds
            granted = await self._sync(
                request,
                limits,
                ledger,
                lambda state: leases.check_standard(state, now, limits, cost),
                lambda state: leases.grant_standard(state, now, limits, cost, lease, fraction, seconds),
            )
            if granted is None:
                return Admission()
            ledger.standard = granted
            return self._spend_standard(granted, cost, limits)

    def _spend_standard(self, lease: StandardLease, cost: int, limits: StandardLimits) -> Admission:
        lease.spend(cost)
        remaining_requests = lease.requests_outside + lease.requests
        return Admission(policy.standard_headers(limits, remaining_requests, lease.tokens_outside + lease.tokens))

    # --- Provisioned -------------------------------------------------------------------------------------

    async def _admit_provisioned(self, request: OpenAIRequest, limits: ProvisionedLimits, ledger: _Ledger) -> Admission:
        cost = policy.provisioned_estimate(request, limits)
        name = request.deployment.name
        lease = ledger.provisioned
        if lease is not None and lease.covers(self._clock(), cost):
            return self._spend_provisioned(name, lease, cost, limits, ledger)
        async with ledger.lock:
            now = self._clock()
            lease = ledger.provisioned
            if lease is not None and lease.covers(now, cost):
                return self._spend_provisioned(name, lease, cost, limits, ledger)
            ledger.provisioned = None
            returning = lease.units if lease is not None else 0.0
            correction = ledger.correction
            fraction, seconds = self._fraction, self.config.lease_seconds

            def committed() -> None:
                ledger.correction -= correction

            granted = await self._sync(
                request,
                limits,
                ledger,
                lambda state: leases.check_provisioned(state, now, limits),
                lambda state: leases.grant_provisioned(
                    state, now, limits, cost, returning, correction, fraction, seconds
                ),
                committed,
            )
            if granted is None:
                return Admission()
            ledger.provisioned = granted
            return self._spend_provisioned(name, granted, cost, limits, ledger)

    def _spend_provisioned(
        self, name: str, lease: ProvisionedLease, cost: float, limits: ProvisionedLimits, ledger: _Ledger
    ) -> Admission:
        lease.spend(cost)
        headers = policy.utilisation_header(lease.utilisation(self._clock(), limits))

        async def settle(usage: Usage) -> None:
            ledger.correction += policy.provisioned_actual(usage, limits) - cost
            if ledger.correction and abs(ledger.correction) >= limits.tokens_per_minute * self._fraction:
                await self._flush_correction(name, limits, ledger)

        return Admission(headers, settle)

    async def _flush_correction(self, name: str, limits: ProvisionedLimits, ledger: _Ledger) -> None:
        """Write the pending correction now; if the store is down it waits for the next grant."""
        async with ledger.lock:
            correction, now = ledger.correction, self._clock()
            try:
                await self._guard.call(
                    lambda: self._store.transact(
                        name, lambda state: leases.apply_correction(state, now, limits, correction)
                    )
                )
            except StoreUnavailableError:
                return
            ledger.correction -= correction

    # --- shared ------------------------------------------------------------------------------------------

    async def _sync(
        self,
        request: OpenAIRequest,
        limits: policy.Limits,
        ledger: _Ledger,
        check: Callable[[MeterState], Refusal | None],
        grant: Callable[[MeterState], L | Refusal],
        committed: Callable[[], None] | None = None,
    ) -> L | None:
        """A new lease from the store, or a 429 (read now, or trusted from the last refusal). None: the store
        failed and the failure mode serves the request unlimited (closed mode raises the 503 here)."""
        trusted = self._trusted_refusal(ledger)
        refusal = check(trusted.state) if trusted is not None else None
        if refusal is not None:
            raise self._refuse(request, refusal, limits)
        try:
            outcome = await self._guard.call(lambda: self._store.transact(request.deployment.name, grant))
        except StoreUnavailableError:
            self._store_failed()
            return None
        if committed is not None:
            committed()
        if isinstance(outcome, Refusal):
            ledger.refusal = outcome
            raise self._refuse(request, outcome, limits)
        ledger.refusal = None
        return outcome

    def _trusted_refusal(self, ledger: _Ledger) -> Refusal | None:
        refusal = ledger.refusal
        if refusal is None or self._clock() >= refusal.read_at + self._trust_seconds:
            return None
        return refusal

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
