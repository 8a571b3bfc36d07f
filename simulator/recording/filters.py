"""Scrub secrets and noise from what is recorded, before anything is written.

Request headers are kept by allow-list (a custom auth header such as `x-functions-key` is never written),
response headers by deny-list (everything AOAI sends that a replay can use, minus per-request noise). Bodies keep
their shape: string values of secret-named fields (`data_sources[].parameters.authentication.key`, …) become
`REDACTED`. Matching applies the same scrub to live requests, so redaction never breaks a match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "REDACTED"

RECORDED_REQUEST_HEADERS = frozenset({"content-type", "accept"})
SECRET_HEADERS = frozenset(
    {
        "api-key",
        "authorization",
        "proxy-authorization",
        "ocp-apim-subscription-key",
        "x-functions-key",
        "cookie",
        "set-cookie",
        "x-ms-client-principal",
        "x-ms-client-principal-id",
        "x-ms-client-principal-name",
        "x-ms-token-aad-access-token",
        "x-ms-token-aad-id-token",
    }
)
# Per-request or per-connection headers: stale or wrong when replayed. Rate-limit headers are the simulator's own.
NOISE_HEADERS = frozenset(
    {
        "date",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "server",
        "strict-transport-security",
        "apim-request-id",
        "x-request-id",
        "x-ms-client-request-id",
        "x-ms-request-id",
        "azureml-model-session",
        "x-envoy-upstream-service-time",
        "retry-after",
        "retry-after-ms",
        "azure-openai-deployment-utilization",
    }
)
NOISE_HEADER_PREFIXES = ("x-ratelimit-",)
SECRET_QUERY_PARAMETERS = frozenset({"api-key", "code", "subscription-key", "sig", "token", "access_token"})
SECRET_BODY_FIELDS = frozenset(
    {"api_key", "key", "access_token", "connection_string", "password", "client_secret", "secret", "sas_token"}
)


def request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() in RECORDED_REQUEST_HEADERS}


def response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in SECRET_HEADERS or lower in NOISE_HEADERS or lower.startswith(NOISE_HEADER_PREFIXES):
            continue
        kept[lower] = value
    return kept


def query(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(name, value) for name, value in pairs if name.lower() not in SECRET_QUERY_PARAMETERS])


def body(value: Any) -> Any:
    """A copy of a decoded JSON body with secret-named string fields redacted."""
    if isinstance(value, dict):
        return {
            name: REDACTED if name.lower() in SECRET_BODY_FIELDS and isinstance(item, str) else body(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [body(item) for item in value]
    return value
