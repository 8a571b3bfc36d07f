"""Append recorded interactions to their files without losing any, however many complete at once.

Interactions wait in a per-file queue. Whoever flushes a file takes its lock, then writes everything queued so
far in one read-modify-write, so a burst of concurrent completions costs a few writes, not one each. The write
is conditional on the version read: if another instance changed the file meanwhile, the batch is merged again
with the new content and retried.
"""

from __future__ import annotations

import asyncio
import logging

from simulator.recording.interaction import Interaction
from simulator.recording.persisters import Persister, Stored, Unchanged, WriteConflictError
from simulator.recording.serializer import dumps, loads

logger = logging.getLogger(__name__)


class CassetteWriter:
    def __init__(self, persister: Persister, *, attempts: int = 8) -> None:
        self.persister = persister
        self.attempts = attempts
        self._pending: dict[str, list[Interaction]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def add(self, name: str, interaction: Interaction) -> None:
        self._pending.setdefault(name, []).append(interaction)

    @property
    def pending(self) -> int:
        return sum(map(len, self._pending.values()))

    async def flush(self, name: str | None = None) -> int:
        """Write what is queued (for `name`, or for every file); return how many interactions were written."""
        names = [name] if name is not None else list(self._pending)
        return sum([await self._flush(each) for each in names])

    async def _flush(self, name: str) -> int:
        async with self._locks.setdefault(name, asyncio.Lock()):
            batch = self._pending.pop(name, [])
            if not batch:
                return 0  # an earlier flush took them along
            try:
                await self._append(name, batch)
            except BaseException:
                self._pending.setdefault(name, [])[:0] = batch  # keep them for the next flush
                raise
            return len(batch)

    async def _append(self, name: str, batch: list[Interaction]) -> None:
        for attempt in range(self.attempts):
            stored = await self.persister.read(name)
            existing = loads(stored.text, source=name) if isinstance(stored, Stored) else []
            version = stored.version if isinstance(stored, Stored) else None
            if isinstance(stored, Unchanged):  # not asked for, so not expected
                raise RuntimeError(f"{name}: the persister answered UNCHANGED to an unconditional read")
            try:
                await self.persister.write(name, dumps(existing + batch), version)
                return
            except WriteConflictError:
                logger.debug("recording %s changed while appending (attempt %d); merging again", name, attempt + 1)
                await asyncio.sleep(0.005 * 2**attempt)
        raise WriteConflictError(f"{name}: still changing after {self.attempts} attempts to append")
