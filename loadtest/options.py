"""The kit's settings: each is a Locust command-line option that can also come from an environment variable.

Declaring them on Locust's own parser (rather than reading `os.environ` in the users) means the master sends its
values to every worker, they appear in `--help` and in the web UI, and a `locust.conf` file can hold them.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
from typing import Any


class ApiStyle(enum.StrEnum):
    CLASSIC = "classic"  # /openai/deployments/{deployment}/...?api-version=...
    V1 = "v1"  # /openai/v1/... with the deployment in the body's `model`


def option(env: str, doc: str, default: Any, *, secret: bool = False, web_ui: bool = True) -> Any:
    """Declare a field that is also the command-line option `--<field-name>` and the environment variable `env`."""
    metadata = {"env": env, "doc": doc, "secret": secret, "web_ui": web_ui}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True, slots=True)
class LoadTestOptions:
    api_key: str = option("LOADTEST_API_KEY", "Key sent in the `api-key` header.", "", secret=True)
    chat_deployment: str = option("LOADTEST_CHAT_DEPLOYMENT", "Deployment used by chat scenarios.", "gpt-4o")
    embedding_deployment: str = option(
        "LOADTEST_EMBEDDING_DEPLOYMENT", "Deployment used by the embeddings scenario.", "text-embedding-3-small"
    )
    api_style: ApiStyle = option(  # noqa: RUF009 (option() returns a dataclasses.field)
        "LOADTEST_API_STYLE", "`classic` (deployment in the path) or `v1` (deployment in `model`).", ApiStyle.CLASSIC
    )
    api_version: str = option(
        "LOADTEST_API_VERSION", "`api-version` query parameter (classic paths; empty to omit on v1).", "2024-10-21"
    )
    max_tokens: int = option("LOADTEST_MAX_TOKENS", "`max_tokens` of every chat request.", 100)
    max_retries: int = option(
        "LOADTEST_MAX_RETRIES", "Retries of a request answered 429 before it counts as failed.", 5
    )
    max_retry_wait: float = option(
        "LOADTEST_MAX_RETRY_WAIT", "Longest wait in seconds before a retry, whatever `retry-after` asks.", 60.0
    )
    think_time: float = option("LOADTEST_THINK_TIME", "Seconds each user waits between two requests.", 0.0)
    summary_json: str = option(
        "LOADTEST_SUMMARY_JSON", "Also write the end-of-run summary to this JSON file (master only).", "", web_ui=False
    )

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        """Register every field on Locust's parser (an `init_command_line_parser` listener).

        Locust lists options added this way under "Custom options"; an argument group would lose its web-UI flags.
        """
        for field in dataclasses.fields(cls):
            meta = field.metadata
            parser.add_argument(
                "--" + field.name.replace("_", "-"),
                dest=field.name,
                env_var=meta["env"],
                type=_converter(field.default),
                default=field.default,
                help=f"{meta['doc']} Env: {meta['env']}.",
                is_secret=meta["secret"],
                include_in_web_ui=meta["web_ui"],
            )

    @classmethod
    def from_namespace(cls, parsed: argparse.Namespace | None) -> LoadTestOptions:
        """Typed options from Locust's parsed options; missing entries keep their defaults (e.g. the Python API)."""
        values = vars(parsed) if parsed is not None else {}
        chosen = {f.name: _converter(f.default)(values[f.name]) for f in dataclasses.fields(cls) if f.name in values}
        options = cls(**chosen)
        options.validate()
        return options

    def validate(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("LOADTEST_MAX_TOKENS must be at least 1")
        if self.max_retries < 0 or self.max_retry_wait < 0 or self.think_time < 0:
            raise ValueError("LOADTEST_MAX_RETRIES, LOADTEST_MAX_RETRY_WAIT and LOADTEST_THINK_TIME must be >= 0")


def _converter(default: Any) -> Any:
    """The type of a field's default converts command-line text (an enum rejects unknown names)."""
    return type(default)
