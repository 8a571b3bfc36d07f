"""Turns a request and the shape of its answer into a latency plan: when each part of the answer is due.

Durations are drawn from log-normal distributions with the configured mean and standard deviation: they
are never negative, skew long like real latencies, and keep the configured mean exactly (a clipped normal
would not). A stream's chunk of k tokens takes the sum of k token intervals, drawn at once with mean k·m
and standard deviation √k·s, so the cost is one draw per chunk whatever the chunk size.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

from simulator.context import OpenAIRequest
from simulator.deployments import Deployment
from simulator.latency.config import OPERATION_KEYS, LatencyConfig
from simulator.latency.profile import FAMILY_DEFAULTS, LatencyProfile, family_of
from simulator.models import Operation

_OPERATION_NAMES = {operation: key for key, operation in OPERATION_KEYS.items()}
MEGABYTE = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class LatencyPlan:
    """Seconds after the request arrived: first token, whole answer, and each stream event's release."""

    ttft: float
    total: float
    offsets: Sequence[float] = ()

    @property
    def is_zero(self) -> bool:
        return self.total <= 0.0

    @classmethod
    def zero(cls, events: int = 0) -> LatencyPlan:
        return cls(0.0, 0.0, (0.0,) * events)

    @classmethod
    def from_offsets(cls, offsets: Sequence[float]) -> LatencyPlan:
        """A plan from known release times, e.g. the timings of a recorded stream."""
        return cls(offsets[0] if offsets else 0.0, offsets[-1] if offsets else 0.0, tuple(offsets))


def draw(rng: random.Random, mean: float, std: float) -> float:
    """A log-normal value with this mean and standard deviation; exactly `mean` when std is 0."""
    if mean <= 0.0:
        return 0.0
    if std <= 0.0:
        return mean
    variance = math.log1p((std / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - variance / 2, math.sqrt(variance))


class LatencyModel:
    """Plans latency for requests. Cheap to build: rebuild it when the latency config changes, passing the
    same random source so a seeded run stays one deterministic sequence."""

    def __init__(self, config: LatencyConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self._profiles: dict[tuple[str, str, Operation], LatencyProfile] = {}

    def profile(self, deployment: Deployment, operation: Operation) -> LatencyProfile:
        key = (deployment.name, deployment.model.name, operation)
        profile = self._profiles.get(key)
        if profile is None:
            if len(self._profiles) > 4096:  # undefined deployments can have any name: stay bounded
                self._profiles.clear()
            profile = self._profiles[key] = self._resolve(deployment, operation)
        return profile

    def _resolve(self, deployment: Deployment, operation: Operation) -> LatencyProfile:
        config = self.config
        family = family_of(deployment.model.name, deployment.model.kind.value)
        profile = FAMILY_DEFAULTS[family]
        for override in (
            config.operations.get(_OPERATION_NAMES[operation]),
            config.families.get(family),
            config.deployments.get(deployment.name),
        ):
            if override is not None:
                profile = override.apply(profile)
        return profile

    def plan(self, request: OpenAIRequest, completion_tokens: int = 0, chunk_tokens: Sequence[int] = ()) -> LatencyPlan:
        """Non-streamed answers use `total`; streams pass each event's token count and use `offsets`."""
        if not self.config.enabled:
            return LatencyPlan.zero(len(chunk_tokens))
        profile = self.profile(request.deployment, request.operation)
        prefill = profile.prefill_ms_per_token * (request.prompt_tokens or 0)
        ttft = draw(self._rng, profile.ttft_ms + prefill, profile.ttft_std_ms) / 1000.0
        if not chunk_tokens:
            return LatencyPlan(ttft, ttft + self._output(profile, max(completion_tokens - 1, 0)))
        offsets = self._offsets(profile, ttft, chunk_tokens)
        if profile.burst_tokens > 1:
            offsets = bursts(offsets, chunk_tokens, profile.burst_tokens)
        return LatencyPlan(ttft, offsets[-1], offsets)

    def _output(self, profile: LatencyProfile, tokens: int) -> float:
        """Seconds to produce `tokens` further tokens."""
        if tokens <= 0 or profile.tokens_per_second is None:
            return 0.0
        return draw(self._rng, tokens * profile.token_ms, math.sqrt(tokens) * profile.token_std_ms) / 1000.0

    def _offsets(self, profile: LatencyProfile, ttft: float, chunk_tokens: Sequence[int]) -> list[float]:
        # The first token exists at ttft; an event is released when its last token exists. Events without
        # tokens (prompt filter results, role delta, finish, usage, [DONE]) go with their neighbours.
        offsets = []
        now = ttft
        produced = 0
        for tokens in chunk_tokens:
            if tokens > 0:
                now += self._output(profile, tokens - 1 if produced == 0 else tokens)
                produced += tokens
            offsets.append(now)
        return offsets

    def translation_seconds(self, audio_bytes: int) -> float:
        """Whole-request duration of an audio translation or transcription (the predecessor's model)."""
        if not self.config.enabled:
            return 0.0
        spec = self.config.translations
        megabytes = audio_bytes / MEGABYTE
        return draw(self._rng, spec.mean_ms * megabytes, spec.std_ms * megabytes) / 1000.0


def bursts(offsets: Sequence[float], chunk_tokens: Sequence[int], burst_tokens: int) -> list[float]:
    """Hold events back until `burst_tokens` tokens are ready, then release them together, as Azure's
    content filter releases checked text; the last burst goes when the answer ends."""
    released = list(offsets)
    start = 0
    pending = 0
    last = len(offsets) - 1
    for index, tokens in enumerate(chunk_tokens):
        pending += tokens
        if pending >= burst_tokens or index == last:
            released[start : index + 1] = [offsets[index]] * (index + 1 - start)
            start = index + 1
            pending = 0
    return released
