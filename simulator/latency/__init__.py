"""Latency: a per-deployment model of how long answers take, and a pacer that keeps to it."""

from simulator.latency.config import LatencyConfig, LegacyLatency, MeanStd
from simulator.latency.model import LatencyModel, LatencyPlan
from simulator.latency.pacing import Pacer, TickTimer, Timer
from simulator.latency.profile import FAMILY_DEFAULTS, LatencyProfile

__all__ = [
    "FAMILY_DEFAULTS",
    "LatencyConfig",
    "LatencyModel",
    "LatencyPlan",
    "LatencyProfile",
    "LegacyLatency",
    "MeanStd",
    "Pacer",
    "TickTimer",
    "Timer",
]
