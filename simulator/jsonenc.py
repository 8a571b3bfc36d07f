"""One JSON codec for the whole service: orjson (fast, and it splices pre-encoded `orjson.Fragment`s)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
