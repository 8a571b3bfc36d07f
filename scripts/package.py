"""Build the Function App deployment zip, with the tiktoken encodings inside.

A Function App instance may have no route to the internet, and a cold start should not wait for one:
tiktoken would otherwise download its encodings on first use. This script copies them into
`simulator/tiktoken_cache/` of the package, named by tiktoken's cache key (the sha1 of the encoding's URL),
where `simulator.tokens.use_bundled_cache()` points `TIKTOKEN_CACHE_DIR` at start-up.

    python scripts/package.py --output dist/app.zip                    # remote build installs requirements
    python scripts/package.py --output dist/app.zip --python-packages  # requirements vendored in the zip
    python scripts/package.py --seed-only                              # fill the source tree's cache (func publish)

Encodings come from `$TIKTOKEN_CACHE_DIR` when it is set, else tiktoken downloads them on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_FOLDER = Path("simulator") / "tiktoken_cache"
sys.path.insert(0, str(ROOT))
from simulator.tokens import ENCODING_URLS, cache_key  # noqa: E402  (the catalogue's encodings, tiktoken's names)

REQUIRED = ("function_app.py", "host.json", "requirements.txt", "simulator")
OPTIONAL = ("extensions", "recordings")
EXCLUDED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", "local.settings.json"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
PACKAGES_FOLDER = Path(".python_packages") / "lib" / "site-packages"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same zip


class PackagingError(RuntimeError):
    """The source tree or the encodings cannot make a deployable package."""


def cache_files() -> dict[str, str]:
    """Encoding name → cache file name."""
    return {name: cache_key(url) for name, url in ENCODING_URLS.items()}


def seed_cache(target: Path, source: Path | None = None) -> list[Path]:
    """Copy the encodings into `target`, from `source` (a tiktoken cache) or a fresh download."""
    if source is None:
        with tempfile.TemporaryDirectory(prefix="tiktoken-") as downloaded:
            _download(Path(downloaded))
            return _copy_cache(Path(downloaded), target)
    return _copy_cache(source, target)


def _download(cache: Path) -> None:
    # A child process, so that TIKTOKEN_CACHE_DIR changes only there.
    code = "import sys, tiktoken\nfor name in sys.argv[1:]: tiktoken.get_encoding(name)"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}
    subprocess.run([sys.executable, "-c", code, *ENCODING_URLS], env=env, check=True)


def _copy_cache(source: Path, target: Path) -> list[Path]:
    missing = [f"{name} ({key})" for name, key in cache_files().items() if not (source / key).is_file()]
    if missing:
        raise PackagingError(f"{source} lacks the cached encodings {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(source / key, target / key)) for key in cache_files().values()]


def stage(source: Path, staging: Path) -> None:
    """Copy what the Function App runs from `source` into `staging`."""
    absent = [name for name in REQUIRED if not (source / name).exists()]
    if absent:
        raise PackagingError(f"{source} is not a Function App project: missing {', '.join(absent)}")
    for name in (*REQUIRED, *OPTIONAL):
        path = source / name
        if path.is_dir():
            shutil.copytree(path, staging / name, ignore=_ignored)
        elif path.is_file():
            shutil.copy2(path, staging / name)


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in EXCLUDED_NAMES or Path(name).suffix in EXCLUDED_SUFFIXES}


def vendor_requirements(staging: Path, python_version: str) -> None:
    """Install requirements into .python_packages for a zip deployed without remote build."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet",
        "--requirement", str(staging / "requirements.txt"),
        "--target", str(staging / PACKAGES_FOLDER),
        "--platform", "manylinux2014_x86_64", "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:",
    ]  # fmt: skip
    subprocess.run(command, check=True)


def write_zip(staging: Path, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files(staging):
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), ZIP_EPOCH)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return output


def _files(folder: Path) -> Iterator[Path]:
    return (path for path in sorted(folder.rglob("*")) if path.is_file())


def build(source: Path, output: Path, *, tiktoken_cache: Path | None, python_version: str | None = None) -> Path:
    """Stage `source`, add the encodings (and vendored requirements), and zip it to `output`."""
    with tempfile.TemporaryDirectory(prefix="package-") as folder:
        staging = Path(folder)
        stage(source, staging)
        seed_cache(staging / CACHE_FOLDER, tiktoken_cache)
        if python_version:
            vendor_requirements(staging, python_version)
        return write_zip(staging, output)


def _environment_cache() -> Path | None:
    value = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(value) if value else None


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT, help="project folder (default: this repository)")
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "app.zip", help="zip file to write")
    parser.add_argument(
        "--python-packages",
        nargs="?",
        const="3.11",
        metavar="PYTHON_VERSION",
        help="vendor requirements into .python_packages for this Python (default 3.11), for deploys without build",
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="only fill <source>/simulator/tiktoken_cache (before func publish)"
    )
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        if args.seed_only:
            for path in seed_cache(args.source / CACHE_FOLDER, _environment_cache()):
                print(path)
            return 0
        print(build(args.source, args.output, tiktoken_cache=_environment_cache(), python_version=args.python_packages))
    except PackagingError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
