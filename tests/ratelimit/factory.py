"""Requests, deployments and a clock for rate-limit tests."""

from __future__ import annotations

import dataclasses
from typing import Any

from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment, DeploymentType
from simulator.models import Operation, find_model

START = 1_000_000.0  # a multiple of the 10-second request window, so windows start with the test


@dataclasses.dataclass
class FakeClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def standard(name: str = "chat", model: str = "gpt-4o", tpm: int | None = 10_000, rpm: int | None = None) -> Deployment:
    return Deployment(name, find_model(model), tokens_per_minute=tpm, requests_per_minute=rpm)


def provisioned(name: str = "ptu", model: str = "gpt-4o", ptu: int = 1) -> Deployment:
    return Deployment(name, find_model(model), type=DeploymentType.PROVISIONED, ptu=ptu)


def chat(deployment: Deployment, content: str = "", prompt_tokens: int | None = None, **body: Any) -> OpenAIRequest:
    return _request(
        deployment,
        Operation.CHAT_COMPLETIONS,
        {"messages": [{"role": "user", "content": content}], **body},
        prompt_tokens,
    )


def embeddings(deployment: Deployment, text: Any) -> OpenAIRequest:
    return _request(deployment, Operation.EMBEDDINGS, {"input": text}, None)


def _request(
    deployment: Deployment, operation: Operation, body: dict[str, Any], prompt_tokens: int | None
) -> OpenAIRequest:
    return OpenAIRequest(
        operation=operation,
        deployment=deployment,
        surface=Surface.CLASSIC,
        method="POST",
        path=f"/openai/deployments/{deployment.name}/chat/completions",
        query="api-version=2024-10-21",
        headers={},
        body=body,
        raw_body=b"",
        api_version="2024-10-21",
        received_at=0.0,
        prompt_tokens=prompt_tokens,
    )
