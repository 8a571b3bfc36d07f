"""Where recording files live. Every persister reads and writes whole files, atomically, by relative name,
with a version (an ETag or its file-system equivalent) for cheap change checks and lost-update protection."""

from __future__ import annotations

import dataclasses
import enum
from typing import Protocol


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    text: str
    version: str


class Unchanged(enum.Enum):
    """`read` found the version the caller already has."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


class WriteConflictError(Exception):
    """The file changed (or appeared) since the version the writer read; read again and retry."""


class Persister(Protocol):
    async def read(self, name: str, known_version: str | None = None) -> Stored | Unchanged | None:
        """The file, UNCHANGED if its version is still `known_version`, or None if it does not exist."""
        ...

    async def write(self, name: str, text: str, expected_version: str | None) -> str:
        """Replace the file atomically if its version is `expected_version` (None: it must not exist yet);
        return the new version, or raise WriteConflictError."""
        ...

    async def names(self) -> list[str]:
        """Every recording file's relative name."""
        ...

    async def write_media(self, name: str, data: bytes) -> None:
        """Keep a recording's binary part (audio, an image) under `name` (a layout.media_name: content-addressed,
        so writing it again is harmless and needs no version check)."""
        ...

    async def read_media(self, name: str) -> bytes | None:
        """A binary part written by `write_media`, or None if it is missing."""
        ...

    async def close(self) -> None: ...
