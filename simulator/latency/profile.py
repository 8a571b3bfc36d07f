"""How long a model takes: one profile per model family, overridable per operation and per deployment.

A profile says: time to first token = `ttft_ms` + `prefill_ms_per_token` × prompt tokens (± `ttft_std_ms`),
then one output token every 1/`tokens_per_second` s (± `token_std_ms` per token). Embeddings use the same
shape with no output tokens: base + per input token. Media add their own work to the time to first token:
`audio_second_ms` per second of uploaded audio (transcriptions, translations) and `image_ms` per image drawn;
speech instead produces its audio at `audio_second_ms` per second of it, streamed as it is made. The defaults
follow the public figures in DESIGN.md §4 and are defaults, not measurements: every field can be overridden.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from simulator import jsonenc
from simulator.settings import SettingsError

CHARS_PER_TOKEN = 4  # converts a burst given in characters to tokens (English text averages about 4)


@dataclasses.dataclass(frozen=True, slots=True)
class LatencyProfile:
    ttft_ms: float = 0.0
    ttft_std_ms: float = 0.0
    prefill_ms_per_token: float = 0.0
    # None: output tokens cost no time (the whole answer arrives at the first token).
    tokens_per_second: float | None = None
    token_std_ms: float = 0.0
    # Release streamed text in bursts of at least this many tokens, as Azure's content filter does; 0: per chunk.
    burst_tokens: int = 0
    # Audio: per second of audio heard (transcription) or spoken (speech); images: per image.
    audio_second_ms: float = 0.0
    image_ms: float = 0.0
    # Hidden reasoning tokens (simulator.reasoning) per second, spent before the first visible token; None: as
    # fast as visible tokens (`tokens_per_second`).
    reasoning_tokens_per_second: float | None = None

    @property
    def reasoning_token_ms(self) -> float:
        rate = self.reasoning_tokens_per_second or self.tokens_per_second
        return 1000.0 / rate if rate else 0.0

    @property
    def token_ms(self) -> float:
        return 1000.0 / self.tokens_per_second if self.tokens_per_second else 0.0


# JSON name → (attribute, allows None). camelCase like the deployments file.
_JSON_FIELDS = {
    "ttftMs": "ttft_ms",
    "ttftStdMs": "ttft_std_ms",
    "prefillMsPerToken": "prefill_ms_per_token",
    "tokensPerSecond": "tokens_per_second",
    "tokenStdMs": "token_std_ms",
    "burstTokens": "burst_tokens",
    "msPerAudioSecond": "audio_second_ms",
    "msPerImage": "image_ms",
    "reasoningTokensPerSecond": "reasoning_tokens_per_second",
}
_ATTRIBUTES = {attribute: key for key, attribute in _JSON_FIELDS.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileOverride:
    """Some fields of a profile; the rest come from the profile it is laid over."""

    fields: tuple[tuple[str, Any], ...] = ()

    def apply(self, profile: LatencyProfile) -> LatencyProfile:
        return dataclasses.replace(profile, **dict(self.fields)) if self.fields else profile

    def to_json(self) -> dict[str, Any]:
        return {_ATTRIBUTES[attribute]: value for attribute, value in self.fields}


def parse_override(where: str, document: Any) -> ProfileOverride:
    """A partial profile from JSON; `SettingsError` names where the bad value is."""
    if not isinstance(document, Mapping):
        raise SettingsError(f"{where}: expected an object of latency fields")
    document = dict(document)
    chars = document.pop("burstChars", None)
    if chars is not None:
        if "burstTokens" in document:
            raise SettingsError(f"{where}: give burstTokens or burstChars, not both")
        document["burstTokens"] = math.ceil(_number(where, "burstChars", chars) / CHARS_PER_TOKEN)
    unknown = set(document) - set(_JSON_FIELDS)
    if unknown:
        raise SettingsError(f"{where}: unknown latency field(s) {', '.join(sorted(unknown))}")
    fields = []
    for key, value in document.items():
        if key in ("tokensPerSecond", "reasoningTokensPerSecond") and value is None:
            fields.append((_JSON_FIELDS[key], None))
            continue
        number = _number(where, key, value)
        if key in ("tokensPerSecond", "reasoningTokensPerSecond") and number == 0:
            raise SettingsError(f"{where}: {key} must be positive (null: output costs no time)")
        if key == "burstTokens":
            if number != int(number):
                raise SettingsError(f"{where}: burstTokens must be a whole number")
            number = int(number)
        fields.append((_JSON_FIELDS[key], number))
    return ProfileOverride(tuple(fields))


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SettingsError(f"{where}: {key!r} must be a number >= 0, not {jsonenc.text(value)}")
    return float(value) if isinstance(value, float) else value


def _chat(ttft: float, std: float, prefill: float, tps: float) -> LatencyProfile:
    # Inter-token jitter: a third of the mean interval, so streams look uneven without ever stalling.
    return LatencyProfile(ttft, std, prefill, tps, round(1000.0 / tps / 3, 2))


def _embedding(base: float, std: float, per_token: float) -> LatencyProfile:
    return LatencyProfile(base, std, per_token)


def _transcriber(base: float, std: float, per_audio_second: float, tps: float | None = None) -> LatencyProfile:
    return LatencyProfile(base, std, tokens_per_second=tps, audio_second_ms=per_audio_second)


def _voice(first_byte: float, std: float, per_audio_second: float) -> LatencyProfile:
    return LatencyProfile(first_byte, std, audio_second_ms=per_audio_second)


def _painter(base: float, std: float, per_image: float) -> LatencyProfile:
    return LatencyProfile(base, std, image_ms=per_image)


# Keys are model-name prefixes (longest wins). gpt-4o: 0.4–1.0 s to first token, 40–115 tokens/s and about
# 5 s to first token at 40K prompt tokens (0.11 ms per prompt token); the PTU 99th-percentile floors
# (gpt-4o 25, gpt-4o-mini 33, gpt-4.1 80, -mini 90, -nano 100, gpt-5 50 tokens/s) bound the others from
# below. Reasoning models also spend their hidden reasoning tokens (simulator.reasoning) before the first
# visible token, at `reasoning_tokens_per_second` (their visible rate unless set): a medium-effort o4-mini answer
# thinks about 900 tokens, some 10 s.
FAMILY_DEFAULTS: Mapping[str, LatencyProfile] = {
    "gpt-4o": _chat(600, 200, 0.11, 70),
    "gpt-4o-mini": _chat(450, 150, 0.06, 90),
    "gpt-4.1": _chat(600, 200, 0.10, 100),
    "gpt-4.1-mini": _chat(450, 150, 0.06, 120),
    "gpt-4.1-nano": _chat(350, 100, 0.04, 150),
    "gpt-5": _chat(800, 300, 0.10, 70),
    "gpt-5-mini": _chat(600, 200, 0.06, 90),
    "gpt-5-nano": _chat(500, 150, 0.04, 120),
    "gpt-5-chat": _chat(600, 200, 0.10, 70),
    "o1": _chat(1000, 400, 0.12, 60),
    "o1-mini": _chat(600, 200, 0.06, 90),
    "o3": _chat(900, 300, 0.10, 70),
    "o3-mini": _chat(600, 200, 0.06, 90),
    "o4-mini": _chat(600, 200, 0.06, 90),
    "gpt-35-turbo": _chat(400, 100, 0.05, 100),
    "gpt-35-turbo-instruct": _chat(300, 100, 0.05, 100),
    "gpt-4": _chat(800, 250, 0.15, 30),
    "gpt-4-turbo": _chat(700, 200, 0.12, 35),
    "text-embedding-ada-002": _embedding(60, 20, 0.02),
    "text-embedding-3-small": _embedding(60, 20, 0.02),
    "text-embedding-3-large": _embedding(90, 30, 0.03),
    # Media defaults are plausible, not measured: a minute of audio transcribed in a few seconds, speech made a few
    # times faster than it plays, an image in seconds (gpt-image-1 slower than dall-e-3).
    "whisper": _transcriber(500, 150, 60),
    "gpt-4o-transcribe": _transcriber(400, 120, 40, 100),
    "gpt-4o-mini-transcribe": _transcriber(300, 100, 25, 130),
    "tts": _voice(500, 150, 250),
    "tts-1": _voice(500, 150, 250),
    "tts-hd": _voice(800, 250, 500),
    "tts-1-hd": _voice(800, 250, 500),
    "gpt-4o-mini-tts": _voice(400, 120, 200),
    "dall-e-3": _painter(1000, 1500, 8000),
    "gpt-image-1": _painter(2000, 3000, 15000),
    "gpt-image-1-mini": _painter(1000, 1500, 6000),
}
# For models of no known family, by kind (simulator.models.ModelKind values).
KIND_DEFAULTS: Mapping[str, str] = {
    "chat": "gpt-4o",
    "completion": "gpt-35-turbo-instruct",
    "embedding": "text-embedding-ada-002",
    "transcription": "whisper",
    "speech": "tts",
    "image": "dall-e-3",
}
_PREFIXES = sorted(FAMILY_DEFAULTS, key=len, reverse=True)


def family_of(model_name: str, kind: str) -> str:
    """The defaults key for a model: the longest family prefix of its name, else the kind's default family."""
    key = model_name.lower().replace("gpt-3.5", "gpt-35")
    for prefix in _PREFIXES:
        if key == prefix or key.startswith(prefix + "-"):
            return prefix
    return KIND_DEFAULTS.get(kind, "gpt-4o")
