"""Reading the fields of media requests, which come as JSON (speech, images) or as multipart form text
(transcriptions, image edits): a number may arrive as `0.5` or as `"0.5"`, and both are the same value."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from simulator import errors
from simulator.params import invalid_type, invalid_value, missing_parameter, string_too_long


def choice(body: Mapping[str, Any], name: str, allowed: Sequence[str], default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    if value not in allowed:
        raise invalid_value(name, value, allowed)
    return value


def text(body: Mapping[str, Any], name: str, *, required: bool, maximum: int | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise missing_parameter(name)
        return None
    if not isinstance(value, str):
        raise invalid_type(name, "a string", value)
    if required and not value.strip():
        raise errors.invalid_request(f"Invalid '{name}': empty string.", name, "empty_string")
    if maximum is not None and len(value) > maximum:
        raise string_too_long(name, maximum, len(value))
    return value


def number(body: Mapping[str, Any], name: str, low: float, high: float, default: float) -> float:
    value = _numeric(body, name, float)
    if value is None:
        return default
    if not low <= value <= high:
        raise errors.invalid_request(
            f"Invalid '{name}': {value} is outside the range {low} to {high}.", name, "invalid_value"
        )
    return value


def integer(body: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = _numeric(body, name, int)
    if value is None:
        return default
    if not low <= value <= high:
        raise errors.invalid_request(
            f"Invalid '{name}': integer {'below minimum' if value < low else 'above maximum'} value. Expected a "
            f"value {'>=' if value < low else '<='} {low if value < low else high}, but got {value} instead.",
            name,
            "integer_below_min_value" if value < low else "integer_above_max_value",
        )
    return value


def _numeric(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = kind(value.strip())
        except ValueError:
            raise invalid_type(name, "a number" if kind is float else "an integer", value) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise invalid_type(name, "a number" if kind is float else "an integer", value)
    if not math.isfinite(value):
        raise invalid_type(name, "a number", value)
    return value
