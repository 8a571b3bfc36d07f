"""Latency histograms with fixed logarithmic buckets: one list index incremented per request, mergeable by
adding counts (instances sum their summaries), and percentiles within a bucket's width (about 9 %)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

# Four buckets per doubling, from 1 ms to about 6 minutes: a percentile read from a bucket's geometric middle
# is off by at most half a bucket (2 ** (1/8) - 1, 9 %), well within what a latency chart can show.
STEPS_PER_DOUBLING = 4
SMALLEST_MS = 1.0
BUCKETS = 74
BOUNDS_MS: tuple[float, ...] = tuple(SMALLEST_MS * 2 ** (i / STEPS_PER_DOUBLING) for i in range(BUCKETS - 1))
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def bucket(milliseconds: float) -> int:
    """The bucket of a duration: 0 below 1 ms, BUCKETS - 1 above the largest bound."""
    return bisect.bisect_right(BOUNDS_MS, milliseconds)


def empty() -> list[int]:
    return [0] * BUCKETS


def add_into(total: list[int], counts: Sequence[int]) -> None:
    for index, count in enumerate(counts):
        if count:
            total[index] += count


def sparse(counts: Sequence[int]) -> dict[str, int]:
    """The non-zero buckets, for publishing (JSON keys are strings)."""
    return {str(index): count for index, count in enumerate(counts) if count}


def dense(buckets: Mapping[str, int]) -> list[int]:
    counts = empty()
    for index, count in buckets.items():
        position = int(index)
        if 0 <= position < BUCKETS and isinstance(count, int):
            counts[position] += count
    return counts


def middle(index: int) -> float:
    """A bucket's representative value: its geometric middle (the edges for the two open-ended ones)."""
    if index == 0:
        return SMALLEST_MS / 2
    if index >= BUCKETS - 1:
        return BOUNDS_MS[-1]
    return (BOUNDS_MS[index - 1] * BOUNDS_MS[index]) ** 0.5


def percentiles(counts: Sequence[int]) -> dict[str, float | None]:
    """p50, p95 and p99 in milliseconds (None without samples), rounded to what the buckets can tell."""
    total = sum(counts)
    if not total:
        return {name: None for name, _ in PERCENTILES}
    result: dict[str, float | None] = {}
    for name, fraction in PERCENTILES:
        rank, seen = fraction * total, 0
        for index, count in enumerate(counts):
            seen += count
            if seen >= rank:
                result[name] = _round(middle(index))
                break
    return result


def merged(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = empty()
    for counts in histograms:
        add_into(total, counts)
    return total


def _round(value: float) -> float:
    return round(value, 1) if value < 100 else float(round(value))
