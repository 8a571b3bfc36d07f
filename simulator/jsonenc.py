"""One JSON codec for the whole service: orjson, which also writes numpy vectors without copying to lists."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
