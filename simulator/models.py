"""The model catalogue: what each model family can do and how Azure OpenAI accounts for it.

Adding a model is one `ModelSpec` in `CATALOGUE`. Lookup accepts dated or suffixed names
(`gpt-4o-2024-08-06` → `gpt-4o`) by longest known prefix; anything else gets a default spec of the
right kind and a one-time warning, so an unknown model never breaks a request.
"""

from __future__ import annotations

import dataclasses
import enum
import logging

logger = logging.getLogger(__name__)


class ModelKind(enum.StrEnum):
    CHAT = "chat"
    COMPLETION = "completion"
    EMBEDDING = "embedding"
    TRANSCRIPTION = "transcription"
    SPEECH = "speech"
    IMAGE = "image"


class Operation(enum.StrEnum):
    """The operations the simulator serves; values are AOAI's operation names in 429 messages."""

    CHAT_COMPLETIONS = "ChatCompletions_Create"
    COMPLETIONS = "Completions_Create"
    EMBEDDINGS = "Embeddings_Create"
    RESPONSES = "Responses_Create"
    TRANSCRIPTIONS = "Transcriptions_Create"
    TRANSLATIONS = "Translations_Create"
    SPEECH = "Speech_Create"
    IMAGE_GENERATIONS = "ImageGenerations_Create"
    IMAGE_EDITS = "ImageEdits_Create"

    @property
    def noun(self) -> str:
        """How AOAI names the operation in `OperationNotSupported` messages."""
        return _NOUNS[self]

    @property
    def multipart(self) -> bool:
        """Whether the request is multipart/form-data (an uploaded file) rather than JSON."""
        return self in _MULTIPART


_NOUNS = {
    Operation.CHAT_COMPLETIONS: "chatCompletion",
    Operation.COMPLETIONS: "completion",
    Operation.EMBEDDINGS: "embeddings",
    Operation.RESPONSES: "responses",
    Operation.TRANSCRIPTIONS: "transcription",
    Operation.TRANSLATIONS: "translation",
    Operation.SPEECH: "speech",
    Operation.IMAGE_GENERATIONS: "imageGeneration",
    Operation.IMAGE_EDITS: "imageEdit",
}
_MULTIPART = frozenset({Operation.TRANSCRIPTIONS, Operation.TRANSLATIONS, Operation.IMAGE_EDITS})

_OPERATIONS = {
    ModelKind.CHAT: frozenset({Operation.CHAT_COMPLETIONS, Operation.RESPONSES}),
    ModelKind.COMPLETION: frozenset({Operation.COMPLETIONS}),
    ModelKind.EMBEDDING: frozenset({Operation.EMBEDDINGS}),
    ModelKind.TRANSCRIPTION: frozenset({Operation.TRANSCRIPTIONS, Operation.TRANSLATIONS}),
    ModelKind.SPEECH: frozenset({Operation.SPEECH}),
    ModelKind.IMAGE: frozenset({Operation.IMAGE_GENERATIONS, Operation.IMAGE_EDITS}),
}


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    kind: ModelKind
    encoding: str = "o200k_base"
    context_window: int = 128_000
    max_output_tokens: int = 16_384
    # Reasoning (o-series, gpt-5) models reject `max_tokens` and want `max_completion_tokens`.
    reasoning: bool = False
    embedding_dimensions: int | None = None
    # text-embedding-3 models accept `dimensions`; ada-002 does not.
    supports_dimensions: bool = False
    # Standard deployments: requests per minute granted per 1,000 tokens per minute of quota.
    requests_per_1000_tpm: float = 6.0
    # Tokens charged against the TPM budget for the answer when a request sets no max_tokens (measured, DESIGN.md §4).
    default_token_cost: int = 16
    # Whether the charge on arrival adds an estimate of the prompt, ceil(characters / 4): gpt-4o was charged 2008
    # for max_tokens 2000, gpt-35-turbo exactly max_tokens (DESIGN.md §4).
    charges_prompt_characters: bool = True
    # Provisioned deployments: input tokens per minute per PTU, and how many input tokens an output counts as.
    ptu_input_tpm: int | None = None
    output_token_weight: float = 4.0
    # Operations of its kind that this model does not serve (gpt-4o-transcribe does not translate).
    excluded_operations: frozenset[Operation] = frozenset()

    @property
    def operations(self) -> frozenset[Operation]:
        return _OPERATIONS[self.kind] - self.excluded_operations

    def supports(self, operation: Operation) -> bool:
        return operation in self.operations


def _chat(name: str, **kwargs: object) -> ModelSpec:
    return ModelSpec(name, ModelKind.CHAT, **kwargs)  # type: ignore[arg-type]


def _reasoning(name: str, **kwargs: object) -> ModelSpec:
    kwargs.setdefault("context_window", 200_000)
    kwargs.setdefault("max_output_tokens", 100_000)
    return ModelSpec(name, ModelKind.CHAT, reasoning=True, **kwargs)  # type: ignore[arg-type]


def _embedding(name: str, dimensions: int, *, variable: bool) -> ModelSpec:
    return ModelSpec(
        name,
        ModelKind.EMBEDDING,
        encoding="cl100k_base",
        context_window=8_191,
        max_output_tokens=0,
        default_token_cost=0,
        embedding_dimensions=dimensions,
        supports_dimensions=variable,
    )


def _media(name: str, kind: ModelKind, **kwargs: object) -> ModelSpec:
    return ModelSpec(name, kind, max_output_tokens=0, default_token_cost=0, **kwargs)  # type: ignore[arg-type]


