"""Turns a request and the shape of its answer into a latency plan: when each part of the answer is due.

Durations are drawn from log-normal distributions with the configured mean and standard deviation: they
are never negative, skew long like real latencies, and keep the configured mean exactly (a clipped normal
would not). A stream's chunk of k tokens takes the sum of k token intervals, drawn at once with mean k·m
and standard deviation √k·s, so the cost is one draw per chunk whatever the chunk size.
"""

from __future__ import annotations

import array
import dataclasses
import functools
import math
import random
from collections.abc import Callable, Iterator, Sequence

from simulator.context import OpenAIRequest
from simulator.deployments import Deployment
from simulator.latency.config import OPERATION_KEYS, LatencyConfig
from simulator.latency.profile import FAMILY_DEFAULTS, LatencyProfile, family_of
from simulator.models import Operation
from simulator.sequences import ComputedSequence

_OPERATION_NAMES = {operation: key for key, operation in OPERATION_KEYS.items()}
MEGABYTE = 1024 * 1024
GROUP_BATCH = 8  # release groups planned at once (see `Releases.groups`)


@dataclasses.dataclass(frozen=True, slots=True)
class LatencyPlan:
    """Seconds after the request arrived: first token, whole answer, and each stream event's release."""

    ttft: float
    duration: float = 0.0  # a whole answer's; a stream's is its last release
    offsets: Sequence[float] = ()

    @property
    def total(self) -> float:
        return self.offsets[-1] if self.offsets else self.duration

    @property
    def is_zero(self) -> bool:
        return self.ttft <= 0.0 and self.total <= 0.0

    @classmethod
    def zero(cls, events: int = 0) -> LatencyPlan:
        return cls(0.0, 0.0, (0.0,) * events)

    @classmethod
    def from_offsets(cls, offsets: Sequence[float]) -> LatencyPlan:
        """A plan from known release times, e.g. the timings of a recorded stream."""
        return cls(offsets[0] if offsets else 0.0, 0.0, tuple(offsets))


