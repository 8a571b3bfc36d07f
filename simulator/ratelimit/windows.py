"""Window and bucket arithmetic: pure, serialisable, and told the time rather than reading a clock.

Every meter answers two questions the same way for every store: how much is in use now, and how long until an
amount fits. The second answer is what makes `retry-after` truthful, so it is computed from the same state as
the first, never estimated.
"""

from __future__ import annotations

import collections
import math
from typing import Any

# A wait is rounded up to this so that, at the end of it, the limit has certainly moved (float time is inexact).
MARGIN = 0.001


class SlidingWindow:
    """Amounts charged in the last `span` seconds, kept in buckets `resolution` seconds wide.

    An amount counts until its bucket's end plus `span`, so it always counts for at least `span` seconds: the
    window may admit slightly less than the limit (by up to `resolution / span`), never more.
    """

    # Every limited request reads and charges its window, so the two times that decide whether the buckets
    # change are kept at hand: most calls compare a float and touch nothing else.
    __slots__ = ("_buckets", "_newest_end", "_oldest_expiry", "_total", "resolution", "span")

    def __init__(self, span: float = 60.0, resolution: float = 0.25, buckets: list[list[int]] | None = None) -> None:
        self.span = span
        self.resolution = resolution
        self._buckets: collections.deque[list[int]] = collections.deque(buckets or ())  # [index, amount], oldest first
        self._total = sum(amount for _, amount in self._buckets)
        self._oldest_expiry = self.expires(self._buckets[0][0]) if self._buckets else math.inf
        # Before this time a charge goes to the newest bucket (its own, or a clock that stepped back).
        self._newest_end = (self._buckets[-1][0] + 1) * resolution if self._buckets else -math.inf

    def index(self, now: float) -> int:
        return math.floor(now / self.resolution)

    def expires(self, index: int) -> float:
        return (index + 1) * self.resolution + self.span

    def used(self, now: float) -> int:
        if now >= self._oldest_expiry:
            self._prune(now)
        return self._total

    def add(self, now: float, amount: int) -> int:
        """Charge `amount` now; returns the bucket index it went to (to give it back later)."""
        if now >= self._oldest_expiry:
            self._prune(now)
        buckets = self._buckets
        self._total += amount
        if now < self._newest_end and buckets:
            newest = buckets[-1]
            newest[1] += amount
            return newest[0]
        return self._charge(self.index(now), amount)  # a new bucket, or the clock stepped back across an end

    def add_later(self, now: float, at: float, amount: int) -> int:
        """Charge `amount` now as if it came at `at` (not before `now`): it counts until `at`'s bucket ends plus
        the span. A lease is charged so, at the last moment it may be spent."""
        if now >= self._oldest_expiry:
            self._prune(now)
        self._total += amount
        return self._charge(self.index(max(now, at)), amount)

    def _charge(self, index: int, amount: int) -> int:
        """Into bucket `index`, or the newest if that is later (an amount may count longer, never shorter)."""
        buckets = self._buckets
        if buckets and buckets[-1][0] >= index:
            buckets[-1][1] += amount
            return buckets[-1][0]
        buckets.append([index, amount])
        self._newest_end = (index + 1) * self.resolution
        if len(buckets) == 1:
            self._oldest_expiry = self.expires(index)
        return index

    def give_back(self, index: int, amount: int) -> int:
        """Uncharge what was charged in bucket `index`, if the bucket still counts; returns what was uncharged."""
        for bucket in reversed(self._buckets):
            if bucket[0] == index:
                returned = min(amount, bucket[1])
                bucket[1] -= returned
                self._total -= returned
                return returned
            if bucket[0] < index:
                break
        return 0

    def restore(self, index: int, amount: int) -> None:
        """Charge bucket `index` again with what `give_back` uncharged from it (nothing if it no longer counts)."""
        for bucket in reversed(self._buckets):
            if bucket[0] == index:
                bucket[1] += amount
                self._total += amount
                return
            if bucket[0] < index:
                return

    def wait(self, now: float, amount: int, limit: int) -> float:
        """Seconds until `amount` fits under `limit` if nothing else is charged; `inf` if it never fits."""
        self._prune(now)
        excess = self._total + amount - limit
        if excess <= 0:
            return 0.0
        if amount > limit:
            return math.inf
        freed = 0
        for index, charged in self._buckets:
            freed += charged
            if freed >= excess:
                return self.expires(index) - now + MARGIN
        return math.inf  # unreachable: the whole window frees `total` >= excess

    def _prune(self, now: float) -> None:
        buckets = self._buckets
        while buckets and self.expires(buckets[0][0]) <= now:
            self._total -= buckets.popleft()[1]
        self._oldest_expiry = self.expires(buckets[0][0]) if buckets else math.inf

    def to_json(self) -> list[list[int]]:
        return [[index, amount] for index, amount in self._buckets if amount]

    @classmethod
    def from_json(cls, data: Any, span: float = 60.0, resolution: float = 0.25) -> SlidingWindow:
        return cls(span, resolution, [[int(index), int(amount)] for index, amount in data or ()])


