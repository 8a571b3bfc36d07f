"""Extensions' internals: loading `EXTENSION_PATH`, and wiring what extensions register (routes, generators,
hooks, latency rules, limiters, forwarders) into the simulator. Extensions themselves import only
`simulator.extend`, the public API; nothing here is for them."""

from simulator.extensions.loader import load_extensions
from simulator.extensions.registry import ExtensionRegistry

__all__ = ["ExtensionRegistry", "load_extensions"]
