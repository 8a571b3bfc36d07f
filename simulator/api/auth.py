"""The two ways AOAI accepts a key: `api-key: <key>` or `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from simulator import errors


def presented_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(headers: Mapping[str, str], expected: str) -> None:
    """Raise AOAI's 401 unless the request carries `expected`, compared in constant time."""
    key = presented_key(headers)
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        raise errors.unauthorized()


def key_for(path: str, api_key: str, admin_key: str | None) -> str:
    """The key a request to `path` must carry: the admin key, when one is set, for every control endpoint under
    `/++/` (those added later too); the client key everywhere else."""
    return admin_key if admin_key and path.startswith("/++/") else api_key
