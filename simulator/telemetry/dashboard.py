"""The dashboard's files, served by the simulator itself: no CDN, no build step. They ship in the package
(`dashboard_files/`), are read once, and are pinned by content: the page names each script with its hash,
so a browser never mixes a new page with an old script."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path

FILES = Path(__file__).resolve().parent / "dashboard_files"
PAGE = "index.html"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Asset:
    content: bytes
    content_type: str
    etag: str


def find(name: str) -> Asset | None:
    """The named file, None for any name that is not one of the dashboard's own."""
    return _assets().get(name)


@functools.cache
def _assets() -> dict[str, Asset]:
    assets = {}
    versions = {}
    for path in sorted(FILES.iterdir()):
        if path.suffix in _TYPES and path.name != PAGE:
            content = path.read_bytes()
            versions[path.name] = hashlib.sha256(content).hexdigest()[:16]
            assets[path.name] = Asset(content, _TYPES[path.suffix], f'"{versions[path.name]}"')
    page = (FILES / PAGE).read_text(encoding="utf-8")
    for name, version in versions.items():
        page = page.replace(f'"{name}"', f'"dashboard/{name}?v={version}"')
    content = page.encode()
    assets[PAGE] = Asset(content, _TYPES[".html"], f'"{hashlib.sha256(content).hexdigest()[:16]}"')
    return assets
