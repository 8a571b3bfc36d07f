from __future__ import annotations

from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployment
from simulator.models import Operation, find_model


def make_request(
    model: str = "gpt-4o",
    *,
    deployment: str = "d",
    operation: Operation = Operation.CHAT_COMPLETIONS,
    prompt_tokens: int = 0,
    received_at: float = 0.0,
    headers: dict[str, str] | None = None,
    body: dict | None = None,
) -> OpenAIRequest:
    return OpenAIRequest(
        operation,
        Deployment(deployment, find_model(model)),
        Surface.CLASSIC,
        "POST",
        "/",
        "",
        headers or {},
        body or {},
        b"",
        "2024-10-21",
        received_at,
        prompt_tokens=prompt_tokens,
    )
