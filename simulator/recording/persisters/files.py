"""Recordings as YAML files under a directory (default `recordings/`).

Writes go to a temporary file in the same directory, are flushed and fsynced, then renamed over the target
with `os.replace`, so a crash leaves either the old file or the new one, never a torn one. Version checks and
the rename happen under one lock per file, which makes concurrent writers of this process safe; separate
processes writing the same directory are not coordinated (use Blob Storage for several instances).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from simulator.recording.layout import SUFFIX, UnsafeNameError, check_media_name, check_name
from simulator.recording.persisters import UNCHANGED, Stored, Unchanged, WriteConflictError


class FilePersister:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks: dict[str, asyncio.Lock] = {}

    async def read(self, name: str, known_version: str | None = None) -> Stored | Unchanged | None:
        return await asyncio.to_thread(self._read, self._path(name), known_version)

    async def write(self, name: str, text: str, expected_version: str | None) -> str:
        path = self._path(name)
        async with self._locks.setdefault(name, asyncio.Lock()):
            return await asyncio.to_thread(self._write, path, text, expected_version)

    async def names(self) -> list[str]:
        return await asyncio.to_thread(self._names)

    async def write_media(self, name: str, data: bytes) -> None:
        path = self._path(name, check_media_name)
        await asyncio.to_thread(_write_atomically, path, data, 0o644)

    async def read_media(self, name: str) -> bytes | None:
        path = self._path(name, check_media_name)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def close(self) -> None:
        return None

    def _path(self, name: str, check: Callable[[str], str] = check_name) -> Path:
        path = self.root / check(name)
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise UnsafeNameError(f"recording {name!r} resolves outside {root}")
        return path

    @staticmethod
    def _read(path: Path, known_version: str | None) -> Stored | Unchanged | None:
        try:
            with path.open("rb") as file:
                version = _version(os.fstat(file.fileno()))
                if version == known_version:
                    return UNCHANGED
                return Stored(file.read().decode(), version)
        except FileNotFoundError:
            return None

    @staticmethod
    def _write(path: Path, text: str, expected_version: str | None) -> str:
        try:
            stat = path.stat()
            current, mode = _version(stat), stat.st_mode & 0o777
        except FileNotFoundError:
            current, mode = None, 0o644  # mkstemp would leave 0600: recordings are meant to be shared and edited
        if current != expected_version:
            raise WriteConflictError(f"{path} changed since it was read")
        _write_atomically(path, text.encode(), mode)
        return _version(path.stat())

    def _names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = (path.relative_to(self.root).as_posix() for path in self.root.rglob(f"*{SUFFIX}"))
        return sorted(name for name in found if not any(part.startswith(".") for part in name.split("/")))


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write a temporary file beside `path`, fsync it, rename it over `path`, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    _fsync_directory(path.parent)


def _version(stat: os.stat_result) -> str:
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open directories and needs no such step."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
