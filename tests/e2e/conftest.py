from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI, AzureOpenAI, OpenAI

from tests.support.server import SimulatorProcess

DEPLOYMENTS = {
    "chat": {"model": "gpt-4o"},
    "mini": {"model": "gpt-4o-mini"},
    "reasoner": {"model": "o3-mini"},
    "instruct": {"model": "gpt-35-turbo-instruct"},
    "embed-ada": {"model": "text-embedding-ada-002"},
    "embed-small": {"model": "text-embedding-3-small"},
    "embed-custom": {"model": "text-embedding-3-large", "embeddingSize": 1024},
    "whisper": {"model": "whisper"},
    "transcribe": {"model": "gpt-4o-transcribe"},
    "tts": {"model": "tts"},
    "mini-tts": {"model": "gpt-4o-mini-tts"},
    "dalle": {"model": "dall-e-3"},
    "painter": {"model": "gpt-image-1"},
}
API_VERSION = "2024-10-21"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[SimulatorProcess]:
    config = tmp_path_factory.mktemp("config") / "deployments.json"
    config.write_text(json.dumps(DEPLOYMENTS))
    env = {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(config), "SIMULATOR_SEED": "1", "SIMULATOR_LATENCY_ENABLED": "false"}
    with SimulatorProcess(env) as process:
        yield process


@pytest.fixture
def azure(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


@pytest.fixture
def async_azure(server: SimulatorProcess) -> AsyncAzureOpenAI:
    return AsyncAzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version=API_VERSION, max_retries=0)


@pytest.fixture
def v1(server: SimulatorProcess) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/openai/v1/", api_key=server.api_key, max_retries=0)


@pytest.fixture
def async_v1(server: SimulatorProcess) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.url}/openai/v1/", api_key=server.api_key, max_retries=0)
