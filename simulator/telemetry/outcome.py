"""One answered request as telemetry sees it: what the metrics, the request log and the trace are made of."""

from __future__ import annotations

import dataclasses

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.ratelimit import policy
from simulator.ratelimit.policy import Exceeded

# 429 reasons, as the `reason` dimension and `/++/stats` name them.
_EXCEEDED_REASONS = (
    (Exceeded.TOKENS, "tokens"),
    (Exceeded.REQUESTS, "requests"),
    (Exceeded.UTILISATION, "utilisation"),
)


@dataclasses.dataclass(slots=True)
class Outcome:
    deployment: str
    operation: str
    mode: str
    status: int
    reason: str | None  # why a 429: tokens, requests, utilisation, fault
    prompt_tokens: int
    completion_tokens: int
    requested_tokens: int  # prompt plus what the answer may use (max_tokens or the model's default)
    base: float  # seconds of the simulator's own work (full minus the modelled latency it added)
    full: float  # seconds from arrival to the last byte
    ttft: float | None  # streams: seconds to the first byte
    between_tokens: float | None  # streams: mean seconds between tokens after the first
    request_id: str
    stream: bool

    @property
    def used_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens if self.status < 400 else 0


def refusal_reason(error: OpenAIError, injected: bool) -> str | None:
    """Why a request got 429: an injected fault, or which limit it met (read from the one wording of
    `policy.rate_limited`). None for other statuses."""
    if error.status != 429:
        return None
    if injected:
        return "fault"
    for exceeded, reason in _EXCEEDED_REASONS:
        if exceeded.value in error.message:
            return reason
    return "tokens"


def rate_limit_cost(request: OpenAIRequest) -> float | None:
    """What the limiter charges the request on arrival; None for a deployment without limits."""
    limits = policy.limits_for(request.deployment)
    if isinstance(limits, policy.StandardLimits):
        return min(policy.token_cost(request), limits.tokens_per_minute)
    if isinstance(limits, policy.ProvisionedLimits):
        return policy.provisioned_estimate(request, limits)
    return None
