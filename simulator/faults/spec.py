"""The fault syntax, shared by the `x-simulator-fault` header and the `faults` section of the config.

    <fault>[; <param>=<value>]...      e.g.  429; retry-after=5; first=2      cut; after=3; rate=0.25

Faults: 429, 500, 503, 408, reset, cut, prompt-filter, completion-filter, context-length.
When it fires: always (default), `rate=<0..1>` (seeded, deterministic) or `first=<N>` (the first N requests
it sees, then never: what retry tests need). `key=<text>` names the counter, so two tests sharing a
deployment do not share "first N". `delay=<seconds>` waits before acting (a 408 or a reset after a hang).
"""

from __future__ import annotations

import dataclasses
import enum
import math

from simulator.settings import SettingsError


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "429"
    INTERNAL_ERROR = "500"
    UNAVAILABLE = "503"
    TIMEOUT = "408"
    RESET = "reset"
    CUT = "cut"
    PROMPT_FILTER = "prompt-filter"
    COMPLETION_FILTER = "completion-filter"
    CONTEXT_LENGTH = "context-length"


CATEGORIES = ("hate", "sexual", "violence", "self_harm")
SEVERITIES = ("safe", "low", "medium", "high")
# The parameters each fault takes beyond the common ones (rate, first, key, delay).
_PARAMETERS = {
    FaultKind.RATE_LIMIT: {"retry-after"},
    FaultKind.UNAVAILABLE: {"retry-after"},
    FaultKind.CUT: {"after"},
    FaultKind.PROMPT_FILTER: {"category", "severity"},
    FaultKind.COMPLETION_FILTER: {"category", "severity"},
}
_COMMON = {"rate", "first", "key", "delay"}


@dataclasses.dataclass(frozen=True, slots=True)
class FaultRule:
    kind: FaultKind
    text: str  # as written (normalised), shown by GET /++/config and naming its counter
    rate: float | None = None
    first: int | None = None
    key: str | None = None
    delay: float = 0.0
    retry_after: float | None = None
    after: int = 1
    category: str = "violence"
    severity: str = "medium"


def parse_fault(text: str) -> FaultRule:
    """`SettingsError` says what is wrong; the config store turns it into a 400."""
    name, *parameters = (part.strip() for part in text.split(";"))
    try:
        kind = FaultKind(name.lower())
    except ValueError:
        known = ", ".join(kind.value for kind in FaultKind)
        raise SettingsError(f"fault {text!r}: unknown fault {name!r} (one of {known})") from None
    values: dict[str, object] = {}
    for parameter in parameters:
        if not parameter:
            continue
        key, equals, value = (piece.strip() for piece in parameter.partition("="))
        key = key.lower()
        if not equals or key not in _COMMON | _PARAMETERS.get(kind, set()):
            raise SettingsError(f"fault {text!r}: {kind.value} takes no parameter {parameter!r}")
        values[key.replace("-", "_")] = _value(text, key, value)
    if "rate" in values and "first" in values:
        raise SettingsError(f"fault {text!r}: give rate or first, not both")
    normalised = "; ".join([kind.value, *(f"{key.replace('_', '-')}={value}" for key, value in values.items())])
    return FaultRule(kind, normalised, **values)  # type: ignore[arg-type]


def _value(text: str, key: str, value: str) -> object:
    try:
        if key == "key":
            if not value:
                raise ValueError
            return value
        if key in ("category", "severity"):
            allowed = CATEGORIES if key == "category" else SEVERITIES
            if value not in allowed:
                raise ValueError
            return value
        if key in ("first", "after"):
            number = int(value)
            if number < (0 if key == "first" else 1):
                raise ValueError
            return number
        number = float(value)
        if not math.isfinite(number) or number < 0 or (key == "rate" and number > 1):
            raise ValueError
        return number
    except ValueError:
        expected = {
            "rate": "a probability from 0 to 1",
            "first": "a whole number >= 0",
            "after": "a whole number >= 1",
            "category": " | ".join(CATEGORIES),
            "severity": " | ".join(SEVERITIES),
            "key": "a non-empty name",
        }.get(key, "a number of seconds >= 0")
        raise SettingsError(f"fault {text!r}: {key} must be {expected}, not {value!r}") from None
