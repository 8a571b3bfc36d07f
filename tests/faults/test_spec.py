from __future__ import annotations

import pytest

from simulator.faults import FaultKind, parse_fault
from simulator.settings import SettingsError


def test_parses_fault_and_parameters() -> None:
    rule = parse_fault(" 429 ; retry-after=5; first=2 ; key=retry-test")
    assert rule.kind is FaultKind.RATE_LIMIT
    assert (rule.retry_after, rule.first, rule.key, rule.rate) == (5.0, 2, "retry-test", None)
    assert rule.text == "429; retry-after=5.0; first=2; key=retry-test"
    assert parse_fault(rule.text) == rule


def test_defaults() -> None:
    rule = parse_fault("prompt-filter")
    assert (rule.category, rule.severity, rule.delay, rule.first, rule.rate) == ("violence", "medium", 0.0, None, None)
    assert parse_fault("cut").after == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("418", "unknown fault '418'"),
        ("500; after=3", "500 takes no parameter 'after=3'"),
        ("429; rate=1.5", "rate must be a probability from 0 to 1"),
        ("429; rate=0.5; first=1", "rate or first, not both"),
        ("cut; after=0", "after must be a whole number >= 1"),
        ("reset; delay=-1", "delay must be a number of seconds >= 0"),
        ("prompt-filter; category=rude", "category must be hate | sexual | violence | self_harm"),
        ("503; retry-after", "503 takes no parameter 'retry-after'"),
    ],
)
def test_invalid_faults_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_fault(text)
    assert message in str(caught.value)
