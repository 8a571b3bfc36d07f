from __future__ import annotations

import pytest

from simulator.errors import OpenAIError
from simulator.models import Operation
from simulator.recording import RecordingConfig, Replayer, UnmatchedPolicy
from simulator.recording.cassette import Cassette
from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.matchers import RequestView, body_digest, match_key, normalise_body
from simulator.recording.persisters.files import FilePersister
from simulator.replies import JsonReply
from tests.recording.conftest import FakeClock, chat, collect, make_request

PATH = "/openai/deployments/gpt-4o/chat/completions"


def test_normalised_body_ignores_key_order_and_ignored_fields() -> None:
    one = {"messages": [{"role": "user", "content": "hi"}], "user": "vu-1", "seed": 1, "stream_options": {"a": 1}}
    two = {"stream_options": {"a": 1}, "messages": [{"content": "hi", "role": "user"}], "user": "vu-2"}
    assert body_digest(one, ["user", "seed"]) == body_digest(two, ["user", "seed"])
    assert body_digest(one, ["user"]) != body_digest(two, ["user"])


def test_ignored_fields_can_be_dotted_paths() -> None:
    body = {"stream_options": {"include_usage": True, "other": 1}}
    assert normalise_body(body, ["stream_options.include_usage"]) == {"stream_options": {"other": 1}}
    assert body == {"stream_options": {"include_usage": True, "other": 1}}  # the request is not modified


def test_streaming_is_always_part_of_the_key() -> None:
    plain = RequestView("POST", PATH, "", "d", stream=False)
    streamed = RequestView("POST", PATH, "", "d", stream=True)
    assert match_key(plain, ("method", "path")) != match_key(streamed, ("method", "path"))


def test_query_matcher_ignores_order_and_secrets() -> None:
    one = RequestView("POST", PATH, "b=2&api-version=1&code=secret", "d", False)
    two = RequestView("POST", PATH, "api-version=1&b=2", "d", False)
    assert match_key(one, ("query",)) == match_key(two, ("query",))


def _interaction(content: str, body: dict | None = None) -> Interaction:
    response = RecordedResponse.from_body(200, {}, 0.0, b'{"content":"%s"}' % content.encode())
    return Interaction(RecordedRequest("POST", PATH, body=body or chat("hi")), response)


def test_several_recordings_of_one_request_are_served_in_turn() -> None:
    cassette = Cassette([_interaction("a"), _interaction("b"), _interaction("other", chat("bye"))], ["body"], [])
    key = match_key(RequestView("POST", PATH, "", body_digest(chat("hi"), []), False), ["body"])
    served = [cassette.play(key) for _ in range(3)]
    assert [playback.interaction.response.body["content"] for playback in served if playback] == ["a", "b", "a"]
    assert cassette.play_counts == [2, 1, 0]


async def _replay(tmp_path, interactions, **config) -> tuple[Replayer, FilePersister]:
    from simulator.recording.serializer import dumps

    persister = FilePersister(tmp_path)
    await persister.write("gpt-4o/chat-completions.yaml", dumps(interactions), None)
    clock = FakeClock()
    replayer = Replayer(RecordingConfig(directory=tmp_path, **config), persister, clock=clock, sleep=clock.sleep)
    return replayer, persister


async def test_match_on_method_and_path_serves_any_body(tmp_path) -> None:
    replayer, _ = await _replay(tmp_path, [_interaction("any")], match_on=("method", "path"))
    reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("something else entirely")))
    assert reply is not None and await collect(reply) == b'{"content":"any"}'


async def test_unmatched_requests_get_an_aoai_error_by_default(tmp_path) -> None:
    replayer, _ = await _replay(tmp_path, [_interaction("a")])
    with pytest.raises(OpenAIError) as raised:
        await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("unknown")))
    assert raised.value.status == 404
    assert raised.value.body()["error"]["code"] == "RecordingNotFound"
    assert "No recording matches POST /openai/deployments/gpt-4o/chat/completions" in raised.value.message


async def test_unmatched_requests_can_fall_back_to_generation(tmp_path) -> None:
    replayer, _ = await _replay(tmp_path, [_interaction("a")], unmatched=UnmatchedPolicy.GENERATE)
    assert await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("unknown"))) is None
    assert await replayer.replay(make_request(Operation.EMBEDDINGS, {"input": "no file at all"})) is None


async def test_large_bodies_match_by_hash(tmp_path) -> None:
    from simulator.recording import Recorder

    config = RecordingConfig(directory=tmp_path, endpoint="http://127.0.0.1:9", body_hash_threshold=100)
    request = make_request(Operation.CHAT_COMPLETIONS, chat("x" * 500, user="vu-1"))
    recorded = Recorder(config, FilePersister(tmp_path)).recorded_request(request)
    assert recorded.body is None and recorded.body_size == len(request.raw_body)
    replayer, _ = await _replay(
        tmp_path, [Interaction(recorded, _interaction("big").response)], body_hash_threshold=100
    )
    reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("x" * 500, user="vu-2")))
    assert reply is not None and await collect(reply) == b'{"content":"big"}'


async def test_edited_status_timing_and_content_are_what_replay_serves(tmp_path) -> None:
    edited = """
version: 1
interactions:
- request:
    method: POST
    path: /openai/deployments/gpt-4o/chat/completions
    body:
      messages: [{role: user, content: hi}]
  response:
    status: 400
    duration: 1.5
    headers: {content-type: application/json}
    json: spaced
    body: {error: {code: content_filter, message: Edited by hand}}
"""
    (tmp_path / "gpt-4o").mkdir()
    (tmp_path / "gpt-4o" / "chat-completions.yaml").write_text(edited)
    clock = FakeClock()
    replayer = Replayer(RecordingConfig(directory=tmp_path), FilePersister(tmp_path), clock=clock, sleep=clock.sleep)
    reply = await replayer.replay(
        make_request(Operation.CHAT_COMPLETIONS, {"messages": [{"content": "hi", "role": "user"}]})
    )
    assert isinstance(reply, JsonReply) and reply.status == 400
    assert reply.body == b'{"error": {"code": "content_filter", "message": "Edited by hand"}}'
    assert clock.sleeps == [1.5]


async def test_timing_scale_multiplies_every_recorded_delay(tmp_path) -> None:
    from simulator.recording.interaction import RecordedEvent

    events = [RecordedEvent(0.2, data={"n": 1}), RecordedEvent(0.5, data="[DONE]")]
    streamed = Interaction(
        RecordedRequest("POST", PATH, body=chat("hi", stream=True)), RecordedResponse(200, {}, 0.5, events=events)
    )
    replayer, _ = await _replay(tmp_path, [streamed], timing_scale=0.5)
    reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("hi", stream=True)))
    assert reply is not None and await collect(reply) == b'data: {"n":1}\n\ndata: [DONE]\n\n'
    assert replayer.clock() - 1000.0 == pytest.approx(0.25)
