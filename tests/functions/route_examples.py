"""One example request per route of the route table, driven through the real Functions worker.

`tests/functions/test_worker_routes.py` fails when a route has no example here: a new route gets its line (or
lines) in EXAMPLES, keyed by the route's name. An example names the request and the status it must get; the test
checks that the stand-in host routed it to that function, that the invocation succeeded, and that an error answer
is AOAI-shaped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.scenarios import png, silent_wav

API = "?api-version=2024-10-21"
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
AUDIO = {"files": {"file": ("clip.wav", silent_wav(1.0), "audio/wav")}}
SPEECH = {"voice": "alloy", "input": "hi", "response_format": "wav"}
IMAGE = {"prompt": "a kite", "response_format": "b64_json"}


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
    "audio_transcriptions": [
        Example("POST", f"/openai/deployments/whisper/audio/transcriptions{API}", extra=AUDIO),
        Example(
            "POST",
            f"/openai/deployments/whisper/audio/transcriptions{API}",
            400,
            extra={**AUDIO, "data": {"response_format": "mp4"}},
        ),
    ],
    "audio_translations": [Example("POST", f"/openai/deployments/whisper/audio/translations{API}", extra=AUDIO)],
    "audio_speech": [Example("POST", f"/openai/deployments/tts/audio/speech{API}", json=SPEECH)],
    "image_generations": [Example("POST", f"/openai/deployments/dall-e-3/images/generations{API}", json=IMAGE)],
    "image_edits": [
        Example(
            "POST",
            f"/openai/deployments/gpt-image-1/images/edits{API}",
            extra={"files": {"image": ("in.png", png(64), "image/png")}, "data": {"prompt": "a hat"}},
        ),
    ],
    "v1_audio_transcriptions": [
        Example("POST", "/openai/v1/audio/transcriptions", extra={**AUDIO, "data": {"model": "whisper"}}),
    ],
    "v1_audio_translations": [
        Example("POST", "/openai/v1/audio/translations", extra={**AUDIO, "data": {"model": "whisper"}}),
    ],
    "v1_audio_speech": [Example("POST", "/openai/v1/audio/speech", json={"model": "tts", **SPEECH})],
    "v1_image_generations": [
        Example("POST", "/openai/v1/images/generations", json={"model": "dall-e-3", **IMAGE}),
    ],
    "v1_image_edits": [
        Example(
            "POST",
            "/openai/v1/images/edits",
            extra={
                "files": {"image": ("in.png", png(64), "image/png")},
                "data": {"prompt": "x", "model": "gpt-image-1"},
            },
        ),
    ],
    # Reached without a key, as AOAI's signed image URLs are; an unknown (or expired) name is AOAI's 404.
    "image_file": [Example("GET", "/++/images/" + "A" * 32 + ".png", 404, key=False)],
    "v1_models": [Example("GET", "/openai/v1/models")],
    # The Responses API. Ids are made by a create, so the stored-response routes show their api-version check
    # here; test_worker_routes.py drives create → retrieve → input_items → delete through the worker.
    "v1_responses": [
        Example("POST", "/openai/v1/responses", json={"model": "gpt-4o", "input": "hi", "max_output_tokens": 16}),
    ],
    "v1_responses_item": [
        Example("GET", "/openai/v1/responses/resp_x?api-version=bogus", 400),
        Example("DELETE", "/openai/v1/responses/resp_x?api-version=bogus", 400),
    ],
    "v1_responses_input_items": [Example("GET", "/openai/v1/responses/resp_x/input_items?limit=0", 400)],
    "v1_responses_cancel": [Example("POST", "/openai/v1/responses/resp_x/cancel?api-version=bogus", 400)],
    "responses": [Example("POST", f"/openai/responses{API}", json={"model": "gpt-4o", "input": "hi"})],
    "responses_item": [Example("GET", "/openai/responses/resp_x", 400)],
    "responses_input_items": [Example("GET", "/openai/responses/resp_x/input_items", 400)],
    "responses_cancel": [Example("POST", "/openai/responses/resp_x/cancel", 400)],
    "config": [
        Example("GET", "/++/config"),
        Example("PATCH", "/++/config", json={}),
        Example("GET", "/++/config", 401, key=False),
    ],
    "recordings_save": [Example("POST", "/++/recordings/save")],
    "stats": [Example("GET", "/++/stats"), Example("GET", "/++/stats", 401, key=False)],
    "metrics": [Example("GET", "/++/metrics", 404)],  # Prometheus is off unless SIMULATOR_METRICS_PROMETHEUS=true
    "dashboard": [Example("GET", "/++/dashboard", key=False)],
    "dashboard_asset": [
        Example("GET", "/++/dashboard/dashboard.js", key=False),
        Example("GET", "/++/dashboard/nothing.js", 404, key=False),
    ],
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
