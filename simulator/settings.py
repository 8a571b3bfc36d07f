"""Typed settings, read and validated once at start-up.

Every setting the simulator reads is a field of `Settings` whose metadata names the environment variable
and documents it. That one table drives parsing, `local.settings.sample.json`, the README's settings table
and the Terraform app-settings check, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints


class Mode(enum.StrEnum):
    GENERATE = "generate"
    RECORD = "record"
    REPLAY = "replay"


class SettingsError(ValueError):
    """A setting has a value the simulator cannot use; the message names the variable."""


def setting(env: str, doc: str, default: Any = None, *, secret: bool = False, sample: str | None = None) -> Any:
    """Declare a field read from the environment variable `env`."""
    metadata = {"env": env, "doc": doc, "secret": secret, "sample": sample}
    # Secrets stay out of repr(): a logged or printed Settings must not carry a key.
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    mode: Mode = setting("SIMULATOR_MODE", "`generate`, `record` or `replay`.", Mode.GENERATE)
    api_key: str | None = setting(
        "SIMULATOR_API_KEY",
        "Key clients send as `api-key` or `Authorization: Bearer`. Unset: one is generated and printed at start.",
        secret=True,
    )
    admin_key: str | None = setting(
        "SIMULATOR_ADMIN_KEY",
        "Key for the control endpoints under `/++/` (config, recordings, telemetry); unset: `SIMULATOR_API_KEY` "
        "opens them too.",
        secret=True,
    )
    cors_origins: str = setting(
        "SIMULATOR_CORS_ORIGINS",
        "Browser origins allowed to call the simulator (CORS): comma-separated (`https://a.example`), or `*`; "
        "unset: CORS off.",
        "",
    )
    deployment_config_path: Path | None = setting(
        "OPENAI_DEPLOYMENT_CONFIG_PATH",
        "JSON file describing deployments (README: Deployments).",
    )
    allow_undefined_deployments: bool = setting(
        "ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS",
        "Serve deployment names missing from the deployments file with a default model; `false` answers 404.",
        True,
    )
    default_chat_model: str = setting(
        "SIMULATOR_DEFAULT_CHAT_MODEL", "Model used for undefined deployments of chat and completions.", "gpt-4o"
    )
    default_embedding_model: str = setting(
        "SIMULATOR_DEFAULT_EMBEDDING_MODEL",
        "Model used for undefined deployments of embeddings.",
        "text-embedding-ada-002",
    )
    completion_tokens: str = setting(
        "SIMULATOR_COMPLETION_TOKENS",
        "Length a generated answer wants when uncapped: `N` or a range `MIN-MAX` (drawn per request).",
        "100-300",
    )
    seed: int = setting("SIMULATOR_SEED", "Seed of the random source behind generated text and ids.", 0)
    max_body_bytes: int = setting(
        "SIMULATOR_MAX_BODY_BYTES", "Largest request body accepted; larger bodies get 413.", 4 * 1024 * 1024
    )
    # Resource limits of a shared endpoint (docs/security.md): each refusal is AOAI-shaped.
    max_choices: int = setting(
        "SIMULATOR_MAX_CHOICES", "Most choices one request may ask for: `n` (times the prompts of a completion).", 128
    )
    max_messages: int = setting("SIMULATOR_MAX_MESSAGES", "Most `messages` in one request.", 2048)
    max_tools: int = setting("SIMULATOR_MAX_TOOLS", "Most `tools` in one request.", 128)
    max_inputs: int = setting(
        "SIMULATOR_MAX_INPUTS", "Most items of an `input` or `prompt` array (embedding inputs, prompts).", 2048
    )
    max_json_depth: int = setting(
        "SIMULATOR_MAX_JSON_DEPTH", "Deepest nesting of a request body's JSON (tool and response schemas included).", 64
    )
    max_generated_tokens: int = setting(
        "SIMULATOR_MAX_GENERATED_TOKENS",
        "Most tokens generated for one request, all choices together, a token with logprobs counting 1 plus its "
        "alternatives; longer answers end with finish_reason `length`.",
        262144,
    )
    max_concurrent_streams: int = setting(
        "SIMULATOR_MAX_CONCURRENT_STREAMS",
        "Streams one instance sends at once; past it, 503 with `retry-after`.",
        10000,
    )
    body_timeout_seconds: float = setting(
        "SIMULATOR_BODY_TIMEOUT_SECONDS", "Longest a client may take to send a request body; past it, 408.", 30.0
    )
    header_timeout_seconds: float = setting(
        "SIMULATOR_HEADER_TIMEOUT_SECONDS",
        "Local server: longest a client may take to send a request's headers; then the connection is closed.",
        10.0,
    )
    max_header_bytes: int = setting(
        "SIMULATOR_MAX_HEADER_BYTES", "Local server: largest request line plus headers; larger get 431.", 65536
    )
    keepalive_timeout_seconds: float = setting(
        "SIMULATOR_KEEPALIVE_TIMEOUT_SECONDS", "Local server: an idle kept-alive connection is closed after this.", 5.0
    )
    recording_dir: Path = setting("RECORDING_DIR", "Folder of YAML recordings (record and replay).", Path("recordings"))
    recording_autosave: bool = setting(
        "RECORDING_AUTOSAVE", "Save each recorded interaction as it completes; `false`: save on request.", True
    )
    azure_openai_endpoint: str | None = setting(
        "AZURE_OPENAI_ENDPOINT", "Real Azure OpenAI endpoint that record mode forwards to."
    )
    azure_openai_key: str | None = setting(
        "AZURE_OPENAI_KEY", "Key for `AZURE_OPENAI_ENDPOINT`; unset: Entra ID (DefaultAzureCredential).", secret=True
    )
    extension_path: str | None = setting(
        "EXTENSION_PATH",
        "Python files or package folders, comma-separated, each with `initialize(simulator)` (docs/extending.md).",
    )
    log_level: str = setting("LOG_LEVEL", "Python log level: DEBUG, INFO, WARNING, ERROR.", "INFO")

    # Generation of tool calls (generate mode).
    tool_call_probability: float = setting(
        "SIMULATOR_TOOL_CALL_PROBABILITY",
        'Chance that `tool_choice: "auto"` (the default when `tools` are given) answers with tool calls.',
        0.5,
    )
    tool_call_probability_after_tool: float = setting(
        "SIMULATOR_TOOL_CALL_PROBABILITY_AFTER_TOOL",
        "The same when the last message is a tool result, so agent loops end.",
        0.1,
    )
    parallel_tool_call_probability: float = setting(
        "SIMULATOR_PARALLEL_TOOL_CALL_PROBABILITY",
        "Chance of each further call (up to 3) when `parallel_tool_calls` allows it.",
        0.25,
    )

    # Latency (docs/latency.md).
    latency_enabled: bool = setting(
        "SIMULATOR_LATENCY_ENABLED",
        "Add modelled latency (time to first token, tokens per second); `false` answers as fast as possible. "
        "An `enabled` in `SIMULATOR_LATENCY_CONFIG` wins over it.",
        True,
    )
    latency_config: str | None = setting(
        "SIMULATOR_LATENCY_CONFIG", "JSON, or a path to a JSON file, holding the `latency` section (docs/latency.md)."
    )
    latency_chat_mean: float | None = setting(
        "LATENCY_OPENAI_CHAT_COMPLETIONS_MEAN", "Predecessor setting: milliseconds per completion token of chat."
    )
    latency_chat_std_dev: float | None = setting(
        "LATENCY_OPENAI_CHAT_COMPLETIONS_STD_DEV", "Standard deviation of `LATENCY_OPENAI_CHAT_COMPLETIONS_MEAN`."
    )
    latency_completions_mean: float | None = setting(
        "LATENCY_OPENAI_COMPLETIONS_MEAN", "Predecessor setting: milliseconds per completion token of completions."
    )
    latency_completions_std_dev: float | None = setting(
        "LATENCY_OPENAI_COMPLETIONS_STD_DEV", "Standard deviation of `LATENCY_OPENAI_COMPLETIONS_MEAN`."
    )
    latency_embeddings_mean: float | None = setting(
        "LATENCY_OPENAI_EMBEDDINGS_MEAN", "Predecessor setting: milliseconds per embeddings request."
    )
    latency_embeddings_std_dev: float | None = setting(
        "LATENCY_OPENAI_EMBEDDINGS_STD_DEV", "Standard deviation of `LATENCY_OPENAI_EMBEDDINGS_MEAN`."
    )
    latency_translations_mean: float | None = setting(
        "LATENCY_OPENAI_TRANSLATIONS_MEAN", "Predecessor setting: milliseconds per megabyte of translated audio."
    )
    latency_translations_std_dev: float | None = setting(
        "LATENCY_OPENAI_TRANSLATIONS_STD_DEV", "Standard deviation of `LATENCY_OPENAI_TRANSLATIONS_MEAN`."
    )

    # Faults (docs/faults.md).
    faults: str | None = setting(
        "SIMULATOR_FAULTS", "JSON, or a path to a JSON file: deployment (or `*`) → list of faults to inject."
    )
    fault_header: bool = setting(
        "SIMULATOR_FAULT_HEADER", "Honour the `x-simulator-fault` request header (per-request faults for tests).", True
    )

    # Azure Storage, shared by recordings (Blob), rate limits and runtime config (Table).
    storage_connection_string: str | None = setting(
        "AZURE_STORAGE_CONNECTION_STRING",
        "Storage account (or Azurite) connection string: selects Blob recordings and Table-backed limits and config.",
        secret=True,
    )
    storage_account_url: str | None = setting(
        "AZURE_STORAGE_ACCOUNT_URL",
        "Blob endpoint of the storage account, reached with DefaultAzureCredential (`AZURE_CLIENT_ID` picks one).",
    )
    storage_table_url: str | None = setting(
        "AZURE_STORAGE_TABLE_URL",
        "Table endpoint; unset: derived from `AZURE_STORAGE_ACCOUNT_URL` (`.blob.` → `.table.`).",
    )
    runtime_config_table: str = setting(
        "RUNTIME_CONFIG_TABLE", "Table holding the runtime config shared by all instances.", "runtimeconfig"
    )
    runtime_config_poll_seconds: float = setting(
        "RUNTIME_CONFIG_POLL_SECONDS", "How often each instance checks the shared runtime config for changes.", 1.5
    )

    # Rate limits (docs/rate-limits.md): Table Storage when storage is configured, else in memory.
    rate_limit_table: str = setting(
        "RATE_LIMIT_TABLE", "Table holding rate-limit state; instances sharing it share budgets.", "ratelimits"
    )
    rate_limit_lease_fraction: float | None = setting(
        "RATE_LIMIT_LEASE_FRACTION",
        "Share of a limit an instance leases at once (0–0.5; up to twice that in a burst); unset: 0 in memory, "
        "0.01 on Table Storage.",
    )
    rate_limit_lease_seconds: float = setting(
        "RATE_LIMIT_LEASE_SECONDS", "How long a lease, or a refusal read from the store, is used locally.", 1.0
    )
    rate_limit_failure_mode: str = setting(
        "RATE_LIMIT_FAILURE_MODE", "While Table Storage fails: `open` (serve, count) or `closed` (503).", "open"
    )
    rate_limit_store_timeout_seconds: float = setting(
        "RATE_LIMIT_STORE_TIMEOUT_SECONDS", "Longest one round trip to the rate-limit store may take.", 5.0
    )
    rate_limit_retry_seconds: float = setting(
        "RATE_LIMIT_RETRY_SECONDS", "How long a failed rate-limit store is left alone before it is tried again.", 2.0
    )
    region: str = setting("SIMULATOR_REGION", "Region named in 429 messages and the `x-ms-region` header.", "East US")

    # Record and replay (docs/recordings.md).
    recording_store: str = setting(
        "RECORDING_STORE", "`auto` (Blob when storage is configured, else files), `files` or `blob`.", "auto"
    )
    recording_container: str = setting("RECORDING_CONTAINER", "Blob container holding recordings.", "recordings")
    recording_blob_prefix: str = setting("RECORDING_BLOB_PREFIX", "Folder inside the recordings container.", "")
    recording_deployment_map: str = setting(
        "RECORDING_DEPLOYMENT_MAP", "`name=upstream,…`: deployment names to use upstream in record mode.", ""
    )
    recording_match_on: str = setting(
        "RECORDING_MATCH_ON", "Matchers making up a recording's key: method, path, query, body.", "method,path,body"
    )
    recording_ignored_fields: str = setting(
        "RECORDING_IGNORED_FIELDS", "Body fields (dotted paths) ignored when matching.", "user,seed"
    )
    recording_unmatched: str = setting(
        "RECORDING_UNMATCHED",
        "Replay of an unrecorded request: `error` (404 RecordingNotFound) or `generate`.",
        "error",
    )
    recording_timing_scale: float = setting(
        "RECORDING_TIMING_SCALE", "Multiplies recorded delays on replay (0: no delay).", 1.0
    )
    recording_body_hash_threshold: int = setting(
        "RECORDING_BODY_HASH_THRESHOLD", "Request bodies over this many bytes are stored as a SHA-256.", 65536
    )
    recording_record_failures: bool = setting(
        "RECORDING_RECORD_FAILURES", "Also record upstream 5xx, 401, 403, 408 and 429 answers.", False
    )
    recording_refresh_seconds: float = setting(
        "RECORDING_REFRESH_SECONDS", "How often replay checks a recording (ETag or mtime) for edits.", 5.0
    )
    recording_upstream_timeout_seconds: float = setting(
        "RECORDING_UPSTREAM_TIMEOUT_SECONDS", "Longest upstream silence in record mode before a 504.", 120.0
    )

    # Stored responses of the Responses API (docs/responses.md).
    responses_store: str = setting(
        "RESPONSES_STORE",
        "Where stored responses live: `auto` (Blob when storage is configured, else memory), `memory` or `blob`.",
        "auto",
    )
    responses_container: str = setting("RESPONSES_CONTAINER", "Blob container holding stored responses.", "responses")
    responses_retention_seconds: float = setting(
        "RESPONSES_RETENTION_SECONDS", "How long a stored response can be retrieved or continued (30 days).", 2592000.0
    )
    responses_memory_limit: int = setting(
        "RESPONSES_MEMORY_LIMIT", "Most stored responses kept in memory; the least recently used go first.", 10000
    )

    # Telemetry (docs/observability.md).
    applicationinsights_connection_string: str | None = setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "Export metrics, request traces and logs to Application Insights (Entra ID when "
        "`APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says `Authorization=AAD`).",
    )
    otlp_endpoint: str | None = setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "Export metrics and request traces over OTLP/HTTP to this collector; the other `OTEL_*` variables apply.",
    )
    metrics_prometheus: bool = setting(
        "SIMULATOR_METRICS_PROMETHEUS", "Serve the metrics as Prometheus text at `GET /++/metrics` (key needed).", False
    )
    traces_per_second: float = setting(
        "SIMULATOR_TRACES_PER_SECOND",
        "Most request spans exported per second per instance (a span costs a quarter of a chat request); 0: none.",
        10.0,
    )
    log_format: str = setting("LOG_FORMAT", "`text`, or `json` for one JSON object per line.", "text")
    request_log_level: str = setting(
        "SIMULATOR_REQUEST_LOG_LEVEL",
        "Level of the one line logged per request (written when `LOG_LEVEL` lets it through).",
        "DEBUG",
    )
    request_log_prompts: bool = setting(
        "SIMULATOR_REQUEST_LOG_PROMPTS", "Include the prompt (messages, prompt or input) in each request line.", False
    )
    stats_table: str = setting(
        "STATS_TABLE", "Table where each instance publishes its `/++/stats` summary (with storage).", "simulatorstats"
    )
    stats_publish_seconds: float = setting(
        "SIMULATOR_STATS_PUBLISH_SECONDS", "How often each instance publishes its summary to `STATS_TABLE`.", 5.0
    )
    # Images answered as URLs (docs/audio-images.md): served by the simulator, from Blob Storage when configured.
    image_url_ttl_seconds: float = setting(
        "SIMULATOR_IMAGE_URL_TTL_SECONDS", "How long an image URL answers before it gives 404.", 86400.0
    )
    image_container: str = setting(
        "SIMULATOR_IMAGE_CONTAINER", "Blob container holding images answered as URLs (with storage).", "images"
    )
    public_url: str | None = setting(
        "SIMULATOR_PUBLIC_URL",
        "Base URL clients reach the simulator at, for image URLs; unset: `https://$WEBSITE_HOSTNAME` on Azure, else "
        "the request's Host and X-Forwarded-Proto headers.",
    )
    website_hostname: str | None = setting(
        "WEBSITE_HOSTNAME",
        "Set by Azure Functions (the app's default host name), never by hand: the base of image URLs there, where "
        "requests reach the Python worker through the Functions host under another Host header.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field from `environ` (default `os.environ`); empty values count as unset."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.metadata["env"]
            raw = environ.get(name, "").strip()
            if raw:
                values[field.name] = _parse(name, raw, hints[field.name])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            if field.name in _POSITIVE and getattr(self, field.name) <= 0:
                raise SettingsError(f"{field.metadata['env']} must be positive")
        if self.image_url_ttl_seconds <= 0:
            raise SettingsError("SIMULATOR_IMAGE_URL_TTL_SECONDS must be a positive number of seconds")
        parse_token_range(self.completion_tokens)
        for env, level in (("LOG_LEVEL", self.log_level), ("SIMULATOR_REQUEST_LOG_LEVEL", self.request_log_level)):
            if level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
                raise SettingsError(f"{env} must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"LOG_FORMAT must be text or json, not {self.log_format!r}")
        if self.traces_per_second < 0:
            raise SettingsError("SIMULATOR_TRACES_PER_SECOND must be 0 or more")
        if self.stats_publish_seconds <= 0:
            raise SettingsError("SIMULATOR_STATS_PUBLISH_SECONDS must be positive")
        if self.mode is Mode.RECORD and not self.azure_openai_endpoint:
            raise SettingsError("SIMULATOR_MODE=record needs AZURE_OPENAI_ENDPOINT")
        for env, value in (
            ("SIMULATOR_TOOL_CALL_PROBABILITY", self.tool_call_probability),
            ("SIMULATOR_TOOL_CALL_PROBABILITY_AFTER_TOOL", self.tool_call_probability_after_tool),
            ("SIMULATOR_PARALLEL_TOOL_CALL_PROBABILITY", self.parallel_tool_call_probability),
        ):
            if not 0 <= value <= 1:
                raise SettingsError(f"{env} must be between 0 and 1, not {value}")
        if self.recording_store not in ("auto", "files", "blob"):
            raise SettingsError(f"RECORDING_STORE must be auto, files or blob, not {self.recording_store!r}")
        if self.recording_store == "blob" and not self.storage_configured:
            raise SettingsError(
                "RECORDING_STORE=blob needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL"
            )
        if self.recording_unmatched not in ("error", "generate"):
            raise SettingsError(f"RECORDING_UNMATCHED must be error or generate, not {self.recording_unmatched!r}")
        if self.rate_limit_failure_mode not in ("open", "closed"):
            raise SettingsError(f"RATE_LIMIT_FAILURE_MODE must be open or closed, not {self.rate_limit_failure_mode!r}")
        if self.responses_store not in ("auto", "memory", "blob"):
            raise SettingsError(f"RESPONSES_STORE must be auto, memory or blob, not {self.responses_store!r}")
        if self.responses_store == "blob" and not self.storage_configured:
            raise SettingsError(
                "RESPONSES_STORE=blob needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL"
            )
        if self.responses_retention_seconds <= 0 or self.responses_memory_limit <= 0:
            raise SettingsError("RESPONSES_RETENTION_SECONDS and RESPONSES_MEMORY_LIMIT must be positive")
        if self.runtime_config_poll_seconds <= 0:
            raise SettingsError("RUNTIME_CONFIG_POLL_SECONDS must be positive")

    @property
    def storage_configured(self) -> bool:
        return bool(self.storage_connection_string or self.storage_account_url)

    @property
    def table_url(self) -> str | None:
        if self.storage_table_url:
            return self.storage_table_url
        if self.storage_account_url:
            return self.storage_account_url.replace(".blob.", ".table.")
        return None

    def replace(self, **changes: Any) -> Settings:
        updated = dataclasses.replace(self, **changes)
        updated.validate()
        return updated


# Limits and timeouts where 0 or less would refuse everything or cut every connection.
_POSITIVE = frozenset(
    {
        "max_body_bytes",
        "max_choices",
        "max_messages",
        "max_tools",
        "max_inputs",
        "max_json_depth",
        "max_generated_tokens",
        "max_concurrent_streams",
        "body_timeout_seconds",
        "header_timeout_seconds",
        "max_header_bytes",
        "keepalive_timeout_seconds",
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class SettingDoc:
    env: str
    doc: str
    default: str
    secret: bool
    sample: str


def documented_settings() -> list[SettingDoc]:
    """The table of settings, for docs and the Terraform check."""
    rows = []
    for field in dataclasses.fields(Settings):
        default = field.default
        shown = "" if default is None else str(default.value if isinstance(default, enum.Enum) else default)
        shown = shown.lower() if isinstance(default, bool) else shown
        meta = field.metadata
        rows.append(SettingDoc(meta["env"], meta["doc"], shown, meta["secret"], meta["sample"] or shown))
    return rows


def parse_token_range(text: str) -> tuple[int, int]:
    """`"200"` → (200, 200); `"100-300"` → (100, 300)."""
    low, _, high = text.partition("-")
    try:
        bounds = int(low), int(high or low)
    except ValueError:
        raise SettingsError(f"SIMULATOR_COMPLETION_TOKENS must be N or MIN-MAX, not {text!r}") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise SettingsError(f"SIMULATOR_COMPLETION_TOKENS must satisfy 1 <= MIN <= MAX, not {text!r}")
    return bounds


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(name: str, raw: str, kind: Any) -> Any:
    base = _optional_base(kind)
    try:
        if base is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError("expected true or false")
        if base is Mode:
            return Mode(raw.lower())
        if base in (int, float, Path, str):
            return base(raw)
    except ValueError as error:
        allowed = f" (one of {', '.join(m.value for m in Mode)})" if base is Mode else ""
        raise SettingsError(f"{name}={raw!r} is not valid{allowed}: {error}") from None
    raise TypeError(f"no parser for {kind!r}")


def _optional_base(kind: Any) -> Any:
    args = [arg for arg in getattr(kind, "__args__", ()) if arg is not type(None)]
    return args[0] if args else kind
