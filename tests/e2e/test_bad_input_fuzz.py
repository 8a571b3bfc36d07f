"""Seeded fuzzing of request bodies: whatever a client sends, the answer is AOAI-shaped and never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from tests.support import spec
from tests.support.server import SimulatorProcess

VALID = {
    "/openai/deployments/chat/chat/completions?api-version=2024-10-21": {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi", "name": "u"}],
        "max_tokens": 5,
        "n": 2,
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 3,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                },
            }
        ],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
    },
    "/openai/deployments/instruct/completions?api-version=2024-10-21": {
        "prompt": ["a", "b"],
        "max_tokens": 4,
        "echo": True,
        "stream": False,
        "n": 1,
    },
    "/openai/deployments/embed-small/embeddings?api-version=2024-10-21": {
        "input": ["a", [1, 2, 3]],
        "dimensions": 8,
        "encoding_format": "base64",
    },
    "/openai/v1/chat/completions": {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
}
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("inf"),
    "",
    "x" * 300,
    "\u0000",
    [],
    [None],
    [[]],
    {},
    {"type": None},
    {"role": "user"},
    [{"role": "user", "content": [{"type": "text"}]}],
    [{"role": "user", "content": [{"type": "image_url", "image_url": None}]}],
    [{"role": "tool", "content": None}],
]


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """Replace, drop or corrupt one part of a JSON value."""
    if isinstance(value, dict) and value and depth < 4:
        mutated = dict(value)
        key = rng.choice(sorted(mutated))
        action = rng.random()
        if action < 0.25:
            del mutated[key]
        elif action < 0.5:
            mutated[key] = rng.choice(ODD_VALUES)
        else:
            mutated[key] = _mutate(mutated[key], rng, depth + 1)
        return mutated
    if isinstance(value, list) and value and depth < 4:
        mutated = list(value)
        index = rng.randrange(len(mutated))
        mutated[index] = _mutate(mutated[index], rng, depth + 1) if rng.random() < 0.6 else rng.choice(ODD_VALUES)
        return mutated
    return rng.choice(ODD_VALUES)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory) -> SimulatorProcess:
    config = tmp_path_factory.mktemp("fuzz") / "deployments.json"
    config.write_text(
        json.dumps(
            {
                "chat": {"model": "gpt-4o", "tokensPerMinute": 10_000_000},
                "instruct": {"model": "gpt-35-turbo-instruct"},
                "embed-small": {"model": "text-embedding-3-small"},
            }
        )
    )
    with SimulatorProcess({"OPENAI_DEPLOYMENT_CONFIG_PATH": str(config)}) as server:
        yield server


@pytest.mark.parametrize("path", sorted(VALID))
def test_mutated_bodies_never_get_a_500(fuzz_server: SimulatorProcess, path: str) -> None:
    rng = random.Random(f"fuzz:{path}")
    headers = {"api-key": fuzz_server.api_key, "content-type": "application/json"}
    with httpx.Client(base_url=fuzz_server.url, headers=headers, timeout=20) as client:
        for _ in range(150):
            body = _mutate(VALID[path], rng)
            for _ in range(rng.randint(0, 2)):
                body = _mutate(body, rng)
            content = json.dumps(body, allow_nan=True).encode()
            response = client.post(path, content=content)
            assert response.status_code < 500, (body, response.text)
            if response.status_code >= 400:
                error = response.json()["error"]
                assert set(spec.ERROR_FIELDS) <= set(error), response.text
                assert isinstance(error["message"], str), response.text
                assert error["code"] is None or isinstance(error["code"], str), response.text
