"""The runtime config behind `GET`/`PATCH /++/config`: validated, immutable, swapped whole."""

from simulator.runtime_config.document import RuntimeConfig, invalid_config, merge_patch, patched
from simulator.runtime_config.memory import MemoryConfigStore
from simulator.runtime_config.store import ConfigStore


def __getattr__(name: str) -> object:
    """`TableConfigStore` is imported when first used: the Azure Tables SDK costs memory where it is not."""
    if name == "TableConfigStore":
        from simulator.runtime_config.table import TableConfigStore

        return TableConfigStore
    raise AttributeError(name)


__all__ = [
    "ConfigStore",
    "MemoryConfigStore",
    "RuntimeConfig",
    "TableConfigStore",
    "invalid_config",
    "merge_patch",
    "patched",
]
