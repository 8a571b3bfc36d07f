"""Cut a byte stream into server-sent events as chunks arrive, without changing a byte."""

from __future__ import annotations

import re

# An event ends at a blank line; servers write it as \n\n or \r\n\r\n.
_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n")


class EventSplitter:
    """Feed chunks as they come; get back each complete event, its terminator included."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        events: list[bytes] = []
        start = 0
        for boundary in _BOUNDARY.finditer(self._buffer):
            events.append(self._buffer[start : boundary.end()])
            start = boundary.end()
        self._buffer = self._buffer[start:]
        return events

    def close(self) -> bytes:
        """Whatever trailed the last complete event (normally nothing)."""
        rest, self._buffer = self._buffer, b""
        return rest
