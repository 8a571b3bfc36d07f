"""The garbage collector tuned for held streams: small young collections, survivors frozen, periodic thaw."""

from __future__ import annotations

import asyncio
import gc
import weakref

from simulator.collector import Collector


class Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_survivors_of_a_young_collection_are_frozen_and_a_thaw_frees_frozen_cycles() -> None:
    before = gc.get_threshold()
    collector = Collector(thaw_seconds=3600, young_threshold=500)
    collector.start()
    try:
        assert gc.get_threshold()[0] == 500
        cycle = Cycle()
        gc.collect(0)
        assert gc.get_freeze_count() > 0 and gc.get_count()[1:] == (0, 0)  # nothing left for older generations
        del cycle  # garbage now, but frozen: only a thaw reaches it
        assert collector.thaw() >= 1
    finally:
        await collector.close()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert collector._after_collection not in gc.callbacks


async def test_several_users_share_one_installation() -> None:
    collector = Collector(young_threshold=700)
    collector.start()
    collector.start()
    await collector.close()
    assert collector._after_collection in gc.callbacks  # still serving one user
    await collector.close()
    assert collector._after_collection not in gc.callbacks


async def test_the_periodic_thaw_frees_a_cycle_that_was_frozen() -> None:
    """Without the thaw a cycle that survived a young collection would stay for the life of the process."""
    collector = Collector(thaw_seconds=0.01, young_threshold=500)
    collector.start()
    try:
        cycle = Cycle()
        freed = weakref.ref(cycle)
        gc.collect(0)  # survives, so it is frozen
        del cycle
        assert freed() is not None and gc.get_freeze_count() > 0
        for _ in range(500):  # up to 5 s; the loop's timer, not a fixed wait, decides when
            if freed() is None:
                break
            await asyncio.sleep(0.01)
        assert freed() is None
    finally:
        await collector.close()
