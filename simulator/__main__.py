"""`python -m simulator`: serve the simulator locally with the same functions Azure runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn
from dotenv import load_dotenv

from simulator.app import Simulator, configure_logging
from simulator.server import create_app, uvicorn_options
from simulator.settings import Settings, SettingsError
from simulator.tokens import EncodingsUnavailableError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Azure OpenAI API simulator")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="settings file (default .env, if any)")
    args = parser.parse_args(argv)
    if args.env_file.is_file():
        load_dotenv(args.env_file, override=False)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, log_format=settings.log_format)
        simulator = Simulator.from_settings(settings)
    except (SettingsError, EncodingsUnavailableError) as error:
        print(f"aoai-simulator: cannot start: {error}", file=sys.stderr)
        return 2
    # A generated key is shown once, here, so the user can call the simulator; a configured one never is.
    key = simulator.api_key if settings.api_key is None else "from SIMULATOR_API_KEY"
    print(
        f"aoai-simulator ({settings.mode.value} mode) on http://{args.host}:{args.port}  api-key: {key}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(simulator),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        ws="none",  # nothing here speaks WebSocket; uvicorn's default imports wsproto for it (0.7 MiB)
        **uvicorn_options(settings),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
