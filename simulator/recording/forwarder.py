"""The way to the real Azure OpenAI: one aiohttp session, authentication, deployment mapping, failures.

It only sends and connects; the recorder decides what to keep. Upstream failures that are not answers
(refused connection, timeout) become AOAI-shaped errors here, so the client sees what the real service's
clients would see from a gateway rather than a stack trace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from simulator.context import OpenAIRequest, Surface
from simulator.delivery import AbortConnection
from simulator.errors import OpenAIError
from simulator.recording import filters
from simulator.recording.sse import TimedEvents
from simulator.replies import FinalisedSource

logger = logging.getLogger(__name__)

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
FORWARDED_REQUEST_HEADERS = frozenset({"content-type", "accept", "user-agent", "x-ms-client-request-id"})
# Hop-by-hop or recomputed by whoever sends the answer on (aiohttp has already decompressed the body).
NOT_PASSED_BACK = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})


class TokenCredential(Protocol):
    async def get_token(self, *scopes: str) -> Any: ...

    async def close(self) -> None: ...


class UpstreamUnavailableError(OpenAIError):
    """The endpoint could not be reached or did not answer in time (nothing to record)."""


class Forwarder:
    def __init__(
        self,
        endpoint: str,
        *,
        key: str | None = None,
        credential: TokenCredential | None = None,
        deployment_map: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.deployment_map = dict(deployment_map or {})
        self._key = key
        self._credential = credential
        self._owns_credential = False
        self._token: Any = None
        self._token_lock = asyncio.Lock()
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, request: OpenAIRequest) -> aiohttp.ClientResponse:
        """Send `request` upstream and return the response once its status and headers arrived."""
        path, body = self.upstream_target(request)
        url = self.endpoint + path
        query = filters.query(request.query)
        headers = {name: value for name, value in request.headers.items() if name.lower() in FORWARDED_REQUEST_HEADERS}
        headers.update(await self._auth_headers())
        try:
            return await self._client().request(
                request.method, f"{url}?{query}" if query else url, data=body, headers=headers
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise self.unavailable(error) from error

    async def read(self, response: aiohttp.ClientResponse) -> bytes:
        try:
            return await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise self.unavailable(error) from error
        finally:
            response.release()

    async def download(self, url: str) -> bytes | None:
        """A file the service linked to in an answer (an image URL, signed: no credentials are sent); None when it
        cannot be had, which the recorder logs and lives with."""
        try:
            async with self._client().get(url) as response:
                if response.status != 200:
                    return None
                return await response.read()
        except (TimeoutError, aiohttp.ClientError):
            return None

    def upstream_target(self, request: OpenAIRequest) -> tuple[str, bytes]:
        """The upstream path and body, with the deployment renamed where a mapping says so."""
        name = request.deployment.name
        upstream = self.deployment_map.get(name)
        if upstream is None:
            return request.path, request.raw_body
        if request.surface is Surface.V1:
            body = {**request.body, "model": upstream} if request.body.get("model") == name else request.body
            return request.path, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        prefix = f"/openai/deployments/{name}/"
        if request.path.startswith(prefix):
            return f"/openai/deployments/{upstream}/{request.path[len(prefix) :]}", request.raw_body
        return request.path, request.raw_body

    def unavailable(self, error: BaseException) -> UpstreamUnavailableError:
        host = urlsplit(self.endpoint).netloc
        if isinstance(error, TimeoutError):
            return UpstreamUnavailableError(504, "GatewayTimeout", f"Azure OpenAI at {host} did not answer in time.")
        reason = type(error).__name__
        return UpstreamUnavailableError(502, "BadGateway", f"Could not reach Azure OpenAI at {host} ({reason}).")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._owns_credential and self._credential is not None:
            await self._credential.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=True)
        return self._session

    async def _auth_headers(self) -> dict[str, str]:
        if self._key:
            return {"api-key": self._key}
        return {"Authorization": f"Bearer {await self._bearer_token()}"}

    async def _bearer_token(self) -> str:
        """An Entra ID token for Cognitive Services, renewed five minutes before it expires."""
        async with self._token_lock:
            if self._token is None or self._token.expires_on - 300 < time.time():
                if self._credential is None:
                    from azure.identity.aio import DefaultAzureCredential

                    self._credential = DefaultAzureCredential()
                    self._owns_credential = True
                self._token = await self._credential.get_token(COGNITIVE_SERVICES_SCOPE)
            return self._token.token


def passed_back_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Upstream headers as the client should see them: names in lower case, as HTTP/2 and ASGI carry them
    (one value per name; AOAI sends no repeated ones)."""
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in NOT_PASSED_BACK}


def upstream_error(status: int, data: bytes, headers: Mapping[str, str]) -> OpenAIError:
    """An upstream 5xx as an OpenAIError, keeping the service's own code, message, param and type when it sent
    them."""
    param = kind = None
    try:
        error = json.loads(data)["error"]
        code, message = error.get("code"), str(error["message"])
        param, kind = _text(error.get("param")), _text(error.get("type"))
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = str(status), f"Azure OpenAI answered {status}."
    kept = {name: value for name, value in headers.items() if name.lower() in {"retry-after", "retry-after-ms"}}
    return OpenAIError(status, _text(code), message, param=param, type=kind, headers=kept)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def relay_timed(
    upstream: aiohttp.ClientResponse,
    clock: Callable[[], float],
    started: float,
    what: str,
    keep: Callable[[float, list[tuple[float, bytes]]], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """Pass an upstream stream on chunk by chunk as it arrives, then hand `keep` its duration and its events, each
    timed on `clock` from `started`. A stream that breaks off is logged and not kept (a partial recording would
    replay as a complete answer), and breaks the client's connection off too: ended cleanly, it would read as a
    complete answer to the client as well. The upstream connection goes back to the pool when the stream is over,
    even one never started (its client left before the headers, or a response hook replaced it)."""

    async def relayed() -> AsyncIterator[bytes]:
        timed = TimedEvents(clock, started)
        try:
            async for chunk in upstream.content.iter_any():
                timed.feed(chunk)
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as error:
            logger.warning("the upstream stream %s broke off (%r); not recorded", what, error)
            raise AbortConnection from error
        finally:
            upstream.release()  # before `keep` writes the recording; releasing twice is harmless
        duration = timed.close()
        await keep(duration, timed.events)

    async def release() -> None:
        upstream.release()

    return FinalisedSource(relayed(), release)
