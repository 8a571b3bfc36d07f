from __future__ import annotations

from loadtest.tally import TokenCount, TokenTally, Usage, usage_from


def test_usage_is_read_from_chat_and_embeddings_bodies() -> None:
    assert usage_from({"usage": {"prompt_tokens": 5, "completion_tokens": 7}}) == Usage(5, 7)
    assert usage_from({"usage": {"prompt_tokens": 4, "total_tokens": 4}}) == Usage(4, 0)
    assert usage_from({"choices": [], "usage": None}) is None
    assert usage_from(["not", "a", "body"]) is None


def test_a_worker_hands_over_only_what_it_counted_since_its_last_report() -> None:
    worker, master = TokenTally(), TokenTally()
    worker.record("chat", Usage(10, 20))
    worker.record("chat", None)
    master.merge(TokenTally.from_message(worker.drain().to_message()))
    worker.record("embeddings", Usage(3, 0))
    master.merge(TokenTally.from_message(worker.drain().to_message()))
    master.merge(TokenTally.from_message(None))  # a report from a worker that loaded nothing

    assert worker.counts == {}
    assert master.counts == {
        "chat": TokenCount(responses=2, prompt_tokens=10, completion_tokens=20, without_usage=1),
        "embeddings": TokenCount(responses=1, prompt_tokens=3, completion_tokens=0, without_usage=0),
    }
    assert master.total().total_tokens == 33
