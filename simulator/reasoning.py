"""Reasoning models (o-series, gpt-5): hidden reasoning tokens, the efforts that size them, and what these
models refuse. Shared by chat (`reasoning_effort`) and the Responses API (`reasoning.effort`, `.summary`).

A reasoning model thinks before it answers: it spends hidden tokens that the caller pays for, that count in
`completion_tokens` (and `reasoning_tokens`) and against the output cap, and that take time before the first
visible token. How many it spends depends on the requested effort; the ranges below are defaults per model
family (*unverified*: the service publishes none), overridable per deployment in the deployments file
(`reasoningEffort`, `reasoningTokens`). The number is drawn from the request's seeded random source, so a
seeded request thinks for the same number of tokens every time.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Mapping
from typing import Any, Literal

from simulator import errors
from simulator.errors import OpenAIError
from simulator.models import ModelSpec
from simulator.params import invalid_type, invalid_value
from simulator.settings import SettingsError

EFFORTS = ("minimal", "low", "medium", "high")  # the order of increasing thought
TokenRange = tuple[int, int]  # (min, max) hidden tokens, both inclusive
Api = Literal["chat", "responses"]


class SamplingRefusal(enum.Enum):
    """How a family's chat endpoint refuses `temperature`/`top_p` set away from their defaults. o1 and o3 (and
    gpt-5) accept the default and name the value they refuse; o1-mini and o3-mini refuse the parameter whatever
    its value (both wordings are the service's, seen from clients of each family)."""

    VALUE = "value"
    PARAMETER = "parameter"


@dataclasses.dataclass(frozen=True, slots=True)
class ReasoningProfile:
    """How one reasoning model family thinks: the effort it uses when none is asked for, the efforts it
    accepts, and the hidden tokens each effort takes."""

    default_effort: str
    tokens: Mapping[str, TokenRange]  # effort → range; its keys are the efforts the family accepts
    sampling: SamplingRefusal = SamplingRefusal.VALUE
    # o1-mini predates `reasoning_effort` and refuses it (it still reasons, at its default).
    accepts_effort: bool = True

    @property
    def efforts(self) -> tuple[str, ...]:
        return tuple(effort for effort in EFFORTS if effort in self.tokens)


@dataclasses.dataclass(frozen=True, slots=True)
class ReasoningOverride:
    """A deployment's changes to its family's profile, from the deployments file (hashable: cached on)."""

    default_effort: str | None = None
    tokens: tuple[tuple[str, TokenRange], ...] = ()

    def apply(self, profile: ReasoningProfile) -> ReasoningProfile:
        tokens = {**profile.tokens, **dict(self.tokens)}
        return dataclasses.replace(profile, default_effort=self.default_effort or profile.default_effort, tokens=tokens)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.default_effort is not None:
            document["reasoningEffort"] = self.default_effort
        if self.tokens:
            document["reasoningTokens"] = {effort: list(span) for effort, span in self.tokens}
        return document


def _profile(low: TokenRange, medium: TokenRange, high: TokenRange, **kwargs: Any) -> ReasoningProfile:
    return ReasoningProfile("medium", {"low": low, "medium": medium, "high": high}, **kwargs)


def _gpt5(minimal: TokenRange, low: TokenRange, medium: TokenRange, high: TokenRange) -> ReasoningProfile:
    return ReasoningProfile("medium", {"minimal": minimal, "low": low, "medium": medium, "high": high})


# Keys are model-name prefixes (longest wins), as in simulator.latency.profile. The larger models think longer;
# gpt-5's `minimal` often spends no reasoning tokens at all.
FAMILY_PROFILES: Mapping[str, ReasoningProfile] = {
    "o1": _profile((128, 768), (512, 2048), (1536, 6144), sampling=SamplingRefusal.PARAMETER),
    "o1-mini": _profile(
        (128, 512), (384, 1536), (1024, 4096), sampling=SamplingRefusal.PARAMETER, accepts_effort=False
    ),
    "o3": _profile((128, 768), (512, 2048), (1536, 6144)),
    "o3-mini": _profile((64, 512), (256, 1536), (1024, 4096), sampling=SamplingRefusal.PARAMETER),
    "o4-mini": _profile((64, 512), (256, 1536), (1024, 4096)),
    "gpt-5": _gpt5((0, 64), (128, 768), (512, 2048), (1536, 6144)),
    "gpt-5-mini": _gpt5((0, 48), (64, 512), (256, 1536), (1024, 4096)),
    "gpt-5-nano": _gpt5((0, 32), (64, 384), (192, 1024), (768, 3072)),
}
_FALLBACK = "o4-mini"  # a reasoning model of no known family (e.g. an extension's)
_PREFIXES = sorted(FAMILY_PROFILES, key=len, reverse=True)


def family_of(model_name: str) -> str:
    key = model_name.lower()
    for prefix in _PREFIXES:
        if key == prefix or key.startswith(prefix + "-"):
            return prefix
    return _FALLBACK


def profile_for(model: ModelSpec, override: ReasoningOverride | None = None) -> ReasoningProfile | None:
    """The profile a deployment of `model` reasons by; None when the model does not reason."""
    if not model.reasoning:
        return None
    profile = FAMILY_PROFILES[family_of(model.name)]
    return override.apply(profile) if override is not None else profile


def is_reasoning_model(model: ModelSpec) -> bool:
    return model.reasoning


# --- requests ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ReasoningPlan:
    """The hidden thinking of one answer: at which effort, and how many tokens it wants."""

    effort: str
    tokens: int

    def within(self, limit: int) -> tuple[int, int]:
        """(reasoning tokens spent, tokens left for the visible answer) under an output `limit`: reasoning comes
        first, so a tight cap is spent on thought and leaves an empty answer (finish_reason "length")."""
        spent = min(self.tokens, limit)
        return spent, limit - spent


def requested_effort(value: Any, profile: ReasoningProfile, param: str) -> str:
    """The effort a request asks for (None: the profile's default), refused with the service's wording."""
    if value is None:
        return profile.default_effort
    if not profile.accepts_effort:
        raise unsupported_parameter(param)
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in profile.tokens:
        raise invalid_value(param, value, profile.efforts)
    return value


def plan(profile: ReasoningProfile, effort: str, rng: random.Random) -> ReasoningPlan:
    """Hidden tokens for one answer at `effort`, drawn from the profile's range."""
    low, high = profile.tokens[effort]
    return ReasoningPlan(effort, rng.randint(low, high))


def effort_in(body: Mapping[str, Any]) -> Any:
    """The effort a body asks for, unvalidated: chat's `reasoning_effort` or the Responses API's
    `reasoning.effort` (None when neither)."""
    effort = body.get("reasoning_effort")
    if effort is None:
        options = body.get("reasoning")
        effort = options.get("effort") if isinstance(options, Mapping) else None
    return effort


def expected_tokens(profile: ReasoningProfile, effort: Any) -> int:
    """The middle of the effort's range (the default's for an effort the profile does not know): what the rate
    limiter charges on arrival for thinking when the request sets no output cap."""
    span = profile.tokens.get(effort) if isinstance(effort, str) else None
    low, high = span or profile.tokens[profile.default_effort]
    return (low + high) // 2


# Chat's sampling parameters and their only accepted values on reasoning models.
_CHAT_SAMPLING = {"temperature": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0}
# Parameters reasoning models refuse whatever their value (chat; the Responses API has none of them).
_CHAT_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias")
_RESPONSES_SAMPLING = ("temperature", "top_p")


def check_sampling(body: Mapping[str, Any], profile: ReasoningProfile, api: Api) -> None:
    """Refuse what reasoning models refuse, as the service words it (`param` names the parameter). Chat on o1
    and o3: a sampling parameter only at its default; on o1-mini and o3-mini not at all. The Responses API
    refuses `temperature` and `top_p` outright. Null counts as absent, as the SDKs send it."""
    if api == "responses":
        for name in _RESPONSES_SAMPLING:
            if body.get(name) is not None:
                raise unsupported_parameter(name)
        return
    for name, default in _CHAT_SAMPLING.items():
        value = body.get(name)
        if value is None:
            continue
        if profile.sampling is SamplingRefusal.PARAMETER and name in ("temperature", "top_p"):
            raise unsupported_parameter(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != default:
            raise unsupported_value(name, value, default)
    for name in _CHAT_UNSUPPORTED:
        if body.get(name) not in (None, False):
            raise unsupported_parameter(name)


def unsupported_parameter(name: str) -> OpenAIError:
    return errors.invalid_request(
        f"Unsupported parameter: '{name}' is not supported with this model.", name, "unsupported_parameter"
    )


def unsupported_value(name: str, value: Any, default: Any) -> OpenAIError:
    shown = str(value).lower() if isinstance(value, bool) else value
    return errors.invalid_request(
        f"Unsupported value: '{name}' does not support {shown} with this model. Only the default ({default}) value "
        "is supported.",
        name,
        "unsupported_value",
    )


# --- summaries -----------------------------------------------------------------------------------------------

SUMMARIES = ("auto", "concise", "detailed")
_TITLES = (
    "Understanding the request",
    "Planning the answer",
    "Weighing the options",
    "Checking the details",
    "Drafting a response",
    "Reviewing constraints",
)


def requested_summary(value: Any, param: str = "reasoning.summary") -> str | None:
    """The summary a Responses request asks for (None: none), refused with the service's wording."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in SUMMARIES:
        raise invalid_value(param, value, SUMMARIES)
    return value


def summary_texts(rng: random.Random, summary: str, reasoning_tokens: int) -> list[str]:
    """Short reasoning summaries for `reasoning.summary` ("auto", "concise", "detailed"): one part per stretch
    of thought, each a bold title and a few sentences, as the service writes them. None without thought."""
    if reasoning_tokens <= 0:
        return []
    from simulator.generators.lorem import lorem_pieces  # generators import this module's callers

    parts = 1 if summary == "concise" else min(1 + reasoning_tokens // 1024, 3 if summary == "detailed" else 2)
    words = (16, 32) if summary == "concise" else (32, 64)
    titles = rng.sample(_TITLES, parts)
    return [f"**{title}**\n\n" + "".join(lorem_pieces(rng.randint(*words), rng)) for title in titles]


# --- the deployments file --------------------------------------------------------------------------------------


def parse_override(where: str, effort: Any, tokens: Any) -> ReasoningOverride | None:
    """`reasoningEffort` and `reasoningTokens` of a deployment entry; `SettingsError` names what is wrong."""
    if effort is None and tokens is None:
        return None
    if effort is not None and effort not in EFFORTS:
        raise SettingsError(f"{where}: 'reasoningEffort' must be one of {', '.join(EFFORTS)}, not {effort!r}")
    spans: list[tuple[str, TokenRange]] = []
    if tokens is not None:
        if not isinstance(tokens, Mapping):
            raise SettingsError(f"{where}: 'reasoningTokens' must be an object of effort → [min, max]")
        for name, span in tokens.items():
            if name not in EFFORTS:
                raise SettingsError(f"{where}: 'reasoningTokens' has unknown effort {name!r}")
            spans.append((name, _span(f"{where}: reasoningTokens.{name}", span)))
    return ReasoningOverride(effort, tuple(spans))


def _span(where: str, value: Any) -> TokenRange:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value)
        or value[0] > value[1]
    ):
        raise SettingsError(f"{where} must be [min, max] with 0 <= min <= max, or one number, not {value!r}")
    return value[0], value[1]
