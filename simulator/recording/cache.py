"""Cassettes loaded on first use and kept fresh: a file edited (or a blob uploaded) reaches replay without a
restart. Each file's version is checked at most once per `refresh_interval`, and a check that finds the same
version transfers nothing. A broken edit is logged and the last good cassette keeps serving."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence

from simulator.recording.cassette import Cassette
from simulator.recording.interaction import Interaction
from simulator.recording.media import MissingMediaError, resolve
from simulator.recording.persisters import Persister, Unchanged
from simulator.recording.serializer import RecordingFormatError, loads

logger = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class _Entry:
    cassette: Cassette
    version: str | None
    checked_at: float


class CassetteCache:
    def __init__(
        self,
        persister: Persister,
        *,
        match_on: Sequence[str],
        ignored_fields: Sequence[str],
        refresh_interval: float,
        clock: Callable[[], float],
    ) -> None:
        self.persister = persister
        self.match_on = tuple(match_on)
        self.ignored_fields = tuple(ignored_fields)
        self.refresh_interval = refresh_interval
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, name: str) -> Cassette:
        entry = self._entries.get(name)
        if entry is not None and self.clock() - entry.checked_at < self.refresh_interval:
            return entry.cassette
        lock = self._locks.setdefault(name, asyncio.Lock())
        if entry is not None and lock.locked():
            return entry.cassette  # another request is already checking this file
        async with lock:
            entry = self._entries.get(name)
            if entry is None or self.clock() - entry.checked_at >= self.refresh_interval:
                entry = await self._refresh(name, entry)
                self._entries[name] = entry
            return entry.cassette

    async def _refresh(self, name: str, entry: _Entry | None) -> _Entry:
        now = self.clock()
        stored = await self.persister.read(name, entry.version if entry else None)
        if isinstance(stored, Unchanged) and entry is not None:
            return dataclasses.replace(entry, checked_at=now)
        if stored is None or isinstance(stored, Unchanged):
            return _Entry(self._cassette([]), None, now)
        try:
            interactions = loads(stored.text, source=name)
            await resolve(interactions, self.persister)
        except (RecordingFormatError, MissingMediaError) as error:
            logger.error("recording %s was not reloaded: %s", name, error)
            previous = entry.cassette if entry is not None else self._cassette([])
            return _Entry(previous, stored.version, now)
        if entry is not None:
            logger.info("recording %s changed; reloaded %d interaction(s)", name, len(interactions))
        return _Entry(self._cassette(interactions), stored.version, now)

    def _cassette(self, interactions: list[Interaction]) -> Cassette:
        return Cassette(interactions, self.match_on, self.ignored_fields)
