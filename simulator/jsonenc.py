"""One JSON codec for the whole service: orjson (fast, and it splices pre-encoded `orjson.Fragment`s)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def text(value: Any) -> str:
    """`value` as JSON text, for messages that quote what a client sent: `null`, `true`, `["x"]`, never Python's
    `None`, `True`, `['x']`. A value no JSON can hold (only possible from code, not from a request) is named by
    its type."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return f"<{type(value).__name__}>"


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
