from __future__ import annotations

import pytest

from simulator.errors import OpenAIError
from simulator.faults import CutStream, FaultConfig, FaultInjector, FilterCompletion, Reset
from simulator.settings import SettingsError
from tests.latency.helpers import make_request


def run(injector: FaultInjector, config: FaultConfig, count: int, **request: object) -> list:
    return [injector.choose(make_request(**request), config) for _ in range(count)]  # type: ignore[arg-type]


def test_first_n_fail_then_succeed_exactly() -> None:
    config = FaultConfig.from_json({"d": ["500; first=3"]})
    decisions = run(FaultInjector(), config, 6, deployment="d")
    assert [decision is not None for decision in decisions] == [True, True, True, False, False, False]
    assert decisions[0].error.status == 500


def test_counters_are_per_deployment() -> None:
    injector = FaultInjector()
    config = FaultConfig.from_json({"*": ["503; first=1"]})
    assert injector.choose(make_request(deployment="a"), config) is not None
    assert injector.choose(make_request(deployment="b"), config) is not None
    assert injector.choose(make_request(deployment="a"), config) is None


def test_seeded_rates_are_deterministic_and_near_the_rate() -> None:
    config = FaultConfig.from_json({"d": ["429; rate=0.25"]})
    first = [d is not None for d in run(FaultInjector(seed=5), config, 2000, deployment="d")]
    second = [d is not None for d in run(FaultInjector(seed=5), config, 2000, deployment="d")]
    other_seed = [d is not None for d in run(FaultInjector(seed=6), config, 2000, deployment="d")]
    assert first == second
    assert first != other_seed
    assert sum(first) / len(first) == pytest.approx(0.25, abs=0.03)


def test_other_deployments_traffic_does_not_change_a_sequence() -> None:
    config = FaultConfig.from_json({"*": ["500; rate=0.5"]})
    alone = [d is not None for d in run(FaultInjector(seed=1), config, 50, deployment="a")]
    injector = FaultInjector(seed=1)
    mixed = []
    for _ in range(50):
        injector.choose(make_request(deployment="b"), config)
        mixed.append(injector.choose(make_request(deployment="a"), config) is not None)
    assert mixed == alone


def test_rules_are_tried_in_order_deployment_before_wildcard() -> None:
    config = FaultConfig.from_json({"*": ["503"], "d": ["429; first=1"]})
    injector = FaultInjector()
    assert injector.choose(make_request(deployment="d"), config).error.status == 429
    assert injector.choose(make_request(deployment="d"), config).error.status == 503


def test_header_comes_first_and_counts_by_key() -> None:
    injector = FaultInjector()
    config = FaultConfig.from_json({"d": ["500"]})
    headers = {"x-simulator-fault": "429; first=2; key=t1"}
    statuses = [injector.choose(make_request(deployment="d", headers=headers), config).error.status for _ in range(3)]
    assert statuses == [429, 429, 500]
    fresh = {"x-simulator-fault": "429; first=2; key=t2"}
    assert injector.choose(make_request(deployment="d", headers=fresh), config).error.status == 429


def test_a_kept_rule_keeps_its_counter_across_config_changes() -> None:
    injector = FaultInjector()
    before = FaultConfig.from_json({"d": ["500; first=1"]})
    after = FaultConfig.from_json({"d": ["500; first=1"], "e": ["503"]})
    assert injector.choose(make_request(deployment="d"), before) is not None
    assert injector.choose(make_request(deployment="d"), after) is None


def test_header_can_be_disabled() -> None:
    injector = FaultInjector(header=None)
    request = make_request(headers={"x-simulator-fault": "500"})
    assert injector.choose(request, FaultConfig()) is None


def test_malformed_header_is_a_400() -> None:
    with pytest.raises(OpenAIError) as caught:
        FaultInjector().choose(make_request(headers={"x-simulator-fault": "teapot"}), FaultConfig())
    assert caught.value.status == 400
    assert "x-simulator-fault: fault 'teapot': unknown fault" in caught.value.message


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("reset; delay=2", Reset(2.0)),
        ("cut; after=3", CutStream(3)),
        ("completion-filter; category=hate; severity=high", FilterCompletion("hate", "high")),
    ],
)
def test_decisions_that_change_the_answer(fault: str, expected: object) -> None:
    decision = FaultInjector().choose(make_request(headers={"x-simulator-fault": fault}), FaultConfig())
    assert decision == expected


def test_completion_filter_results_mark_one_category() -> None:
    results = FilterCompletion("hate", "high").content_filter_results()
    assert results["hate"] == {"filtered": True, "severity": "high"}
    assert results["violence"] == {"filtered": False, "severity": "safe"}


def test_config_round_trip_and_errors() -> None:
    config = FaultConfig.from_json({"d": "429; rate=0.5", "*": ["reset", "cut; after=2"]})
    assert config.to_json() == {"d": ["429; rate=0.5"], "*": ["reset", "cut; after=2"]}
    assert FaultConfig.from_json(config.to_json()) == config
    with pytest.raises(SettingsError, match=r"faults\.d: expected a list"):
        FaultConfig.from_json({"d": [429]})
