"""What the benchmark sends: the deployments, the request of each scenario, and the paced-stream config."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

API_VERSION = "2024-10-21"
API_KEY = "bench-key"
HEADERS = {"content-type": "application/json", "api-key": API_KEY}

# Limits so high that no request is refused, so the limiter's cost is measured, not its refusals.
UNREFUSING = {"tokensPerMinute": 2_000_000_000, "requestsPerMinute": 2_000_000_000}
DEPLOYMENTS: dict[str, dict[str, Any]] = {
    "bench-chat": {"model": "gpt-4o"},
    "bench-limited": {"model": "gpt-4o", **UNREFUSING},
    "bench-limited-long": {"model": "gpt-4o", **UNREFUSING},  # fresh state for the --long run
    "bench-embed": {"model": "text-embedding-ada-002"},  # 1536 dimensions
    # A reasoning model thinking a fixed 200 hidden tokens, so its visible answer is as long as chat's.
    "bench-reasoning": {"model": "o4-mini", "reasoningTokens": {"medium": 200}},
}
REASONING_TOKENS = 200
CHAT_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short paragraph about load testing a web service."},
]


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    deployment: str
    operation: str  # path segment after the deployment
    body: str  # JSON; `{n}` becomes a per-request counter (wrk.PLACEHOLDER)
    stream: bool = False
    limited: bool = False

    @property
    def path(self) -> str:
        return f"/openai/deployments/{self.deployment}/{self.operation}?api-version={API_VERSION}"

    def sample_body(self) -> bytes:
        return self.body.replace("{n}", "0").encode()


def chat_body(*, max_tokens: int, stream: bool = False, cap: str = "max_tokens") -> str:
    body: dict[str, Any] = {"messages": CHAT_MESSAGES, cap: max_tokens}
    if stream:
        body["stream"] = True
    return json.dumps(body)


def scenarios(max_tokens: int = 50) -> tuple[Scenario, ...]:
    # Embedding inputs vary per request, so the simulator's vector cache cannot hide the cost of a vector.
    embed_body = json.dumps(
        {"input": "Request {n}: a sentence of about twenty tokens to embed, as a search index might."}
    )
    return (
        Scenario(
            "chat", f"chat, max_tokens {max_tokens}", "bench-chat", "chat/completions", chat_body(max_tokens=max_tokens)
        ),
        Scenario(
            "stream",
            f"chat streamed, max_tokens {max_tokens}",
            "bench-chat",
            "chat/completions",
            chat_body(max_tokens=max_tokens, stream=True),
            stream=True,
        ),
        Scenario("embeddings", "embeddings, 1536 dims", "bench-embed", "embeddings", embed_body),
        Scenario(
            "limited",
            f"chat rate-limited, max_tokens {max_tokens}",
            "bench-limited",
            "chat/completions",
            chat_body(max_tokens=max_tokens),
            limited=True,
        ),
        Scenario(
            "reasoning",
            f"reasoning chat, {REASONING_TOKENS} hidden + {max_tokens}",
            "bench-reasoning",
            "chat/completions",
            chat_body(max_tokens=REASONING_TOKENS + max_tokens, cap="max_completion_tokens"),
        ),
    )


def first_chat() -> Scenario:
    """The request polled at launch: a small chat answer, tiktoken loading included."""
    return Scenario("launch", "launch", "bench-chat", "chat/completions", chat_body(max_tokens=5))


def paced_latency(deployments: dict[str, int], *, ttft_ms: float, tokens_per_second: float) -> str:
    """SIMULATOR_LATENCY_CONFIG: a fixed TTFT and inter-token time (no deviation), one deployment per burst size."""
    fields = {"ttftMs": ttft_ms, "ttftStdMs": 0, "prefillMsPerToken": 0, "tokensPerSecond": tokens_per_second}
    fields["tokenStdMs"] = 0
    entries = {name: {**fields, "burstTokens": burst} for name, burst in deployments.items()}
    return json.dumps({"enabled": True, "deployments": entries})


def paced_deployment(burst: int) -> str:
    return f"bench-paced-b{burst}"
