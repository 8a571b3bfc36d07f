"""`GET`/`PATCH /++/config` over HTTP: auth, validation, effect on served requests, and sharing between
processes through Table Storage (Azurite).

The memory-backed server is shared by the module, so each test touches only deployments it names itself
and restores what it turns on.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from openai import AzureOpenAI

from simulator.errors import ACCESS_DENIED
from tests.support.azurite import Azurite
from tests.support.server import SimulatorProcess

API_VERSION = "2024-10-21"
MESSAGES = [{"role": "user", "content": "hi"}]
DEPLOYMENTS = {"chat": {"model": "gpt-4o"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """Only defined deployments are served, so a deployment added by PATCH is visibly new."""
    path = tmp_path_factory.mktemp("config") / "deployments.json"
    path.write_text(json.dumps(DEPLOYMENTS))
    env = {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(path), "ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS": "false"}
    with SimulatorProcess(env) as process:
        sdk(process).chat.completions.create(model="chat", messages=MESSAGES, max_tokens=1)  # loads tiktoken
        yield process


def sdk(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


def admin(server: SimulatorProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=10)


def get_config(server: SimulatorProcess) -> dict[str, Any]:
    with admin(server) as http:
        response = http.get("/++/config")
    assert response.status_code == 200
    return response.json()


def patch_config(server: SimulatorProcess, patch: Any) -> httpx.Response:
    with admin(server) as http:
        return http.patch("/++/config", json=patch)


def test_config_needs_the_key(server: SimulatorProcess) -> None:
    before = get_config(server)
    for headers in ({}, {"api-key": "wrong"}, {"authorization": "Bearer wrong"}):
        for method in ("GET", "PATCH"):
            response = httpx.request(method, f"{server.url}/++/config", headers=headers, json={"mode": "replay"})
            assert response.status_code == 401
            assert response.json()["error"] == {"code": "401", "message": ACCESS_DENIED}
    bearer = httpx.get(f"{server.url}/++/config", headers={"authorization": f"Bearer {server.api_key}"})
    assert bearer.status_code == 200 and bearer.json() == before
    assert set(before) == {"mode", "latency", "deployments", "faults"}
    assert before["mode"] == "generate" and before["deployments"]["chat"]["model"] == "gpt-4o"


def test_deployment_added_by_patch_is_served_and_listed(server: SimulatorProcess) -> None:
    client = sdk(server)
    v1 = openai.OpenAI(base_url=f"{server.url}/openai/v1/", api_key=server.api_key, max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="added", messages=MESSAGES, max_tokens=1)
    assert caught.value.code == "DeploymentNotFound"

    response = patch_config(server, {"deployments": {"added": {"model": "gpt-4o-mini", "tokensPerMinute": 10000}}})
    assert response.status_code == 200
    added = {"model": "gpt-4o-mini", "type": "standard", "tokensPerMinute": 10000}
    assert response.json()["deployments"]["added"] == added
    assert get_config(server) == response.json()
    assert client.chat.completions.create(model="added", messages=MESSAGES, max_tokens=1).model == "gpt-4o-mini"
    assert v1.chat.completions.create(model="added", messages=MESSAGES, max_tokens=1).model == "gpt-4o-mini"
    assert {model.id: model.model_extra["model"] for model in v1.models.list()}["added"] == "gpt-4o-mini"

    assert patch_config(server, {"deployments": {"added": None}}).status_code == 200
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="added", messages=MESSAGES, max_tokens=1)
    assert "added" not in {model.id for model in v1.models.list()}


def test_patch_faults(server: SimulatorProcess) -> None:
    client = sdk(server)
    patch = {"deployments": {"faulty": {"model": "gpt-4o"}}, "faults": {"faulty": ["429;retry-after=3", "500"]}}
    response = patch_config(server, patch)
    assert response.status_code == 200
    assert response.json()["faults"]["faulty"] == ["429; retry-after=3.0", "500"]
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="faulty", messages=MESSAGES, max_tokens=1)
    assert caught.value.response.headers["retry-after"] == "3"
    client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=1)  # other deployments unaffected

    assert patch_config(server, {"faults": {"faulty": ["500"]}}).status_code == 200
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="faulty", messages=MESSAGES, max_tokens=1)

    assert patch_config(server, {"faults": {"faulty": None}}).status_code == 200
    assert client.chat.completions.create(model="faulty", messages=MESSAGES, max_tokens=1).usage.completion_tokens == 1
    assert "faulty" not in get_config(server)["faults"]


def test_patch_latency(server: SimulatorProcess) -> None:
    client = sdk(server)
    fixed = {"ttftMs": 300, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": 100, "tokenStdMs": 0}
    patch = {"deployments": {"slow": {"model": "gpt-4o"}}, "latency": {"enabled": True, "deployments": {"slow": fixed}}}
    response = patch_config(server, patch)
    assert response.status_code == 200
    try:
        assert response.json()["latency"]["deployments"]["slow"] == fixed
        started = time.monotonic()
        client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=5)
        assert 0.338 <= time.monotonic() - started < 0.44  # 300 ms + 4 tokens at 100/s, never early
    finally:
        assert patch_config(server, {"latency": {"enabled": False}}).status_code == 200
    started = time.monotonic()
    client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=5)
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        ({"colour": "blue"}, "unknown section(s) colour"),
        ({"mode": "playback"}, "mode must be one of generate, record, replay"),
        ({"faults": {"chat": ["429; rate=2"]}}, "rate must be a probability from 0 to 1"),
        ({"faults": {"chat": ["explode"]}}, "unknown fault 'explode'"),
        ({"latency": {"deployments": {"chat": {"ttftMs": -5}}}}, "chat: 'ttftMs' must be a number >= 0"),
        ({"latency": {"enabled": "yes"}}, "latency.enabled must be true or false"),
        ({"deployments": {"big": {"model": "gpt-4o", "tokensPerMinute": "x"}}}, "'tokensPerMinute' must be a positive"),
        ({"deployments": {"big": {"colour": "gpt-4o"}}}, "deployment 'big': unknown field(s) colour"),
        # One valid section and one invalid one: neither is applied.
        ({"faults": {"chat": ["500"]}, "latency": {"speed": 1}}, "latency: unknown field(s) speed"),
        (["mode", "replay"], "the PATCH body must be a JSON object"),
    ],
)
def test_bad_patch_says_what_is_wrong_and_changes_nothing(server: SimulatorProcess, patch: Any, says: str) -> None:
    before = get_config(server)
    response = patch_config(server, patch)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidConfig"
    assert "nothing was changed" in error["message"] and says in error["message"]
    assert get_config(server) == before
    sdk(server).chat.completions.create(model="chat", messages=MESSAGES, max_tokens=1)  # still served, no fault


def test_patch_that_is_not_json_is_refused(server: SimulatorProcess) -> None:
    before = get_config(server)
    with admin(server) as http:
        response = http.patch("/++/config", content=b"{mode: replay", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert get_config(server) == before


def test_record_mode_needs_an_endpoint(server: SimulatorProcess) -> None:
    before = get_config(server)
    response = patch_config(server, {"mode": "record"})
    assert response.status_code == 400
    assert "AZURE_OPENAI_ENDPOINT" in response.json()["error"]["message"]
    assert get_config(server) == before and before["mode"] == "generate"


def shared_env(azurite: Azurite) -> dict[str, str]:
    """Settings of one simulator deployment whose instances share their runtime config through a fresh table."""
    return {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "RUNTIME_CONFIG_TABLE": f"config{uuid.uuid4().hex[:12]}",
        "RUNTIME_CONFIG_POLL_SECONDS": "0.2",
        "ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS": "false",
        # At INFO the Azure SDK logs every poll's HTTP exchange; the pipe to the test would fill and block the server.
        "LOG_LEVEL": "WARNING",
    }


def wait_for_change(server: SimulatorProcess, old: dict[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
    """Poll GET until the config differs from `old` (bounded; the interval is a poll, not a readiness sleep)."""
    deadline = time.monotonic() + timeout
    while (config := get_config(server)) == old:
        assert time.monotonic() < deadline, f"the change did not arrive within {timeout} s"
        time.sleep(0.05)
    return config


@contextlib.contextmanager
def running(*envs: Mapping[str, str]) -> Iterator[list[SimulatorProcess]]:
    """Simulator processes started side by side (start-up is mostly imports: this halves the wait)."""
    processes = [SimulatorProcess(env) for env in envs]
    try:
        with ThreadPoolExecutor(len(processes)) as pool:
            list(pool.map(SimulatorProcess.start, processes))
        yield processes
    finally:
        for process in processes:
            process.stop()


def test_patch_reaches_every_instance_through_table_storage(azurite: Azurite) -> None:
    env = shared_env(azurite)
    with running(env, env) as (first, second):
        before = get_config(second)
        assert get_config(first) == before

        patch = {"deployments": {"shared": {"model": "gpt-4o-mini"}}, "faults": {"shared": ["503; first=1"]}}
        response = patch_config(first, patch)
        assert response.status_code == 200
        started = time.monotonic()
        assert wait_for_change(second, before) == response.json()
        assert time.monotonic() - started < 2.0  # a few poll intervals of 0.2 s

        client = sdk(second)
        with pytest.raises(openai.InternalServerError):  # the fault is in force there too
            client.chat.completions.create(model="shared", messages=MESSAGES, max_tokens=1)
        assert client.chat.completions.create(model="shared", messages=MESSAGES, max_tokens=1).model == "gpt-4o-mini"

        bad = patch_config(second, {"faults": {"shared": ["503; first=-1"]}})
        assert bad.status_code == 400 and "first must be a whole number >= 0" in bad.json()["error"]["message"]
        assert get_config(first) == get_config(second) == response.json()

        with SimulatorProcess(env) as later:  # a new instance (scale-out) adopts the changes made at run time
            assert get_config(later) == response.json()
