from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.azurite import Azurite

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
if (SHARED / "tiktoken-cache").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken-cache"))


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the session; tests isolate themselves by container and table names."""
    emulator = Azurite().start()
    yield emulator
    emulator.stop()