CATALOGUE: tuple[ModelSpec, ...] = (
    # 648 was measured in total with max_tokens unset, for the same short prompt that added 8 to max_tokens 2000.
    _chat("gpt-4o", default_token_cost=640, ptu_input_tpm=2_500),
    _chat("gpt-4o-mini", default_token_cost=640, ptu_input_tpm=37_000),
    _chat("gpt-4.1", context_window=1_047_576, max_output_tokens=32_768, ptu_input_tpm=3_000),
    _chat("gpt-4.1-mini", context_window=1_047_576, max_output_tokens=32_768, ptu_input_tpm=14_900),
    _chat("gpt-4.1-nano", context_window=1_047_576, max_output_tokens=32_768, ptu_input_tpm=59_400),
    _reasoning("gpt-5", context_window=400_000, max_output_tokens=128_000, ptu_input_tpm=4_750, output_token_weight=8),
    _reasoning("gpt-5-mini", context_window=400_000, max_output_tokens=128_000, output_token_weight=8),
    _reasoning("gpt-5-nano", context_window=400_000, max_output_tokens=128_000, output_token_weight=8),
    _chat("gpt-5-chat", context_window=128_000, max_output_tokens=16_384, output_token_weight=8),
    _reasoning("o1", requests_per_1000_tpm=1 / 6),
    _reasoning("o1-mini", context_window=128_000, max_output_tokens=65_536, requests_per_1000_tpm=0.1),
    _reasoning("o3", requests_per_1000_tpm=1.0),
    _reasoning("o3-mini", requests_per_1000_tpm=0.1),
    _reasoning("o4-mini", requests_per_1000_tpm=1.0),
    _chat(
        "gpt-35-turbo",
        encoding="cl100k_base",
        context_window=16_385,
        max_output_tokens=4_096,
        charges_prompt_characters=False,
    ),
    _chat(
        "gpt-35-turbo-16k",
        encoding="cl100k_base",
        context_window=16_385,
        max_output_tokens=4_096,
        charges_prompt_characters=False,
    ),
    _chat("gpt-4", encoding="cl100k_base", context_window=8_192, max_output_tokens=8_192),
    _chat("gpt-4-32k", encoding="cl100k_base", context_window=32_768, max_output_tokens=32_768),
    _chat("gpt-4-turbo", encoding="cl100k_base", context_window=128_000, max_output_tokens=4_096),
    ModelSpec(
        "gpt-35-turbo-instruct",
        ModelKind.COMPLETION,
        encoding="cl100k_base",
        context_window=4_097,
        max_output_tokens=4_097,
    ),
    _embedding("text-embedding-ada-002", 1536, variable=False),
    _embedding("text-embedding-3-small", 1536, variable=True),
    _embedding("text-embedding-3-large", 3072, variable=True),
    _media("whisper", ModelKind.TRANSCRIPTION, encoding="cl100k_base"),
    # The gpt-4o transcribers answer json or text only, count tokens rather than seconds, and can stream.
    _media("gpt-4o-transcribe", ModelKind.TRANSCRIPTION, excluded_operations=frozenset({Operation.TRANSLATIONS})),
    _media("gpt-4o-mini-transcribe", ModelKind.TRANSCRIPTION, excluded_operations=frozenset({Operation.TRANSLATIONS})),
    # Azure names the OpenAI text-to-speech models tts and tts-hd; both spellings are catalogued.
    _media("tts", ModelKind.SPEECH),
    _media("tts-hd", ModelKind.SPEECH),
    _media("tts-1", ModelKind.SPEECH),
    _media("tts-1-hd", ModelKind.SPEECH),
    _media("gpt-4o-mini-tts", ModelKind.SPEECH),
    _media("dall-e-3", ModelKind.IMAGE, encoding="cl100k_base", excluded_operations=frozenset({Operation.IMAGE_EDITS})),
    _media("gpt-image-1", ModelKind.IMAGE),
    _media("gpt-image-1-mini", ModelKind.IMAGE),
)

_BY_NAME = {spec.name: spec for spec in CATALOGUE}
# Longest names first, so `gpt-4o-mini-2024-07-18` resolves to gpt-4o-mini, not gpt-4o.
_PREFIXES = sorted(_BY_NAME, key=len, reverse=True)
_warned: set[str] = set()


def known_model(name: str) -> ModelSpec | None:
    """The spec for `name` or a dated/suffixed variant of a catalogued model; None when unknown."""
    key = name.lower().replace("gpt-3.5", "gpt-35")
    spec = _BY_NAME.get(key)
    if spec is not None:
        return spec
    for prefix in _PREFIXES:
        if key.startswith(prefix + "-"):
            return dataclasses.replace(_BY_NAME[prefix], name=name)
    return None


def find_model(name: str) -> ModelSpec:
    """The spec for `name`, tolerating version suffixes and unknown names."""
    spec = known_model(name)
    if spec is not None:
        return spec
    key = name.lower()
    kind = ModelKind.EMBEDDING if "embed" in key else ModelKind.CHAT
    if name not in _warned:
        _warned.add(name)
        logger.warning("model %r is not in the catalogue; serving it as a default %s model", name, kind.value)
    if kind is ModelKind.EMBEDDING:
        return dataclasses.replace(_BY_NAME["text-embedding-3-small"], name=name, supports_dimensions=False)
    return ModelSpec(name, kind)
