"""A small cache of encoded media (speech audio, pictures), read on the event loop and filled from worker
threads: a hit costs a dictionary lookup, and only a miss goes to a thread to encode."""

from __future__ import annotations

from collections.abc import Callable, Hashable


class EncodedCache:
    """At most `capacity` entries; the oldest goes first. Each operation is one dict operation under the GIL,
    so the loop and the encoding threads can share it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[Hashable, bytes] = {}

    def get(self, key: Hashable) -> bytes | None:
        return self._entries.get(key)

    def make(self, key: Hashable, encode: Callable[[], bytes]) -> bytes:
        """The entry for `key`, encoded now (in the caller's thread) if it is missing."""
        found = self._entries.get(key)
        if found is not None:
            return found
        data = encode()
        while len(self._entries) >= self.capacity:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[key] = data
        return data
