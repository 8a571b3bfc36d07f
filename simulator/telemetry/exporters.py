"""Where metrics and traces go, chosen by settings: Application Insights (azure-monitor-opentelemetry, with
Entra ID when `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says `Authorization=AAD`), OTLP over HTTP (the
standard `OTEL_*` variables), Prometheus text for `GET /++/metrics`; any together, or none.

None is the default, and then nothing here is imported: no SDK, no exporter thread, nothing per request.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from simulator.context import OpenAIRequest
from simulator.settings import Settings
from simulator.telemetry.instruments import Instruments, views
from simulator.telemetry.outcome import Outcome

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

logger = logging.getLogger(__name__)
SERVICE_NAME = "aoai-simulator"
# The distro's library instrumentations are off: the simulator traces each request itself (with its AOAI
# request id), and tracing every Table Storage call of the rate limiter would cost more than the requests.
_INSTRUMENTATIONS = ("azure_sdk", "django", "fastapi", "flask", "psycopg2", "requests", "urllib", "urllib3")


class Exporters:
    """The meter and tracer providers this simulator exports through, and its instruments."""

    def __init__(self, meter_provider: Any, tracer_provider: Any = None, prometheus: Any = None) -> None:
        self.meter_provider = meter_provider
        self.tracer_provider = tracer_provider
        self.instruments = Instruments(meter_provider.get_meter(SERVICE_NAME))
        self.tracer: Tracer | None = None if tracer_provider is None else tracer_provider.get_tracer(SERVICE_NAME)
        self.prometheus = prometheus

    def record(self, outcome: Outcome, request: OpenAIRequest) -> None:
        self.instruments.record(outcome, request)
        if self.tracer is not None:
            self._trace(outcome, request)

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
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    readers: list[Any] = []
    processors: list[Any] = []
    prometheus = None
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    if settings.metrics_prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        prometheus = PrometheusMetricReader()
        readers.append(prometheus)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    if settings.applicationinsights_connection_string:
        connection_string = settings.applicationinsights_connection_string
        meter_provider, tracer_provider = _azure_monitor(connection_string, resource, readers, processors)
    else:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        meter_provider = MeterProvider(metric_readers=readers, resource=resource, views=views())
        tracer_provider = None
        if processors:
            tracer_provider = TracerProvider(resource=resource)
            for processor in processors:
                tracer_provider.add_span_processor(processor)
    return Exporters(meter_provider, tracer_provider, prometheus)


def _azure_monitor(connection_string: str, resource: Any, readers: list[Any], processors: list[Any]) -> tuple[Any, Any]:
    """The distro sets the process's global providers; OTLP and Prometheus readers join its own."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics, trace

    configure_azure_monitor(
        connection_string=connection_string,
        credential=entra_credential(os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "")),
        resource=resource,
        logger_name="simulator",
        metric_readers=readers,
        span_processors=processors,
        views=views(),
        enable_live_metrics=False,
        instrumentation_options={name: {"enabled": False} for name in _INSTRUMENTATIONS},
    )
    return metrics.get_meter_provider(), trace.get_tracer_provider()


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