class Releases(ComputedSequence[float]):
    """When each event of a stream is released, in seconds after the request arrived, drawn only as the stream
    reaches it: a long answer's plan then costs nothing up front, and 8 bytes per event while it is held.

    The first token exists at the TTFT; an event is released when its last token exists, and events without
    tokens (prompt filter results, role, finish, usage, `[DONE]`) go with their neighbours. With bursts, events
    are held back until `burst_tokens` tokens are ready and then released together, as Azure's content filter
    releases checked text; the last burst goes when the answer ends.
    """

    __slots__ = ("_burst", "_known", "_now", "_output", "_produced", "_tokens")
    item_name = "release"

    def __init__(
        self, ttft: float, chunk_tokens: Sequence[int], output: Callable[[int], float], burst_tokens: int = 0
    ) -> None:
        self._tokens = chunk_tokens
        self._output = output  # seconds to produce n more tokens
        self._burst = burst_tokens
        self._known = array.array("d")
        self._now = ttft
        self._produced = 0

    def __len__(self) -> int:
        return len(self._tokens)

    def _item(self, index: int) -> float:
        while len(self._known) <= index:
            self._advance()
        return self._known[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def groups(self) -> Iterator[tuple[float, int, int]]:
        """(release, first event, event after the last) for each group of events released together, planned
        `GROUP_BATCH` at a time. Planned one by one as each release came, a group cost twice as much: by then
        the stream's objects are out of the CPU's caches (in-process, 2,000 streams in bursts of 10: 4.7 µs
        of each release's 13 µs, against 2.3 µs when planned in a run)."""
        known, count = self._known, len(self._tokens)
        while len(known) < count:
            batch = []
            while len(known) < count and len(batch) < GROUP_BATCH:
                batch.append(self._advance())
            yield from batch

    def _advance(self) -> tuple[float, int, int]:
        """Plan the next event, or with bursts, the next burst: a burst's end is one draw for all its tokens,
        as a chunk of several tokens is."""
        tokens, known, burst = self._tokens, self._known, self._burst
        start = len(known)
        last = len(tokens) - 1
        index, pending = start, tokens[start]
        while pending < burst and index < last:
            index += 1
            pending += tokens[index]
        if pending:
            self._now += self._output(pending - 1 if self._produced == 0 else pending)
            self._produced += pending
        now = self._now
        known.extend([now] * (index + 1 - start))
        return now, start, index + 1


def release_groups(offsets: Sequence[float]) -> Iterator[tuple[float, int, int]]:
    """(release, first event, event after the last) for each run of events released at the same moment."""
    if isinstance(offsets, Releases):
        return offsets.groups()
    return _equal_runs(offsets)


def _equal_runs(offsets: Sequence[float]) -> Iterator[tuple[float, int, int]]:
    start = 0
    for index in range(1, len(offsets) + 1):
        if index == len(offsets) or offsets[index] != offsets[start]:
            yield offsets[start], start, index
            start = index


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

    def __init__(
        self,
        config: LatencyConfig,
        rng: random.Random,
        rules: Callable[[OpenAIRequest, LatencyProfile], LatencyProfile] | None = None,
    ) -> None:
        """`rules`: extensions' latency rules (simulator.extend), asked per request for the profile to use."""
        self.config = config
        self._rng = rng
        self._rules = rules
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

    def plan(
        self,
        request: OpenAIRequest,
        completion_tokens: int = 0,
        chunk_tokens: Sequence[int] = (),
        *,
        reasoning_tokens: int = 0,
    ) -> LatencyPlan:
        """Non-streamed answers use `total`; streams pass each event's token count and use `offsets`.
        `reasoning_tokens` (part of `completion_tokens`, in no stream event) are thought before the first token."""
        if not self.config.enabled:
            return LatencyPlan.zero(len(chunk_tokens))
        if request.operation is Operation.TRANSLATIONS and self.config.translations is not None:
            whole = self.translation_seconds(sum(len(upload.data) for upload in request.files.get("file", ())))
            return LatencyPlan(whole, whole)
        profile = self.profile(request.deployment, request.operation)
        if self._rules is not None:
            profile = self._rules(request, profile)
        if request.operation is Operation.SPEECH:
            profile = spoken(profile)
        prefill = profile.prefill_ms_per_token * (request.prompt_tokens or 0)
        prefill += profile.audio_second_ms * request.audio_seconds + profile.image_ms * request.images
        ttft = draw(self._rng, profile.ttft_ms + prefill, profile.ttft_std_ms) / 1000.0
        if reasoning_tokens > 0:
            ttft += self._output(profile, reasoning_tokens, profile.reasoning_token_ms)
        if not chunk_tokens:
            visible = completion_tokens - reasoning_tokens
            return LatencyPlan(ttft, ttft + self._output(profile, max(visible - 1, 0)))
        if ttft <= 0.0 and profile.tokens_per_second is None:
            return LatencyPlan.zero(len(chunk_tokens))
        output = functools.partial(self._output, profile)
        return LatencyPlan(ttft, 0.0, Releases(ttft, chunk_tokens, output, profile.burst_tokens))

    def _output(self, profile: LatencyProfile, tokens: int, token_ms: float | None = None) -> float:
        """Seconds to produce `tokens` further tokens, each `token_ms` on average (default: a visible token's)."""
        token_ms = profile.token_ms if token_ms is None else token_ms
        if tokens <= 0 or token_ms <= 0.0:
            return 0.0
        return draw(self._rng, tokens * token_ms, math.sqrt(tokens) * profile.token_std_ms) / 1000.0

    def translation_seconds(self, audio_bytes: int) -> float:
        """Whole-request duration of an audio translation by the predecessor's model, when it is configured."""
        spec = self.config.translations
        if not self.config.enabled or spec is None:
            return 0.0
        megabytes = audio_bytes / MEGABYTE
        return draw(self._rng, spec.mean_ms * megabytes, spec.std_ms * megabytes) / 1000.0


def spoken(profile: LatencyProfile) -> LatencyProfile:
    """A speech stream's profile: its events count milliseconds of audio, paced like tokens, made at
    `audio_second_ms` each. Derived after extensions' latency rules, which name text's pace, not audio's."""
    rate = 1_000_000 / profile.audio_second_ms if profile.audio_second_ms > 0 else None
    return dataclasses.replace(profile, tokens_per_second=rate, token_std_ms=0.0, audio_second_ms=0.0)
