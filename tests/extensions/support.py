"""An in-process simulator with extensions, behind the local host's real Starlette app (the same dispatch
and route table as over a socket), driven with httpx."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from simulator.app import Simulator
from simulator.server import create_app
from simulator.settings import Settings

KEY = "extension-key"
CHAT = "/openai/deployments/chat/chat/completions?api-version=2024-10-21"


def write_extension(folder: Path, source: str, name: str = "ext.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


@contextlib.asynccontextmanager
async def serving(extension_path: str, env: Mapping[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env(
        {
            "SIMULATOR_API_KEY": KEY,
            "SIMULATOR_LATENCY_ENABLED": "false",
            "EXTENSION_PATH": extension_path,
            **(env or {}),
        }
    )
    simulator = Simulator.from_settings(settings)
    app = create_app(simulator)
    await simulator.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim.test", headers={"api-key": KEY}
        ) as client:
            yield client
    finally:
        await simulator.close()


def chat_body(text: str = "hello there", **extra: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}], **extra}
