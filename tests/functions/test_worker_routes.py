"""Every route of the route table, through the real Azure Functions Python worker and the stand-in host.

What Azure runs: the worker indexes function_app.py, serves the HTTP streams extension's web app, and gets each
request from the host with its InvocationRequest. The official openai SDK drives the inference routes over a
real socket; route_examples.py holds one example per route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import AzureOpenAI, OpenAI

from bench.scenarios import silent_wav
from simulator.api.routes import ROUTES
from tests.functions.conftest import KEY, app_settings, functions_host
from tests.functions.route_examples import EXAMPLES, Example
from tests.support.functions_host import FunctionsHost

API_VERSION = "2024-10-21"
MESSAGES = [{"role": "user", "content": "hi"}]


DEPLOYMENTS = {"gpt-4o": {"model": "gpt-4o"}, "text-embedding-3-small": {"model": "text-embedding-3-small"}}


@pytest.fixture(scope="module")
def host(worker_dir, tmp_path_factory) -> Iterator[FunctionsHost]:
    deployments = tmp_path_factory.mktemp("worker-routes") / "deployments.json"
    deployments.write_text(json.dumps(DEPLOYMENTS))
    with functions_host(worker_dir, app_settings(OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments))) as started:
        yield started


def test_every_route_has_an_example() -> None:
    missing = sorted({route.name for route in ROUTES} - set(EXAMPLES))
    assert not missing, f"add examples for {missing} to tests/functions/route_examples.py"


def test_the_worker_loads_every_route_with_its_route(host: FunctionsHost) -> None:
    loaded = {route.name: route.template for route in host.routes.routes}
    assert loaded == {route.name: route.function_route or route.name for route in ROUTES}


@pytest.mark.parametrize(
    "name, example",
    [(name, example) for name, examples in EXAMPLES.items() for example in examples],
    ids=lambda value: value if isinstance(value, str) else f"{value.method} {value.path.split('?')[0]} {value.status}",
)
def test_route_example(host: FunctionsHost, name: str, example: Example) -> None:
    headers = {"api-key": KEY} if example.key else {}
    before = len(host.invocations)
    response = httpx.request(
        example.method,
        host.url + example.path,
        json=example.json,
        headers={**headers, **example.headers},
        timeout=30,
        **example.extra,
    )
    assert response.status_code == example.status, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    [invocation] = host.invocations_since(before)
    assert (invocation.function, invocation.status) == (name, "Success"), invocation.exception


def test_chat_classic_and_v1(host: FunctionsHost) -> None:
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    reply = azure.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    assert reply.usage.completion_tokens == 5 and reply.choices[0].message.content
    v1 = OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    reply = v1.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=4)
    assert reply.usage.completion_tokens == 4
    raw = v1.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, max_tokens=1)
    assert raw.headers["x-ms-deployment-name"] == "gpt-4o" and raw.headers["apim-request-id"]


def test_completions_embeddings_and_models(host: FunctionsHost) -> None:
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    completion = azure.completions.create(model="gpt-35-turbo-instruct", prompt="hi", max_tokens=3)
    assert completion.usage.completion_tokens == 3
    embedding = azure.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [len(item.embedding) for item in embedding.data] == [1536, 1536]
    v1 = OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    assert v1.embeddings.create(model="text-embedding-3-small", input="a").usage.prompt_tokens == 1
    assert sorted(model.id for model in v1.models.list()) == sorted(DEPLOYMENTS)


def test_audio_and_images_through_the_worker(host: FunctionsHost) -> None:
    """An upload, speech streamed back and an image URL that resolves, all through the real worker."""
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    heard = azure.audio.transcriptions.create(
        model="whisper", file=("ten.wav", silent_wav(10.0)), response_format="verbose_json"
    )
    assert heard.duration == 10.0
    with azure.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="x" * 30, response_format="pcm"
    ) as answer:
        assert answer.headers["content-type"] == "audio/pcm"
        assert len(b"".join(answer.iter_bytes())) == 2 * 24_000 * 2  # 30 characters: 2 s at 24 kHz
    drawn = azure.images.generate(model="dall-e-3", prompt="a kite", size="1024x1792")
    # Behind the Functions host the worker sees its own address as Host; on Azure WEBSITE_HOSTNAME gives the
    # public base. Here the URL's path is fetched through the host, as a client of the app would.
    image = httpx.get(host.url + httpx.URL(drawn.data[0].url).path, timeout=30)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_a_stream_through_the_worker(host: FunctionsHost) -> None:
    v1 = OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    stream = v1.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=6, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].prompt_filter_results and chunks[-1].usage.completion_tokens == 6
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_the_responses_api_through_the_worker(host: FunctionsHost) -> None:
    v1 = OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    first = v1.responses.create(model="gpt-4o", input="hi", max_output_tokens=16)
    assert first.status == "incomplete" and first.output_text
    with v1.responses.stream(model="gpt-4o", input="again", previous_response_id=first.id) as stream:
        second = stream.get_final_response()
    assert second.usage is not None and first.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    assert v1.responses.retrieve(second.id).output_text == second.output_text
    assert [item.type for item in v1.responses.input_items.list(first.id)] == ["message"]
    v1.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        v1.responses.retrieve(first.id)


def test_auth_failures_are_aoai_shaped(host: FunctionsHost) -> None:
    for client in (
        AzureOpenAI(azure_endpoint=host.url, api_key="wrong", api_version=API_VERSION, max_retries=0),
        OpenAI(base_url=f"{host.url}/openai/v1/", api_key="wrong", max_retries=0),
    ):
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert caught.value.status_code == 401 and caught.value.body["code"] == "401"
    bearer = httpx.post(
        f"{host.url}/openai/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "a"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert bearer.status_code == 200


def test_runtime_config_patch_is_seen_by_the_next_request(host: FunctionsHost) -> None:
    patched = httpx.patch(
        f"{host.url}/++/config", json={"faults": {"config-faulty": ["500"]}}, headers={"api-key": KEY}
    )
    assert patched.status_code == 200 and patched.json()["faults"]["config-faulty"]
    v1 = OpenAI(base_url=f"{host.url}/openai/v1/", api_key=KEY, max_retries=0)
    with pytest.raises(openai.InternalServerError):
        v1.chat.completions.create(model="config-faulty", messages=MESSAGES, max_tokens=1)
    httpx.patch(f"{host.url}/++/config", json={"faults": {"config-faulty": None}}, headers={"api-key": KEY})
    assert v1.chat.completions.create(model="config-faulty", messages=MESSAGES, max_tokens=1).choices


def test_the_worker_logs_no_request_lines(host: FunctionsHost) -> None:
    """uvicorn's access log would print one line per request to the worker's stdout (the host's log)."""
    httpx.get(f"{host.url}/health")
    assert not [line for line in host.output if '"GET /health HTTP/1.1"' in line]


def test_bad_bodies_get_aoai_errors_through_the_worker(host: FunctionsHost) -> None:
    url = f"{host.url}/openai/deployments/gpt-4o/chat/completions?api-version={API_VERSION}"
    headers = {"api-key": KEY, "content-type": "application/json"}
    too_big = httpx.post(url, content=b" " * (4 * 1024 * 1024 + 1), headers=headers, timeout=30)
    not_json = httpx.post(url, content=b"{not json", headers=headers)
    assert (too_big.status_code, not_json.status_code) == (413, 400)
    for answer in (too_big, not_json):
        assert answer.json()["error"]["message"]


def test_an_image_url_points_at_the_host_and_resolves(host: FunctionsHost) -> None:
    """The worker sees its own address as Host (the host's proxy replaces it); the URL must be the client's."""
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    image = azure.images.generate(model="dall-e-3", prompt="a kite", response_format="url").data[0]
    assert image.url.startswith(f"{host.url}/++/images/")
    fetched = httpx.get(image.url)
    assert fetched.status_code == 200 and fetched.headers["content-type"].startswith("image/")
