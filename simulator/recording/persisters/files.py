"""Recordings as YAML files under a directory (default `recordings/`).

Writes go to a temporary file in the same directory, are flushed and fsynced, then renamed over the target
with `os.replace`, so a crash leaves either the old file or the new one, never a torn one. Version checks and
the rename happen under one lock per file, which makes concurrent writers of this process safe; separate
processes writing the same directory are not coordinated (use Blob Storage for several instances).

A process killed in the middle of a save leaves its temporary file behind (`.name.<16 hex digits>.tmp`, hidden
from `names`). Nothing reads it, so the first write of every process sweeps what is abandoned: a file of that
pattern, beside a name this persister writes, untouched for `STALE_TEMPORARY_SECONDS` and locked by no live
writer (docs/security.md, Crash safety). The sweep waits for a write because a replaying process may have the
folder read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from simulator.recording.layout import SUFFIX, UnsafeNameError, check_media_name, check_name
from simulator.recording.persisters import UNCHANGED, Stored, Unchanged, WriteConflictError

try:
    import fcntl
except ImportError:  # Windows, where a file still open in its writer cannot be deleted: that is the check there
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

# A save's temporary file: its target's name, a random part and `.tmp`, beside the target. A pattern of our own, so
# the sweep can tell a leftover of ours from anything else a user keeps in the folder (eight characters of
# `[a-z0-9_]`: the names `tempfile.mkstemp` gave before, still lying in folders written by earlier versions).
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")
# A temporary file untouched for this long is abandoned. A live save refreshes its file's mtime with each write and
# renames it within seconds; an hour also covers a writer on another host sharing the folder (whose file lock may
# not be visible here) and clocks that disagree by minutes.
STALE_TEMPORARY_SECONDS = 3600.0


class FilePersister:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks: dict[str, asyncio.Lock] = {}
        self._swept = False

    async def read(self, name: str, known_version: str | None = None) -> Stored | Unchanged | None:
        return await asyncio.to_thread(self._read, self._path(name), known_version)

    async def write(self, name: str, text: str, expected_version: str | None) -> str:
        path = self._path(name)
        await self._sweep_once()
        async with self._locks.setdefault(name, asyncio.Lock()):
            return await asyncio.to_thread(self._write, path, text, expected_version)

    async def names(self) -> list[str]:
        return await asyncio.to_thread(self._names)

    async def write_media(self, name: str, data: bytes) -> None:
        path = self._path(name, check_media_name)
        await self._sweep_once()
        await asyncio.to_thread(_write_atomically, path, data, 0o644)

    async def read_media(self, name: str) -> bytes | None:
        path = self._path(name, check_media_name)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def close(self) -> None:
        return None

    async def _sweep_once(self) -> None:
        """Remove what saves killed before this process left, once, before its first write."""
        if self._swept:
            return
        self._swept = True
        try:
            removed = await asyncio.to_thread(sweep_temporaries, self.root, time.time())
        except OSError as error:  # a folder that cannot be listed: the write itself will say what is wrong
            logger.warning("could not sweep temporary files in %s: %s", self.root, error)
            return
        if removed:
            logger.warning("removed %d temporary file(s) left by interrupted saves in %s", len(removed), self.root)

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
            current, mode = None, 0o644
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
    with temporary_beside(path, mode) as file:
        file.write(data)


@contextlib.contextmanager
def temporary_beside(path: Path, mode: int) -> Iterator[BinaryIO]:
    """A new temporary file beside `path`, locked while it is written (so a sweep in another process leaves it
    alone), then flushed, fsynced and renamed over `path`; removed instead if the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            if fcntl is not None:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            os.fchmod(file.fileno(), mode)  # the umask does not apply: recordings are meant to be shared and edited
            yield file
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _fsync_directory(path.parent)


def sweep_temporaries(root: Path, now: float, stale_after: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove the temporary files under `root` that saves abandoned (their writer was killed); return them.

    Only files of our pattern beside a name this persister writes, untouched for `stale_after` seconds and not
    locked by a writer; anything that vanishes or resists meanwhile (another sweep, a permission) is skipped."""
    removed = []
    for candidate in root.rglob(".*.tmp") if root.is_dir() else ():
        try:
            if not _is_temporary(root, candidate) or now - candidate.lstat().st_mtime < stale_after:
                continue
            if _remove_unless_locked(candidate):
                removed.append(candidate)
        except OSError:
            continue
    return removed


def _is_temporary(root: Path, candidate: Path) -> bool:
    match = _TEMPORARY.fullmatch(candidate.name)
    if match is None or not candidate.is_file() or candidate.is_symlink():
        return False
    target = (candidate.parent / match["target"]).relative_to(root).as_posix()
    try:
        (check_name if target.endswith(SUFFIX) else check_media_name)(target)
    except UnsafeNameError:
        return False
    return True


def _remove_unless_locked(path: Path) -> bool:
    """Unlink `path` unless a live writer holds its lock (the lock dies with its process, SIGKILL included)."""
    if fcntl is None:
        path.unlink()
        return True
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        path.unlink()
        return True
    finally:
        os.close(descriptor)


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