class FixedWindow:
    """A count per window of `length` seconds aligned on multiples of `length` (AOAI's 10-second request window)."""

    __slots__ = ("count", "length", "window")

    def __init__(self, length: float = 10.0, window: int = 0, count: int = 0) -> None:
        self.length = length
        self.window = window
        self.count = count

    def current(self, now: float) -> int:
        return math.floor(now / self.length)

    def ends(self, window: int) -> float:
        return (window + 1) * self.length

    def used(self, now: float) -> int:
        return self.count if self.window == math.floor(now / self.length) else 0  # `current`, inlined: per request

    def add(self, now: float, amount: int) -> int:
        current = math.floor(now / self.length)
        if self.window != current:
            self.window, self.count = current, 0
        self.count += amount
        return current

    def give_back(self, window: int, amount: int) -> int:
        """Uncount up to `amount` from `window` if it is still the current one; returns what was uncounted."""
        if self.window != window:
            return 0
        returned = min(amount, self.count)
        self.count -= returned
        return returned

    def restore(self, window: int, amount: int) -> None:
        if self.window == window:
            self.count += amount

    def wait(self, now: float, amount: int, limit: int) -> float:
        if self.used(now) + amount <= limit:
            return 0.0
        if amount > limit:
            return math.inf
        return self.ends(self.current(now)) - now + MARGIN

    def resize(self, length: float) -> None:
        """A new window length makes the old window index meaningless: start afresh."""
        if length != self.length:
            self.length, self.window, self.count = length, 0, 0

    def to_json(self) -> list[float]:
        return [self.length, self.window, self.count]

    @classmethod
    def from_json(cls, data: Any) -> FixedWindow:
        if not data:
            return cls()
        length, window, count = data
        return cls(float(length), int(window), int(count))


class LeakyBucket:
    """A level that drains at a steady rate (Provisioned utilisation). The rate is the caller's, not the
    state's, so a changed PTU count applies at once to the level already there."""

    __slots__ = ("at", "level")

    def __init__(self, level: float = 0.0, at: float = 0.0) -> None:
        self.level = level
        self.at = at

    def level_at(self, now: float, rate: float) -> float:
        return max(0.0, self.level - rate * max(0.0, now - self.at))

    def add(self, now: float, rate: float, amount: float) -> None:
        """Pour in `amount` (negative: take out, as a correction); the level never goes below empty."""
        self.level = max(0.0, self.level_at(now, rate) + amount)
        self.at = max(self.at, now)

    def take(self, now: float, rate: float, amount: float) -> float:
        """Take out up to `amount` (what a lease gives back); returns what was taken, never more than the level."""
        level = self.level_at(now, rate)
        taken = min(level, max(0.0, amount))
        self.add(now, rate, -taken)
        return taken

    def wait(self, now: float, rate: float, threshold: float) -> float:
        """Seconds until the level is at or below `threshold`."""
        excess = self.level_at(now, rate) - threshold
        return 0.0 if excess <= 0 else excess / rate + MARGIN

    def to_json(self) -> list[float]:
        return [self.level, self.at]

    @classmethod
    def from_json(cls, data: Any) -> LeakyBucket:
        return cls(*map(float, data)) if data else cls()
