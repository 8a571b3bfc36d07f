"""The typed per-request context that flows from transport to generators, limits and latency."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from simulator.deployments import Deployment
from simulator.models import ModelSpec, Operation


class Surface(enum.StrEnum):
    CLASSIC = "classic"  # /openai/deployments/{deployment}/...?api-version=
    V1 = "v1"  # /openai/v1/... with the deployment in the body's `model`


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """A file sent in a multipart/form-data request (audio to transcribe, an image to edit)."""

    filename: str
    content_type: str
    data: bytes
    sha256: str  # "" in generate mode, where nothing matches on it


@dataclasses.dataclass(slots=True)
class OpenAIRequest:
    """One parsed inference request. `body` is the decoded JSON, or for a multipart request its form fields with
    each file as `{filename, sha256, size}` (the bytes are in `files`); `raw_body` the bytes as received."""

    operation: Operation
    deployment: Deployment
    surface: Surface
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    raw_body: bytes
    api_version: str | None
    received_at: float  # time.monotonic() when the request arrived
    _: dataclasses.KW_ONLY  # what follows is filled in later, by name: a new field cannot shift the others
    request_id: str = ""  # the answer's apim-request-id / x-request-id
    # Filled in by the pipeline as it learns them; limits, latency and telemetry read them.
    prompt_tokens: int | None = None
    # Responses API: tokens of the earlier turns a `previous_response_id` continues, known before parsing.
    history_tokens: int = 0
    added_latency: float = 0.0  # seconds of modelled latency and fault delay added to a whole answer
    injected_fault: bool = False  # a fault rule chose the error answer
    files: Mapping[str, Upload] = dataclasses.field(default_factory=dict)
    # Media work the latency model charges for: seconds of audio heard or spoken, images drawn.
    audio_seconds: float = 0.0
    images: int = 0

    @property
    def model(self) -> ModelSpec:
        return self.deployment.model

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def streamed(self) -> bool:
        """Whether the answer is sent as a stream, holding a connection while it plays out: `stream: true`, or
        speech, whose audio always streams as it is spoken."""
        return self.operation is Operation.SPEECH or self.body.get("stream") is True
