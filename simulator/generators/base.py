"""What every generator shares: its inputs (a seeded random source, length settings, a clock) and the
length decision that keeps `completion_tokens` exact and within the caller's cap."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable

from simulator import errors
from simulator.generators.tool_calls import ToolCallPolicy
from simulator.models import ModelSpec


@dataclasses.dataclass(frozen=True, slots=True)
class GenerationSettings:
    completion_tokens: tuple[int, int]  # (min, max) an uncapped answer wants
    seed: int = 0
    clock: Callable[[], float] = time.time
    tool_calls: ToolCallPolicy = dataclasses.field(default_factory=ToolCallPolicy)
    max_generated_tokens: int = 262_144  # all choices of one request together (SIMULATOR_MAX_GENERATED_TOKENS)


class RandomSource:
    """Per-request random sources: from the request's `seed` when it gives one (same seed → same answer),
    otherwise from one seeded stream, so a whole run is reproducible."""

    def __init__(self, seed: int) -> None:
        self._stream = random.Random(seed)

    def for_request(self, seed: int | None) -> random.Random:
        # Generation never awaits, so requests without a seed can share the one stream safely.
        return self._stream if seed is None else random.Random(seed)


@dataclasses.dataclass(frozen=True, slots=True)
class Length:
    tokens: int
    finish_reason: str  # "stop" or "length"


def output_limit(cap: int | None, model: ModelSpec) -> int:
    """The most completion tokens an answer may hold: the request's cap within the model's."""
    return min(cap, model.max_output_tokens) if cap is not None else model.max_output_tokens


def budget_cap(
    cap: int | None, model: ModelSpec, choices: int, budget: int, *, logprobs: int | None = None, spent: int = 0
) -> int | None:
    """Each choice's cap within the request's generation budget, shared by its choices: the caller's cap, lowered
    only where `choices` answers of the most the model allows would pass the budget (a JSON schema of large
    arrays, 128 choices). A choice that reaches it ends with finish_reason "length", as at any cap.

    A token asked for with logprobs costs its alternatives too (`token_cost`), which cost far more to make and send
    than the token itself: 128 choices with 20 `top_logprobs` each share what 128 plain choices would. `spent`: what
    the request has already cost of the budget (an echoed prompt's logprobs)."""
    share = max(1, (budget - spent) // (choices * token_cost(logprobs)))
    return cap if output_limit(cap, model) <= share else share


def token_cost(logprobs: int | None) -> int:
    """What one generated token costs of the generation budget: 1, plus one for each logprob entry made for it
    when logprobs are asked for (`logprobs`: how many alternatives, chat's `top_logprobs` or completions'
    `logprobs`; the chosen token's own entry counts when it is 0)."""
    return 1 if logprobs is None else 1 + max(logprobs, 1)


def choose_length(cap: int | None, model: ModelSpec, rng: random.Random, wanted: tuple[int, int]) -> Length:
    """How long the answer is: what the 'model' wants to say, cut at the cap (→ finish_reason "length")."""
    desired = rng.randint(*wanted)
    limit = output_limit(cap, model)
    if desired > limit:
        return Length(limit, "length")
    return Length(desired, "stop")


def check_output_cap(cap: int | None, model: ModelSpec, param: str) -> None:
    if cap is not None and model.max_output_tokens and cap > model.max_output_tokens:
        raise errors.invalid_request(
            f"{param} is too large: {cap}. This model supports at most {model.max_output_tokens} completion tokens, "
            f"whereas you provided {cap}.",
            param,
            "invalid_value",
        )


def check_context(prompt_tokens: int, cap: int | None, model: ModelSpec, param: str) -> None:
    requested = prompt_tokens + (cap or 0)
    if requested > model.context_window:
        raise errors.context_length_exceeded(model.context_window, requested, prompt_tokens, cap or 0, param)
