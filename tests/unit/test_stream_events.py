"""A generated stream's compact events: runs of content chunks stored once, bytes built when sent."""

from __future__ import annotations

import orjson
import pytest

from simulator.replies import StreamEvent, StreamEvents, TextRun

HEAD, TAIL = b'data: {"delta":{"content":', b'},"n":1}\n\n'


def sample() -> StreamEvents:
    return StreamEvents(
        [
            StreamEvent(b"data: {}\n\n"),
            TextRun(HEAD, ["Lorem", " ipsum", ' "q"'], TAIL),
            StreamEvent(b'data: {"finish_reason":"stop"}\n\n'),
            TextRun(HEAD, ["é", "x"], TAIL, weights=[2, 1]),
            StreamEvent(b"data: [DONE]\n\n"),
        ]
    )


def spelled_out() -> list[StreamEvent]:
    texts = [("Lorem", 1), (" ipsum", 1), (' "q"', 1)]
    events = [StreamEvent(b"data: {}\n\n")]
    events += [StreamEvent(HEAD + orjson.dumps(text) + TAIL, tokens) for text, tokens in texts]
    events.append(StreamEvent(b'data: {"finish_reason":"stop"}\n\n'))
    events += [StreamEvent(HEAD + orjson.dumps(text) + TAIL, tokens) for text, tokens in [("é", 2), ("x", 1)]]
    return [*events, StreamEvent(b"data: [DONE]\n\n")]


def test_indexing_gives_each_event_as_if_encoded_whole() -> None:
    events = sample()
    assert len(events) == 8
    assert list(events) == spelled_out()
    assert events[-1] == StreamEvent(b"data: [DONE]\n\n") and events[2:4] == spelled_out()[2:4]
    with pytest.raises(IndexError):
        events[8]


@pytest.mark.parametrize(
    ("start", "end"), [(0, 8), (0, 1), (1, 3), (2, 6), (3, 4), (5, 8), (7, 8), (6, 20), (2, 2), (8, 8)]
)
def test_join_is_the_events_bytes_back_to_back(start: int, end: int) -> None:
    assert sample().join(start, end) == b"".join(event.data for event in spelled_out()[start:end])


def test_token_counts_follow_weights() -> None:
    assert sample().token_counts() == [0, 1, 1, 1, 0, 2, 1, 0]


def test_map_events_changes_single_events_and_keeps_runs() -> None:
    changed = sample().map_events(lambda event: StreamEvent(event.data.upper(), event.tokens))
    assert changed[0].data == b"DATA: {}\n\n" and changed[1] == spelled_out()[1]
    assert changed.join(4, 5) == b'DATA: {"FINISH_REASON":"STOP"}\n\n'


def test_empty_runs_take_no_place() -> None:
    events = StreamEvents([TextRun(HEAD, [], TAIL), StreamEvent(b"data: [DONE]\n\n")])
    assert len(events) == 1 and events.join() == b"data: [DONE]\n\n"
