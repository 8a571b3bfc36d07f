"""Extensions: a Python file (or package folder) named by `EXTENSION_PATH` whose `initialize(simulator)`
hook may replace or add generators (and, as they land, limiters and forwarders) on the built simulator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.settings import SettingsError

if TYPE_CHECKING:
    from simulator.app import Simulator


def load_extension(path: Path, simulator: Simulator) -> None:
    target = path / "__init__.py" if path.is_dir() else path
    if not target.is_file():
        raise SettingsError(f"EXTENSION_PATH: {path} is not a Python file or package folder")
    name = f"simulator_extension_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, target, submodule_search_locations=None)
    if spec is None or spec.loader is None:
        raise SettingsError(f"EXTENSION_PATH: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    initialize = getattr(module, "initialize", None)
    if not callable(initialize):
        raise SettingsError(f"EXTENSION_PATH: {path} has no initialize(simulator) function")
    initialize(simulator)
