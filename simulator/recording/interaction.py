"""One recorded exchange: the request as matching needs it, the answer exactly as replay must send it.

Bodies are kept decoded so people can read and edit them, yet replay must send the recorded bytes. So a JSON
body is stored with the `JsonStyle` that re-encodes it byte for byte; a body no style reproduces is stored as
verbatim text. A stream is a list of SSE events, each with the time it arrived.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Iterable
from typing import Any

from simulator.recording import matchers
from simulator.replies import Usage


class JsonStyle(enum.StrEnum):
    """How a server laid out its JSON; each style re-encodes a decoded value to the same bytes."""

    COMPACT = "compact"  # {"a":1,"b":[1,2]}
    SPACED = "spaced"  # {"a": 1, "b": [1, 2]}
    INDENTED = "indented"  # two-space indentation
    COMPACT_ASCII = "compact-ascii"  # the same, with non-ASCII characters escaped as \uXXXX
    SPACED_ASCII = "spaced-ascii"
    INDENTED_ASCII = "indented-ascii"

    def encode(self, value: Any) -> bytes:
        layout, _, ascii_only = self.value.partition("-")
        if layout == "indented":
            text = json.dumps(value, indent=2, ensure_ascii=bool(ascii_only))
        else:
            separators = (",", ":") if layout == "compact" else (", ", ": ")
            text = json.dumps(value, separators=separators, ensure_ascii=bool(ascii_only))
        return text.encode()


def decode_json(data: bytes | str) -> tuple[Any, JsonStyle] | None:
    """The decoded object or array and the style that gives back exactly `data`, or None."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict | list):
        return None
    raw = data.encode() if isinstance(data, str) else data
    for style in JsonStyle:
        if style.encode(value) == raw:
            return value, style
    return None


BINARY_TYPES = ("audio/", "image/", "application/octet-stream")


@dataclasses.dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None  # decoded JSON (secrets redacted), unless the body was too large to keep
    body_sha256: str | None = None  # digest of the normalised body, when only the digest is kept
    body_size: int | None = None
    stream: bool = False  # stated explicitly only for hashed bodies; otherwise read from `body`

    def view(self, ignored_fields: Iterable[str]) -> matchers.RequestView:
        if self.body_sha256 is not None:
            return matchers.RequestView(self.method, self.path, self.query, self.body_sha256, self.stream)
        digest = matchers.body_digest(self.body, ignored_fields)
        return matchers.RequestView(self.method, self.path, self.query, digest, matchers.is_stream(self.body))


@dataclasses.dataclass(slots=True)
class RecordedEvent:
    """One SSE event: `data` is a JSON value (encoded in the response's style) or a string sent as is after
    `data: `, with the `event:` line's `name` when it has one (the Responses API names each event); `raw` is a
    whole event kept verbatim, terminator included, when it is not of that shape."""

    at: float  # seconds from sending the request to this event's arrival
    data: Any = None
    raw: str | None = None
    name: str | None = None

    def encode(self, style: JsonStyle) -> bytes:
        if self.raw is not None:
            return self.raw.encode()
        payload = self.data.encode() if isinstance(self.data, str) else style.encode(self.data)
        head = b"" if self.name is None else b"event: " + self.name.encode() + b"\n"
        return head + b"data: " + payload + b"\n\n"

    @classmethod
    def parse(cls, at: float, event: bytes, style: JsonStyle) -> RecordedEvent:
        text = event.decode()
        name = None
        if text.startswith("event: ") and "\n" in text:
            line, _, rest = text.partition("\n")
            if "\r" not in line:
                name, text = line[len("event: ") :], rest
        payload = text[len("data: ") : -2] if text.startswith("data: ") and text.endswith("\n\n") else None
        if payload is None or "\n" in payload or "\r" in payload:
            return cls(at, raw=event.decode())
        try:
            value = json.loads(payload)
        except ValueError:
            return cls(at, data=payload, name=name)
        if isinstance(value, dict | list) and style.encode(value) == payload.encode():
            return cls(at, data=value, name=name)
        return cls(at, data=payload, name=name)


