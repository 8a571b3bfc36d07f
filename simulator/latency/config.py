"""The latency section of the runtime config: on/off, and overrides by operation, family and deployment.

Resolution, most specific last: family default → operation override (the predecessor's `LATENCY_OPENAI_*`
variables land here) → family override → deployment override.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from simulator import jsonenc
from simulator.latency.profile import ProfileOverride, parse_override
from simulator.models import Operation
from simulator.settings import SettingsError

OPERATION_KEYS: Mapping[str, Operation] = {
    "chat": Operation.CHAT_COMPLETIONS,
    "completions": Operation.COMPLETIONS,
    "embeddings": Operation.EMBEDDINGS,
    "responses": Operation.RESPONSES,
    "transcriptions": Operation.TRANSCRIPTIONS,
    "translations": Operation.TRANSLATIONS,
    "speech": Operation.SPEECH,
    "images": Operation.IMAGE_GENERATIONS,
    "imageEdits": Operation.IMAGE_EDITS,
}
_EMPTY: Mapping[str, ProfileOverride] = MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class MeanStd:
    """A predecessor-style setting: a normal distribution in milliseconds (of what, depends on the setting)."""

    mean_ms: float
    std_ms: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class LegacyLatency:
    """The predecessor's `LATENCY_OPENAI_<OP>_MEAN` / `_STD_DEV` pairs, each None when unset.

    chat and completions: milliseconds per completion token; embeddings: milliseconds per request;
    translations: milliseconds per megabyte of input audio (what the predecessor's code does).
    """

    chat: MeanStd | None = None
    completions: MeanStd | None = None
    embeddings: MeanStd | None = None
    translations: MeanStd | None = None

    def operations(self) -> dict[str, ProfileOverride]:
        """As operation overrides: the whole duration comes from the setting (no prefill)."""
        overrides = {}
        for key, per_token in (("chat", True), ("completions", True), ("embeddings", False)):
            value: MeanStd | None = getattr(self, key)
            if value is None:
                continue
            if per_token:  # the first token costs one interval too, so n tokens take n × mean, as before
                fields: dict[str, Any] = {"ttft_ms": value.mean_ms, "ttft_std_ms": value.std_ms}
                fields["prefill_ms_per_token"] = 0.0
                fields["tokens_per_second"] = 1000.0 / value.mean_ms if value.mean_ms > 0 else None
                fields["token_std_ms"] = value.std_ms
            else:
                fields = {"ttft_ms": value.mean_ms, "ttft_std_ms": value.std_ms, "prefill_ms_per_token": 0.0}
            overrides[key] = ProfileOverride(tuple(fields.items()))
        return overrides


DEFAULT_TRANSLATIONS = MeanStd(15000.0, 1000.0)  # the predecessor's default, per MB of audio


@dataclasses.dataclass(frozen=True, slots=True)
class LatencyConfig:
    enabled: bool = True
    operations: Mapping[str, ProfileOverride] = dataclasses.field(default_factory=lambda: _EMPTY)
    families: Mapping[str, ProfileOverride] = dataclasses.field(default_factory=lambda: _EMPTY)
    deployments: Mapping[str, ProfileOverride] = dataclasses.field(default_factory=lambda: _EMPTY)
    # The predecessor's per-megabyte model of translations, when configured (its variable or this section): it
    # then replaces the per-audio-second profile for translations. None: the profile decides.
    translations: MeanStd | None = None

    @classmethod
    def from_settings(
        cls, *, enabled: bool = True, document: Mapping[str, Any] | None = None, legacy: LegacyLatency | None = None
    ) -> LatencyConfig:
        """The start-up config: a JSON document (the `latency` section) with the legacy variables laid under it."""
        config = cls.from_json(document or {}, enabled=enabled)
        if legacy is None:
            return config
        operations = {**legacy.operations(), **config.operations}
        translations = legacy.translations or config.translations
        return dataclasses.replace(config, operations=MappingProxyType(operations), translations=translations)

    @classmethod
    def from_json(cls, document: Any, *, enabled: bool = True) -> LatencyConfig:
        if not isinstance(document, Mapping):
            raise SettingsError("latency: expected an object")
        unknown = set(document) - {"enabled", "operations", "families", "deployments", "translations"}
        if unknown:
            raise SettingsError(f"latency: unknown field(s) {', '.join(sorted(unknown))}")
        enabled = document.get("enabled", enabled)
        if not isinstance(enabled, bool):
            raise SettingsError("latency.enabled must be true or false")
        operations = _overrides("latency.operations", document.get("operations"))
        unknown = set(operations) - set(OPERATION_KEYS)
        if unknown:
            raise SettingsError(f"latency.operations: unknown operation(s) {', '.join(sorted(unknown))}")
        return cls(
            enabled=enabled,
            operations=operations,
            families=_overrides("latency.families", document.get("families")),
            deployments=_overrides("latency.deployments", document.get("deployments")),
            translations=_mean_std("latency.translations", document.get("translations")),
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "enabled": self.enabled,
            "operations": {key: value.to_json() for key, value in self.operations.items()},
            "families": {key: value.to_json() for key, value in self.families.items()},
            "deployments": {key: value.to_json() for key, value in self.deployments.items()},
        }
        if self.translations is not None:
            document["translations"] = {"msPerMegabyte": self.translations.mean_ms, "stdMs": self.translations.std_ms}
        return document


def _overrides(where: str, document: Any) -> Mapping[str, ProfileOverride]:
    if document is None:
        return _EMPTY
    if not isinstance(document, Mapping):
        raise SettingsError(f"{where}: expected an object of name → latency fields")
    return MappingProxyType({name: parse_override(f"{where}.{name}", value) for name, value in document.items()})


def _mean_std(where: str, document: Any) -> MeanStd | None:
    if document is None:
        return None
    if not isinstance(document, Mapping) or set(document) - {"msPerMegabyte", "stdMs"}:
        raise SettingsError(f"{where}: expected {{'msPerMegabyte': number, 'stdMs': number}}")
    values = []
    for key, default in (("msPerMegabyte", DEFAULT_TRANSLATIONS.mean_ms), ("stdMs", 0.0)):
        value = document.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SettingsError(f"{where}.{key} must be a number >= 0, not {jsonenc.text(value)}")
        values.append(float(value))
    return MeanStd(*values)
