"""No answer leaves reference cycles behind.

The collector (simulator.collector) freezes whatever survives a young collection, so a cycle made by a request
that was in flight at that moment outlives it until the next thaw, ten minutes later. Per stream that was a few
dozen objects (its events, its request, the hooks of its slot and telemetry); at saturation the soak's memory
grew by 9,000 blocks a minute. Every route of the benchmark, streamed or not, refused or not, must therefore be
freed by reference counting alone: after the answers, a full collection finds no simulator object to free.
"""

from __future__ import annotations

import gc
import json
import traceback
from collections.abc import AsyncIterator, Container

import httpx
import pytest

from bench import scenarios
from simulator.app import Simulator
from simulator.server import create_app
from simulator.settings import Settings

CHAT = "/openai/deployments/bench-chat/chat/completions?api-version=2024-10-21"
LIMITED = {
    "bench-tiny": {"model": "gpt-4o", "requestsPerMinute": 1, "tokensPerMinute": 1000},
    "bench-ptu": {"model": "gpt-4o", "type": "provisioned", "ptu": 100},  # its streams settle usage when over
}


def extra_requests() -> list[tuple[str, str, dict[str, object]]]:
    """Answers the bench scenarios do not cover: other stream shapes, background work and refusals."""
    messages = [{"role": "user", "content": "Hello"}]
    responses = {"model": "bench-chat", "input": "Hello", "max_output_tokens": 16}
    return [
        ("chat n=3 streamed", CHAT, {"messages": messages, "n": 3, "stream": True, "max_tokens": 8}),
        ("provisioned streamed", CHAT.replace("bench-chat", "bench-ptu"), {"messages": messages, "stream": True}),
        ("responses streamed", "/openai/v1/responses", {**responses, "stream": True}),
        ("responses background", "/openai/v1/responses", {**responses, "background": True, "store": True}),
        ("400", CHAT, {"messages": "nope"}),
        ("429", CHAT.replace("bench-chat", "bench-tiny"), {"messages": messages, "max_tokens": 8}),
    ]


@pytest.fixture
async def client(tmp_path, monkeypatch) -> AsyncIterator[httpx.AsyncClient]:
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps({**scenarios.DEPLOYMENTS, **LIMITED}))
    settings = Settings.from_env(
        {
            "SIMULATOR_API_KEY": scenarios.API_KEY,
            "OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments),
            "SIMULATOR_LATENCY_ENABLED": "false",
            "SIMULATOR_SEED": "1",
        }
    )
    simulator = Simulator.from_settings(settings)
    await simulator.start()
    try:
        transport = httpx.ASGITransport(app=create_app(simulator))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
            yield http
    finally:
        await simulator.close()


def describe(thing: object) -> str:
    """A leftover's type, and for an exception where it was raised (its traceback holds the cycle)."""
    name = type(thing).__qualname__
    if isinstance(thing, BaseException) and thing.__traceback__ is not None:
        frames = traceback.extract_tb(thing.__traceback__)
        return f"{name} {str(thing)[:80]!r} via " + " > ".join(f"{f.name}:{f.lineno}" for f in frames)
    return name


def simulator_garbage(existing: Container[int] = frozenset()) -> list[str]:
    """What a full collection would free that the simulator made (the test's own client makes cycles too), and
    that was not among the `existing` objects (what earlier tests left may be let go of only now)."""
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = sorted(
            {describe(o) for o in gc.garbage if type(o).__module__.startswith("simulator") and id(o) not in existing}
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
    return found


def tracked_now() -> set[int]:
    gc.unfreeze()
    return {id(o) for o in gc.get_objects()}


async def test_answers_are_freed_without_the_cycle_collector(client: httpx.AsyncClient) -> None:
    sent = [(s.name, s.path, s.sample_body(), s.headers) for s in scenarios.scenarios(16) + scenarios.media_scenarios()]
    sent = [s for s in sent if "{previous}" not in s[2].decode("utf-8", "replace")]
    sent += [(name, path, json.dumps(body).encode(), scenarios.HEADERS) for name, path, body in extra_requests()]
    for _ in range(2):  # the second round: first-request caches are made by the first
        for name, path, body, headers in sent:
            answer = await client.post(path, content=body, headers=headers)
            assert answer.status_code < 500, name
    simulator_garbage()  # whatever start-up and the first round left
    gc.disable()
    existing = tracked_now()
    try:
        statuses = {}
        for name, path, body, headers in sent:
            answer = await client.post(path, content=body, headers=headers)
            statuses[name] = answer.status_code
        assert statuses["400"] == 400 and statuses["429"] == 429
        assert all(status == 200 for name, status in statuses.items() if name not in ("400", "429")), statuses
        assert simulator_garbage(existing) == []
    finally:
        gc.enable()
