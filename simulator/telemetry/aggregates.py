"""The metrics' histograms, summed in the process and handed to the exporters at each collection.

Recording a histogram through the OpenTelemetry SDK costs about 7 µs a call (the attributes hashed, locks,
the measurement passed along a chain of objects), and a request feeds eight of them: with chat at about
100 µs of CPU, exporting would have cost half the throughput. Here a request makes one dictionary lookup
(its deployment, status, mode and 429 reason) and adds its figures to that key's histograms; at collection
each metric's points are made from them, grouped by its own dimensions, in the temporality the reader wants
(`Reader` below). Counters and the open-stream gauge go through the OpenTelemetry API as observable
instruments, whose callbacks read the same sums.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

from simulator.telemetry.outcome import Outcome

PREFIX = "aoai-api-simulator"
SECONDS_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKEN_BOUNDS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000)
DIMENSIONS = ("deployment", "status_code", "mode", "reason")  # what a request's figures are keyed by
RATE_LIMITED = f"{PREFIX}.rate-limited"  # an observable counter: 429s by deployment, reason and mode
OPEN_STREAMS = f"{PREFIX}.streams.open"  # an observable up-down counter: streams being sent, by deployment
Attributes = tuple[tuple[str, Any], ...]
_bucket = bisect.bisect_left  # OpenTelemetry's buckets include their upper bound


class Distribution:
    """One histogram's running state, with OpenTelemetry's explicit buckets (upper bounds inclusive)."""

    __slots__ = ("bounds", "count", "counts", "max", "min", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")

    def add(self, value: float) -> None:
        self.counts[_bucket(self.bounds, value)] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def merge(self, other: Distribution) -> None:
        for index, count in enumerate(other.counts):
            self.counts[index] += count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)


class Series:
    """Every histogram of the requests sharing one key."""

    __slots__ = (
        "base", "between", "full", "limits", "rate_limit", "requested_completion", "requested_prompt", "ttft",
        "used_completion", "used_prompt",
    )  # fmt: skip

    def __init__(self) -> None:
        for name in ("base", "full", "ttft", "between"):
            setattr(self, name, Distribution(SECONDS_BOUNDS))
        for name in ("used_prompt", "used_completion", "requested_prompt", "requested_completion"):
            setattr(self, name, Distribution(TOKEN_BOUNDS))
        self.rate_limit = Distribution(TOKEN_BOUNDS)
        self.limits = Distribution(TOKEN_BOUNDS)


@dataclasses.dataclass(frozen=True, slots=True)
class HistogramSpec:
    """A metric made from Series fields: each field with the extra attributes it adds (`token_type`)."""

    name: str
    unit: str
    description: str
    fields: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    dimensions: tuple[str, ...]


def _spec(name: str, unit: str, description: str, fields: Any, dimensions: tuple[str, ...]) -> HistogramSpec:
    return HistogramSpec(f"{PREFIX}.{name}", unit, description, tuple(fields), dimensions)


_TIMING = ("deployment", "status_code", "mode")
_TOKENS = (("_prompt", (("token_type", "prompt"),)), ("_completion", (("token_type", "completion"),)))
HISTOGRAMS = (
    _spec("latency.base", "s", "Time to answer, without the latency the simulator adds", [("base", ())], _TIMING),
    _spec("latency.full", "s", "Time to answer, with the latency the simulator adds", [("full", ())], _TIMING),
    _spec("latency.ttft", "s", "Streams: time to the first byte", [("ttft", ())], ("deployment", "mode")),
    _spec(
        "latency.between-tokens", "s", "Streams: mean time between tokens", [("between", ())], ("deployment", "mode")
    ),
    _spec(
        "tokens.used", "tokens", "Tokens of successful answers",
        [(f"used{suffix}", extra) for suffix, extra in _TOKENS], ("deployment", "mode"),
    ),
    _spec(
        "tokens.requested", "tokens", "Tokens asked for, rate-limited requests included",
        [(f"requested{suffix}", extra) for suffix, extra in _TOKENS], ("deployment", "mode"),
    ),
    _spec(
        "tokens.rate-limit", "tokens", "Tokens charged against the deployment's limit", [("rate_limit", ())],
        ("deployment",),
    ),
    _spec(
        "limits", "requests", "Rate-limited requests (a token refusal: its cost; else 1)", [("limits", ())],
        ("deployment", "reason", "mode"),
    ),
)  # fmt: skip


class Aggregates:
    def __init__(self) -> None:
        self.started_ns = time.time_ns()
        self.series: dict[tuple[str, int, str, str | None], Series] = {}
        self.rate_limited: dict[tuple[str, str, str], int] = {}  # (deployment, reason, mode) → 429s
        self.open_streams: dict[str, int] = {}
        self.lock = threading.Lock()  # collections run on the exporters' threads

    def record(self, outcome: Outcome, charged: float | None) -> None:
        """One request's figures; `charged` is what the limiter charged it (None: no limits)."""
        key = (outcome.deployment, outcome.status, outcome.mode, outcome.reason)
        prompt = outcome.prompt_tokens
        with self.lock:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
            # `Distribution.add` spelled out for the four every request feeds: a call each cost as much again.
            for distribution, value in (
                (series.base, outcome.base),
                (series.full, outcome.full),
                (series.requested_prompt, prompt),
                (series.requested_completion, max(0, outcome.requested_tokens - prompt)),
            ):
                distribution.counts[_bucket(distribution.bounds, value)] += 1
                distribution.count += 1
                distribution.sum += value
                if value < distribution.min:
                    distribution.min = value
                if value > distribution.max:
                    distribution.max = value
            if outcome.ttft is not None:
                series.ttft.add(outcome.ttft)
            if outcome.between_tokens is not None:
                series.between.add(outcome.between_tokens)
            if outcome.status < 400:
                series.used_prompt.add(prompt)
                series.used_completion.add(outcome.completion_tokens)
            if charged is not None:
                series.rate_limit.add(charged)
            if outcome.reason is not None:
                series.limits.add(charged or 1 if outcome.reason == "tokens" else 1)
                counter = (outcome.deployment, outcome.reason, outcome.mode)
                self.rate_limited[counter] = self.rate_limited.get(counter, 0) + 1

    def stream_opened(self, deployment: str) -> None:
        self.open_streams[deployment] = self.open_streams.get(deployment, 0) + 1

    def stream_closed(self, deployment: str) -> None:
        self.open_streams[deployment] = self.open_streams.get(deployment, 0) - 1

    def streams_by_deployment(self) -> dict[str, int]:
        with self.lock:
            found = {key[0]: 0 for key in self.series}
            found.update(self.open_streams)
        return found

    def distributions(self) -> list[tuple[HistogramSpec, Attributes, Distribution]]:
        """Each metric's distributions by its own attributes: the series that share them added up."""
        found = []
        with self.lock:
            items = list(self.series.items())
            for spec in HISTOGRAMS:
                grouped: dict[Attributes, Distribution] = {}
                for key, series in items:
                    values = dict(zip(DIMENSIONS, key, strict=True))
                    base = tuple((name, values[name]) for name in spec.dimensions if values[name] is not None)
                    for field, extra in spec.fields:
                        source: Distribution = getattr(series, field)
                        if not source.count:
                            continue
                        attributes = base + extra
                        total = grouped.get(attributes)
                        if total is None:
                            total = grouped[attributes] = Distribution(source.bounds)
                        total.merge(source)
                found += [(spec, attributes, total) for attributes, total in grouped.items()]
        return found
