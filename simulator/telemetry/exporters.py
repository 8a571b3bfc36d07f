"""Where metrics and traces go, chosen by settings: Application Insights (azure-monitor-opentelemetry, with
Entra ID when `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says `Authorization=AAD`), OTLP over HTTP (the
standard `OTEL_*` variables), Prometheus text for `GET /++/metrics`; any together, or none.

None is the default, and then nothing here is imported: no SDK, no exporter thread, nothing per request.
Metrics share one meter provider whatever the destinations: its readers add the histograms summed in
`Aggregates` to each collection. Traces: one server span per request, at most `SIMULATOR_TRACES_PER_SECOND`
of them (a span costs about a quarter of a chat request's CPU).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from simulator.context import OpenAIRequest
from simulator.settings import Settings
from simulator.telemetry.aggregates import OPEN_STREAMS, RATE_LIMITED, Aggregates
from simulator.telemetry.outcome import Outcome, rate_limit_cost

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData
    from opentelemetry.trace import Tracer

logger = logging.getLogger(__name__)
SERVICE_NAME = "aoai-simulator"
# The distro's library instrumentations are off: the simulator traces requests itself (with their AOAI
# request id), and tracing every Table Storage call of the rate limiter would cost more than the requests.
_INSTRUMENTATIONS = ("azure_sdk", "django", "fastapi", "flask", "psycopg2", "requests", "urllib", "urllib3")


class TraceBudget:
    """At most `per_second` spans in each second: one comparison per request decides."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._left = 0.0
        self._until = 0.0

    def allows(self, now: float) -> bool:
        if now >= self._until:
            self._until, self._left = now + 1.0, self.per_second
        if self._left >= 1:
            self._left -= 1
            return True
        return False


class Exporters:
    """The providers this simulator exports through, and the per-request sums the metrics are read from."""

    def __init__(
        self,
        meter_provider: Any,
        aggregates: Aggregates,
        tracer_provider: Any = None,
        *,
        prometheus: Any = None,
        traces_per_second: float = 10.0,
    ) -> None:
        from opentelemetry.metrics import Observation

        self.meter_provider = meter_provider
        self.aggregates = aggregates
        self.tracer_provider = tracer_provider
        tracing = tracer_provider is not None and traces_per_second > 0
        self.tracer: Tracer | None = tracer_provider.get_tracer(SERVICE_NAME) if tracing else None
        self.budget = TraceBudget(traces_per_second)
        self.prometheus = prometheus
        meter = meter_provider.get_meter(SERVICE_NAME)

        def rate_limited(options: Any) -> list[Any]:
            counts = list(aggregates.rate_limited.items())
            return [Observation(n, {"deployment": d, "reason": r, "mode": m}) for (d, r, m), n in counts]

        def open_streams(options: Any) -> list[Any]:
            """Every deployment that has had a request, so that a collection is never empty once there were
            requests (the SDK hands a reader nothing to add the histograms to when it is)."""
            return [Observation(n, {"deployment": d}) for d, n in aggregates.streams_by_deployment().items()]

        meter.create_observable_counter(RATE_LIMITED, [rate_limited], unit="requests", description="429s by reason")
        meter.create_observable_up_down_counter(
            OPEN_STREAMS, [open_streams], unit="streams", description="Streams being sent"
        )

    def record(self, outcome: Outcome, request: OpenAIRequest) -> None:
        self.aggregates.record(outcome, rate_limit_cost(request))
        if self.tracer is not None and self.budget.allows(time.monotonic()):
            self._trace(outcome, request)

    def stream_opened(self, deployment: str) -> None:
        self.aggregates.stream_opened(deployment)

    def stream_closed(self, deployment: str) -> None:
        self.aggregates.stream_closed(deployment)

    def _trace(self, outcome: Outcome, request: OpenAIRequest) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        ended = time.time_ns()
        span = self.tracer.start_span(  # type: ignore[union-attr]
            f"{outcome.operation} {outcome.deployment}",
            kind=SpanKind.SERVER,
            start_time=ended - int(outcome.full * 1e9),
            attributes={
                "aoai.request_id": outcome.request_id,
                "aoai.deployment": outcome.deployment,
                "aoai.operation": outcome.operation,
                "aoai.mode": outcome.mode,
                "aoai.stream": outcome.stream,
                "aoai.prompt_tokens": outcome.prompt_tokens,
                "aoai.completion_tokens": outcome.completion_tokens,
                "aoai.rate_limit_reason": outcome.reason or "",
                "http.request.method": request.method,
                "url.path": request.path,
                "http.response.status_code": outcome.status,
            },
        )
        if outcome.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=ended)

    def prometheus_text(self) -> bytes | None:
        """The Prometheus exposition of every metric (None when Prometheus is off)."""
        if self.prometheus is None:
            return None
        from prometheus_client import REGISTRY, generate_latest

        return generate_latest(REGISTRY)

    def close(self) -> None:
        """Flush what is pending and stop the exporters' threads."""
        try:
            self.meter_provider.shutdown()
            if self.tracer_provider is not None:
                self.tracer_provider.shutdown()
        except Exception:  # a failing exporter must not stop the simulator from closing
            logger.exception("closing the telemetry exporters failed")


