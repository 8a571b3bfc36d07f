"""multipart/form-data bodies (audio to transcribe, images to edit) as the core sees them.

The parts become a JSON-like `body` (text fields as strings, `stream` as a boolean, each file as
`{filename, sha256, size}`) and the files themselves. Everything downstream (validation, rate-limit costs,
recording matchers) then works on the body as it does for JSON, and a recording matches on the fields and the
file's digest whatever boundary the client chose. Only record and replay need the digest (about a millisecond
per 2 MB), so it is computed only when asked for; file contents are gathered as views of the
body and copied once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from simulator import errors
from simulator.context import Upload
from simulator.errors import OpenAIError

Files = dict[str, tuple[Upload, ...]]


def parse_form(raw_body: bytes, content_type: str, *, digests: bool = True) -> tuple[dict[str, Any], Files]:
    """Fields and files of a multipart body (with each file's SHA-256 if `digests`); an AOAI-shaped 400 when the
    body is not one."""
    # Imported here: chat-only instances never load it (tens of milliseconds of cold start).
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise not_multipart()
    parts = _Parts()
    parser = MultipartParser(boundary, parts.callbacks())
    try:
        parser.write(raw_body)
        parser.finalize()
    except MultipartParseError:
        raise errors.invalid_request("The multipart/form-data body could not be parsed.") from None
    if not parts.complete:
        raise errors.invalid_request("The multipart/form-data body ends before its closing boundary.")
    body: dict[str, Any] = {}
    files: Files = {}
    for name, part in parts.items:
        key = name.removesuffix("[]")
        if part.filename is None:
            value: Any = part.text()
            if key == "stream":
                value = value.strip().lower() == "true"
        else:
            upload = part.upload(digests)
            files[key] = (*files.get(key, ()), upload)
            value = {"filename": upload.filename, "size": len(upload.data)}
            if digests:
                value["sha256"] = upload.sha256
        if key in body or name.endswith("[]"):
            previous = body.get(key, [])
            body[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            body[key] = value
    return body, files


def not_multipart() -> OpenAIError:
    return errors.invalid_request(
        "This operation takes a multipart/form-data request body (Content-Type: multipart/form-data; boundary=...)."
    )


class _Part:
    __slots__ = ("chunks", "content_type", "filename", "name")

    def __init__(self) -> None:
        self.name = ""
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self.chunks: list[memoryview] = []

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")

    def upload(self, digest: bool) -> Upload:
        data = b"".join(self.chunks)
        return Upload(self.filename or "", self.content_type, data, hashlib.sha256(data).hexdigest() if digest else "")


class _Parts:
    """Collects the parser's callbacks into parts: each part's headers, then its data."""

    def __init__(self) -> None:
        self.items: list[tuple[str, _Part]] = []
        self.complete = False
        self._part = _Part()
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        field, value = self._field.lower(), self._value
        self._field = self._value = b""
        if field == b"content-disposition":
            from python_multipart.multipart import parse_options_header

            _, options = parse_options_header(value)
            self._part.name = options.get(b"name", b"").decode("utf-8", errors="replace")
            filename = options.get(b"filename")
            self._part.filename = None if filename is None else filename.decode("utf-8", errors="replace")
        elif field == b"content-type":
            self._part.content_type = value.decode("latin-1").strip()

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._part.chunks.append(memoryview(data)[start:end])  # a view: the one copy is the join

    def _end(self) -> None:
        if self._part.name:
            self.items.append((self._part.name, self._part))

    def _finished(self) -> None:
        self.complete = True
