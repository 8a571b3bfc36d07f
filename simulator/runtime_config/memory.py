"""The runtime config of one process: changes reach only this instance."""

from __future__ import annotations

from typing import Any

from simulator.runtime_config.document import RuntimeConfig, patched
from simulator.runtime_config.store import ConfigStore


class MemoryConfigStore(ConfigStore):
    async def start(self) -> None:
        pass  # nothing to follow: this process is the only writer

    async def close(self) -> None:
        pass

    async def _apply(self, patch: Any) -> RuntimeConfig:
        return patched(self.current, patch, self.validate)