def open_exporters(settings: Settings) -> Exporters | None:
    """The exporters the settings ask for; None when they ask for none."""
    if not (settings.applicationinsights_connection_string or settings.otlp_endpoint or settings.metrics_prometheus):
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    aggregates = Aggregates()
    readers: list[Any] = []
    processors: list[Any] = []
    prometheus = None
    connection_string = settings.applicationinsights_connection_string
    if connection_string:
        from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter

        credential = entra_credential(os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ""))
        exporter = AzureMonitorMetricExporter(connection_string=connection_string, credential=credential)
        readers.append(with_histograms(PeriodicExportingMetricReader, aggregates)(exporter))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        readers.append(with_histograms(PeriodicExportingMetricReader, aggregates)(OTLPMetricExporter()))
        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    if settings.metrics_prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        prometheus = with_histograms(PrometheusMetricReader, aggregates)()
        readers.append(prometheus)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    meter_provider = MeterProvider(metric_readers=readers, resource=resource)
    if connection_string:
        tracer_provider = _azure_monitor(connection_string, resource, processors)
    elif processors:
        from opentelemetry.sdk.trace import TracerProvider

        tracer_provider = TracerProvider(resource=resource)
        for processor in processors:
            tracer_provider.add_span_processor(processor)
    else:
        tracer_provider = None
    return Exporters(
        meter_provider,
        aggregates,
        tracer_provider,
        prometheus=prometheus,
        traces_per_second=settings.traces_per_second,
    )


def with_histograms(reader_class: type, aggregates: Aggregates) -> Any:
    """`reader_class` (a MetricReader) adding the aggregates' histograms to each collection it receives, in
    the temporality it asks for histograms in (delta for Application Insights, cumulative for Prometheus)."""
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    class Reader(reader_class):  # type: ignore[misc, valid-type]
        def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
            temporality = next(
                (value for kind, value in self._instrument_class_temporality.items() if kind.__name__ == "_Histogram"),
                AggregationTemporality.CUMULATIVE,
            )
            if not hasattr(self, "_histograms"):
                self._histograms = HistogramPoints(aggregates, temporality)
            super()._receive_metrics(self._histograms.added_to(metrics_data), timeout_millis=timeout_millis, **kwargs)

    Reader.__name__ = Reader.__qualname__ = f"{reader_class.__name__}WithHistograms"
    return Reader


