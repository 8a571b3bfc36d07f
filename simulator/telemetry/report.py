"""The `/++/stats` document: per deployment figures (summed over instances when they share a table), the
mode and faults in force, and the rate limiter's own counters."""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from simulator.ratelimit import policy
from simulator.telemetry import stats

if TYPE_CHECKING:
    from simulator.app import Simulator


async def stats_document(simulator: Simulator) -> dict[str, Any]:
    telemetry = simulator.telemetry
    config = simulator.config

    def limits(name: str) -> dict[str, float] | None:
        deployment = simulator.deployments.defined.get(name)
        return None if deployment is None else deployment_limits(deployment)

    own = telemetry.stats.summary()
    summaries = [own] if telemetry.shared is None else await telemetry.shared.summaries()
    document: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "now": time.time(),  # the clock slots are numbered by: the dashboard's current slot is partial
        "mode": config.mode.value,
        "faults": config.faults.to_json(),
        "instances": len(summaries),
        "windows": [name for name, _ in stats.WINDOWS],
        "deployments": stats.render(stats.merge(summaries), limits),
        "rate_limiter": rate_limiter_counters(simulator),
    }
    if telemetry.shared is not None:
        document["this_instance"] = {"id": telemetry.shared.instance, "deployments": stats.render(own, limits)}
    return document


def deployment_limits(deployment: Any) -> dict[str, float] | None:
    found = policy.limits_for(deployment)
    if isinstance(found, policy.StandardLimits):
        per_minute = found.requests_per_window * 60 / found.request_window_seconds
        return {"tokens_per_minute": found.tokens_per_minute, "requests_per_minute": per_minute}
    if isinstance(found, policy.ProvisionedLimits):
        return {"tokens_per_minute": found.tokens_per_minute}
    return None


def rate_limiter_counters(simulator: Simulator) -> dict[str, int]:
    """This instance's limiter: answers served without limits while its store failed (fail-open), refused
    with 503 (fail-closed), store failures seen, and changes given up to other instances' writes (429s from a
    store that answered but stayed busy)."""
    failures = simulator.limiter.stats
    return {
        "served_unlimited": failures.failed_open,
        "refused_store_down": failures.failed_closed,
        "store_failures": failures.store_failures,
        "store_contended": failures.contended,
    }
