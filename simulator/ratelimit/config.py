"""What the rate limiter needs from the simulator's settings, in one immutable object the app fills in."""

from __future__ import annotations

import dataclasses
import enum

from simulator.ratelimit.policy import DEFAULT_REGION


class Backend(enum.StrEnum):
    MEMORY = "memory"
    TABLE = "table"


class FailureMode(enum.StrEnum):
    """What to do with a request when the shared store cannot be reached within the wait bound."""

    OPEN = "open"  # serve it unlimited, count it, log once per outage
    CLOSED = "closed"  # refuse it with an AOAI-shaped 503


# Leases of 1 % of a limit keep Table Storage to about two writes per second per deployment at saturation
# (docs/rate-limits.md); in memory nothing is gained by leasing, so each request is charged exactly.
DEFAULT_TABLE_LEASE_FRACTION = 0.01


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitConfig:
    connection_string: str | None = None
    account_url: str | None = None
    table_name: str = "ratelimits"
    # Share of a limit an instance takes from the shared store at once; None: 0 in memory, 1 % on Table Storage.
    lease_fraction: float | None = None
    # How long an instance may spend a lease (and trust a refusal it read) before going back to the store.
    lease_seconds: float = 1.0
    failure_mode: FailureMode = FailureMode.OPEN
    # Longest one round trip to the store may take before the store counts as unreachable; after a failure the
    # store is left alone for `retry_interval`. A slow store is not a failed one: compare-and-swaps lost to other
    # instances are retried as long as each answer comes within this bound, up to `transaction_timeout` in all.
    store_timeout: float = 5.0
    retry_interval: float = 2.0
    transaction_timeout: float = 10.0
    # Longest a change may keep losing compare-and-swaps to other instances; then the request gets a 429 (the
    # others are spending the budget), never an unlimited answer: the store is busy, not failed.
    contention_timeout: float = 2.0
    # Region named in 429 messages ("Your requests to gpt-4o for gpt-4o in East US have exceeded ...").
    region: str = DEFAULT_REGION

    def __post_init__(self) -> None:
        if self.lease_fraction is not None and not 0 <= self.lease_fraction <= 0.5:
            raise ValueError(f"lease fraction must be between 0 and 0.5, not {self.lease_fraction}")
        for name in ("lease_seconds", "store_timeout", "retry_interval", "transaction_timeout", "contention_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def backend(self) -> Backend:
        return Backend.TABLE if self.connection_string or self.account_url else Backend.MEMORY

    @property
    def effective_lease_fraction(self) -> float:
        if self.lease_fraction is not None:
            return self.lease_fraction
        return DEFAULT_TABLE_LEASE_FRACTION if self.backend is Backend.TABLE else 0.0
