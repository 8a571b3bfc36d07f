from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest import entries
from loadtest.summary import EntryStats, Latency, RunStats, summarize
from loadtest.tally import TokenTally, Usage


@pytest.fixture
def stats() -> RunStats:
    """Two minutes of a small run, as Locust would have aggregated it."""
    return RunStats(
        [
            EntryStats(entries.HTTP, "chat stream", Latency(4, 0, 250.0, 200, 400, 400)),
            EntryStats(entries.TTFT, "chat stream", Latency(2, 0, 50.0, 40, 60, 60)),
            EntryStats(entries.HTTP, "embeddings", Latency(3, 1, 6.0, 5, 7, 7)),
            EntryStats(entries.RATE_LIMITED, "chat stream", Latency(3, 1, 1.0, 1, 1, 1)),
        ],
        duration_seconds=120.0,
    )


@pytest.fixture
def tally() -> TokenTally:
    tally = TokenTally()
    for _ in range(4):
        tally.record("chat stream", Usage(50, 100))
    tally.record("embeddings", Usage(30, 0))
    tally.record("embeddings", None)
    return tally


def test_summary_separates_full_latency_ttft_and_429s(stats: RunStats, tally: TokenTally) -> None:
    summary = summarize(stats, tally)
    assert (summary.requests, summary.rate_limited, summary.retries_exhausted) == (7, 3, 1)
    assert summary.rate_limited_share == 0.3
    assert summary.latency == {
        "chat stream": Latency(4, 0, 250.0, 200, 400, 400),
        "embeddings": Latency(3, 1, 6.0, 5, 7, 7),
    }
    assert summary.time_to_first_token == {"chat stream": Latency(2, 0, 50.0, 40, 60, 60)}


def test_tokens_per_minute_span_the_run(stats: RunStats, tally: TokenTally) -> None:
    summary = summarize(stats, tally)
    tokens = summary.tokens
    assert (tokens.responses, tokens.prompt_tokens, tokens.completion_tokens) == (6, 230, 400)
    assert (tokens.prompt_per_minute, tokens.completion_per_minute, tokens.total_per_minute) == (115.0, 200.0, 315.0)
    assert tokens.responses_without_usage == 1
    assert summary.tokens_by_request["embeddings"].prompt_per_minute == 15.0


def test_an_empty_run_has_no_rates() -> None:
    summary = summarize(RunStats([], duration_seconds=0.0), TokenTally())
    assert (summary.requests, summary.rate_limited_share, summary.tokens.total_per_minute) == (0, None, None)
    assert "n/a" in "\n".join(summary.lines())


def test_summary_prints_one_row_per_metric_and_writes_json(stats: RunStats, tally: TokenTally, tmp_path: Path) -> None:
    summary = summarize(stats, tally)
    rows = [line.split() for line in summary.lines()]
    assert ["TTFT", "chat", "stream", "2", "0", "40", "60", "60"] in rows
    assert ["full", "embeddings", "3", "1", "5", "7", "7"] in rows
    target = tmp_path / "out" / "summary.json"
    summary.write_json(target)
    assert json.loads(target.read_text()) == summary.to_dict()
