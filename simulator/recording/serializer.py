"""The YAML form of recordings: `{version, interactions}`, written for people to read and edit.

Reading uses a safe loader only (never constructs Python objects) and checks every field, so a hand edit
with a typo fails with the interaction and field named rather than at replay time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import yaml

from simulator.recording.interaction import Interaction, JsonStyle, RecordedEvent, RecordedRequest, RecordedResponse
from simulator.recording.layout import UnsafeNameError, check_media_name

VERSION = 1
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class RecordingFormatError(ValueError):
    """A recording file that is not valid YAML or not in the recording format; the message says where."""


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Multi-line strings as literal blocks; lists of numbers (embeddings) and short mappings of scalars on as
    few lines as fit."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # The emitter falls back to a quoted scalar by itself where a literal block cannot hold the string.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    numbers = bool(value) and all(isinstance(item, int | float) and not isinstance(item, bool) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=numbers)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.MappingNode:
    """Short mappings of scalars (`{filtered: false, severity: safe}`) on one line."""
    scalars = all(not isinstance(item, dict | list) and "\n" not in str(item) for item in value.values())
    short = scalars and sum(len(str(key)) + len(str(item)) + 4 for key, item in value.items()) <= 60
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=bool(value) and short)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dumps(interactions: list[Interaction]) -> str:
    document = {"version": VERSION, "interactions": [_interaction(item) for item in interactions]}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def loads(text: str, source: str = "recording") -> list[Interaction]:
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise RecordingFormatError(f"{source}: not valid YAML: {error}") from None
    if document is None:
        return []
    fields = _Fields(document, source)
    version = fields.get("version", int)
    if version != VERSION:
        raise RecordingFormatError(f"{source}: version {version} is not supported (this simulator reads {VERSION})")
    items = fields.get("interactions", list, [])
    fields.done()
    return [_parse_interaction(_Fields(item, f"{source}: interactions[{index}]")) for index, item in enumerate(items)]


def _interaction(item: Interaction) -> dict[str, Any]:
    return {"request": _request(item.request), "response": _response(item.response)}


def _request(request: RecordedRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"method": request.method, "path": request.path}
    if request.query:
        out["query"] = request.query
    if request.headers:
        out["headers"] = dict(request.headers)
    if request.body_sha256 is not None:
        out.update(body_sha256=request.body_sha256, body_size=request.body_size, stream=request.stream)
    elif request.body is not None:
        out["body"] = request.body
    return out


def _response(response: RecordedResponse) -> dict[str, Any]:
    out: dict[str, Any] = {"status": response.status, "duration": round(response.duration, 4)}
    if response.headers:
        out["headers"] = dict(response.headers)
    if response.events is not None:
        out["json"] = (response.style or JsonStyle.COMPACT).value
        out["events"] = [_event(event) for event in response.events]
    elif response.text is not None:
        out["text"] = response.text
    elif response.file is not None:
        out["file"] = response.file
    elif response.binary is not None:
        out["base64"] = response.binary_text()
    else:
        out["json"] = (response.style or JsonStyle.COMPACT).value
        out["body"] = response.body
    return out


def _event(event: RecordedEvent) -> dict[str, Any]:
    at = round(event.at, 4)
    if event.raw is not None:
        return {"at": at, "raw": event.raw}
    return {"at": at, "data": event.data} if event.name is None else {"at": at, "event": event.name, "data": event.data}


def _parse_interaction(fields: _Fields) -> Interaction:
    request = _parse_request(fields.nested("request"))
    response = _parse_response(fields.nested("response"))
    fields.done()
    return Interaction(request, response)


def _parse_request(fields: _Fields) -> RecordedRequest:
    request = RecordedRequest(
        method=fields.get("method", str),
        path=fields.get("path", str),
        query=fields.get("query", str, ""),
        headers=fields.get("headers", dict, {}),
        body=fields.get("body", object, None),
        body_sha256=fields.get("body_sha256", str, None),
        body_size=fields.get("body_size", int, None),
        stream=fields.get("stream", bool, False),
    )
    fields.done()
    return request


def _parse_response(fields: _Fields) -> RecordedResponse:
    status = fields.get("status", int)
    duration = fields.get("duration", _number, 0.0)
    headers = {str(name): str(value) for name, value in fields.get("headers", dict, {}).items()}
    style = _style(fields, fields.get("json", str, None))
    forms = [name for name in ("body", "text", "base64", "file", "events") if name in fields.mapping]
    if len(forms) != 1:
        found = ", ".join(forms) or "none"
        raise fields.error(f"needs exactly one of body, text, base64, file or events (found {found})")
    response = RecordedResponse(status, headers, float(duration), style=style)
    if forms[0] == "body":
        response.body = fields.get("body", object)
        response.style = style or JsonStyle.COMPACT
    elif forms[0] == "text":
        response.text = fields.get("text", str)
    elif forms[0] == "base64":
        response.binary = _base64(fields, fields.get("base64", str))
    elif forms[0] == "file":
        response.file = _media(fields, fields.get("file", str))
    else:
        events = fields.get("events", list)
        response.events = [_parse_event(_Fields(item, f"{fields.where}.events[{n}]")) for n, item in enumerate(events)]
        response.style = style or JsonStyle.COMPACT
    fields.done()
    return response


def _parse_event(fields: _Fields) -> RecordedEvent:
    at = float(fields.get("at", _number))
    if ("data" in fields.mapping) == ("raw" in fields.mapping):
        raise fields.error("needs exactly one of data or raw")
    event = RecordedEvent(
        at,
        data=fields.get("data", object, None),
        raw=fields.get("raw", str, None),
        name=fields.get("event", str, None),
    )
    fields.done()
    return event


def _style(fields: _Fields, name: str | None) -> JsonStyle | None:
    if name is None:
        return None
    try:
        return JsonStyle(name)
    except ValueError:
        known = ", ".join(style.value for style in JsonStyle)
        raise fields.error(f"json: {name!r} is not one of {known}") from None


def _base64(fields: _Fields, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise fields.error("base64 is not valid base64") from None


def _media(fields: _Fields, name: str) -> str:
    try:
        return check_media_name(name)
    except UnsafeNameError as error:
        raise fields.error(f"file: {error}") from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class _Fields:
    """Typed access to one mapping of the document, remembering where it is for error messages."""

    _MISSING = object()

    def __init__(self, mapping: Any, where: str) -> None:
        if not isinstance(mapping, dict):
            raise RecordingFormatError(f"{where}: expected a mapping, got {type(mapping).__name__}")
        self.mapping = mapping
        self.where = where
        self._seen: set[str] = set()

    def get(self, name: str, kind: type | Callable[[Any], bool], default: Any = _MISSING) -> Any:
        self._seen.add(name)
        if name not in self.mapping:
            if default is self._MISSING:
                raise self.error(f"{name} is missing")
            return default
        value = self.mapping[name]
        valid = isinstance(value, kind) if isinstance(kind, type) else kind(value)
        if kind is int and isinstance(value, bool):
            valid = False
        if not valid:
            expected = kind.__name__ if isinstance(kind, type) else "a non-negative number"
            raise self.error(f"{name} must be {expected}, not {value!r}")
        return value

    def nested(self, name: str) -> _Fields:
        return _Fields(self.get(name, dict), f"{self.where}.{name}")

    def done(self) -> None:
        unknown = sorted(set(self.mapping) - self._seen, key=str)
        if unknown:
            raise self.error(f"unknown field(s) {', '.join(map(str, unknown))}")

    def error(self, message: str) -> RecordingFormatError:
        return RecordingFormatError(f"{self.where}: {message}")
