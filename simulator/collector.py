"""Keeps Python's cyclic garbage collector from stalling thousands of held streams.

Every collection stops the event loop for as long as it takes to walk its generation, and a held stream is
about a hundred tracked objects (coroutines, futures, the request, its events). With default thresholds the
older generations soon hold every open stream, and walking them pauses every stream for tens of
milliseconds; with a large young generation each young collection alone took 10-24 ms at 5,000 streams
(bench, `gc.callbacks`). So: young collections stay small (a few thousand objects, about a millisecond),
and whatever survives one is moved out of the collector's sight (`gc.freeze()`). Surviving objects are
still freed by reference counting when their stream ends; only reference cycles that outlive a young
collection would stay, so every `thaw_seconds` everything is handed back for one full collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

YOUNG_THRESHOLD = 2_000


class Collector:
    """Installed while at least one simulator in the process is serving (tests start several)."""

    def __init__(self, thaw_seconds: float = 600.0, young_threshold: int = YOUNG_THRESHOLD) -> None:
        self.thaw_seconds = thaw_seconds
        self.young_threshold = young_threshold
        self._users = 0
        self._thawing: asyncio.Task[None] | None = None
        self._saved: tuple[int, int, int] = gc.get_threshold()

    def start(self) -> None:
        """Install the thresholds and the freeze hook; call from the event loop that serves."""
        self._users += 1
        if self._users > 1:
            return
        self._saved = gc.get_threshold()
        gc.set_threshold(self.young_threshold, 1_000_000, 1_000_000)  # frozen survivors: older generations stay empty
        gc.callbacks.append(self._after_collection)
        self._thawing = asyncio.get_running_loop().create_task(self._thaw_periodically())

    async def close(self) -> None:
        self._users -= 1
        if self._users > 0:
            return
        self._users = 0
        gc.callbacks.remove(self._after_collection)
        gc.set_threshold(*self._saved)
        if self._thawing is not None:
            self._thawing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._thawing
            self._thawing = None
        gc.unfreeze()

    def thaw(self) -> int:
        """One full collection over everything frozen so far; returns what it freed."""
        gc.unfreeze()
        return gc.collect()  # its own callback freezes the survivors again

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            gc.freeze()

    async def _thaw_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.thaw_seconds)
            self.thaw()


COLLECTOR = Collector()
