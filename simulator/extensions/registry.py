"""What extensions registered, and how it is wired into the simulator once they are all loaded."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from simulator.context import OpenAIRequest
from simulator.extend import (
    EventHook,
    Generate,
    LatencyQuery,
    LatencyRule,
    Limiter,
    Pace,
    RequestHook,
    ResponseHook,
    RouteHandler,
    WrapGenerator,
)
from simulator.extensions.calls import call
from simulator.extensions.generators import ExtendedChat, ExtendedCompletions, GeneratorSteps
from simulator.extensions.hooks import Hooks
from simulator.extensions.limits import LimitStores, RequestLimiter
from simulator.extensions.routes import ExtensionRoute, ExtensionRouter
from simulator.latency.profile import LatencyProfile
from simulator.models import Operation
from simulator.settings import SettingsError

if TYPE_CHECKING:
    from simulator.app import Simulator
    from simulator.extensions.forwarding import ExtensionForwarding

# The operations whose generators extensions can add to or wrap, and how.
EXTENDABLE = {Operation.CHAT_COMPLETIONS: ExtendedChat, Operation.COMPLETIONS: ExtendedCompletions}


class ExtensionRegistry:
    def __init__(self, simulator: Simulator, limit_stores: LimitStores) -> None:
        self._simulator = simulator
        self._limit_stores = limit_stores
        self.router = ExtensionRouter()
        self._request_hooks: list[tuple[str, RequestHook]] = []
        self._response_hooks: list[tuple[str, ResponseHook]] = []
        self._event_hooks: list[tuple[str, EventHook]] = []
        self._generators: dict[Operation, GeneratorSteps] = {}
        # Read by the latency model on every planned request (a shared list: rules added later count).
        self.latency_rules: list[tuple[str, LatencyRule]] = []
        self.limiters: list[RequestLimiter] = []
        # None while no hook is registered: the dispatcher's one check per request.
        self.hooks: Hooks | None = None
        self._forwarding: ExtensionForwarding | None = None

    # --- registration (simulator.extend.Simulator calls these) ------------------------------------------

    def mode(self) -> str:
        return self._simulator.config.mode.value

    def api_key(self) -> str:
        return self._simulator.api_key

    def add_route(self, extension: str, path: str, handler: RouteHandler, **options: Any) -> None:
        """`options` as `simulator.extend.Simulator.add_route` takes them."""
        self.router.add(ExtensionRoute.make(extension, path, handler, **options))

    def add_generator(self, extension: str, operation: Operation, generate: Generate) -> None:
        self._steps(operation).producers.append((extension, generate))

    def wrap_generator(self, extension: str, operation: Operation, wrap: WrapGenerator) -> None:
        self._steps(operation).wrappers.append((extension, wrap))

    def _steps(self, operation: Operation) -> GeneratorSteps:
        extended = EXTENDABLE.get(operation)
        if extended is None:
            raise SettingsError(
                f"generators can be added or wrapped for chat completions and completions, not {operation}"
            )
        if operation not in self._generators:
            self._generators[operation] = GeneratorSteps()
            inner = self._simulator.generators[operation]
            self._simulator.generators[operation] = extended(inner, self._generators[operation])  # type: ignore[assignment]
        return self._generators[operation]

    def on_request(self, extension: str, hook: RequestHook) -> None:
        self._request_hooks.append((extension, hook))
        self._hooks_changed()

    def on_response(self, extension: str, hook: ResponseHook) -> None:
        self._response_hooks.append((extension, hook))
        self._hooks_changed()

    def on_stream_event(self, extension: str, hook: EventHook) -> None:
        self._event_hooks.append((extension, hook))
        self._hooks_changed()

    def _hooks_changed(self) -> None:
        self.hooks = Hooks(self._request_hooks, self._response_hooks, self._event_hooks)

    def add_latency_rule(self, extension: str, rule: LatencyRule) -> None:
        self.latency_rules.append((extension, rule))

    def limiter(self, extension: str, name: str, requests: int, per_seconds: float) -> Limiter:
        try:
            limiter = RequestLimiter(self._limit_stores, name, requests, per_seconds)
        except ValueError as error:
            raise SettingsError(str(error)) from None
        self.limiters.append(limiter)
        return limiter

    # --- use -----------------------------------------------------------------------------------------------

    def ruled_profile(self, request: OpenAIRequest, profile: LatencyProfile) -> LatencyProfile:
        """The latency profile for `request` after the extensions' rules (the first that answers wins)."""
        query = LatencyQuery(
            operation=request.operation,
            deployment=request.deployment.name,
            model=request.model.name,
            prompt_tokens=request.prompt_tokens or 0,
            stream=request.stream,
            headers=request.headers,
            configured=Pace(profile.ttft_ms, profile.tokens_per_second, profile.ttft_std_ms, profile.token_std_ms),
        )
        for extension, rule in self.latency_rules:
            pace = call(extension, "a latency rule", rule, query)
            if pace is not None:
                # What a Pace names, and nothing else: prefill, bursts, media and reasoning work stay configured.
                return dataclasses.replace(
                    profile,
                    ttft_ms=pace.ttft_ms,
                    ttft_std_ms=pace.ttft_std_ms,
                    tokens_per_second=pace.tokens_per_second,
                    token_std_ms=pace.token_std_ms,
                )
        return profile

    def forwarding(self) -> ExtensionForwarding:
        if self._forwarding is None:
            from simulator.extensions.forwarding import ExtensionForwarding

            self._forwarding = ExtensionForwarding(self._simulator)
        return self._forwarding

    async def start(self) -> None:
        if self.limiters:
            await self._limit_stores.start()

    async def close(self) -> None:
        if self.limiters:
            await self._limit_stores.aclose()
        if self._forwarding is not None:
            await self._forwarding.close()
