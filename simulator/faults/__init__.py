"""Fault injection: AOAI errors, hung and reset connections, cut streams and content filtering on demand."""

from simulator.faults.decisions import CutStream, Decision, FilterCompletion, Refuse, Reset, filter_results
from simulator.faults.injector import HEADER, FaultConfig, FaultInjector
from simulator.faults.spec import FaultKind, FaultRule, parse_fault

__all__ = [
    "HEADER",
    "CutStream",
    "Decision",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "FilterCompletion",
    "Refuse",
    "Reset",
    "filter_results",
    "parse_fault",
]
