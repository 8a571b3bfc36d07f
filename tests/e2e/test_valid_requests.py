"""Requests the official descriptions allow are answered, and refusals never speak Python.

The nullable fields are read from ../shared/specs, not listed by hand: an optional field the spec marks nullable
and that arrives as `null` is taken as absent, as the service takes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import spec
from tests.support.server import SimulatorProcess

GA = "?api-version=2024-10-21"
# Each request schema, the route it is sent to, and a smallest valid body.
REQUESTS = (
    (
        spec.GA,
        "#/components/schemas/createChatCompletionRequest",
        f"/openai/deployments/chat/chat/completions{GA}",
        {"messages": [{"role": "user", "content": "hi"}]},
    ),
    (
        spec.GA,
        "#/components/schemas/createCompletionRequest",
        f"/openai/deployments/instruct/completions{GA}",
        {"prompt": "hi"},
    ),
    (
        spec.GA,
        "#/paths/~1deployments~1{deployment-id}~1embeddings/post/requestBody/content/application~1json/schema",
        f"/openai/deployments/embed-small/embeddings{GA}",
        {"input": "hi"},
    ),
    (
        spec.V1,
        "#/components/schemas/AzureCreateChatCompletionRequest",
        "/openai/v1/chat/completions",
        {"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
    ),
    (
        spec.V1,
        "#/components/schemas/AzureCreateEmbeddingRequest",
        "/openai/v1/embeddings",
        {"model": "embed-small", "input": "hi"},
    ),
)
PYTHON_WORDS = re.compile(r"\b(None|True|False|NoneType)\b|\['|\{'")


def _raw(name: str) -> dict[str, Any]:
    return json.loads((spec.SPECS / name).read_text())


def _resolve(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for token in pointer.lstrip("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _properties(document: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Top-level properties and required names of a request schema, through `$ref` and `allOf`."""
    if "$ref" in node:
        return _properties(document, _resolve(document, node["$ref"]))
    properties = dict(node.get("properties", {}))
    required = set(node.get("required", ()))
    for part in node.get("allOf", ()):
        more, needed = _properties(document, part)
        properties.update(more)
        required |= needed
    return properties, required


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("nullable") is True or any(
        isinstance(option, dict) and option.get("type") == "null" for option in schema.get("anyOf", ())
    )


def nullable_cases() -> Iterator[Any]:
    if not spec.available():
        return
    for spec_name, pointer, path, minimal in REQUESTS:
        document = _raw(spec_name)
        properties, required = _properties(document, _resolve(document, pointer))
        for name, schema in sorted(properties.items()):
            if name not in required and _nullable(schema):
                yield pytest.param(path, {**minimal, name: None}, id=f"{path.split('?')[0]}:{name}")


@pytest.fixture(scope="module")
def client(server: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=30) as http:
        yield http


@pytest.mark.skipif(not spec.available(), reason="../shared/specs not present")
@pytest.mark.parametrize(("path", "body"), list(nullable_cases()))
def test_a_nullable_optional_field_sent_as_null_is_taken_as_absent(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text


@pytest.mark.skipif(not spec.available(), reason="../shared/specs not present")
def test_the_specs_mark_the_fields_the_issue_found_nullable() -> None:
    names = {param.id for param in nullable_cases()}
    for expected in (
        "/openai/deployments/embed-small/embeddings:encoding_format",
        "/openai/deployments/instruct/completions:echo",
        "/openai/deployments/chat/chat/completions:max_tokens",
        "/openai/v1/chat/completions:stream_options",
    ):
        assert expected in names


@pytest.mark.parametrize(
    "message",
    [
        {"role": "function", "name": "lookup", "content": None},
        {"role": "assistant", "content": None, "tool_calls": None, "name": None},
    ],
)
def test_a_message_whose_content_the_spec_makes_nullable_is_accepted(
    client: httpx.Client, message: dict[str, Any]
) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}, message, {"role": "user", "content": "go on"}]}
    response = client.post(f"/openai/deployments/chat/chat/completions{GA}", json=body)
    assert response.status_code == 200, response.text


def test_null_prompt_is_the_default_prompt(client: httpx.Client) -> None:
    response = client.post(f"/openai/deployments/instruct/completions{GA}", json={"prompt": None, "max_tokens": 3})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("prompt", "message", "param"),
    [
        ([], "Invalid 'prompt': empty array. Expected an array with minimum length 1", "prompt"),
        (["a", 7], "Invalid type for 'prompt[1]': expected a string, but got an integer instead.", "prompt[1]"),
        ({"a": 1}, "Invalid type for 'prompt': expected a string or an array of strings, but got an object", "prompt"),
    ],
)
def test_a_refused_prompt_says_what_is_wrong_with_it(
    client: httpx.Client, prompt: Any, message: str, param: str
) -> None:
    response = client.post(f"/openai/deployments/instruct/completions{GA}", json={"prompt": prompt})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith(message)
    assert error["param"] == param


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/openai/deployments/embed-small/embeddings{GA}", {"input": "a", "encoding_format": True}),
        (f"/openai/deployments/embed-small/embeddings{GA}", {"input": "a", "encoding_format": ["float"]}),
        (f"/openai/deployments/chat/chat/completions{GA}", {"messages": [{"role": ["user"], "content": "x"}]}),
        (f"/openai/deployments/chat/chat/completions{GA}", {"messages": [{"role": {"a": None}, "content": "x"}]}),
        (f"/openai/deployments/chat/chat/completions{GA}", {"messages": [{"role": False, "content": "x"}]}),
        (
            f"/openai/deployments/chat/chat/completions{GA}",
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": None, "function": {"name": "f"}}]},
        ),
        (
            f"/openai/deployments/chat/chat/completions{GA}",
            {"messages": [{"role": "user", "content": "x"}], "response_format": {"type": [None]}},
        ),
    ],
)
def test_refusals_quote_values_as_json_not_python(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert not PYTHON_WORDS.search(response.json()["error"]["message"]), response.text
