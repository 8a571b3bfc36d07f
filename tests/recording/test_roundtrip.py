"""Record against the stand-in AOAI, replay from the files: the client gets the same bytes, status and timings."""

from __future__ import annotations

import time
from typing import Any

import pytest

from simulator.models import Operation
from simulator.recording import Recorder, Replayer
from simulator.recording.persisters.files import FilePersister
from simulator.recording.serializer import loads
from simulator.replies import JsonReply, StreamReply
from tests.recording.conftest import chat, collect, make_request, timed_chunks
from tests.support.timing import loop_lag

CASES = {
    "chat": (Operation.CHAT_COMPLETIONS, chat("Name three rivers")),
    "chat-stream": (Operation.CHAT_COMPLETIONS, chat("Name three rivers", stream=True)),
    "chat-stream-usage": (
        Operation.CHAT_COMPLETIONS,
        chat("Name three seas", stream=True, stream_options={"include_usage": True}),
    ),
    "embeddings": (Operation.EMBEDDINGS, {"input": ["first text", "second text"], "dimensions": 64}),
    "completions": (Operation.COMPLETIONS, {"prompt": "Once upon a time", "max_tokens": 20}),
    "completions-stream": (Operation.COMPLETIONS, {"prompt": "Once upon a time", "stream": True}),
}


@pytest.mark.parametrize("case", CASES)
async def test_replay_is_byte_identical_to_what_was_recorded(case: str, recorder: Recorder, replayer: Replayer) -> None:
    operation, body = CASES[case]
    recorded = await recorder.forward(make_request(operation, body))
    recorded_bytes = await collect(recorded)

    replayed = await replayer.replay(make_request(operation, body))

    assert replayed is not None and type(replayed) is type(recorded)
    assert await collect(replayed) == recorded_bytes
    assert replayed.status == recorded.status == 200
    assert replayed.headers["content-type"] == recorded.headers["content-type"]
    assert replayed.usage == recorded.usage
    if case in {"chat-stream", "completions-stream"}:  # streams report usage only with include_usage
        assert replayed.usage is None
    else:
        assert replayed.usage is not None and replayed.usage.prompt_tokens > 0


async def test_recorded_usage_fills_the_reply_for_rate_limits(recorder: Recorder, replayer: Replayer) -> None:
    reply = await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat("Count to four")))
    replayed = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("Count to four")))
    assert reply.usage is not None and replayed is not None and replayed.usage == reply.usage
    assert reply.usage.completion_tokens == 8  # the stand-in answers eight words


async def test_stream_timings_are_replayed_within_a_few_milliseconds(
    recorder: Recorder, replayer: Replayer, config: Any
) -> None:
    body = chat("Describe a lighthouse", stream=True, stream_options={"include_usage": True})
    async with loop_lag() as lag:
        started = time.monotonic()
        reply = await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, body))
        assert isinstance(reply, StreamReply)
        received = await timed_chunks(reply, started)
        (interaction,) = loads((config.directory / "gpt-4o" / "chat-completions.yaml").read_text())
        recorded = [event.at for event in interaction.response.events or []]

        started = time.monotonic()
        replayed_reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, body))
        assert isinstance(replayed_reply, StreamReply)
        replayed = await timed_chunks(replayed_reply, started)
    late = 0.010 + lag.worst  # the code's own allowance, plus however late this loop ran any timer meanwhile

    # The stand-in waits 50 ms, then 30 ms between events: prompt filter, role, eight words, finish, usage, [DONE].
    assert len(recorded) == len(replayed) == 13
    assert recorded[0] >= 0.045 and recorded[-1] >= 0.045 + 12 * 0.03
    assert abs(received[-1][0] - recorded[-1]) < late
    for at, (arrival, _) in zip(recorded, replayed, strict=True):
        assert at - 0.001 <= arrival < at + late


async def test_plain_answers_wait_the_recorded_duration(recorder: Recorder, config: Any) -> None:
    await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat("Be brief")))
    replayer = Replayer(config, FilePersister(config.directory))
    started = time.monotonic()
    reply = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, chat("Be brief")))
    elapsed = time.monotonic() - started
    assert isinstance(reply, JsonReply)
    (interaction,) = loads((config.directory / "gpt-4o" / "chat-completions.yaml").read_text())
    assert interaction.response.duration >= 0.04  # the stand-in's deliberate delay
    assert interaction.response.duration <= elapsed < interaction.response.duration + 0.05
