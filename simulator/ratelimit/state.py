"""The shared state of one deployment's limits, as every store keeps it: three meters and a JSON form.

The state holds usage only, never the limits themselves, so a deployment reconfigured at runtime keeps its
windows: the new limits are applied to the usage already counted.
"""

from __future__ import annotations

import dataclasses
import json

from simulator.ratelimit.windows import FixedWindow, LeakyBucket, SlidingWindow

TOKEN_WINDOW_SECONDS = 60.0
TOKEN_BUCKET_SECONDS = 0.25


def _tokens() -> SlidingWindow:
    return SlidingWindow(TOKEN_WINDOW_SECONDS, TOKEN_BUCKET_SECONDS)


@dataclasses.dataclass(slots=True)
class MeterState:
    tokens: SlidingWindow = dataclasses.field(default_factory=_tokens)
    requests: FixedWindow = dataclasses.field(default_factory=FixedWindow)
    utilisation: LeakyBucket = dataclasses.field(default_factory=LeakyBucket)

    def to_json(self) -> str:
        document = {"t": self.tokens.to_json(), "r": self.requests.to_json(), "u": self.utilisation.to_json()}
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MeterState:
        document = json.loads(text)
        return cls(
            SlidingWindow.from_json(document.get("t"), TOKEN_WINDOW_SECONDS, TOKEN_BUCKET_SECONDS),
            FixedWindow.from_json(document.get("r")),
            LeakyBucket.from_json(document.get("u")),
        )

    def copy(self) -> MeterState:
        return MeterState.from_json(self.to_json())
