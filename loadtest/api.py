"""Where each scenario's request goes and what it carries, for both of Azure OpenAI's path styles."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any
from urllib.parse import quote, urlencode

from loadtest.options import ApiStyle, LoadTestOptions


class Operation(enum.StrEnum):
    CHAT = "chat/completions"
    EMBEDDINGS = "embeddings"


@dataclasses.dataclass(frozen=True, slots=True)
class ApiRequest:
    path: str  # relative to Locust's --host, query string included
    body: dict[str, Any]
    headers: dict[str, str]


def build_request(options: LoadTestOptions, operation: Operation, deployment: str, body: dict[str, Any]) -> ApiRequest:
    """Classic paths name the deployment in the URL and require `api-version`; v1 paths name it in `model`."""
    headers = {"api-key": options.api_key}
    query = f"?{urlencode({'api-version': options.api_version})}" if options.api_version else ""
    if options.api_style is ApiStyle.V1:
        return ApiRequest(f"/openai/v1/{operation}{query}", {**body, "model": deployment}, headers)
    return ApiRequest(f"/openai/deployments/{quote(deployment, safe='')}/{operation}{query}", body, headers)


def chat_body(prompt: str, max_tokens: int, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
    if stream:
        # Without include_usage a stream carries no token counts; with it, a last chunk holds `usage`.
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def embeddings_body(text: str) -> dict[str, Any]:
    return {"input": [text]}
