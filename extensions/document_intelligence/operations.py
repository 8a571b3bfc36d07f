"""Analyses in progress and done, kept in this instance's memory for as long as the service keeps results (24 h).

An operation's id is derived from the model and the document, so the same document analysed again (or in
record and then replay mode) has the same result URL. Polls must reach the instance that took the analysis:
with several instances, keep session affinity on (App Service's ARR affinity) or use one instance.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import time
from typing import Any

KEPT_SECONDS = 24 * 3600
MAX_KEPT = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    created: float  # wall-clock seconds
    ready_at: float
    result: dict[str, Any]


def operation_id(model_id: str, document: bytes) -> str:
    """A UUID-shaped id from the model and the document's bytes."""
    text = hashlib.sha256(model_id.encode() + b"\0" + document).hexdigest()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"


class Operations:
    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self._kept: collections.OrderedDict[str, Operation] = collections.OrderedDict()

    def start(self, key: str, seconds: float, result: dict[str, Any]) -> Operation:
        now = self.clock()
        self._kept.pop(key, None)
        operation = self._kept[key] = Operation(now, now + seconds, result)
        while len(self._kept) > MAX_KEPT or next(iter(self._kept.values())).created < now - KEPT_SECONDS:
            self._kept.popitem(last=False)
        return operation

    def get(self, key: str) -> Operation | None:
        return self._kept.get(key)
