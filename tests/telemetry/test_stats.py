"""The stats aggregator: ten-second slots, 1/5/15-minute windows, percentiles, and sums over instances."""

from __future__ import annotations

import pytest

from simulator.telemetry import histogram, stats
from simulator.telemetry.stats import Stats


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def no_limits(name: str) -> None:
    return None


def test_percentiles_are_within_a_bucket_of_the_truth() -> None:
    counts = histogram.empty()
    for value in range(1, 1001):  # 1..1000 ms, evenly
        counts[histogram.bucket(float(value))] += 1
    found = histogram.percentiles(counts)
    for name, truth in (("p50", 500), ("p95", 950), ("p99", 990)):
        assert found[name] == pytest.approx(truth, rel=0.1), name
    assert histogram.percentiles(histogram.empty()) == {"p50": None, "p95": None, "p99": None}


def test_sparse_and_dense_round_trip() -> None:
    counts = histogram.empty()
    counts[3], counts[40] = 2, 5
    assert histogram.dense(histogram.sparse(counts)) == counts


def test_windows_count_what_falls_in_them() -> None:
    clock = Clock()
    figures = Stats(clock, clock)
    figures.add("chat", 200, None, 120, 150, 20.0, None)  # 14 minutes ago: only in the 15-minute window
    clock.now += 14 * 60
    figures.add("chat", 200, None, 100, 130, 40.0, 10.0)  # now
    figures.add("chat", 429, "tokens", 0, 500, 1.0, None)  # refusals count, but not in latency
    figures.add("chat", 429, "fault", 0, 30, 1.0, None)
    rendered = stats.render(figures.summary(), lambda name: {"tokens_per_minute": 1000})["chat"]
    assert rendered["1m"]["requests"] == 3 and rendered["15m"]["requests"] == 4
    assert rendered["1m"]["tokens"] == {"used": 100, "requested": 660, "limit": 1000}
    assert rendered["15m"]["tokens"]["limit"] == 15_000
    assert rendered["1m"]["rate_limited"] == {"tokens": 1, "requests": 0, "utilisation": 0, "fault": 1}
    assert rendered["1m"]["errors"] == 2
    assert rendered["1m"]["ttft_ms"]["p50"] == pytest.approx(10, rel=0.1)
    assert rendered["15m"]["latency_ms"]["p99"] == pytest.approx(40, rel=0.1)
    assert rendered["1m"]["latency_ms"]["p50"] == pytest.approx(40, rel=0.1)
    assert sum(rendered["series"]["requests"]) == 4 and len(rendered["series"]["requests"]) == stats.HISTORY_SLOTS


def test_slots_older_than_fifteen_minutes_are_dropped() -> None:
    clock = Clock()
    figures = Stats(clock, clock)
    figures.add("chat", 200, None, 1, 1, 1.0, None)
    clock.now += 16 * 60
    assert figures.summary()["deployments"] == {}
    figures.add("chat", 200, None, 1, 1, 1.0, None)
    assert len(figures.series("chat").slots) == 1


def test_instances_add_up() -> None:
    clock = Clock()
    first, second = Stats(clock, clock), Stats(clock, clock)
    for _ in range(3):
        first.add("chat", 200, None, 10, 10, 5.0, None)
    second.add("chat", 200, None, 10, 10, 500.0, None)
    second.add("embed", 200, None, 7, 7, 1.0, None)
    second.series("chat").open_streams = 2
    merged = stats.merge([first.summary(), second.summary()])
    rendered = stats.render(merged, no_limits)
    assert rendered["chat"]["1m"]["requests"] == 4 and rendered["chat"]["1m"]["tokens"]["used"] == 40
    assert rendered["chat"]["open_streams"] == 2
    assert rendered["chat"]["1m"]["latency_ms"]["p99"] == pytest.approx(500, rel=0.1)
    assert rendered["chat"]["1m"]["latency_ms"]["p50"] == pytest.approx(5, rel=0.1)
    assert rendered["embed"]["1m"]["tokens"]["used"] == 7


def test_undefined_deployment_names_are_bounded() -> None:
    figures = Stats(Clock(), Clock())
    for index in range(stats.MAX_DEPLOYMENTS + 10):
        figures.add(f"name-{index}", 200, None, 1, 1, 1.0, None)
    names = set(figures.summary()["deployments"])
    assert len(names) == stats.MAX_DEPLOYMENTS + 1 and stats.OTHER in names
