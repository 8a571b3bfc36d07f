"""The runtime config behind `GET`/`PATCH /++/config`: validated, immutable, swapped whole."""

from simulator.runtime_config.document import RuntimeConfig, invalid_config, merge_patch, patched
from simulator.runtime_config.memory import MemoryConfigStore
from simulator.runtime_config.store import ConfigStore
from simulator.runtime_config.table import TableConfigStore

__all__ = [
    "ConfigStore",
    "MemoryConfigStore",
    "RuntimeConfig",
    "TableConfigStore",
    "invalid_config",
    "merge_patch",
    "patched",
]
