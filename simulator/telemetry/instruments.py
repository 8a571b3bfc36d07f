"""The OpenTelemetry instruments, with the predecessor's names and dimensions so its queries keep working
(`aoai-api-simulator.latency.base`, `.latency.full`, `.tokens.used`, `.tokens.requested`, `.tokens.rate-limit`,
`.limits`), plus time to first token, time between tokens, open streams and 429s by reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.context import OpenAIRequest
from simulator.ratelimit import policy
from simulator.telemetry.outcome import Outcome

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.sdk.metrics.view import View

PREFIX = "aoai-api-simulator"
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKEN_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000)


def views() -> list[View]:
    """Bucket boundaries that suit seconds and tokens (the SDK's defaults are for milliseconds)."""
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    seconds = ExplicitBucketHistogramAggregation(SECONDS_BUCKETS)
    tokens = ExplicitBucketHistogramAggregation(TOKEN_BUCKETS)
    return [
        View(instrument_name=f"{PREFIX}.latency.*", aggregation=seconds),
        View(instrument_name=f"{PREFIX}.tokens.*", aggregation=tokens),
        View(instrument_name=f"{PREFIX}.limits", aggregation=tokens),
    ]


class Instruments:
    def __init__(self, meter: Meter) -> None:
        self.latency_base = meter.create_histogram(
            f"{PREFIX}.latency.base", unit="s", description="Time to answer, without the latency the simulator adds"
        )
        self.latency_full = meter.create_histogram(
            f"{PREFIX}.latency.full", unit="s", description="Time to answer, with the latency the simulator adds"
        )
        self.ttft = meter.create_histogram(
            f"{PREFIX}.latency.ttft", unit="s", description="Streams: time from the request to the first byte"
        )
        self.between_tokens = meter.create_histogram(
            f"{PREFIX}.latency.between-tokens", unit="s", description="Streams: mean time between tokens"
        )
        self.tokens_used = meter.create_histogram(
            f"{PREFIX}.tokens.used", unit="tokens", description="Tokens of successful answers (prompt, completion)"
        )
        self.tokens_requested = meter.create_histogram(
            f"{PREFIX}.tokens.requested", unit="tokens", description="Tokens asked for, rate-limited requests included"
        )
        self.tokens_rate_limit = meter.create_histogram(
            f"{PREFIX}.tokens.rate-limit", unit="tokens", description="Tokens charged against the deployment's limit"
        )
        self.limits = meter.create_histogram(
            f"{PREFIX}.limits", unit="requests", description="Rate-limited requests (tokens: their cost; else 1)"
        )
        self.rate_limited = meter.create_counter(
            f"{PREFIX}.rate-limited", unit="requests", description="429 answers by reason"
        )
        self.open_streams = meter.create_up_down_counter(
            f"{PREFIX}.streams.open", unit="streams", description="Streams being sent"
        )

    def stream_opened(self, deployment: str) -> None:
        self.open_streams.add(1, {"deployment": deployment})

    def stream_closed(self, deployment: str) -> None:
        self.open_streams.add(-1, {"deployment": deployment})

    def record(self, outcome: Outcome, request: OpenAIRequest) -> None:
        deployment, mode = outcome.deployment, outcome.mode
        timing = {"deployment": deployment, "status_code": outcome.status, "mode": mode}
        self.latency_base.record(outcome.base, timing)
        self.latency_full.record(outcome.full, timing)
        if outcome.ttft is not None:
            self.ttft.record(outcome.ttft, {"deployment": deployment, "mode": mode})
        if outcome.between_tokens is not None:
            self.between_tokens.record(outcome.between_tokens, {"deployment": deployment, "mode": mode})
        prompt = {"deployment": deployment, "token_type": "prompt", "mode": mode}
        completion = {"deployment": deployment, "token_type": "completion", "mode": mode}
        if outcome.status < 400:
            self.tokens_used.record(outcome.prompt_tokens, prompt)
            self.tokens_used.record(outcome.completion_tokens, completion)
        self.tokens_requested.record(outcome.prompt_tokens, prompt)
        self.tokens_requested.record(max(0, outcome.requested_tokens - outcome.prompt_tokens), completion)
        charged = rate_limit_cost(request)
        if charged is not None:
            self.tokens_rate_limit.record(charged, {"deployment": deployment})
        if outcome.reason is not None:
            reason = {"deployment": deployment, "reason": outcome.reason, "mode": mode}
            self.limits.record(charged or 1 if outcome.reason == "tokens" else 1, reason)
            self.rate_limited.add(1, reason)


def rate_limit_cost(request: OpenAIRequest) -> float | None:
    """What the limiter charges the request on arrival; None for a deployment without limits."""
    limits = policy.limits_for(request.deployment)
    if isinstance(limits, policy.StandardLimits):
        return min(policy.token_cost(request), limits.tokens_per_minute)
    if isinstance(limits, policy.ProvisionedLimits):
        return policy.provisioned_estimate(request, limits)
    return None
