"""The end-of-run report: tokens per minute, the share of 429 answers, and latency percentiles per request name.

It works on `RunStats`, a plain copy of what it needs from Locust's statistics (see `reporting.run_stats`), so it
can be built and tested without importing Locust (whose import monkey-patches the whole process for gevent).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from loadtest import entries
from loadtest.tally import TokenCount, TokenTally


@dataclasses.dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds, as Locust keeps them (rounded to two significant digits above 100 ms)."""

    count: int
    failures: int
    mean: float
    p50: float
    p90: float
    p99: float


@dataclasses.dataclass(frozen=True, slots=True)
class EntryStats:
    """One row of Locust's statistics: a request type (`POST`, `TTFT`, `429`) and name."""

    request_type: str
    name: str
    latency: Latency


@dataclasses.dataclass(frozen=True, slots=True)
class RunStats:
    entries: list[EntryStats]
    duration_seconds: float  # first request to last: the span Locust's own rates use


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRates:
    responses: int  # successful responses counted
    prompt_tokens: int
    completion_tokens: int
    prompt_per_minute: float | None
    completion_per_minute: float | None
    total_per_minute: float | None
    responses_without_usage: int

    @classmethod
    def of(cls, count: TokenCount, minutes: float) -> TokenRates:
        def per_minute(tokens: int) -> float | None:
            return round(tokens / minutes, 1) if minutes > 0 else None

        return cls(
            count.responses,
            count.prompt_tokens,
            count.completion_tokens,
            per_minute(count.prompt_tokens),
            per_minute(count.completion_tokens),
            per_minute(count.total_tokens),
            count.without_usage,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    duration_seconds: float
    requests: int  # HTTP attempts that were not answered 429
    rate_limited: int  # HTTP attempts answered 429
    rate_limited_share: float | None  # rate_limited / all attempts
    retries_exhausted: int  # requests abandoned after the last 429
    latency: dict[str, Latency]  # whole response, by request name
    time_to_first_token: dict[str, Latency]
    tokens: TokenRates
    tokens_by_request: dict[str, TokenRates]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def lines(self) -> list[str]:
        """The summary as console lines, in the layout of Locust's own end-of-run tables."""
        share = "n/a" if self.rate_limited_share is None else f"{self.rate_limited_share:.2%}"
        rows = [
            "Azure OpenAI load-test summary",
            f"  duration {self.duration_seconds:.1f} s, {self.requests} requests, {self.rate_limited} answered 429 "
            f"({share} of attempts), {self.retries_exhausted} gave up after retries",
            f"  tokens/min: prompt {_rate(self.tokens.prompt_per_minute)}, completion "
            f"{_rate(self.tokens.completion_per_minute)}, total {_rate(self.tokens.total_per_minute)}"
            f"  ({self.tokens.prompt_tokens} prompt + {self.tokens.completion_tokens} completion tokens)",
        ]
        if self.tokens.responses_without_usage:
            rows.append(f"  {self.tokens.responses_without_usage} responses reported no usage (tokens not counted)")
        header = f"  {'latency (ms)':<34}{'count':>8}{'fail':>6}{'p50':>8}{'p90':>8}{'p99':>8}"
        rows.append(header)
        for kind, table in (("full", self.latency), ("TTFT", self.time_to_first_token)):
            for name, lat in sorted(table.items()):
                label = f"{kind} {name}"
                rows.append(
                    f"  {label:<34}{lat.count:>8}{lat.failures:>6}{lat.p50:>8.0f}{lat.p90:>8.0f}{lat.p99:>8.0f}"
                )
        return rows


def summarize(stats: RunStats, tally: TokenTally) -> Summary:
    """Combine the run's (already aggregated) statistics with its token tally."""
    by_type: dict[str, dict[str, Latency]] = {}
    for entry in stats.entries:
        by_type.setdefault(entry.request_type, {})[entry.name] = entry.latency
    http, limited = by_type.get(entries.HTTP, {}), by_type.get(entries.RATE_LIMITED, {})
    requests = sum(latency.count for latency in http.values())
    rate_limited = sum(latency.count for latency in limited.values())
    attempts = requests + rate_limited
    minutes = stats.duration_seconds / 60
    return Summary(
        duration_seconds=round(stats.duration_seconds, 3),
        requests=requests,
        rate_limited=rate_limited,
        rate_limited_share=round(rate_limited / attempts, 4) if attempts else None,
        retries_exhausted=sum(latency.failures for latency in limited.values()),
        latency=http,
        time_to_first_token=by_type.get(entries.TTFT, {}),
        tokens=TokenRates.of(tally.total(), minutes),
        tokens_by_request={name: TokenRates.of(count, minutes) for name, count in tally.counts.items()},
    )


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"
