"""Everything record and replay read from configuration, in one immutable object the app fills from Settings."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from simulator.recording.matchers import MATCHERS


class UnmatchedPolicy(enum.StrEnum):
    """What replay answers when no recording matches a request."""

    ERROR = "error"  # an AOAI-shaped 404 saying no recording matched
    GENERATE = "generate"  # `Replayer.replay` returns None and the caller generates an answer


# Fields that vary per virtual user or per run without changing the shape of the answer. `stream_options` is
# deliberately absent: `include_usage` adds a usage event, so ignoring it would serve the wrong stream shape.
DEFAULT_IGNORED_FIELDS = ("user", "seed")


@dataclasses.dataclass(frozen=True, slots=True)
class RecordingConfig:
    directory: Path = Path("recordings")
    autosave: bool = True
    # Record mode: the real Azure OpenAI resource. No key: Entra ID through DefaultAzureCredential.
    endpoint: str | None = None
    key: str | None = dataclasses.field(default=None, repr=False)
    # Simulator deployment name → upstream deployment name; recordings keep the simulator's name.
    deployment_map: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    connect_timeout: float = 10.0
    # Longest silence between two chunks of an upstream answer.
    read_timeout: float = 120.0
    # Also record upstream 5xx, 401, 403 and 429 answers (replay then serves them).
    record_failures: bool = False
    # Matching: which matchers make up the key, and body fields (dotted paths) left out of the body match.
    match_on: tuple[str, ...] = ("method", "path", "body")
    ignored_fields: tuple[str, ...] = DEFAULT_IGNORED_FIELDS
    # Request bodies whose normalised JSON is longer than this are kept as a SHA-256 only.
    body_hash_threshold: int = 64 * 1024
    unmatched: UnmatchedPolicy = UnmatchedPolicy.ERROR
    # Multiplies recorded delays: 0.5 replays twice as fast, 0 without any delay.
    timing_scale: float = 1.0
    # How often a replaying instance asks the store whether a recording file changed.
    refresh_interval: float = 5.0
    # Blob Storage (either one selects it instead of the directory).
    blob_connection_string: str | None = dataclasses.field(default=None, repr=False)
    blob_account_url: str | None = None
    blob_container: str = "recordings"
    blob_prefix: str = ""

    def __post_init__(self) -> None:
        unknown = [name for name in self.match_on if name not in MATCHERS]
        if unknown:
            raise ValueError(f"unknown matcher(s) {', '.join(unknown)}; known: {', '.join(MATCHERS)}")
        if self.timing_scale < 0:
            raise ValueError("the timing scale factor cannot be negative")
        if self.body_hash_threshold < 0:
            raise ValueError("the body hash threshold cannot be negative")
        if self.refresh_interval < 0:
            raise ValueError("the refresh interval cannot be negative")
        object.__setattr__(self, "deployment_map", MappingProxyType(dict(self.deployment_map)))

    @property
    def uses_blob(self) -> bool:
        return bool(self.blob_connection_string or self.blob_account_url)


def parse_deployment_map(text: str) -> dict[str, str]:
    """`"gpt-4o=prod-gpt4o, emb=text-embedding-3-small"` → a mapping; for a comma-separated setting."""
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        simulated, sep, upstream = (side.strip() for side in pair.partition("="))
        if not sep or not simulated or not upstream:
            raise ValueError(f"deployment mapping entries look like name=upstream-name, not {pair!r}")
        mapping[simulated] = upstream
    return mapping


def parse_names(text: str) -> tuple[str, ...]:
    """A comma-separated setting (ignored fields, matchers) as a tuple, blanks dropped."""
    return tuple(filter(None, (part.strip() for part in text.split(","))))
