"""Generators answer requests in generate mode; one per operation, replaceable by extensions."""

from __future__ import annotations

import random
from collections.abc import Awaitable
from typing import Any, Protocol

from simulator.context import OpenAIRequest
from simulator.generators.base import GenerationSettings
from simulator.generators.chat import ChatGenerator
from simulator.generators.completions import CompletionGenerator
from simulator.generators.embeddings import EmbeddingGenerator
from simulator.generators.images import ImageGenerator
from simulator.generators.speech import SpeechGenerator
from simulator.generators.transcriptions import TranscriptionGenerator
from simulator.media.image_urls import ImageUrls
from simulator.models import Operation
from simulator.replies import Reply


class Generator(Protocol):
    operation: Operation

    def parse(self, request: OpenAIRequest) -> Any:
        """Validate the body (raising `OpenAIError`), set `request.prompt_tokens`, return typed params."""

    def generate(self, request: OpenAIRequest, params: Any, rng: random.Random) -> Reply | Awaitable[Reply]:
        """The answer, with its `usage`; media generators, which encode or store files, answer asynchronously."""


def default_generators(settings: GenerationSettings, image_urls: ImageUrls) -> dict[Operation, Generator]:
    # Imported here: the Responses generator builds on simulator.responses, which builds on this package's parsers.
    from simulator.generators.responses import ResponsesGenerator

    chat = ChatGenerator(settings)
    generators: list[Generator] = [
        chat,
        CompletionGenerator(settings),
        EmbeddingGenerator(),
        ResponsesGenerator(settings, chat),
        TranscriptionGenerator(Operation.TRANSCRIPTIONS),
        TranscriptionGenerator(Operation.TRANSLATIONS),
        SpeechGenerator(),
        ImageGenerator(Operation.IMAGE_GENERATIONS, image_urls, settings.clock),
        ImageGenerator(Operation.IMAGE_EDITS, image_urls, settings.clock),
    ]
    return {generator.operation: generator for generator in generators}
