"""What the benchmark sends: the deployments, the request of each scenario, and the paced-stream config."""

from __future__ import annotations

import dataclasses
import io
import json
import wave
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
    "bench-whisper": {"model": "whisper"},
    "bench-tts": {"model": "tts"},
    "bench-dalle": {"model": "dall-e-3"},
    "bench-painter": {"model": "gpt-image-1"},
}
REASONING_TOKENS = 200
MULTIPART_BOUNDARY = "bench-boundary-7c1e"
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
    body: str | bytes  # JSON, where `{n}` becomes a per-request counter (wrk.PLACEHOLDER); or a multipart body
    stream: bool = False
    limited: bool = False
    v1: bool = False  # on /openai/v1/ with the deployment in the body, as the Responses API is called

    @property
    def path(self) -> str:
        if self.v1:
            return f"/openai/v1/{self.operation}"
        return f"/openai/deployments/{self.deployment}/{self.operation}?api-version={API_VERSION}"

    @property
    def headers(self) -> dict[str, str]:
        if isinstance(self.body, bytes):
            return {**HEADERS, "content-type": f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"}
        return HEADERS

    def sample_body(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.replace("{n}", "0").encode()


def chat_body(*, max_tokens: int, stream: bool = False, cap: str = "max_tokens") -> str:
    body: dict[str, Any] = {"messages": CHAT_MESSAGES, cap: max_tokens}
    if stream:
        body["stream"] = True
    return json.dumps(body)


PREVIOUS = "{previous}"  # in a body: the id of a stored response, made before the run (`continuing`)


def responses_body(*, max_tokens: int, store: bool, previous: bool = False) -> str:
    """The chat scenario's prompt as a Responses API turn: the system message as instructions."""
    body: dict[str, Any] = {
        "model": "bench-chat",
        "instructions": CHAT_MESSAGES[0]["content"],
        "input": CHAT_MESSAGES[1]["content"],
        "max_output_tokens": max_tokens,
        "store": store,
    }
    if previous:
        body["previous_response_id"] = PREVIOUS
    return json.dumps(body)


def continues(scenario: Scenario) -> bool:
    """Whether the scenario's requests continue a stored response (their body names `{previous}`)."""
    return isinstance(scenario.body, str) and PREVIOUS in scenario.body


def continuing(scenario: Scenario, previous_id: str) -> Scenario:
    """`scenario` with its `{previous}` filled in: every request continues the same stored response."""
    assert isinstance(scenario.body, str)
    return dataclasses.replace(scenario, body=scenario.body.replace(PREVIOUS, previous_id))


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
            "responses",
            f"responses, max_output_tokens {max_tokens}",
            "bench-chat",
            "responses",
            responses_body(max_tokens=max_tokens, store=False),
            v1=True,
        ),
        # The cost of a stored conversation turn: the same turn stored, and stored continuing an earlier one.
        Scenario(
            "responses-stored",
            "responses stored",
            "bench-chat",
            "responses",
            responses_body(max_tokens=max_tokens, store=True),
            v1=True,
        ),
        Scenario(
            "responses-turn",
            "responses stored, previous_response_id",
            "bench-chat",
            "responses",
            responses_body(max_tokens=max_tokens, store=True, previous=True),
            v1=True,
        ),
        Scenario(
            "reasoning",
            f"reasoning chat, {REASONING_TOKENS} hidden + {max_tokens}",
            "bench-reasoning",
            "chat/completions",
            chat_body(max_tokens=REASONING_TOKENS + max_tokens, cap="max_completion_tokens"),
        ),
    )


def media_scenarios() -> tuple[Scenario, ...]:
    """One scenario per audio and image operation (`--media`): each answer is made in full (latency off), from
    the encoders' caches after the first request, as a load test repeating a few requests would see them."""
    minute = multipart({"response_format": "json"}, "file", "minute.wav", silent_wav(60.0), "audio/wav")
    speech = json.dumps(
        {"input": "A sentence of about seventy characters, spoken by the simulator's voice.", "voice": "alloy"}
    )
    picture = multipart(
        {"prompt": "add a hat", "size": "1024x1024", "quality": "low"}, "image", "in.png", png(256), "image/png"
    )
    return (
        Scenario("transcription", "transcription, 1-minute WAV, json", "bench-whisper", "audio/transcriptions", minute),
        Scenario("translation", "translation, 1-minute WAV, json", "bench-whisper", "audio/translations", minute),
        Scenario("speech", "speech, mp3, about 5 s", "bench-tts", "audio/speech", speech, stream=True),
        Scenario(
            "image",
            "image generation, dall-e-3 url",
            "bench-dalle",
            "images/generations",
            json.dumps({"prompt": "A lighthouse at dusk, request {n}", "response_format": "url"}),
        ),
        Scenario("image-edit", "image edit, gpt-image-1, 1024 png b64", "bench-painter", "images/edits", picture),
    )


def multipart(
    fields: dict[str, str] | list[tuple[str, str]], file_field: str, filename: str, data: bytes, content_type: str
) -> bytes:
    """A form of `fields` (pairs when a name repeats, as `timestamp_granularities[]` does) and one file."""
    pairs = fields.items() if isinstance(fields, dict) else fields
    parts = [
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in pairs
    ]
    head = (
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return b"".join(parts) + head.encode() + data + f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode()


def silent_wav(seconds: float, rate: int = 16_000, sample_bytes: int = 2) -> bytes:
    output = io.BytesIO()
    with wave.open(output, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(sample_bytes)
        file.setframerate(rate)
        file.writeframes(bytes(sample_bytes * round(seconds * rate)))
    return output.getvalue()


def png(size: int) -> bytes:
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (size, size), (40, 90, 160)).save(output, "PNG")
    return output.getvalue()


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
