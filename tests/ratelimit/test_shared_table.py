"""Three processes share one deployment through Table Storage (Azurite) and together stay within its budget."""

from __future__ import annotations

from simulator.ratelimit.config import DEFAULT_TABLE_LEASE_FRACTION
from simulator.ratelimit.limiter import MAX_LEASE_FACTOR
from tests.ratelimit.shared_worker import results, start_workers
from tests.support.azurite import Azurite


def test_three_processes_together_stay_within_the_token_budget(azurite: Azurite) -> None:
    tpm, cost = 30_000, 100
    workers = start_workers(
        azurite.connection_string,
        "sharedbudget",
        3,
        "--tpm",
        str(tpm),
        "--rpm",
        "600000",
        "--cost",
        str(cost),
        "--seconds",
        "1.5",
    )
    counts = results(workers)
    admitted = sum(count["admitted_tokens"] for count in counts)
    # Nothing expires within the run, so the sum is the budget less what sits unspent in the live leases (one
    # per process, grown up to MAX_LEASE_FACTOR times the default under this burst).
    assert tpm - 3 * tpm * DEFAULT_TABLE_LEASE_FRACTION * MAX_LEASE_FACTOR <= admitted <= tpm
    # Every process took part; which of them got budget depends on how the machine scheduled their starts (a
    # renewal leases for the demand behind it, so two busy processes may spend it all before a late third).
    assert all(count["admitted"] + count["refused"] > 0 for count in counts)
    assert sum(count["failed_open"] for count in counts) == 0
    # Leases: far fewer store transactions than requests.
    requests = sum(count["admitted"] + count["refused"] for count in counts)
    assert sum(count["transactions"] for count in counts) < requests / 10
