from __future__ import annotations

import json

from loadtest.streaming import SseDecoder, StreamObserver
from loadtest.tally import Usage

PROMPT_FILTER = {"id": "", "object": "", "choices": [], "prompt_filter_results": []}
ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
TOKEN = {"choices": [{"index": 0, "delta": {"content": "Hello"}}]}
FINISH = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}}


def frame(*events: dict | str) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def test_decoder_reassembles_events_split_across_chunks() -> None:
    wire = frame(PROMPT_FILTER, TOKEN, "[DONE]")
    decoder = SseDecoder()
    payloads = [p for i in range(0, len(wire), 7) for p in decoder.feed(wire[i : i + 7])]
    assert payloads == [json.dumps(PROMPT_FILTER), json.dumps(TOKEN), "[DONE]"]


def test_decoder_accepts_crlf_comments_and_multiline_data() -> None:
    wire = b': keep-alive\r\n\r\nevent: message\r\ndata: {"a":\r\ndata:1}\r\n\r\n'
    assert list(SseDecoder().feed(wire)) == ['{"a":\n1}']


def test_observer_times_the_first_generated_token_and_keeps_the_usage_chunk() -> None:
    observer = StreamObserver()
    events = [PROMPT_FILTER, ROLE, TOKEN, TOKEN, FINISH, USAGE]
    firsts = [observer.observe(json.dumps(event), now=float(t)) for t, event in enumerate(events)]
    observer.observe("[DONE]", now=9.0)
    assert firsts == [False, False, True, False, False, False]
    assert observer.first_token_at == 2.0
    assert observer.usage == Usage(prompt_tokens=9, completion_tokens=1)
    assert observer.problem() is None


def test_observer_counts_a_tool_call_delta_as_a_token() -> None:
    tool_call = {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}}]}
    assert StreamObserver().observe(json.dumps(tool_call), now=1.0)


def test_observer_reports_broken_streams() -> None:
    truncated = StreamObserver()
    truncated.observe(json.dumps(TOKEN), now=1.0)
    assert truncated.problem() == "stream ended without data: [DONE]"

    errored = StreamObserver()
    errored.observe(json.dumps({"error": {"code": "server_error"}}), now=1.0)
    errored.observe("[DONE]", now=2.0)
    assert errored.problem() == 'error event: {"code": "server_error"}'

    garbled = StreamObserver()
    garbled.observe("{not json", now=1.0)
    assert garbled.problem().startswith("event is not JSON")
