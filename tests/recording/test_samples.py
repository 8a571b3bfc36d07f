"""The recordings shipped in `recordings/` replay out of the box for the requests docs/recordings.md shows."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.models import Operation
from simulator.recording import RecordingConfig, Replayer
from simulator.recording.persisters.files import FilePersister
from tests.recording.conftest import FakeClock, collect, make_request

SAMPLES = Path(__file__).resolve().parents[2] / "recordings"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


def _replayer() -> Replayer:
    clock = FakeClock()
    return Replayer(RecordingConfig(directory=SAMPLES), FilePersister(SAMPLES), clock=clock, sleep=clock.sleep)


async def test_sample_chat_replays() -> None:
    reply = await _replayer().replay(make_request(Operation.CHAT_COMPLETIONS, {"messages": MESSAGES, "user": "vu-7"}))
    assert reply is not None
    answer = json.loads(await collect(reply))
    assert answer["choices"][0]["message"]["content"] == "The capital of France is Paris."
    assert reply.usage is not None and reply.usage.total_tokens == answer["usage"]["total_tokens"]


async def test_sample_streams_replay() -> None:
    replayer = _replayer()
    plain = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, {"messages": MESSAGES, "stream": True}))
    haiku = {
        "messages": [{"role": "user", "content": "Write a haiku about load testing."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with_usage = await replayer.replay(make_request(Operation.CHAT_COMPLETIONS, haiku))
    assert plain is not None and with_usage is not None
    assert (await collect(plain)).endswith(b"data: [DONE]\n\n")
    assert b'"usage":' in await collect(with_usage) and with_usage.usage is not None


async def test_sample_embedding_replays() -> None:
    request = make_request(Operation.EMBEDDINGS, {"input": "The quick brown fox jumped over the lazy dog"})
    reply = await _replayer().replay(request)
    assert reply is not None
    assert len(json.loads(await collect(reply))["data"][0]["embedding"]) == 1536
