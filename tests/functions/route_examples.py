"""One example request per route of the route table, driven through the real Functions worker.

`tests/functions/test_worker_routes.py` fails when a route has no example here: a new route gets its line (or
lines) in EXAMPLES, keyed by the route's name. An example names the request and the status it must get; the test
checks that the stand-in host routed it to that function, that the invocation succeeded, and that an error answer
is AOAI-shaped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

API = "?api-version=2024-10-21"
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


@dataclasses.dataclass(frozen=True)
class Example:
    method: str
    path: str
    status: int = 200
    json: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # Extra httpx.request() arguments for bodies JSON cannot carry (multipart `files`, raw `content`).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    key: bool = True  # send the api-key


EXAMPLES: dict[str, list[Example]] = {
    "chat_completions": [
        Example("POST", f"/openai/deployments/gpt-4o/chat/completions{API}", json=CHAT),
        Example("POST", f"/openai/deployments/gpt-4o/chat/completions{API}", 401, json=CHAT, key=False),
    ],
    "completions": [
        Example("POST", f"/openai/deployments/gpt-35-turbo-instruct/completions{API}", json={"prompt": "hi"}),
    ],
    "embeddings": [
        Example("POST", f"/openai/deployments/text-embedding-3-small/embeddings{API}", json={"input": "hi"}),
    ],
    "v1_chat_completions": [Example("POST", "/openai/v1/chat/completions", json={"model": "gpt-4o", **CHAT})],
    "v1_completions": [
        Example("POST", "/openai/v1/completions", json={"model": "gpt-35-turbo-instruct", "prompt": "hi"}),
    ],
    "v1_embeddings": [
        Example("POST", "/openai/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hi"}),
    ],
    "v1_models": [Example("GET", "/openai/v1/models")],
    "config": [
        Example("GET", "/++/config"),
        Example("PATCH", "/++/config", json={}),
        Example("GET", "/++/config", 401, key=False),
    ],
    "recordings_save": [Example("POST", "/++/recordings/save")],
    # An empty Functions route is reached at the function's name; `/` reaches the catch-all, which answers health.
    "health": [Example("GET", "/health", key=False)],
    "not_found": [
        Example("GET", "/", key=False),
        Example("GET", "/openai/deployments/gpt-4o/nowhere", 404),
        # FastAPI's own documentation routes, which the worker's web app would otherwise answer itself.
        Example("GET", "/docs", 404, key=False),
        Example("GET", "/redoc", 404, key=False),
        Example("GET", "/openapi.json", 404, key=False),
    ],
}
