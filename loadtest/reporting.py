"""Locust event listeners: options on the command line, token tallies from workers to the master, the summary.

Workers add their tally (what they counted since the previous report) to each stats report they send; the
master merges them. The summary is printed on Locust's `quit` event, which fires after the master has waited for
the workers' final reports, so the last seconds of the run are included.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from locust.env import Environment
from locust.event import Events
from locust.runners import WorkerRunner
from locust.stats import RequestStats, StatsEntry

from loadtest.options import LoadTestOptions
from loadtest.session import LoadTestSession, attach_session
from loadtest.summary import EntryStats, Latency, RunStats, summarize
from loadtest.tally import TokenTally

REPORT_KEY = "aoai_loadtest_tokens"
console = logging.getLogger("locust.stats_logger")  # where Locust prints its own end-of-run tables


def install(events: Events) -> None:
    """Hook the kit into Locust; call once, from the locustfile."""
    events.init_command_line_parser.add_listener(LoadTestOptions.add_arguments)
    events.init.add_listener(_on_init)


def _on_init(environment: Environment, **_: Any) -> None:
    session = attach_session(environment)
    events = environment.events
    events.report_to_master.add_listener(functools.partial(_send_tokens, session))
    events.worker_report.add_listener(functools.partial(_receive_tokens, session))
    if not isinstance(environment.runner, WorkerRunner):
        events.quit.add_listener(functools.partial(_report, environment, session))


def _send_tokens(session: LoadTestSession, client_id: str, data: dict[str, Any], **_: Any) -> None:
    data[REPORT_KEY] = session.tally.drain().to_message()


def _receive_tokens(session: LoadTestSession, client_id: str, data: dict[str, Any], **_: Any) -> None:
    session.tally.merge(TokenTally.from_message(data.get(REPORT_KEY)))


def run_stats(stats: RequestStats) -> RunStats:
    """Copy what the summary needs out of Locust's statistics (on the master, already summed over workers)."""
    rows = [EntryStats(method, name, _latency(entry)) for (name, method), entry in stats.entries.items()]
    start, end = stats.total.start_time, stats.total.last_request_timestamp
    return RunStats(rows, max(end - start, 0.0) if start and end else 0.0)


def _latency(entry: StatsEntry) -> Latency:
    p50, p90, p99 = (entry.get_response_time_percentile(p) for p in (0.5, 0.9, 0.99))
    return Latency(entry.num_requests, entry.num_failures, round(entry.avg_response_time, 1), p50, p90, p99)


def _report(environment: Environment, session: LoadTestSession, **_: Any) -> None:
    summary = summarize(run_stats(environment.stats), session.tally)
    for line in summary.lines():
        console.info(line)
    target = LoadTestOptions.from_namespace(environment.parsed_options).summary_json
    if target:
        summary.write_json(Path(target))
        console.info(f"  summary written to {target}")
