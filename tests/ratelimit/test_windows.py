import math
import random

import pytest

from simulator.ratelimit.windows import FixedWindow, LeakyBucket, SlidingWindow


def test_sliding_window_counts_an_amount_for_at_least_the_span() -> None:
    window = SlidingWindow(span=60, resolution=0.25)
    window.add(100.1, 500)
    assert window.used(100.1 + 59.9) == 500
    assert window.used(100.25 + 60) == 0


def test_sliding_window_wait_is_exactly_when_enough_has_expired() -> None:
    window = SlidingWindow(span=60, resolution=1)
    window.add(0.5, 600)
    window.add(10.5, 400)
    wait = window.wait(20.0, 300, limit=1000)
    assert window.used(20.0 + wait - 0.01) + 300 > 1000
    assert window.used(20.0 + wait) + 300 <= 1000
    assert window.wait(20.0 + wait, 1001, limit=1000) == math.inf
    assert window.wait(20.0 + wait, 0, limit=1000) == 0


def test_sliding_window_gives_back_only_to_a_bucket_that_still_counts() -> None:
    window = SlidingWindow(span=60, resolution=1)
    first = window.add(0.0, 100)
    window.add(5.0, 50)
    window.give_back(first, 40)
    assert window.used(5.0) == 110
    window.give_back(first, 500)
    assert window.used(5.0) == 50
    window.give_back(first - 10, 50)  # long gone: nothing happens
    assert window.used(5.0) == 50


def test_sliding_window_survives_a_clock_that_steps_back() -> None:
    window = SlidingWindow(span=60, resolution=1)
    window.add(10.0, 1)
    index = window.add(9.0, 1)
    assert index == 10
    assert window.used(10.0) == 2


def test_sliding_window_round_trips_through_json() -> None:
    window = SlidingWindow(span=60, resolution=0.25)
    window.add(1.0, 7)
    window.add(2.0, 9)
    again = SlidingWindow.from_json(window.to_json(), span=60, resolution=0.25)
    assert again.used(2.0) == 16
    assert again.wait(2.0, 10, 20) == window.wait(2.0, 10, 20)


class _ReferenceWindow:
    """The sliding window's rules, written plainly: the fast one must agree with it step by step."""

    def __init__(self, span: float, resolution: float) -> None:
        self.span, self.resolution = span, resolution
        self.buckets: list[list[int]] = []

    def used(self, now: float) -> int:
        self.buckets = [b for b in self.buckets if (b[0] + 1) * self.resolution + self.span > now]
        return sum(amount for _, amount in self.buckets)

    def add(self, now: float, amount: int) -> int:
        self.used(now)
        index = math.floor(now / self.resolution)
        if self.buckets and self.buckets[-1][0] >= index:
            self.buckets[-1][1] += amount
            return self.buckets[-1][0]
        self.buckets.append([index, amount])
        return index


@pytest.mark.parametrize("resolution", [0.25, 0.1, 1.0])
def test_sliding_window_agrees_with_its_plain_rules_over_a_random_run(resolution: float) -> None:
    """The window keeps its oldest expiry and its newest bucket's end at hand rather than recomputing them;
    random charges, reads, gaps longer than the span, clocks that step back and JSON round trips must not
    make it drift from the rules."""
    rng = random.Random(6)
    window, reference = SlidingWindow(60, resolution), _ReferenceWindow(60, resolution)
    now = 1_000.0
    for _ in range(5_000):
        step = rng.choice([0.0, 0.01, 0.2, 0.3, 1.5, 20.0, 75.0, -0.4])
        now += step * rng.random()
        action = rng.random()
        if action < 0.5:
            amount = rng.randint(1, 100)
            assert window.add(now, amount) == reference.add(now, amount)
        elif action < 0.9:
            assert window.used(now) == reference.used(now)
        elif action < 0.95:
            window = SlidingWindow.from_json(window.to_json(), 60, resolution)
        else:
            assert window.wait(now, 50, 2_000) >= 0
        assert window.used(now) == reference.used(now)


def test_fixed_window_resets_on_its_boundary_and_says_when() -> None:
    window = FixedWindow(length=10)
    window.add(101.0, 3)
    assert window.used(109.99) == 3
    assert window.wait(105.0, 1, limit=3) == 5.0 + 0.001
    assert window.used(110.0) == 0
    assert window.wait(110.0, 1, limit=3) == 0


def test_fixed_window_give_back_applies_to_its_own_window_only() -> None:
    window = FixedWindow(length=10)
    current = window.add(101.0, 3)
    window.give_back(current - 1, 3)
    assert window.used(101.0) == 3
    window.give_back(current, 2)
    assert window.used(101.0) == 1


def test_leaky_bucket_drains_and_waits_for_the_threshold() -> None:
    bucket = LeakyBucket()
    bucket.add(0.0, rate=10, amount=150)
    assert bucket.level_at(5.0, rate=10) == 100
    wait = bucket.wait(5.0, rate=10, threshold=50)
    assert bucket.level_at(5.0 + wait, rate=10) <= 50
    assert bucket.wait(20.0, rate=10, threshold=50) == 0
    bucket.add(20.0, rate=10, amount=-1000)
    assert bucket.level_at(20.0, rate=10) == 0
