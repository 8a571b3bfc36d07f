"""The fields every generated AOAI answer carries: ids, timestamps, fingerprints, content-filter results."""

from __future__ import annotations

import functools
import random
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

SAFE = {"filtered": False, "severity": "safe"}


def content_filter_results() -> dict[str, Any]:
    """Azure's verdict on a piece of completion text: nothing filtered."""
    return {"hate": dict(SAFE), "self_harm": dict(SAFE), "sexual": dict(SAFE), "violence": dict(SAFE)}


def prompt_filter_results(prompt_count: int = 1) -> list[dict[str, Any]]:
    verdict = {**content_filter_results(), "jailbreak": {"filtered": False, "detected": False}}
    return [{"prompt_index": index, "content_filter_results": verdict} for index in range(prompt_count)]


_ID_CHARACTERS = bytes((_ALPHABET * 5)[:256], "ascii")  # a byte → one of the 62 (slightly uneven; ids only)


def random_id(prefix: str, rng: random.Random, length: int = 29) -> str:
    return prefix + rng.randbytes(length).translate(_ID_CHARACTERS).decode()


@functools.lru_cache(maxsize=256)
def system_fingerprint(model: str) -> str:
    """Stable per model, as real deployments report one fingerprint for long stretches."""
    return "fp_" + format(abs(hash_text(model)) % (16**10), "010x")


def hash_text(text: str) -> int:
    """A hash that is the same in every process (Python's `hash` is salted per process)."""
    value = 1469598103934665603
    for byte in text.encode():
        value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value
