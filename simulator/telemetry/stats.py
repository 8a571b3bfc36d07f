"""What `/++/stats` and the dashboard show: per deployment, requests, tokens, 429s by reason and latency
percentiles over the last 1, 5 and 15 minutes.

Each request adds to the current ten-second slot of its deployment: a few integer additions and one bucket of
each latency histogram, no allocation beyond a new slot every ten seconds and no I/O. Slots are numbered by
wall-clock time, so instances sharing a table (`simulator.telemetry.shared`) sum theirs slot by slot.
"""

from __future__ import annotations

import bisect
import collections
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from simulator.telemetry import histogram

_bucket = bisect.bisect_right
_BOUNDS = histogram.BOUNDS_MS

SLOT_SECONDS = 10
HISTORY_SLOTS = 90  # 15 minutes
WINDOWS = (("1m", 6), ("5m", 30), ("15m", 90))  # name, slots
REASONS = ("tokens", "requests", "utilisation", "fault")
# Undefined deployments are served under any name: past this many, new names are counted together.
MAX_DEPLOYMENTS = 256
OTHER = "(other)"

# A slot's counters, in this order in `Slot.counts` and in published summaries.
REQUESTS, ERRORS, USED, REQUESTED = 0, 1, 2, 3
LIMITED = 4  # then one per reason
COUNTERS = LIMITED + len(REASONS)
_REASON_INDEX = {reason: LIMITED + offset for offset, reason in enumerate(REASONS)}

Summary = dict[str, Any]  # a JSON-ready snapshot of one or more instances' figures (see `Stats.summary`)


class Slot:
    __slots__ = ("counts", "ends_at", "index", "latency", "ttft")

    def __init__(self, index: int, ends_at: float = -1.0) -> None:
        self.index = index
        self.ends_at = ends_at  # on time.monotonic(): requests check this, not the wall clock
        self.counts = [0] * COUNTERS
        self.latency = histogram.empty()
        self.ttft = histogram.empty()


class Series:
    """One deployment's slots, oldest first, and its streams open now."""

    __slots__ = ("current", "open_streams", "slots")

    def __init__(self) -> None:
        self.current = Slot(-1)
        self.slots: collections.deque[Slot] = collections.deque()
        self.open_streams = 0

    def advance(self, index: int, wall: float, monotonic_now: float) -> Slot:
        """The slot `index` (wall-clock seconds // SLOT_SECONDS), new unless it is the current one."""
        if index <= self.current.index:  # the clock went back, or a slot boundary raced the check
            return self.current
        ends_in = (index + 1) * SLOT_SECONDS - wall
        slot = self.current = Slot(index, monotonic_now + max(0.0, ends_in))
        self.slots.append(slot)
        while self.slots[0].index <= index - HISTORY_SLOTS:
            self.slots.popleft()
        return slot


