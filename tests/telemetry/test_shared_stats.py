"""`/++/stats` summed over instances: two simulator processes sharing one Azurite table, each publishing its
own summary; either answers with both, and one that stops drops out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.azurite import Azurite
from tests.support.server import SimulatorProcess

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def send(server: SimulatorProcess, count: int) -> None:
    url = f"{server.url}/openai/deployments/chat/chat/completions?api-version=2024-10-21"
    for _ in range(count):
        assert httpx.post(url, json=CHAT, headers={"api-key": server.api_key}).status_code == 200


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return httpx.get(f"{server.url}/++/stats", headers={"api-key": server.api_key}).json()


def poll(server: SimulatorProcess, done: Callable[[dict[str, Any]], bool], within: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        document = stats(server)
        if done(document) or time.monotonic() > deadline:
            return document
        time.sleep(0.1)


def requests(document: dict[str, Any]) -> int:
    chat = document["deployments"].get("chat")
    return 0 if chat is None else chat["1m"]["requests"]


def test_two_instances_add_up_and_a_stopped_one_drops_out(azurite: Azurite) -> None:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "STATS_TABLE": "stats" + uuid.uuid4().hex[:12],
        "RATE_LIMIT_TABLE": "limits" + uuid.uuid4().hex[:12],
        "RUNTIME_CONFIG_TABLE": "config" + uuid.uuid4().hex[:12],
        "RECORDING_STORE": "files",
        "SIMULATOR_STATS_PUBLISH_SECONDS": "0.2",
    }
    with SimulatorProcess(env) as first, SimulatorProcess(env) as second:
        send(first, 3)
        send(second, 5)
        for server, own in ((first, 3), (second, 5)):
            document = poll(server, lambda d: d["instances"] == 2 and requests(d) == 8)
            assert document["instances"] == 2 and requests(document) == 8
            assert document["this_instance"]["deployments"]["chat"]["1m"]["requests"] == own
            tokens = document["deployments"]["chat"]["1m"]["tokens"]["used"]
            assert tokens == 8 * document["this_instance"]["deployments"]["chat"]["1m"]["tokens"]["used"] // own
        second.stop()
        document = poll(first, lambda d: d["instances"] == 1)
        assert document["instances"] == 1 and requests(document) == 3
