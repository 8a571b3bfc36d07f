from __future__ import annotations

import json

import pytest

from simulator.recording.interaction import (
    Interaction,
    JsonStyle,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
    decode_json,
)
from simulator.recording.serializer import RecordingFormatError, dumps, loads
from simulator.replies import Usage

BODIES = {
    JsonStyle.COMPACT: b'{"a":1,"b":[1.5,"x"]}',
    JsonStyle.SPACED: b'{"a": 1, "b": [1.5, "x"]}',
    JsonStyle.INDENTED: b'{\n  "a": 1,\n  "b": [\n    1.5,\n    "x"\n  ]\n}',
    JsonStyle.COMPACT_ASCII: b'{"a":"caf\\u00e9"}',
    JsonStyle.SPACED_ASCII: b'{"a": "caf\\u00e9"}',
}


@pytest.mark.parametrize("style", BODIES)
def test_each_json_style_gives_back_the_exact_bytes(style: JsonStyle) -> None:
    value, found = decode_json(BODIES[style]) or (None, None)
    assert found is style
    assert style.encode(value) == BODIES[style]


def test_unicode_kept_raw_is_compact_not_ascii() -> None:
    assert decode_json('{"a":"café"}'.encode()) == ({"a": "café"}, JsonStyle.COMPACT)


@pytest.mark.parametrize("data", [b'{"a":1}\n', b'{"a":1.0e3}', b"not json", b'"a string"', b"\xff\xfe"])
def test_bodies_no_style_reproduces_are_kept_verbatim(data: bytes) -> None:
    response = RecordedResponse.from_body(200, {}, 0.1, data)
    assert response.body is None
    assert response.content() == data
    assert loads(dumps([Interaction(RecordedRequest("POST", "/p"), response)]))[0].response.content() == data


def test_stream_events_round_trip_including_odd_framing() -> None:
    events = [
        (0.01, b'data: {"x":"\\u00e9"}\n\n'),  # escaped, unlike the stream's compact style: kept as a string
        (0.02, b'data: {"choices":[],"id":"1"}\n\n'),
        (0.03, b"event: ping\ndata: {}\n\n"),
        (0.04, b'data: {"a":1}\r\n\r\n'),
        (0.05, b"data: [DONE]\n\n"),
    ]
    response = RecordedResponse.from_events(200, {"content-type": "text/event-stream"}, 0.06, events)
    assert [event.data for event in response.events or []][1:2] == [{"choices": [], "id": "1"}]
    text = dumps([Interaction(RecordedRequest("POST", "/p", body={"stream": True}), response)])
    (loaded,) = loads(text)
    assert loaded.response.event_bytes() == [event for _, event in events]
    assert [event.at for event in loaded.response.events or []] == [0.01, 0.02, 0.03, 0.04, 0.05]


def test_dump_then_load_keeps_every_field() -> None:
    interaction = Interaction(
        RecordedRequest("POST", "/openai/x", "api-version=1", {"content-type": "application/json"}, {"n": [1, 2]}),
        RecordedResponse(
            201, {"x-ms-region": "West"}, 0.25, body={"text": "line one\nline two\n"}, style=JsonStyle.SPACED
        ),
    )
    hashed = Interaction(
        RecordedRequest("POST", "/openai/y", body_sha256="ab" * 32, body_size=100_000, stream=True),
        RecordedResponse(200, {}, 0.5, events=[RecordedEvent(0.1, data="[DONE]")], style=JsonStyle.COMPACT),
    )
    text = dumps([interaction, hashed])
    assert "text: |" in text  # multi-line strings stay readable
    assert loads(text) == [interaction, hashed]


HAND_WRITTEN = """
version: 1
interactions:
- request: {method: POST, path: /openai/deployments/d/chat/completions, body: {messages: []}}
  response:
    status: 200
    duration: 0.1
    body: {ok: true}
"""


def test_hand_written_yaml_defaults_to_compact_json() -> None:
    (interaction,) = loads(HAND_WRITTEN)
    assert interaction.response.content() == b'{"ok":true}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\ninteractions: []", "version 2 is not supported"),
        ("interactions: []", "version is missing"),
        ("version: 1\ninteractions: [{request: {method: GET, path: /}, response: {status: '200', body: 1}}]", "status"),
        (HAND_WRITTEN.replace("duration: 0.1", "duration: -1"), "duration"),
        (HAND_WRITTEN.replace("status: 200", "status: 200\n    colour: red"), "unknown field(s) colour"),
        (HAND_WRITTEN.replace("body: {ok: true}", "body: 1\n    text: x"), "exactly one of"),
        (HAND_WRITTEN.replace("status: 200", "status: 200\n    json: tabs"), "json: 'tabs'"),
        ("version: 1\ninteractions: [{request: !!python/object/apply:os.system [echo]}]", "not valid YAML"),
        ("version: 1\ninteractions: [", "not valid YAML"),
    ],
)
def test_invalid_recordings_fail_with_where_and_why(text: str, message: str) -> None:
    with pytest.raises(RecordingFormatError, match=r"gpt\.yaml") as raised:
        loads(text, source="gpt.yaml")
    assert message in str(raised.value)


def test_recorded_reasoning_tokens_reach_the_usage() -> None:
    """Replayed reasoning answers report their hidden tokens to limits and telemetry, chat's and Responses'."""
    chat_usage = {"prompt_tokens": 9, "completion_tokens": 530, "completion_tokens_details": {"reasoning_tokens": 500}}
    whole = RecordedResponse.from_body(200, {}, 0.1, json.dumps({"usage": chat_usage}).encode())
    assert whole.usage() == Usage(9, 530, 500)
    events = [
        (0.1, b"data: " + json.dumps({"choices": [], "usage": chat_usage}, separators=(",", ":")).encode() + b"\n\n"),
        (0.2, b"data: [DONE]\n\n"),
    ]
    assert RecordedResponse.from_events(200, {}, 0.2, events).usage() == Usage(9, 530, 500)
    responses_usage = {"input_tokens": 9, "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 32}}
    answer = RecordedResponse.from_body(200, {}, 0.1, json.dumps({"usage": responses_usage}).encode())
    assert answer.usage() is not None and answer.usage().reasoning_tokens == 32
