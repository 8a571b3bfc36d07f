"""Pure functions that reduce a request to the parts replay matches on, and the key they compose.

A cassette indexes interactions by `match_key`, so finding a recording is one dictionary lookup however many
there are. Whether the request streams is always part of the key: a streamed and a plain answer are not
interchangeable even when `match_on` leaves the body out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from simulator.recording import filters


@dataclasses.dataclass(frozen=True, slots=True)
class RequestView:
    """What matchers see of a request, live or recorded (a recorded body may survive only as its digest)."""

    method: str
    path: str
    query: str
    body_digest: str
    stream: bool


MatchKey = tuple[object, ...]
Matcher = Callable[[RequestView], object]


def method(view: RequestView) -> object:
    return view.method.upper()


def path(view: RequestView) -> object:
    return view.path.rstrip("/")


def query(view: RequestView) -> object:
    return tuple(sorted(parse_qsl(filters.query(view.query), keep_blank_values=True)))


def body(view: RequestView) -> object:
    return view.body_digest


MATCHERS: Mapping[str, Matcher] = {"method": method, "path": path, "query": query, "body": body}


def match_key(view: RequestView, match_on: Iterable[str]) -> MatchKey:
    return (view.stream, *(MATCHERS[name](view) for name in match_on))


def normalise_body(value: Any, ignored_fields: Iterable[str]) -> Any:
    """The body as matching sees it: secrets redacted as recordings store them, ignored fields removed."""
    normalised = filters.body(value)
    for dotted in ignored_fields:
        _drop(normalised, dotted.split("."))
    return normalised


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value whatever its key order or spacing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_digest(value: Any, ignored_fields: Iterable[str]) -> str:
    return digest(canonical_json(normalise_body(value, ignored_fields)))


def is_stream(value: Any) -> bool:
    return isinstance(value, dict) and value.get("stream") is True


def _drop(value: Any, parts: list[str]) -> None:
    if not isinstance(value, dict) or not parts:
        return
    head, *rest = parts
    if not rest:
        value.pop(head, None)
    else:
        _drop(value.get(head), rest)
