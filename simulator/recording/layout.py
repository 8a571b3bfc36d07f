"""Where an interaction's recording lives: `{deployment}/{operation}.yaml`, names that cannot leave the root.

Deployment names come from request paths (or a v1 body's `model`), so they are untrusted: a name is accepted
only if every segment is made of AOAI's deployment-name characters and is not `.` or `..`.
"""

from __future__ import annotations

import re

from simulator import errors
from simulator.context import OpenAIRequest
from simulator.models import Operation

SUFFIX = ".yaml"
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_OPERATION_FILES = {
    Operation.CHAT_COMPLETIONS: "chat-completions",
    Operation.COMPLETIONS: "completions",
    Operation.EMBEDDINGS: "embeddings",
    Operation.RESPONSES: "responses",
    Operation.TRANSCRIPTIONS: "audio-transcriptions",
    Operation.TRANSLATIONS: "audio-translations",
    Operation.SPEECH: "audio-speech",
    Operation.IMAGE_GENERATIONS: "image-generations",
    Operation.IMAGE_EDITS: "image-edits",
}


class UnsafeNameError(ValueError):
    """A recording name that could escape the recordings root or is not a plain name."""


def cassette_name(deployment: str, operation: Operation) -> str:
    """The relative name of the recording file for a deployment's operation."""
    stem = _OPERATION_FILES.get(operation, str(operation.value).lower())
    return check_name(f"{_segment(deployment)}/{stem}{SUFFIX}")


def request_cassette_name(request: OpenAIRequest) -> str:
    """The recording file for `request`; a deployment name that is not a plain name cannot exist in AOAI."""
    try:
        return cassette_name(request.deployment.name, request.operation)
    except UnsafeNameError:
        raise errors.deployment_not_found() from None


MEDIA_FOLDER = "media"
_MEDIA_EXTENSION = re.compile(r"[a-z0-9]{1,8}")


def media_name(cassette: str, digest: str, extension: str) -> str:
    """Where a recording's binary part lives: `{deployment}/media/{sha256}.{extension}`, beside its YAML file."""
    folder = cassette.rpartition("/")[0]
    return check_media_name(f"{folder + '/' if folder else ''}{MEDIA_FOLDER}/{digest}.{extension}")


def check_media_name(name: str) -> str:
    """`name` if it is a safe relative `…/media/<sha256>.<ext>`; `UnsafeNameError` otherwise."""
    *folders, file = name.split("/")
    stem, _, extension = file.partition(".")
    if not folders or folders[-1] != MEDIA_FOLDER or not re.fullmatch(r"[0-9a-f]{64}", stem):
        raise UnsafeNameError(f"not a recording media name: {name!r}")
    if not _MEDIA_EXTENSION.fullmatch(extension):
        raise UnsafeNameError(f"not a recording media extension: {name!r}")
    for part in folders:
        _segment(part)
    return name


def check_name(name: str) -> str:
    """`name` if it is a relative `a/b.yaml` made of safe segments; `UnsafeNameError` otherwise."""
    if not name.endswith(SUFFIX):
        raise UnsafeNameError(f"recording names end with {SUFFIX}: {name!r}")
    for part in name.split("/"):
        _segment(part)
    return name


def _segment(part: str) -> str:
    if not _SEGMENT.fullmatch(part) or part.strip(".") == "":
        raise UnsafeNameError(f"not a safe recording name segment: {part!r}")
    return part