class HistogramPoints:
    """Turns the aggregates into OpenTelemetry histogram points for one reader, remembering what it sent
    last when the reader wants deltas."""

    def __init__(self, aggregates: Aggregates, temporality: Any) -> None:
        from opentelemetry.sdk.metrics.export import AggregationTemporality

        self.aggregates = aggregates
        self.temporality = temporality
        self.delta = temporality == AggregationTemporality.DELTA
        self._sent: dict[tuple[str, Any], tuple[list[int], float, int]] = {}
        self._sent_at = aggregates.started_ns

    def added_to(self, metrics_data: MetricsData) -> MetricsData:
        from opentelemetry.sdk.metrics.export import ScopeMetrics
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        metrics = self.metrics()
        if metrics and metrics_data.resource_metrics:
            resource_metrics = metrics_data.resource_metrics[0]
            scope = next((s for s in resource_metrics.scope_metrics if s.scope.name == SERVICE_NAME), None)
            if scope is None:
                scope = ScopeMetrics(scope=InstrumentationScope(SERVICE_NAME), metrics=[], schema_url="")
                resource_metrics.scope_metrics.append(scope)  # type: ignore[attr-defined]
            scope.metrics.extend(metrics)  # type: ignore[attr-defined]
        return metrics_data

    def metrics(self) -> list[Any]:
        from opentelemetry.sdk.metrics.export import Histogram, HistogramDataPoint, Metric

        now = time.time_ns()
        start = self._sent_at if self.delta else self.aggregates.started_ns
        points: dict[Any, list[Any]] = {}
        for spec, attributes, total in self.aggregates.distributions():
            counts, amount, count = total.counts, total.sum, total.count
            if self.delta:
                before = self._sent.get((spec.name, attributes))
                self._sent[(spec.name, attributes)] = (counts, amount, count)
                if before is not None:
                    counts = [now_count - then for now_count, then in zip(counts, before[0], strict=True)]
                    amount, count = amount - before[1], count - before[2]
                if not count:
                    continue
            point = HistogramDataPoint(
                attributes=dict(attributes),
                start_time_unix_nano=start,
                time_unix_nano=now,
                count=count,
                sum=amount,
                bucket_counts=counts,
                explicit_bounds=list(total.bounds),
                min=total.min,  # over the whole run: the aggregates keep no per-interval extremes
                max=total.max,
            )
            points.setdefault(spec, []).append(point)
        self._sent_at = now
        return [
            Metric(spec.name, spec.description, spec.unit, Histogram(data, self.temporality))
            for spec, data in points.items()
        ]


def _azure_monitor(connection_string: str, resource: Any, processors: list[Any]) -> Any:
    """Traces and logs through the distro (it sets the process's global providers); its metrics are off, as
    the meter provider above sends them. Its performance counters are off too: they add a processor to every
    span and log record, for counters that only its own (disabled) meter provider would send."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import trace

    configure_azure_monitor(
        connection_string=connection_string,
        credential=entra_credential(os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "")),
        resource=resource,
        logger_name="simulator",
        disable_metrics=True,
        span_processors=processors,
        enable_live_metrics=False,
        enable_performance_counters=False,
        instrumentation_options={name: {"enabled": False} for name in _INSTRUMENTATIONS},
        **distro_sampling(os.environ),
    )
    return trace.get_tracer_provider()


def distro_sampling(environ: Mapping[str, str]) -> dict[str, float]:
    """Every span the trace budget lets through is sampled, unless `OTEL_TRACES_SAMPLER` names a sampler.

    The distro's default sampler is rate-limited to 5 spans a second over a 0.1 s window that starts empty:
    it would halve the default `SIMULATOR_TRACES_PER_SECOND` and drop about half of the spans of the first
    tenth of a second after start (a test's only request, or the first of a load test). The simulator's
    budget is the cap; a sampler named in the environment still applies (the distro reads it itself).
    """
    return {} if environ.get("OTEL_TRACES_SAMPLER") else {"sampling_ratio": 1.0}


def entra_credential(authentication: str) -> Any:
    """The credential `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` asks for, as the Functions host reads it:
    `Authorization=AAD` with an optional `ClientId=` (a user-assigned identity). None: the connection
    string's key is used (local authentication)."""
    fields = dict(part.split("=", 1) for part in authentication.split(";") if "=" in part)
    if fields.get("Authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = fields.get("ClientId")
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
