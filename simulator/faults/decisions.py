"""What an injected fault does to a request, and the AOAI-shaped errors it answers with.

`Refuse` is an error answer (raise its `error` after `delay`); the others change how the answer is
delivered and are realised by the transport (see docs/faults.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError, context_length_exceeded, internal_error
from simulator.faults.spec import CATEGORIES, FaultKind, FaultRule
from simulator.models import Operation
from simulator.ratelimit import policy

PROMPT_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please "
    "modify your prompt and retry. To learn more about our content filtering policies please read our "
    "documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
# The wording of these two is unverified against the live service.
UNAVAILABLE = "The service is temporarily unable to process your request. Please try again later."
TIMED_OUT = "The operation was timeout."


@dataclasses.dataclass(frozen=True, slots=True)
class Refuse:
    """Answer with `error` instead of the reply, after waiting `delay` seconds."""

    error: OpenAIError
    delay: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Reset:
    """Close the connection without an answer, after waiting `delay` seconds (a hung request)."""

    delay: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class CutStream:
    """Send the first `after` events of a stream, then close the connection (non-streamed: as Reset)."""

    after: int
    delay: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class FilterCompletion:
    """Answer, but end the completion with `finish_reason: "content_filter"` and these filter results."""

    category: str
    severity: str
    delay: float = 0.0

    def content_filter_results(self) -> dict[str, Any]:
        return filter_results(self.category, self.severity)


Decision = Refuse | Reset | CutStream | FilterCompletion


def filter_results(category: str, severity: str) -> dict[str, Any]:
    """`content_filter_results` with one category filtered at `severity`, the others safe."""
    return {
        name: {"filtered": name == category, "severity": severity if name == category else "safe"}
        for name in CATEGORIES
    }


def decide(rule: FaultRule, request: OpenAIRequest, region: str = policy.DEFAULT_REGION) -> Decision:
    kind = rule.kind
    if kind is FaultKind.RESET:
        return Reset(rule.delay)
    if kind is FaultKind.CUT:
        return CutStream(rule.after, rule.delay)
    if kind is FaultKind.COMPLETION_FILTER:
        return FilterCompletion(rule.category, rule.severity, rule.delay)
    return Refuse(_error(rule, request, region), rule.delay)


def _error(rule: FaultRule, request: OpenAIRequest, region: str) -> OpenAIError:
    kind = rule.kind
    if kind is FaultKind.RATE_LIMIT:
        return rate_limited(request, 1.0 if rule.retry_after is None else rule.retry_after, region)
    if kind is FaultKind.UNAVAILABLE:
        headers = {} if rule.retry_after is None else policy.retry_headers(rule.retry_after)
        return OpenAIError(503, "ServiceUnavailable", UNAVAILABLE, headers=headers)
    if kind is FaultKind.TIMEOUT:
        return OpenAIError(408, "Timeout", TIMED_OUT)
    if kind is FaultKind.PROMPT_FILTER:
        return prompt_filtered(rule.category, rule.severity)
    if kind is FaultKind.CONTEXT_LENGTH:
        return context_too_long(request)
    return internal_error()


def rate_limited(request: OpenAIRequest, retry_after: float, region: str = policy.DEFAULT_REGION) -> OpenAIError:
    """The rate limiter's own 429 (one wording), as if the token limit had been reached."""
    return policy.rate_limited(request, policy.Exceeded.TOKENS, retry_after, region)


def prompt_filtered(category: str, severity: str) -> OpenAIError:
    """The 400 AOAI answers when its content filter blocks a prompt (the body real traffic carries)."""
    results: dict[str, Any] = filter_results(category, severity)
    results["jailbreak"] = {"filtered": False, "detected": False}
    inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results}
    return OpenAIError(
        400,
        "content_filter",
        PROMPT_FILTERED,
        param="prompt",
        extra={"status": 400, "innererror": inner},
    )


def context_too_long(request: OpenAIRequest) -> OpenAIError:
    """A context overflow sized from the request: the prompt plus the requested output exceed the window."""
    limit = request.model.context_window
    prompt = max(request.prompt_tokens or 0, 1)
    body = request.body
    completion = body.get("max_completion_tokens") or body.get("max_tokens") or 0
    if not isinstance(completion, int) or isinstance(completion, bool):
        completion = 0
    completion = max(completion, limit + 1 - prompt)
    param = {Operation.CHAT_COMPLETIONS: "messages", Operation.COMPLETIONS: "prompt"}.get(request.operation, "input")
    return context_length_exceeded(limit, prompt + completion, prompt, completion, param)
