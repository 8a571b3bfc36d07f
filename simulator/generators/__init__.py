"""Generators answer requests in generate mode; one per operation, replaceable by extensions."""

from __future__ import annotations

import random
from typing import Any, Protocol

from simulator.context import OpenAIRequest
from simulator.generators.base import GenerationSettings
from simulator.generators.chat import ChatGenerator
from simulator.generators.completions import CompletionGenerator
from simulator.generators.embeddings import EmbeddingGenerator
from simulator.models import Operation
from simulator.replies import Reply


class Generator(Protocol):
    operation: Operation

    def parse(self, request: OpenAIRequest) -> Any:
        """Validate the body (raising `OpenAIError`), set `request.prompt_tokens`, return typed params."""

    def generate(self, request: OpenAIRequest, params: Any, rng: random.Random) -> Reply:
        """The answer, with its `usage`."""


def default_generators(settings: GenerationSettings) -> dict[Operation, Generator]:
    # Imported here: the Responses generator builds on simulator.responses, which builds on this package's parsers.
    from simulator.generators.responses import ResponsesGenerator

    chat = ChatGenerator(settings)
    generators: list[Generator] = [
        chat,
        CompletionGenerator(settings),
        EmbeddingGenerator(),
        ResponsesGenerator(settings, chat),
    ]
    return {generator.operation: generator for generator in generators}