@dataclasses.dataclass(slots=True)
class RecordedResponse:
    """Exactly one of `body` (with `style`), `text`, `binary` or `events` (with `style`) holds the answer. A binary
    answer kept beside the YAML also has `file`, its media name (`simulator.recording.media`)."""

    status: int
    headers: dict[str, str]
    duration: float  # seconds from sending the request to the end of the answer
    body: Any = None
    style: JsonStyle | None = None
    text: str | None = None
    binary: bytes | None = None
    events: list[RecordedEvent] | None = None
    file: str | None = None
    # Images answered as URLs, read back for replay to publish again (media name → bytes); never serialised.
    media: dict[str, bytes] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_body(cls, status: int, headers: dict[str, str], duration: float, data: bytes) -> RecordedResponse:
        if headers.get("content-type", "").startswith(BINARY_TYPES):  # audio of silence can be valid UTF-8
            return cls(status, headers, duration, binary=data)
        decoded = decode_json(data)
        if decoded is not None:
            return cls(status, headers, duration, body=decoded[0], style=decoded[1])
        try:
            return cls(status, headers, duration, text=data.decode())
        except UnicodeDecodeError:
            return cls(status, headers, duration, binary=data)

    @classmethod
    def from_events(
        cls, status: int, headers: dict[str, str], duration: float, events: list[tuple[float, bytes]]
    ) -> RecordedResponse:
        style = _stream_style(event for _, event in events)
        recorded = [RecordedEvent.parse(at, event, style) for at, event in events]
        return cls(status, headers, duration, style=style, events=recorded)

    @property
    def is_stream(self) -> bool:
        return self.events is not None

    def content(self) -> bytes:
        """The whole body as sent (for a stream: every event, back to back)."""
        if self.events is not None:
            return b"".join(self.event_bytes())
        if self.text is not None:
            return self.text.encode()
        if self.binary is not None:
            return self.binary
        return (self.style or JsonStyle.COMPACT).encode(self.body)

    def event_bytes(self) -> list[bytes]:
        style = self.style or JsonStyle.COMPACT
        return [event.encode(style) for event in self.events or ()]

    def usage(self) -> Usage | None:
        """Token usage the answer reports, so rate limits charge replayed answers like real ones."""
        if self.events is not None:
            found = [_usage_of(event.data) for event in self.events]
            found = [usage for usage in found if usage is not None]
            return found[-1] if found else None
        body = self.body
        if self.text is not None:  # JSON kept as text because no style reproduced its bytes
            try:
                body = json.loads(self.text)
            except ValueError:
                return None
        return _usage_of(body)

    def binary_text(self) -> str | None:
        return base64.b64encode(self.binary).decode() if self.binary is not None else None


@dataclasses.dataclass(slots=True)
class Interaction:
    request: RecordedRequest
    response: RecordedResponse


def _stream_style(events: Iterable[bytes]) -> JsonStyle:
    for event in events:
        text = event.decode(errors="replace")
        if text.startswith("event: "):
            text = text.partition("\n")[2]
        if text.startswith("data: ") and text.endswith("\n\n"):
            decoded = decode_json(text[len("data: ") : -2])
            if decoded is not None:
                return decoded[1]
    return JsonStyle.COMPACT


def _usage_of(value: Any) -> Usage | None:
    """The usage a body or event reports: its own `usage`, or its `response`'s (Responses API events)."""
    if not isinstance(value, dict):
        return None
    usage = value.get("usage")
    if not isinstance(usage, dict) and isinstance(value.get("response"), dict):
        usage = value["response"].get("usage")
    return _usage(usage) if isinstance(usage, dict) else None


def _usage(usage: dict[str, Any]) -> Usage:
    """Chat's `prompt_tokens`/`completion_tokens`, or the Responses API's `input_tokens`/`output_tokens`."""
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else 0,
        completion_tokens=completion if isinstance(completion, int) else 0,
        reasoning_tokens=_reasoning_tokens(usage),
    )


def _reasoning_tokens(usage: dict[str, Any]) -> int:
    """A reasoning model's hidden tokens: chat's `completion_tokens_details`, the Responses API's
    `output_tokens_details`."""
    for key in ("completion_tokens_details", "output_tokens_details"):
        details = usage.get(key)
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
            return details["reasoning_tokens"]
    return 0
