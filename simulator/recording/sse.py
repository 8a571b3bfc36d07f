"""Cut a byte stream into server-sent events as chunks arrive, without changing a byte."""

from __future__ import annotations

import re
from collections.abc import Callable

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


class TimedEvents:
    """A relayed stream's events, each with the time it arrived (seconds after `started` on `clock`)."""

    def __init__(self, clock: Callable[[], float], started: float) -> None:
        self._clock, self._started = clock, started
        self._splitter = EventSplitter()
        self.events: list[tuple[float, bytes]] = []

    def feed(self, chunk: bytes) -> None:
        at = self._clock() - self._started
        self.events.extend((at, event) for event in self._splitter.feed(chunk))

    def close(self) -> float:
        """The stream has ended: its duration (whatever trailed the last event counts as one, arriving now)."""
        duration = self._clock() - self._started
        tail = self._splitter.close()
        if tail:
            self.events.append((duration, tail))
        return duration
