"""The route table: declared once, mounted by both hosts (Azure Functions and the local server)."""

from __future__ import annotations

import dataclasses

from simulator.api import admin
from simulator.api.dispatch import Endpoint
from simulator.api.inference import inference
from simulator.api.service import health, image_file, list_models, not_found
from simulator.api.stored_responses import cancel, input_items, stored_response
from simulator.context import Surface
from simulator.models import Operation

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    name: str  # also the Azure Functions function name
    path: str  # Starlette syntax: "/openai/deployments/{deployment}/chat/completions"
    methods: frozenset[str]
    endpoint: Endpoint
    auth: bool = True

    @property
    def function_route(self) -> str:
        """The same path in Azure Functions syntax (no leading slash; catch-all as `{*path}`)."""
        return self.path.lstrip("/").replace("{path:path}", "{*path}")


def _post(name: str, path: str, operation: Operation, surface: Surface) -> Route:
    return Route(name, path, frozenset({"POST"}), inference(operation, surface))


CLASSIC = "/openai/deployments/{deployment}"
V1 = "/openai/v1"
PREVIEW = "/openai"  # the classic surface's Responses API: `?api-version=` and the deployment in the body


def _responses(prefix: str, surface: Surface) -> tuple[Route, ...]:
    """The Responses API: create, then the stored response, its input items and cancelling it."""
    name = "v1_responses" if surface is Surface.V1 else "responses"
    one = f"{prefix}/responses/{{response_id}}"
    return (
        _post(name, f"{prefix}/responses", Operation.RESPONSES, surface),
        Route(f"{name}_item", one, frozenset({"GET", "DELETE"}), stored_response(surface)),
        Route(f"{name}_input_items", f"{one}/input_items", frozenset({"GET"}), input_items(surface)),
        Route(f"{name}_cancel", f"{one}/cancel", frozenset({"POST"}), cancel(surface)),
    )


ROUTES: tuple[Route, ...] = (
    _post("chat_completions", f"{CLASSIC}/chat/completions", Operation.CHAT_COMPLETIONS, Surface.CLASSIC),
    _post("completions", f"{CLASSIC}/completions", Operation.COMPLETIONS, Surface.CLASSIC),
    _post("embeddings", f"{CLASSIC}/embeddings", Operation.EMBEDDINGS, Surface.CLASSIC),
    _post("v1_chat_completions", f"{V1}/chat/completions", Operation.CHAT_COMPLETIONS, Surface.V1),
    _post("v1_completions", f"{V1}/completions", Operation.COMPLETIONS, Surface.V1),
    _post("v1_embeddings", f"{V1}/embeddings", Operation.EMBEDDINGS, Surface.V1),
    *_responses(V1, Surface.V1),
    *_responses(PREVIEW, Surface.CLASSIC),
    *(
        _post(f"{prefix}{name}", f"{base}/{path}", operation, surface)
        for prefix, base, surface in (("", CLASSIC, Surface.CLASSIC), ("v1_", V1, Surface.V1))
        for name, path, operation in (
            ("audio_transcriptions", "audio/transcriptions", Operation.TRANSCRIPTIONS),
            ("audio_translations", "audio/translations", Operation.TRANSLATIONS),
            ("audio_speech", "audio/speech", Operation.SPEECH),
            ("image_generations", "images/generations", Operation.IMAGE_GENERATIONS),
            ("image_edits", "images/edits", Operation.IMAGE_EDITS),
        )
    ),
    Route("v1_models", f"{V1}/models", frozenset({"GET"}), list_models),
    Route("config", "/++/config", frozenset({"GET", "PATCH"}), admin.config),
    Route("recordings_save", "/++/recordings/save", frozenset({"POST"}), admin.save_recordings),
    Route("stats", "/++/stats", frozenset({"GET"}), admin.stats),
    Route("metrics", "/++/metrics", frozenset({"GET"}), admin.metrics),
    Route("dashboard", "/++/dashboard", frozenset({"GET"}), admin.dashboard, auth=False),
    Route("dashboard_asset", "/++/dashboard/{asset}", frozenset({"GET"}), admin.dashboard, auth=False),
    # Image URLs work without a key, as AOAI's signed blob URLs do: the unguessable name is the secret.
    Route("image_file", "/++/images/{name}", frozenset({"GET", "HEAD"}), image_file, auth=False),
    Route("health", "/", frozenset({"GET", "HEAD"}), health, auth=False),
    # Last: everything else gets AOAI's 404 rather than the framework's.
    Route("not_found", "/{path:path}", frozenset(ALL_METHODS), not_found, auth=False),
)
