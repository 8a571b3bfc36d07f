"""Per-process state of a load test (today: its token tally), kept on Locust's Environment.

Locust hands every listener and user the Environment, so that is where a process's state lives; nothing is kept
in module globals.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from loadtest.tally import TokenTally

if TYPE_CHECKING:
    from locust.env import Environment

_ATTRIBUTE = "aoai_loadtest_session"


@dataclasses.dataclass(slots=True)
class LoadTestSession:
    tally: TokenTally = dataclasses.field(default_factory=TokenTally)


def attach_session(environment: Environment) -> LoadTestSession:
    session = LoadTestSession()
    setattr(environment, _ATTRIBUTE, session)
    return session


def session_of(environment: Environment) -> LoadTestSession:
    session = getattr(environment, _ATTRIBUTE, None)
    if session is None:
        raise RuntimeError("no load-test session: call loadtest.reporting.install(events) in the locustfile")
    return session
