"""How long to wait after a 429, following the headers Azure OpenAI sends the way the `openai` SDK reads them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks for: `retry-after-ms` first, then `retry-after` (seconds); None if neither parses.

    `headers` must look names up case-insensitively, as requests' and geventhttpclient's header maps do.
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        seconds = _number(headers.get(name))
        if seconds is not None:
            return max(seconds * scale, 0.0)
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int
    max_wait: float

    def delay(self, headers: Mapping[str, str], attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None once the retries are spent.

        Without a usable header, back off exponentially (1, 2, 4 … s); always cap at `max_wait`.
        """
        if attempt >= self.max_retries:
            return None
        asked = retry_after(headers)
        wait = asked if asked is not None else 2.0**attempt
        return min(wait, self.max_wait)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None  # an HTTP-date: Azure OpenAI does not send one, and the default back-off covers it
    return value if math.isfinite(value) else None
