"""Azure OpenAI's rate-limit semantics: which limits a deployment has, what a request costs, and how the
answer says so (headers, 429 wording). Per-model figures live in the model catalogue, not here."""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from simulator import reasoning
from simulator.context import OpenAIRequest
from simulator.deployments import Deployment, DeploymentType
from simulator.errors import OpenAIError
from simulator.models import ModelKind
from simulator.replies import Usage

# A request window of RPM/6 per 10 seconds (an 8K TPM deployment shows x-ratelimit-limit-requests 8); when RPM
# is below 6 there is not one request per 10 seconds, so the whole minute is the window.
REQUEST_WINDOWS_PER_MINUTE = 6
# Provisioned: the utilisation bucket holds one minute of the deployment's throughput and drains over a minute.
PROVISIONED_BUCKET_SECONDS = 60.0
# Input tokens per minute per PTU for a model whose catalogue entry has none (gpt-4o's figure).
FALLBACK_PTU_INPUT_TPM = 2_500
CHARACTERS_PER_TOKEN = 4
QUOTA_URL = "https://aka.ms/oai/quotaincrease"
DEFAULT_REGION = "East US"


class Exceeded(enum.Enum):
    TOKENS = "token rate limit"
    REQUESTS = "call rate limit"
    UTILISATION = "provisioned throughput capacity"
    IMAGES = "image rate limit"  # wording unverified


class Metered(enum.Enum):
    """What a Standard deployment's per-minute budget (`tokens_per_minute`) counts besides requests."""

    TOKENS = "tokens"  # chat, completions, embeddings
    IMAGES = "images"  # image deployments: images per minute, each request costing its `n`
    NOTHING = "nothing"  # audio deployments: limited in requests per minute only


# The budget of a deployment limited in requests only: never the binding limit.
UNMETERED = 2**40


