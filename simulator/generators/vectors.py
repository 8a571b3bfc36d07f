"""Deterministic unit vectors for embeddings, cheap enough for the hot path and free of numpy.

A vector is a row of blocks of 64 floats, each block drawn from a fixed pool of 256 unit blocks by the
bytes of a hash of the text: the same text gives the same vector in every process, different texts are
nearly orthogonal, and the norm is exactly the one of the blocks scaled by 1/√blocks. Because a block's
JSON (and float32 bytes) is encoded once per scale, answering costs a hash and a join, not 1,536 float
conversions. Shortening (`dimensions`) keeps text-embedding-3's rule: the leading part, renormalised.
Values are float32, as the service's are, written in their shortest round-tripping form.
"""

from __future__ import annotations

import array
import base64
import functools
import hashlib
import math
import random
import struct

import orjson

BLOCK = 64
POOL_SIZE = 256
POOL_SEED = 20241021
_FLOAT32 = struct.Struct(f"<{BLOCK}f")


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(value * value for value in values))
    return [value / norm for value in values]


@functools.cache
def _pool() -> tuple[array.array, ...]:
    """Built on the first embeddings request, so start-up does not pay for it. Rows of C doubles: as tuples
    the 16,384 values were as many float objects, 0.4 MiB more for the life of the process."""
    rng = random.Random(POOL_SEED)
    return tuple(array.array("d", _unit([rng.gauss(0.0, 1.0) for _ in range(BLOCK)])) for _ in range(POOL_SIZE))


def _float32_text(value: float) -> bytes:
    """The shortest decimal that reads back as the same float32 (what numpy prints for a float32)."""
    (single,) = struct.unpack("<f", struct.pack("<f", value))
    for digits in range(6, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            return orjson.dumps(float(text))
    return orjson.dumps(single)


@functools.lru_cache(maxsize=64)
def _scaled(blocks: int) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The pool scaled for a vector of `blocks` whole blocks: each block's JSON and its float32 bytes."""
    scale = 1.0 / math.sqrt(blocks)
    rows = [[value * scale for value in row] for row in _pool()]
    json_rows = tuple(b",".join(_float32_text(value) for value in row) for row in rows)
    raw_rows = tuple(_FLOAT32.pack(*row) for row in rows)
    return json_rows, raw_rows


def _choice(text: str, blocks: int) -> bytes:
    return hashlib.shake_128(text.encode()).digest(blocks)


def _float32_bytes(text: str, native: int, size: int) -> bytes:
    """The vector as little-endian float32 bytes."""
    if size % BLOCK == 0:
        _, raw_rows = _scaled(size // BLOCK)
        return b"".join([raw_rows[index] for index in _choice(text, size // BLOCK)])
    blocks = math.ceil(size / BLOCK)
    pool = _pool()
    values = _unit([value for index in _choice(text, blocks) for value in pool[index]][:size])
    return struct.pack(f"<{size}f", *values)


def unit_vector(text: str, native: int, size: int) -> list[float]:
    """The vector's float32 values: `size` leading dimensions of the `native`-sized vector, renormalised."""
    return list(struct.unpack(f"<{size}f", _float32_bytes(text, native, size)))


def vector_json(text: str, native: int, size: int) -> orjson.Fragment:
    """The vector as a JSON array, spliced from pre-encoded blocks (the same numbers `unit_vector` gives)."""
    if size % BLOCK:
        parts = [_float32_text(value) for value in unit_vector(text, native, size)]
    else:
        json_rows, _ = _scaled(size // BLOCK)
        parts = [json_rows[index] for index in _choice(text, size // BLOCK)]
    return orjson.Fragment(b"[" + b",".join(parts) + b"]")


def vector_base64(text: str, native: int, size: int) -> str:
    """The vector as base64 of little-endian float32, as `encoding_format: "base64"` asks."""
    return base64.b64encode(_float32_bytes(text, native, size)).decode()
