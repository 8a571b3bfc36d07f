"""What the simulator sees, for people watching a load test: OpenTelemetry metrics and traces (Application
Insights, OTLP, Prometheus), `/++/stats` and the dashboard, and one log line per request. See
docs/observability.md."""

from simulator.telemetry.recorder import Telemetry
from simulator.telemetry.stats import Stats

__all__ = ["Stats", "Telemetry"]
