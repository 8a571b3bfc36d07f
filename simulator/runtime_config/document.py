"""The runtime config: what `/++/config` shows and changes, as one validated, immutable value.

A PATCH is a JSON merge patch (RFC 7386) on the JSON form: objects merge, `null` deletes, anything else
replaces. The patched document is parsed whole, so a bad PATCH changes nothing and says what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from simulator.deployments import Deployment, parse_deployment
from simulator.errors import OpenAIError
from simulator.faults import FaultConfig
from simulator.latency import LatencyConfig
from simulator.settings import Mode, SettingsError

SECTIONS = ("mode", "latency", "deployments", "faults")


@dataclasses.dataclass(frozen=True, slots=True)
class RuntimeConfig:
    mode: Mode = Mode.GENERATE
    latency: LatencyConfig = dataclasses.field(default_factory=LatencyConfig)
    deployments: Mapping[str, Deployment] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    faults: FaultConfig = dataclasses.field(default_factory=FaultConfig)

    @classmethod
    def from_json(cls, document: Any) -> RuntimeConfig:
        """Raises `SettingsError` naming the section and field at fault."""
        if not isinstance(document, Mapping):
            raise SettingsError("the config must be a JSON object")
        unknown = set(document) - set(SECTIONS)
        if unknown:
            raise SettingsError(f"unknown section(s) {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")
        try:
            mode = Mode(document.get("mode", Mode.GENERATE.value))
        except ValueError:
            raise SettingsError(f"mode must be one of {', '.join(mode.value for mode in Mode)}") from None
        deployments = document.get("deployments") or {}
        if not isinstance(deployments, Mapping):
            raise SettingsError("deployments: expected an object of deployment name → settings")
        return cls(
            mode=mode,
            latency=LatencyConfig.from_json(document.get("latency") or {}),
            deployments=MappingProxyType({name: parse_deployment(name, entry) for name, entry in deployments.items()}),
            faults=FaultConfig.from_json(document.get("faults")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "latency": self.latency.to_json(),
            "deployments": {name: deployment.to_json() for name, deployment in self.deployments.items()},
            "faults": self.faults.to_json(),
        }

    def fingerprint(self) -> str:
        """Identifies the content (not the object): equal configs have equal fingerprints."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


Validator = Callable[[RuntimeConfig], None]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new document; neither argument is changed."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def patched(current: RuntimeConfig, patch: Any, validate: Validator | None = None) -> RuntimeConfig:
    """The config `patch` makes of `current`, or `OpenAIError` 400 saying what is wrong."""
    if not isinstance(patch, Mapping):
        raise invalid_config("the PATCH body must be a JSON object (a JSON merge patch of GET /++/config)")
    try:
        config = RuntimeConfig.from_json(merge_patch(current.to_json(), patch))
        if validate is not None:
            validate(config)
    except SettingsError as error:
        raise invalid_config(str(error)) from None
    return config


def invalid_config(message: str) -> OpenAIError:
    return OpenAIError(400, "InvalidConfig", f"Invalid config, nothing was changed: {message}")
