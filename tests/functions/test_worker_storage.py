"""The Functions app with its Azure backends, in the real worker: recordings replayed from Blob Storage, rate-limit
state and runtime config in Table Storage, all on Azurite, as a Function App on Flex Consumption uses them."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from azure.data.tables import TableClient
from azure.storage.blob import ContainerClient
from openai import AzureOpenAI

from simulator.ratelimit.windows import SlidingWindow
from tests.functions.conftest import KEY, REPO, app_settings, functions_host
from tests.support.azurite import Azurite
from tests.support.functions_host import FunctionsHost

API_VERSION = "2024-10-21"
SAMPLE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
# gpt-4o without max_tokens is charged its measured default, 640, plus ceil(58 characters / 4).
SAMPLE_COST = 640 + math.ceil(sum(len(message["content"]) for message in SAMPLE) / 4)
TPM = 2_000  # room for three replayed answers, not four


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:12]
    return {
        "RECORDING_CONTAINER": f"worker-recordings-{suffix}",
        "RATE_LIMIT_TABLE": f"workerlimits{suffix}",
        "RUNTIME_CONFIG_TABLE": f"workerconfig{suffix}",
    }


@pytest.fixture(scope="module")
def host(worker_dir, azurite: Azurite, names: dict[str, str], tmp_path_factory) -> Iterator[FunctionsHost]:
    with ContainerClient.from_connection_string(azurite.connection_string, names["RECORDING_CONTAINER"]) as container:
        container.create_container()
        for path in (REPO / "recordings").rglob("*.yaml"):
            container.upload_blob(path.relative_to(REPO / "recordings").as_posix(), path.read_bytes())
    deployments = tmp_path_factory.mktemp("worker-storage") / "deployments.json"
    deployments.write_text(
        json.dumps({"gpt-4o": {"model": "gpt-4o", "tokensPerMinute": TPM, "requestsPerMinute": 600}})
    )
    settings = app_settings(
        SIMULATOR_MODE="replay",
        AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
        RECORDING_STORE="auto",
        RECORDING_TIMING_SCALE="0",
        RECORDING_DIR="",  # nothing from the files beside the app: Blob only
        RECORDING_IGNORED_FIELDS="user,seed,model",  # the SDK adds `model`, which the samples were recorded without
        OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments),
        **names,
    )
    with functions_host(worker_dir, settings) as started:
        yield started


def test_replay_from_blob_with_table_rate_limits(host: FunctionsHost, azurite: Azurite, names: dict[str, str]) -> None:
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    raw = azure.chat.completions.with_raw_response.create(model="gpt-4o", messages=SAMPLE)
    assert raw.parse().choices[0].message.content == "The capital of France is Paris."
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) <= TPM - SAMPLE_COST
    chunks = list(azure.chat.completions.create(model="gpt-4o", messages=SAMPLE, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "The capital of France is Paris."
    azure.chat.completions.create(model="gpt-4o", messages=SAMPLE)
    with pytest.raises(openai.RateLimitError) as caught:
        azure.chat.completions.create(model="gpt-4o", messages=SAMPLE)
    assert caught.value.body["code"] == "RateLimitReached" and "token rate limit" in caught.value.body["message"]
    # Within the minute, plus the one second a shared token lease may still be spent (docs/rate-limits.md), plus
    # the window's bucket width (an amount counts until its bucket's end plus 60 s), rounded up: 62 at most.
    longest = 60 + float(app_settings()["RATE_LIMIT_LEASE_SECONDS"]) + SlidingWindow().resolution
    assert 0 < int(caught.value.response.headers["retry-after"]) <= math.ceil(longest)
    with TableClient.from_connection_string(azurite.connection_string, names["RATE_LIMIT_TABLE"]) as table:
        assert list(table.list_entities()), "the limiter kept its state in Table Storage"


def test_an_unrecorded_request_is_an_aoai_error(host: FunctionsHost) -> None:
    azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version=API_VERSION, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        azure.embeddings.create(model="never-recorded", input="nothing like this was recorded")
    assert 400 <= caught.value.status_code < 500 and caught.value.body["code"]


def test_runtime_config_lives_in_table_storage(host: FunctionsHost, azurite: Azurite, names: dict[str, str]) -> None:
    patch = {"faults": {"table-faulty": ["503"]}}
    response = httpx.patch(f"{host.url}/++/config", json=patch, headers={"api-key": KEY})
    assert response.status_code == 200 and response.json()["faults"]["table-faulty"]
    with TableClient.from_connection_string(azurite.connection_string, names["RUNTIME_CONFIG_TABLE"]) as table:
        assert "table-faulty" in json.dumps([dict(entity) for entity in table.list_entities()])
