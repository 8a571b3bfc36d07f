"""The simulator core, built from settings: it answers parsed requests and knows nothing of HTTP."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from simulator.context import OpenAIRequest
from simulator.deployments import Deployment, Deployments, load_deployments
from simulator.extensions import load_extension
from simulator.generators import Generator, default_generators
from simulator.generators.base import GenerationSettings, RandomSource
from simulator.models import Operation
from simulator.replies import Reply
from simulator.settings import Mode, Settings, SettingsError, parse_token_range
from simulator.tokens import use_bundled_cache

logger = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self,
        settings: Settings,
        deployments: Deployments,
        generators: Mapping[Operation, Generator],
        *,
        api_key: str,
    ) -> None:
        self.settings = settings
        self.deployments = deployments
        self.generators = dict(generators)
        self.api_key = api_key
        self.random = RandomSource(settings.seed)

    @classmethod
    def from_settings(cls, settings: Settings) -> Simulator:
        """Everything the simulator needs, built once; a bad setting raises `SettingsError` naming it."""
        use_bundled_cache()
        if settings.mode is not Mode.GENERATE:
            raise SettingsError(f"SIMULATOR_MODE={settings.mode.value} is not available in this build")
        defined: Mapping[str, Deployment] = {}
        if settings.deployment_config_path is not None:
            defined = load_deployments(settings.deployment_config_path)
        deployments = Deployments(
            defined,
            allow_undefined=settings.allow_undefined_deployments,
            default_chat_model=settings.default_chat_model,
            default_embedding_model=settings.default_embedding_model,
        )
        generation = GenerationSettings(parse_token_range(settings.completion_tokens), seed=settings.seed)
        api_key = settings.api_key or secrets.token_urlsafe(24)
        if settings.api_key is None:
            logger.warning("SIMULATOR_API_KEY is not set; generated key for this run: %s", api_key)
        simulator = cls(settings, deployments, default_generators(generation), api_key=api_key)
        if settings.extension_path is not None:
            load_extension(settings.extension_path, simulator)
        return simulator

    async def answer(self, request: OpenAIRequest) -> Reply:
        generator = self.generators[request.operation]
        params = generator.parse(request)
        seed = request.body.get("seed")
        rng = self.random.for_request(seed if isinstance(seed, int) and not isinstance(seed, bool) else None)
        return generator.generate(request, params, rng)
