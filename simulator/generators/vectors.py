"""Deterministic unit vectors for embeddings, cheap enough for the hot path.

A vector is a row of blocks of 64 floats, each block drawn from a fixed pool of 256 unit blocks by the
bytes of a hash of the text: the same text gives the same vector in every process, different texts are
nearly orthogonal, and the norm is exactly the one of the blocks scaled by 1/√blocks. Because a block's
JSON (and float32 bytes) can be encoded once per scale, answering costs a hash and a join, not 1,536
float conversions. Shortening (`dimensions`) keeps text-embedding-3's rule: the leading part, renormalised.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math

import numpy as np
import orjson

BLOCK = 64
POOL_SIZE = 256
POOL_SEED = 20241021


def _pool() -> np.ndarray:
    rows = np.random.default_rng(POOL_SEED).standard_normal((POOL_SIZE, BLOCK))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


_POOL = _pool()


@functools.lru_cache(maxsize=64)
def _scaled(blocks: int) -> tuple[np.ndarray, tuple[bytes, ...], tuple[bytes, ...]]:
    """The pool scaled for a vector of `blocks` whole blocks: floats, their JSON and their float32 bytes."""
    rows = (_POOL / math.sqrt(blocks)).astype(np.float32)
    json_rows = tuple(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1] for row in rows)
    raw_rows = tuple(row.astype("<f4").tobytes() for row in rows)
    return rows, json_rows, raw_rows


def _choice(text: str, blocks: int) -> bytes:
    return hashlib.shake_128(text.encode()).digest(blocks)


def unit_vector(text: str, native: int, size: int) -> np.ndarray:
    """The vector as float32: `size` leading dimensions of the `native`-sized vector, renormalised."""
    if size % BLOCK == 0:
        rows, _, _ = _scaled(size // BLOCK)
        return np.concatenate([rows[index] for index in _choice(text, size // BLOCK)])
    blocks = math.ceil(size / BLOCK)
    vector = np.concatenate([_POOL[index] for index in _choice(text, blocks)])[:size]
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def vector_json(text: str, native: int, size: int) -> orjson.Fragment:
    """The vector as a JSON array, spliced from pre-encoded blocks (the same numbers `unit_vector` gives)."""
    if size % BLOCK:
        return orjson.Fragment(orjson.dumps(unit_vector(text, native, size), option=orjson.OPT_SERIALIZE_NUMPY))
    _, json_rows, _ = _scaled(size // BLOCK)
    return orjson.Fragment(b"[" + b",".join([json_rows[index] for index in _choice(text, size // BLOCK)]) + b"]")


def vector_base64(text: str, native: int, size: int) -> str:
    """The vector as base64 of little-endian float32, as `encoding_format: "base64"` asks."""
    if size % BLOCK:
        return base64.b64encode(unit_vector(text, native, size).astype("<f4").tobytes()).decode()
    _, _, raw_rows = _scaled(size // BLOCK)
    return base64.b64encode(b"".join([raw_rows[index] for index in _choice(text, size // BLOCK)])).decode()
