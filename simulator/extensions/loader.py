"""Loading `EXTENSION_PATH`: Python files or package folders, comma-separated, each with `initialize(simulator)`.

Relative paths are taken from the working directory, else from the app root (the folder of function_app.py):
on Azure Functions the two are normally the same, and a path written for one works for the other. Any failure
(a missing file, an import error, no `initialize`, an exception inside it) stops start-up with a
`SettingsError` that names the extension and the error.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from simulator.settings import SettingsError

if TYPE_CHECKING:
    from simulator.extensions.registry import ExtensionRegistry

logger = logging.getLogger("simulator.extensions")
_NOT_WORD = re.compile(r"\W")
APP_ROOT = Path(__file__).resolve().parents[2]


def extension_paths(setting: str | None) -> list[str]:
    """The names in `EXTENSION_PATH`, in order (empty entries ignored)."""
    return [part.strip() for part in (setting or "").split(",") if part.strip()]


def resolve(name: str, cwd: Path | None = None) -> Path:
    path = Path(name)
    if path.is_absolute():
        return path
    for base in (cwd or Path.cwd(), APP_ROOT):
        if (base / path).exists():
            return base / path
    return path


def load_extensions(setting: str | None, registry: ExtensionRegistry) -> None:
    """Import and initialise every extension named in `setting`, in order."""
    from simulator.extend import Simulator

    for index, name in enumerate(extension_paths(setting)):
        path = resolve(name)
        module = _import(name, path, index)
        initialize = getattr(module, "initialize", None)
        if not callable(initialize):
            raise SettingsError(f"EXTENSION_PATH: {name} has no initialize(simulator) function")
        try:
            initialize(Simulator(registry, name, path))
        except SettingsError as error:
            raise SettingsError(f"EXTENSION_PATH: {name}: {error}") from None
        except Exception as error:
            logger.exception("extension %s failed in initialize()", name)
            raise SettingsError(f"EXTENSION_PATH: {name}: initialize() raised {_describe(error)}") from None
        logger.info("extension %s loaded", name)


def _import(name: str, path: Path, index: int) -> ModuleType:
    package = path.is_dir()
    target = path / "__init__.py" if package else path
    if not target.is_file() or target.suffix != ".py":
        raise SettingsError(f"EXTENSION_PATH: {name} is not a Python file or package folder (looked at {path})")
    module_name = f"simulator_extension_{index}_{_NOT_WORD.sub('_', path.stem)}"
    spec = importlib.util.spec_from_file_location(
        module_name, target, submodule_search_locations=[str(path)] if package else None
    )
    if spec is None or spec.loader is None:
        raise SettingsError(f"EXTENSION_PATH: cannot import {name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # before running it: a package's modules import each other through it
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        logger.exception("extension %s failed to import", name)
        raise SettingsError(f"EXTENSION_PATH: {name} failed to import: {_describe(error)}") from None
    return module


def _describe(error: BaseException) -> str:
    """The error and where in the extension it was raised (the innermost frame of the traceback)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f" at {frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame is not None else ""
    return f"{type(error).__name__}: {error}{where}"
