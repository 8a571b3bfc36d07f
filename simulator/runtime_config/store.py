"""What every runtime-config store offers: the current config (one attribute read), PATCH, listeners."""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable
from typing import Any

from simulator.runtime_config.document import RuntimeConfig, Validator

logger = logging.getLogger(__name__)
Listener = Callable[[RuntimeConfig], None]


class ConfigStore(abc.ABC):
    """Holds the config in force. Readers take `store.current` once per request and use that snapshot;
    a change replaces the object (swap, never mutate), so a request never sees half a change."""

    def __init__(self, initial: RuntimeConfig, *, validate: Validator | None = None) -> None:
        self.current = initial
        self.validate = validate
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Called with the new config after every change, local or from another instance (rebuild what
        depends on it there, e.g. the latency model)."""
        self._listeners.append(listener)

    async def patch(self, patch: Any) -> RuntimeConfig:
        """Apply a JSON merge patch; `OpenAIError` 400 if the result is invalid (and nothing changes)."""
        async with self._lock:
            config = await self._apply(patch)
        self._swap(config)
        return config

    @abc.abstractmethod
    async def _apply(self, patch: Any) -> RuntimeConfig:
        """Validate and persist; return the new config."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin following changes made elsewhere."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop following and release connections."""

    def _swap(self, config: RuntimeConfig) -> None:
        if config == self.current:
            return
        self.current = config
        for listener in self._listeners:
            try:
                listener(config)
            except Exception:
                logger.exception("runtime config listener %r failed", listener)