class Stats:
    def __init__(self, clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        """`clock` is wall-clock time: instances agree on slot numbers only through it. `monotonic` tells when
        the current slot ends without reading the wall clock on every request."""
        self._clock = clock
        self._monotonic = monotonic
        self._series: dict[str, Series] = {}

    def series(self, deployment: str) -> Series:
        series = self._series.get(deployment)
        if series is None:
            if len(self._series) >= MAX_DEPLOYMENTS:
                return self._series.setdefault(OTHER, Series())
            series = self._series[deployment] = Series()
        return series

    def add(
        self,
        deployment: str,
        status: int,
        reason: str | None,
        used: int,
        requested: int,
        latency_ms: float,
        ttft_ms: float | None,
    ) -> None:
        """One answered request (a stream once it has ended). This runs on every request: no helper calls, the
        bucket found by `bisect` directly, the clock read only when the ten-second slot may have ended."""
        series = self._series.get(deployment) or self.series(deployment)
        slot = series.current
        if slot.ends_at <= self._monotonic():
            wall = self._clock()
            slot = series.advance(int(wall) // SLOT_SECONDS, wall, self._monotonic())
        counts = slot.counts
        counts[0] += 1  # REQUESTS
        counts[3] += requested  # REQUESTED
        if status < 400:  # latency of answers only: instant 429s would hide it
            counts[2] += used  # USED
            slot.latency[_bucket(_BOUNDS, latency_ms)] += 1
            if ttft_ms is not None:
                slot.ttft[_bucket(_BOUNDS, ttft_ms)] += 1
        else:
            counts[ERRORS] += 1
            if reason is not None:
                counts[_REASON_INDEX[reason]] += 1

    def summary(self) -> Summary:
        """This instance's figures as published: per deployment, each slot's counters and each window's
        histograms (sparse), and the streams open now."""
        now = int(self._clock()) // SLOT_SECONDS
        deployments = {}
        for name, series in list(self._series.items()):
            slots = [slot for slot in series.slots if slot.index > now - HISTORY_SLOTS]
            if not slots and not series.open_streams:
                continue
            windows = {}
            for window, size in WINDOWS:
                recent = [slot for slot in slots if slot.index > now - size]
                windows[window] = {
                    "latency": histogram.sparse(histogram.merged(slot.latency for slot in recent)),
                    "ttft": histogram.sparse(histogram.merged(slot.ttft for slot in recent)),
                }
            deployments[name] = {
                "open_streams": series.open_streams,
                "slots": {str(slot.index): slot.counts for slot in slots},
                "windows": windows,
            }
        return {"slot": now, "deployments": deployments}


def merge(summaries: Iterable[Summary]) -> Summary:
    """Several instances' summaries as one: counters, histograms and open streams added up."""
    deployments: dict[str, Any] = {}
    now = 0
    for summary in summaries:
        now = max(now, summary.get("slot", 0))
        for name, figures in summary.get("deployments", {}).items():
            total = deployments.setdefault(
                name,
                {"open_streams": 0, "slots": {}, "windows": {w: {"latency": {}, "ttft": {}} for w, _ in WINDOWS}},
            )
            total["open_streams"] += figures.get("open_streams", 0)
            for index, counts in figures.get("slots", {}).items():
                into = total["slots"].setdefault(index, [0] * COUNTERS)
                for position, count in enumerate(counts[:COUNTERS]):
                    into[position] += count
            for window, _ in WINDOWS:
                for kind in ("latency", "ttft"):
                    into = total["windows"][window][kind]
                    for bucket, count in figures.get("windows", {}).get(window, {}).get(kind, {}).items():
                        into[bucket] = into.get(bucket, 0) + count
    return {"slot": now, "deployments": deployments}


def render(summary: Summary, limits: Callable[[str], Mapping[str, float] | None]) -> dict[str, Any]:
    """The `deployments` object of `/++/stats`: each deployment's windows, open streams, limits and the
    last 15 minutes slot by slot (what the dashboard charts)."""
    now = summary.get("slot", 0)
    rendered = {}
    for name, figures in sorted(summary.get("deployments", {}).items()):
        slots = {int(index): counts for index, counts in figures.get("slots", {}).items()}
        limit = limits(name)
        entry: dict[str, Any] = {"open_streams": figures.get("open_streams", 0), "limits": limit}
        for window, size in WINDOWS:
            counts = [0] * COUNTERS
            for index in range(now - size + 1, now + 1):
                for position, count in enumerate(slots.get(index, ())):
                    counts[position] += count
            histograms = figures.get("windows", {}).get(window, {})
            entry[window] = _window(counts, histograms, limit, size * SLOT_SECONDS / 60)
        first = now - HISTORY_SLOTS + 1
        rows = [slots.get(index, [0] * COUNTERS) for index in range(first, now + 1)]
        entry["series"] = {
            "start": first * SLOT_SECONDS,
            "slot_seconds": SLOT_SECONDS,
            "requests": [row[REQUESTS] for row in rows],
            "tokens": [row[USED] for row in rows],
            "rate_limited": {reason: [row[_REASON_INDEX[reason]] for row in rows] for reason in REASONS},
        }
        rendered[name] = entry
    return rendered


def _window(
    counts: list[int], histograms: Mapping[str, Any], limit: Mapping[str, float] | None, minutes: float
) -> dict[str, Any]:
    tokens_limit = None if limit is None else limit.get("tokens_per_minute")
    return {
        "requests": counts[REQUESTS],
        "errors": counts[ERRORS],
        "tokens": {
            "used": counts[USED],
            "requested": counts[REQUESTED],
            "limit": None if tokens_limit is None else round(tokens_limit * minutes),
        },
        "rate_limited": {reason: counts[_REASON_INDEX[reason]] for reason in REASONS},
        "latency_ms": histogram.percentiles(histogram.dense(histograms.get("latency", {}))),
        "ttft_ms": histogram.percentiles(histogram.dense(histograms.get("ttft", {}))),
    }
