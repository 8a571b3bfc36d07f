"""Deployments: named instances of a model, with their quota, as a deployments file describes them.

The file keeps the predecessor's shape so its users' files still load:
`{"name": {"model": "gpt-4o", "tokensPerMinute": 30000, "embeddingSize": 1536}}`, plus
`requestsPerMinute`, `imagesPerMinute` (image models), `type` (`standard` | `provisioned`), `ptu`, and for
reasoning models `reasoningEffort` (the default effort) and `reasoningTokens` (effort → [min, max] hidden tokens;
simulator.reasoning).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator import errors, jsonenc, reasoning
from simulator.models import ModelSpec, Operation, find_model, known_model
from simulator.settings import SettingsError

# Azure's rule for deployment names: letters, digits, `_`, `.` and `-`, at most 64 characters.
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class DeploymentType(enum.StrEnum):
    STANDARD = "standard"
    PROVISIONED = "provisioned"


@dataclasses.dataclass(frozen=True, slots=True)
class Deployment:
    name: str
    model: ModelSpec
    tokens_per_minute: int | None = None
    requests_per_minute: int | None = None
    images_per_minute: int | None = None
    embedding_size: int | None = None
    type: DeploymentType = DeploymentType.STANDARD
    ptu: int | None = None
    defined: bool = True
    reasoning: reasoning.ReasoningOverride | None = None
    # How the deployment's model reasons (None: it does not), overrides applied: made once, read per request.
    reasoning_profile: reasoning.ReasoningProfile | None = dataclasses.field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasoning_profile", reasoning.profile_for(self.model, self.reasoning))

    @property
    def embedding_dimensions(self) -> int:
        return self.embedding_size or self.model.embedding_dimensions or 1536

    def to_json(self) -> dict[str, Any]:
        """The deployments-file form, as `/++/config` shows it."""
        entry: dict[str, Any] = {"model": self.model.name, "type": self.type.value}
        for key, value in (
            ("tokensPerMinute", self.tokens_per_minute),
            ("requestsPerMinute", self.requests_per_minute),
            ("imagesPerMinute", self.images_per_minute),
            ("embeddingSize", self.embedding_size),
            ("ptu", self.ptu),
        ):
            if value is not None:
                entry[key] = value
        if self.reasoning is not None:
            entry.update(self.reasoning.to_json())
        return entry


_FIELDS = {
    "tokensPerMinute": "tokens_per_minute",
    "requestsPerMinute": "requests_per_minute",
    "imagesPerMinute": "images_per_minute",
    "embeddingSize": "embedding_size",
    "ptu": "ptu",
}


def parse_deployment(name: str, entry: Mapping[str, Any]) -> Deployment:
    """One entry of the deployments file; `SettingsError` names the deployment and field at fault."""
    if not isinstance(entry, Mapping):
        raise SettingsError(f"deployment {name!r}: expected an object, got {jsonenc.text(entry)}")
    unknown = set(entry) - {"model", "type", "reasoningEffort", "reasoningTokens", *_FIELDS}
    if unknown:
        raise SettingsError(f"deployment {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    model = entry.get("model")
    if not isinstance(model, str) or not model:
        raise SettingsError(f"deployment {name!r}: 'model' must be a non-empty string")
    values: dict[str, Any] = {}
    for key, attribute in _FIELDS.items():
        value = entry.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SettingsError(f"deployment {name!r}: {key!r} must be a positive integer, not {jsonenc.text(value)}")
        values[attribute] = value
    try:
        kind = DeploymentType(entry.get("type", "standard"))
    except ValueError:
        raise SettingsError(f"deployment {name!r}: 'type' must be 'standard' or 'provisioned'") from None
    if kind is DeploymentType.PROVISIONED and "ptu" not in values:
        raise SettingsError(f"deployment {name!r}: a provisioned deployment needs 'ptu'")
    spec = find_model(model)
    where = f"deployment {name!r}"
    override = reasoning.parse_override(where, entry.get("reasoningEffort"), entry.get("reasoningTokens"))
    if override is not None:
        profile = reasoning.profile_for(spec, override)
        if profile is None:
            raise SettingsError(f"{where}: {spec.name} is not a reasoning model; drop reasoningEffort/reasoningTokens")
        if profile.default_effort not in profile.tokens:
            raise SettingsError(f"{where}: {spec.name} has no effort {profile.default_effort!r}")
    return Deployment(name, spec, type=kind, reasoning=override, **values)


def parse_deployments(document: Any) -> dict[str, Deployment]:
    if not isinstance(document, Mapping):
        raise SettingsError("the deployments file must hold a JSON object of deployment name → settings")
    return {name: parse_deployment(name, entry) for name, entry in document.items()}


def load_deployments(path: Path) -> dict[str, Deployment]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"OPENAI_DEPLOYMENT_CONFIG_PATH: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise SettingsError(f"OPENAI_DEPLOYMENT_CONFIG_PATH: {path} is not valid JSON: {error}") from None
    return parse_deployments(document)


class Deployments:
    """Looks up the deployment a request names, inventing one for undefined names when allowed."""

    def __init__(
        self,
        defined: Mapping[str, Deployment],
        *,
        allow_undefined: bool,
        default_chat_model: str,
        default_embedding_model: str,
    ) -> None:
        self.defined = dict(defined)
        self.allow_undefined = allow_undefined
        self._defaults = {
            Operation.CHAT_COMPLETIONS: find_model(default_chat_model),
            Operation.COMPLETIONS: find_model("gpt-35-turbo-instruct"),
            Operation.EMBEDDINGS: find_model(default_embedding_model),
            Operation.RESPONSES: find_model(default_chat_model),
            Operation.TRANSCRIPTIONS: find_model("whisper"),
            Operation.TRANSLATIONS: find_model("whisper"),
            Operation.SPEECH: find_model("tts"),
            Operation.IMAGE_GENERATIONS: find_model("dall-e-3"),
            Operation.IMAGE_EDITS: find_model("gpt-image-1"),
        }
        self._undefined = lru_cache(maxsize=4096)(self._make_undefined)

    def resolve(self, name: str, operation: Operation) -> Deployment:
        deployment = self.defined.get(name)
        if deployment is not None:
            return deployment
        if not self.allow_undefined or not DEPLOYMENT_NAME.fullmatch(name):
            raise errors.deployment_not_found()
        return self._undefined(name, operation)

    def _make_undefined(self, name: str, operation: Operation) -> Deployment:
        """A deployment named after a model (`gpt-4o-mini`) behaves as that model; others as the default."""
        model = known_model(name)
        if model is None or not model.supports(operation):
            model = self._defaults[operation]
        return Deployment(name, model, defined=False)
