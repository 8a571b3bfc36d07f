"""EXTENSION_PATH: several files and package folders in order; any failure stops start-up naming the extension."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.app import Simulator
from simulator.extensions.loader import extension_paths, resolve
from simulator.settings import Settings, SettingsError
from tests.extensions.support import write_extension
from tests.support.server import REPO

ORDER = """
from simulator import extend

def initialize(simulator: extend.Simulator) -> None:
    simulator.wrap_generator(extend.Operation.CHAT_COMPLETIONS, lambda prompt, choices: [extend.Choice("{name}")])
"""


def build(extension_path: str) -> Simulator:
    return Simulator.from_settings(Settings.from_env({"SIMULATOR_API_KEY": "k", "EXTENSION_PATH": extension_path}))


def test_the_setting_names_several_extensions_in_order() -> None:
    assert extension_paths(" a.py, pkg ,,b.py ") == ["a.py", "pkg", "b.py"]
    assert extension_paths(None) == extension_paths("") == []


def test_relative_paths_fall_back_to_the_app_root(tmp_path: Path) -> None:
    assert resolve("extensions/echo_generator.py", cwd=tmp_path).is_file()
    assert resolve("/abs/x.py", cwd=tmp_path) == Path("/abs/x.py")


def test_files_and_packages_load_in_order(tmp_path: Path) -> None:
    first = write_extension(tmp_path, ORDER.replace("{name}", "first"), "first.py")
    package = tmp_path / "second"
    package.mkdir()
    (package / "answer.py").write_text('TEXT = "second"\n')
    write_extension(
        package,
        ORDER.replace('"{name}"', "TEXT").replace("from simulator", "from .answer import TEXT\nfrom simulator"),
        "__init__.py",
    )
    simulator = build(f"{first},{package}")
    steps = simulator.extensions._generators
    assert [extension for extension, _ in next(iter(steps.values())).wrappers] == [str(first), str(package)]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "has no initialize"),
        ("import no_such_module_here\n", "failed to import: ModuleNotFoundError"),
        (
            "def initialize(simulator):\n    raise RuntimeError('boom')\n",
            "initialize\\(\\) raised RuntimeError: boom at .*ext.py:2",
        ),
        (
            "def initialize(simulator):\n    simulator.add_route('/openai/v1/mine', None)\n",
            "the simulator's own paths",
        ),
        (
            "from simulator import extend\ndef initialize(simulator):\n"
            "    simulator.add_generator(extend.Operation.EMBEDDINGS, lambda p: 'x')\n",
            "chat completions and completions, not",
        ),
    ],
)
def test_a_broken_extension_stops_start_up_naming_it(tmp_path: Path, source: str, message: str) -> None:
    path = write_extension(tmp_path, source)
    with pytest.raises(SettingsError, match=f"EXTENSION_PATH: {path}.*{message}"):
        build(str(path))


def test_a_missing_extension_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"missing\.py is not a Python file or package folder"):
        build(str(tmp_path / "missing.py"))


def test_the_local_server_refuses_to_start_naming_the_extension(tmp_path: Path) -> None:
    path = write_extension(tmp_path, "def initialize(simulator):\n    raise LookupError('no such table')\n")
    env = {**os.environ, "SIMULATOR_API_KEY": "k", "EXTENSION_PATH": f"extensions/echo_generator.py,{path}"}
    completed = subprocess.run(
        [sys.executable, "-m", "simulator", "--port", "9"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    expected = f"cannot start: EXTENSION_PATH: {path}: initialize() raised LookupError: no such table at {path}:2"
    assert expected in completed.stderr
