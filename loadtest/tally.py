"""Token counts per request name, kept by every Locust process and summed on the master.

Locust aggregates request statistics across workers by itself, but not token counts: workers hand theirs over in
each stats report (`drain` → message → `merge`), so the master ends up with the whole run's tokens.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


def usage_from(body: Any) -> Usage | None:
    """The `usage` of a response body or stream chunk (embeddings report prompt tokens only), if it has one."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


@dataclasses.dataclass(slots=True)
class TokenCount:
    responses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    without_usage: int = 0  # successful responses that reported no usage: their tokens are missing

    def add(self, other: TokenCount) -> None:
        self.responses += other.responses
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.without_usage += other.without_usage

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclasses.dataclass(slots=True)
class TokenTally:
    counts: dict[str, TokenCount] = dataclasses.field(default_factory=dict)

    def record(self, name: str, usage: Usage | None) -> None:
        """Count one successful response of the request called `name`."""
        count = self.counts.setdefault(name, TokenCount())
        count.responses += 1
        if usage is None:
            count.without_usage += 1
        else:
            count.prompt_tokens += usage.prompt_tokens
            count.completion_tokens += usage.completion_tokens

    def merge(self, other: TokenTally) -> None:
        for name, count in other.counts.items():
            self.counts.setdefault(name, TokenCount()).add(count)

    def drain(self) -> TokenTally:
        """Hand over what was counted since the last drain (a worker's share of the next stats report)."""
        taken = TokenTally(self.counts)
        self.counts = {}
        return taken

    def total(self) -> TokenCount:
        total = TokenCount()
        for count in self.counts.values():
            total.add(count)
        return total

    def to_message(self) -> dict[str, dict[str, int]]:
        return {name: dataclasses.asdict(count) for name, count in self.counts.items()}

    @classmethod
    def from_message(cls, message: dict[str, dict[str, int]] | None) -> TokenTally:
        return cls({name: TokenCount(**count) for name, count in (message or {}).items()})
