"""scripts/package.py builds a zip whose cold start needs no network for tiktoken."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "package.py"

# Runs in the unpacked package with every outbound connection refused, as on an instance with no egress.
OFFLINE_PROBE = textwrap.dedent(
    """
    import os, socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    try:
        socket.create_connection(("127.0.0.1", 9))
    except OSError as error:
        assert "disabled by the test" in str(error)

    sys.path.insert(0, os.getcwd())
    from simulator import tokens

    tokens.use_bundled_cache()
    print(os.environ.get("TIKTOKEN_CACHE_DIR"))
    import tiktoken

    print(len(tiktoken.get_encoding("o200k_base").encode("Hello from a cold start")))
    """
)


@pytest.fixture(scope="module")
def package() -> ModuleType:
    spec = importlib.util.spec_from_file_location("package_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Function App project: the real simulator package plus the host files the Functions runtime needs."""
    source = tmp_path / "project"
    shutil.copytree(ROOT / "simulator", source / "simulator", ignore=shutil.ignore_patterns("tiktoken_cache"))
    shutil.copytree(ROOT / "extensions", source / "extensions", ignore=shutil.ignore_patterns("__pycache__"))
    (source / "function_app.py").write_text("import azure.functions as func\n\napp = func.FunctionApp()\n")
    (source / "host.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}\n')
    (source / "requirements.txt").write_text("azure-functions\ntiktoken\n")
    (source / "recordings").mkdir()
    (source / "recordings" / "chat.yaml").write_text("version: 1\ninteractions: []\n")
    (source / "simulator" / "__pycache__").mkdir(exist_ok=True)
    (source / "simulator" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    return source


def run_script(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def offline_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"}}
    return {**env, **extra}


def build(project: Path, output: Path) -> Path:
    assert os.environ.get("TIKTOKEN_CACHE_DIR"), "tests/conftest.py points TIKTOKEN_CACHE_DIR at shared/tiktoken-cache"
    result = run_script("--source", project, "--output", output)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(output)
    return output


def test_zip_holds_the_app_and_both_encodings(package: ModuleType, project: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build(project, tmp_path / "app.zip")).namelist())

    encodings = {f"simulator/tiktoken_cache/{key}" for key in package.cache_files().values()}
    assert len(encodings) == 2
    assert encodings <= names
    assert {"function_app.py", "host.json", "requirements.txt", "recordings/chat.yaml", "simulator/tokens.py"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # EXTENSION_PATH names them relative to the app root (docs/extending.md).
    assert {"extensions/document_intelligence/__init__.py", "extensions/canned_answers.yaml"} <= names


def test_unpacked_package_counts_tokens_offline(project: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "wwwroot"
    zipfile.ZipFile(build(project, tmp_path / "app.zip")).extractall(unpacked)

    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_PROBE], cwd=unpacked, env=offline_env(), capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    cache_dir, token_count = result.stdout.split()
    assert Path(cache_dir) == unpacked / "simulator" / "tiktoken_cache"
    assert int(token_count) > 0


def test_without_the_bundle_the_probe_cannot_download(project: Path, tmp_path: Path) -> None:
    """The probe's network block is real: with an empty cache tiktoken fails instead of downloading."""
    empty = tmp_path / "empty-cache"
    empty.mkdir()

    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_PROBE],
        cwd=project,
        env=offline_env(TIKTOKEN_CACHE_DIR=str(empty)),
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "network disabled by the test" in result.stderr


def test_same_sources_give_the_same_zip(project: Path, tmp_path: Path) -> None:
    first = build(project, tmp_path / "first.zip").read_bytes()
    second = build(project, tmp_path / "second.zip").read_bytes()
    assert first == second


def test_seed_only_fills_the_source_cache(package: ModuleType, project: Path) -> None:
    result = run_script("--source", project, "--seed-only")

    assert result.returncode == 0, result.stderr
    cache = project / "simulator" / "tiktoken_cache"
    assert sorted(path.name for path in cache.iterdir()) == sorted(package.cache_files().values())


def test_refuses_a_tree_without_host_json(project: Path, tmp_path: Path) -> None:
    (project / "host.json").unlink()

    result = run_script("--source", project, "--output", tmp_path / "app.zip")

    assert result.returncode == 1
    assert "missing host.json" in result.stderr
    assert not (tmp_path / "app.zip").exists()


def test_refuses_a_cache_without_the_encodings(project: Path, tmp_path: Path) -> None:
    result = run_script(
        "--source", project, "--output", tmp_path / "app.zip", env=offline_env(TIKTOKEN_CACHE_DIR=str(tmp_path))
    )

    assert result.returncode == 1
    assert "lacks the cached encodings" in result.stderr
