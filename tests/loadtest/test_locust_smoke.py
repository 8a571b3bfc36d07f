"""Headless runs of the Locust kit against the local simulator (`python -m simulator`), single and distributed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.server import REPO, SimulatorProcess

LIMITED = "tiny-quota"
DEPLOYMENTS = {LIMITED: {"model": "gpt-4o", "tokensPerMinute": 1000}}  # 6 RPM: the second request trips it
SCENARIOS = {"chat", "chat stream", "embeddings"}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("loadtest") / "deployments.json"
    config.write_text(json.dumps(DEPLOYMENTS))
    with SimulatorProcess({"OPENAI_DEPLOYMENT_CONFIG_PATH": str(config), "SIMULATOR_SEED": "1"}) as process:
        yield process


def locust_command(host: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--host", host, "--only-summary", *args]


def locust_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOADTEST_", "LOCUST_"))}
    return env | settings


def run_locust(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def start_locust(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # the child keeps its own handle
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)


def assert_consistent(summary: dict[str, Any]) -> None:
    """Every successful response was tallied once: a token count lost on its way to the master would show."""
    for name, latency in summary["latency"].items():
        assert summary["tokens_by_request"][name]["responses"] == latency["count"] - latency["failures"], name


def test_headless_mix_reports_tokens_429s_and_percentiles(simulator: SimulatorProcess, tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    command = locust_command(
        simulator.url, "--headless", "-u", "4", "-r", "4", "-t", "4s", "--summary-json", str(target)
    )
    run = run_locust(command, locust_env(LOADTEST_API_KEY=simulator.api_key, LOADTEST_MAX_TOKENS="20"))

    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(target.read_text())
    assert set(summary["latency"]) == SCENARIOS
    assert all(latency["count"] > 0 and latency["failures"] == 0 for latency in summary["latency"].values())
    assert summary["time_to_first_token"]["chat stream"]["count"] > 0
    assert (summary["rate_limited"], summary["rate_limited_share"]) == (0, 0.0)
    tokens = summary["tokens"]
    assert tokens["prompt_per_minute"] > 0 and tokens["completion_per_minute"] > 0
    assert tokens["responses_without_usage"] == 0  # the stream's usage chunk was read
    assert summary["tokens_by_request"]["embeddings"]["completion_tokens"] == 0
    assert_consistent(summary)
    assert "Azure OpenAI load-test summary" in run.stderr + run.stdout


def test_distributed_run_sums_worker_tokens_on_the_master(simulator: SimulatorProcess, tmp_path: Path) -> None:
    target, port = tmp_path / "summary.json", str(free_port())
    master = locust_command(simulator.url, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port)
    master += ["--headless", "--expect-workers", "2", "-u", "4", "-r", "4", "-t", "3s", "--summary-json", str(target)]
    worker = [sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--worker", "--master-port", port]
    worker += ["--master-host", "127.0.0.1"]
    # Only the master has the key: the workers must receive it (and every other option) from the master.
    runs = [(master, locust_env(LOADTEST_API_KEY=simulator.api_key))] + [(worker, locust_env())] * 2
    logs = [tmp_path / f"locust-{index}.log" for index in range(len(runs))]
    processes = [start_locust(command, env, log) for (command, env), log in zip(runs, logs, strict=True)]
    try:
        codes = [process.wait(timeout=60) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    assert codes == [0, 0, 0], logs[0].read_text()[-3000:]
    summary = json.loads(target.read_text())
    assert set(summary["latency"]) == SCENARIOS
    assert summary["tokens"]["total_per_minute"] > 0
    assert_consistent(summary)


def first_429(simulator: SimulatorProcess) -> bool:
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 300}).encode()
    url = f"{simulator.url}/openai/deployments/{LIMITED}/chat/completions?api-version=2024-10-21"
    headers = {"api-key": simulator.api_key, "content-type": "application/json"}
    for _ in range(10):
        try:
            urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10).close()
        except urllib.error.HTTPError as error:
            return error.code == 429
    return False


def test_rate_limited_deployment_is_waited_out_and_counted(simulator: SimulatorProcess, tmp_path: Path) -> None:
    if not first_429(simulator):
        pytest.skip("the simulator does not enforce a deployment's tokensPerMinute yet")
    target = tmp_path / "summary.json"
    command = locust_command(simulator.url, "ChatUser", "--headless", "-u", "2", "-r", "2", "-t", "3s")
    env = locust_env(LOADTEST_API_KEY=simulator.api_key, LOADTEST_CHAT_DEPLOYMENT=LIMITED, LOADTEST_MAX_TOKENS="300")
    run = run_locust([*command, "--summary-json", str(target)], env)

    assert run.returncode == 0, run.stderr[-3000:]  # a 429 that is waited out is not a failure
    summary = json.loads(target.read_text())
    assert summary["rate_limited"] > 0 and summary["rate_limited_share"] > 0
    assert summary["retries_exhausted"] == 0
