"""Order statistics for the report."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (which need not be sorted)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def distribution(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "max": max(values, default=float("nan")),
        "n": len(values),
    }


def spread(values: Iterable[float]) -> float:
    """(max − min) / median of repeated measurements: how much two runs of the same thing disagreed."""
    ordered = sorted(values)
    if len(ordered) < 2 or not statistics.median(ordered):
        return 0.0
    return (ordered[-1] - ordered[0]) / statistics.median(ordered)