@dataclasses.dataclass(frozen=True, slots=True)
class StandardLimits:
    tokens_per_minute: int
    requests_per_window: int
    request_window_seconds: float
    metered: Metered = Metered.TOKENS
    # The two headers that only change with the limits, made once: every answer copies them.
    limit_headers: dict[str, str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = {}
        if self.requests_per_window < UNMETERED:  # an image deployment may have no request limit
            headers["x-ratelimit-limit-requests"] = str(self.requests_per_window)
        if self.metered is Metered.TOKENS:
            headers["x-ratelimit-limit-tokens"] = str(self.tokens_per_minute)
        object.__setattr__(self, "limit_headers", headers)

    @property
    def budget_exceeded(self) -> Exceeded:
        """What a 429 says ran out when the per-minute budget, not the request window, is the binding limit."""
        return Exceeded.IMAGES if self.metered is Metered.IMAGES else Exceeded.TOKENS


@dataclasses.dataclass(frozen=True, slots=True)
class ProvisionedLimits:
    tokens_per_minute: float  # input-token equivalents the deployment processes per minute
    output_token_weight: float

    @property
    def drain_per_second(self) -> float:
        return self.tokens_per_minute / PROVISIONED_BUCKET_SECONDS


Limits = StandardLimits | ProvisionedLimits


def limits_for(deployment: Deployment) -> Limits | None:
    """The deployment's limits; None when it has no quota (no `tokensPerMinute`, not provisioned)."""
    model = deployment.model
    if model.kind in _MEDIA_KINDS:
        return _media_limits(deployment)
    if deployment.type is DeploymentType.PROVISIONED and deployment.ptu:
        per_ptu = model.ptu_input_tpm or FALLBACK_PTU_INPUT_TPM
        return ProvisionedLimits(deployment.ptu * per_ptu, model.output_token_weight)
    if deployment.tokens_per_minute is None:
        return None
    tpm = deployment.tokens_per_minute
    rpm = deployment.requests_per_minute or max(1, math.floor(tpm / 1000 * model.requests_per_1000_tpm))
    if rpm >= REQUEST_WINDOWS_PER_MINUTE:
        return StandardLimits(tpm, rpm // REQUEST_WINDOWS_PER_MINUTE, 60.0 / REQUEST_WINDOWS_PER_MINUTE)
    return StandardLimits(tpm, rpm, 60.0)


_MEDIA_KINDS = frozenset({ModelKind.TRANSCRIPTION, ModelKind.SPEECH, ModelKind.IMAGE})


def _media_limits(deployment: Deployment) -> StandardLimits | None:
    """Whisper and TTS deployments are limited in requests per minute; image deployments in images per minute
    (and requests per minute when given). Each only when the deployments file gives the figure."""
    rpm, ipm = deployment.requests_per_minute, deployment.images_per_minute
    if deployment.model.kind is not ModelKind.IMAGE:
        ipm = None
    if rpm is None and ipm is None:
        return None
    metered = Metered.IMAGES if ipm is not None else Metered.NOTHING
    budget = ipm if ipm is not None else UNMETERED
    if rpm is None:
        return StandardLimits(budget, UNMETERED, 60.0, metered)
    if rpm >= REQUEST_WINDOWS_PER_MINUTE:
        return StandardLimits(budget, rpm // REQUEST_WINDOWS_PER_MINUTE, 60.0 / REQUEST_WINDOWS_PER_MINUTE, metered)
    return StandardLimits(budget, rpm, 60.0, metered)


# --- costs -------------------------------------------------------------------------------------------------


_ALLOWANCE_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens")  # the first positive one counts
_PROMPT_KEYS = ("messages", "prompt", "input")


def answer_allowance(request: OpenAIRequest) -> int:
    """Completion tokens the request may produce: max_tokens (times n / best_of) or the model's default (for a
    reasoning model, plus the thought its effort is expected to take)."""
    body = request.body
    for key in _ALLOWANCE_KEYS:
        cap = body.get(key)
        if type(cap) is int and cap > 0:
            break
    else:
        profile = request.deployment.reasoning_profile
        if profile is None:
            return request.model.default_token_cost
        # A reasoning model's thought counts as completion tokens: expect what its effort usually spends.
        return request.model.default_token_cost + reasoning.expected_tokens(profile, reasoning.effort_in(body))
    if "n" not in body and "best_of" not in body:
        return cap
    choices = max(_positive_int(body.get("n")) or 1, _positive_int(body.get("best_of")) or 1)
    return cap * choices


def prompt_characters(request: OpenAIRequest) -> int:
    """Characters of the prompt as AOAI's estimate counts them (token ids count as four characters each)."""
    body = request.body
    for key in _PROMPT_KEYS:
        if key in body:
            return _characters(body[key])
    return 0


def standard_cost(request: OpenAIRequest, limits: StandardLimits) -> int:
    """What a request spends of a Standard deployment's per-minute budget: tokens, images (its `n`), or nothing."""
    if limits.metered is Metered.TOKENS:
        return token_cost(request)
    if limits.metered is Metered.IMAGES:
        return _positive_int(_number(request.body.get("n"))) or 1
    return 0


def _number(value: Any) -> Any:
    """A form field's number as a number (multipart fields arrive as text)."""
    return int(value) if type(value) is str and value.isdigit() else value


def token_cost(request: OpenAIRequest) -> int:
    """Tokens charged against a Standard deployment's TPM when the request arrives (DESIGN.md §4)."""
    prompt = 0
    if request.deployment.model.charges_prompt_characters:
        prompt = -(-prompt_characters(request) // CHARACTERS_PER_TOKEN)  # rounded up, in integers
    return prompt + answer_allowance(request)


def provisioned_estimate(request: OpenAIRequest, limits: ProvisionedLimits) -> float:
    """Utilisation charged on arrival: the prompt plus the weighted allowance, corrected after the call."""
    prompt = request.prompt_tokens
    if prompt is None:
        prompt = math.ceil(prompt_characters(request) / CHARACTERS_PER_TOKEN)
    return prompt + limits.output_token_weight * answer_allowance(request)


def provisioned_actual(usage: Usage, limits: ProvisionedLimits) -> float:
    return usage.prompt_tokens + limits.output_token_weight * usage.completion_tokens


# Both run on every limited request, so they test exact types (JSON gives no subclasses; a bool is not an int
# here) rather than isinstance chains.


def _positive_int(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None


def _characters(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return len(value)
    total = 0
    if kind is list:
        for item in value:
            if type(item) is dict:  # a message's fields, counted here: a call per message made the walk 30 % dearer
                for key, part in item.items():
                    if key != "role" and key != "type":
                        total += len(part) if type(part) is str else _characters(part)
            else:
                total += len(item) if type(item) is str else _characters(item)
    elif kind is dict:
        for key, item in value.items():
            if key != "role" and key != "type":
                total += len(item) if type(item) is str else _characters(item)
    elif kind is int:
        total = CHARACTERS_PER_TOKEN  # a token id
    return total


# --- answers -----------------------------------------------------------------------------------------------


def standard_headers(limits: StandardLimits, remaining_requests: int, remaining_tokens: int) -> dict[str, str]:
    headers = limits.limit_headers.copy()
    if limits.requests_per_window < UNMETERED:
        headers["x-ratelimit-remaining-requests"] = str(remaining_requests) if remaining_requests > 0 else "0"
    if limits.metered is Metered.TOKENS:
        headers["x-ratelimit-remaining-tokens"] = str(remaining_tokens) if remaining_tokens > 0 else "0"
    return headers


def utilisation_header(fraction: float) -> dict[str, str]:
    return {"azure-openai-deployment-utilization": f"{max(0.0, fraction) * 100:.1f}%"}


# The longest wait a limiter's 429 names in `retry-after` and `retry-after-ms`: AOAI never tells a TPM or RPM 429
# to wait more than a minute, and the openai SDK 1.x ignores a longer one for its own 0.5–8 s back-off (later
# versions honour up to 120 s). Injected faults say what they are told.
LONGEST_RETRY_SECONDS = 60.0


def retry_headers(wait: float) -> dict[str, str]:
    """`retry-after-ms` exact (rounded up), `retry-after` in whole seconds (rounded up): both truthful. The
    milliseconds are rounded to a nanosecond first, so that 0.07 s (70.00000000000001 ms in floating point) is
    70, not 71."""
    milliseconds = max(0, math.ceil(round(wait * 1000, 6)))
    return {"retry-after": str(math.ceil(milliseconds / 1000)), "retry-after-ms": str(milliseconds)}


def rate_limited(
    request: OpenAIRequest,
    exceeded: Exceeded,
    wait: float,
    region: str = DEFAULT_REGION,
    headers: dict[str, str] | None = None,
) -> OpenAIError:
    """AOAI's 429, the one wording for the limiter and for injected faults. `wait` is when the request would be
    admitted had nothing else arrived meanwhile."""
    retry = retry_headers(wait)
    model = request.model.name
    tier = "Provisioned Managed" if exceeded is Exceeded.UTILISATION else "S0"
    message = (
        f"Your requests to {model} for {model} in {region} have exceeded the {exceeded.value} for your current "
        f"OpenAI {tier} pricing tier. This request was for {request.operation.value} under Azure OpenAI API version "
        f"{request.api_version or 'v1'}. Please retry after {retry['retry-after']} "
        f"{'second' if retry['retry-after'] == '1' else 'seconds'}. To increase your default rate limit, visit: "
        f"{QUOTA_URL}."
    )
    return OpenAIError(429, "RateLimitReached", message, headers={**(headers or {}), **retry}, front_door=True)


def store_unavailable(retry_after: float) -> OpenAIError:
    """Fail-closed answer while the shared limits store is unreachable."""
    return OpenAIError(
        503,
        "ServiceUnavailable",
        "The service is temporarily unable to process your request. Please try again later.",
        headers=retry_headers(retry_after),
    )
