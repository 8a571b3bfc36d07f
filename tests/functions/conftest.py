"""The real Functions worker behind the stand-in host: one compiled worker copy per session, one worker per module."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.functions_host import FunctionsHost, prepare_worker, worker_available

REPO = Path(__file__).resolve().parents[2]
KEY = "worker-key"


def app_settings(**overrides: str) -> dict[str, str]:
    """The worker's environment as Core Tools builds it: local.settings.sample.json's Values, then the test's own."""
    values = json.loads((REPO / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    return {**values, "SIMULATOR_API_KEY": KEY, "SIMULATOR_LATENCY_ENABLED": "false", **overrides}


@pytest.fixture(scope="session")
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not worker_available():
        pytest.skip("../shared/functions-worker is not beside this checkout")
    return prepare_worker(tmp_path_factory.mktemp("functions-worker"))


@contextmanager
def functions_host(worker_dir: Path, settings: Mapping[str, str]) -> Iterator[FunctionsHost]:
    """A started host; on the way out, fail on anything the worker logged at error level or printed as a traceback."""
    with FunctionsHost(REPO, worker_dir, settings) as host:
        yield host
    assert_clean(host)


def assert_clean(host: FunctionsHost) -> None:
    errors = [line for line in host.logs if line.startswith(("Error", "Critical"))]
    printed = "".join(host.output)
    assert not errors, "\n".join(errors)
    assert "Traceback" not in printed, printed
