"""Example extension: a latency rule of your own, here a "batch" lane and a long-prompt penalty.

    EXTENSION_PATH=extensions/latency_rule.py make run   # latency must be enabled (the default)

Requests sent with `x-latency-class: batch` wait 2 s for their first token and then stream at 20 tokens/s;
prompts past 4,000 tokens add 1 ms per extra token to the configured time to first token. Everything else
keeps the configured pace (docs/latency.md).
"""

from __future__ import annotations

from simulator import extend

BATCH = extend.Pace(ttft_ms=2000.0, tokens_per_second=20.0)
LONG_PROMPT = 4000


def pace(query: extend.LatencyQuery) -> extend.Pace | None:
    if query.headers.get("x-latency-class") == "batch":
        return BATCH
    if query.prompt_tokens > LONG_PROMPT:
        configured = query.configured
        extra = query.prompt_tokens - LONG_PROMPT
        return extend.Pace(
            configured.ttft_ms + extra, configured.tokens_per_second, configured.ttft_std_ms, configured.token_std_ms
        )
    return None


def initialize(simulator: extend.Simulator) -> None:
    simulator.add_latency_rule(pace)
