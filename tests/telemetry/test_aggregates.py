"""The metrics' histograms summed in the process and read by OpenTelemetry readers: grouped by each metric's
own dimensions, cumulative or delta as the reader asks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

from simulator.telemetry.aggregates import Aggregates
from simulator.telemetry.exporters import Exporters, TraceBudget, with_histograms
from simulator.telemetry.outcome import Outcome

OK = Outcome(
    deployment="chat", operation="ChatCompletions_Create", mode="generate", status=200, reason=None,
    prompt_tokens=10, completion_tokens=40, requested_tokens=60, base=0.002, full=0.3, ttft=0.1,
    between_tokens=0.005, request_id="a", stream=True,
)  # fmt: skip
REFUSED = dataclasses.replace(OK, status=429, reason="requests", completion_tokens=0, ttft=None, between_tokens=None)


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


@pytest.mark.parametrize("temporality", [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA])
def test_histograms_reach_a_reader_by_their_own_dimensions(temporality: AggregationTemporality) -> None:
    aggregates = Aggregates()
    reader = with_histograms(InMemoryMetricReader, aggregates)(preferred_temporality={Histogram: temporality})
    exporters = Exporters(MeterProvider(metric_readers=[reader]), aggregates)
    for _ in range(3):
        aggregates.record(OK, None)
    aggregates.record(REFUSED, 1.0)
    first = points(reader)
    full = first["aoai-api-simulator.latency.full"]
    [full_ok, full_refused] = sorted(full, key=lambda point: point.attributes["status_code"])
    assert full_ok.attributes == {"deployment": "chat", "status_code": 200, "mode": "generate"}
    assert full_ok.count == 3 and full_ok.sum == pytest.approx(0.9) and full_refused.count == 1
    used = {p.attributes["token_type"]: p for p in first["aoai-api-simulator.tokens.used"]}
    assert used["prompt"].sum == 30 and used["completion"].sum == 120  # the 429 used nothing
    [limits] = first["aoai-api-simulator.limits"]
    assert limits.attributes == {"deployment": "chat", "reason": "requests", "mode": "generate"} and limits.count == 1
    [limited] = first["aoai-api-simulator.rate-limited"]
    assert limited.value == 1 and limited.attributes["reason"] == "requests"
    assert [p.value for p in first["aoai-api-simulator.streams.open"]] == [0]
    aggregates.record(OK, None)
    [again] = [p for p in points(reader)["aoai-api-simulator.latency.full"] if p.attributes["status_code"] == 200]
    assert again.count == (1 if temporality is AggregationTemporality.DELTA else 4)
    assert sum(again.bucket_counts) == again.count
    exporters.close()


def test_trace_budget_allows_so_many_per_second() -> None:
    budget = TraceBudget(2)
    assert [budget.allows(10.0), budget.allows(10.1), budget.allows(10.2), budget.allows(11.0)] == [
        True, True, False, True,
    ]  # fmt: skip
    assert not TraceBudget(0).allows(1.0)
