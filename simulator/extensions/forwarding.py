"""Record and replay for extension routes that have a `Forwarder`.

Record mode sends the request upstream (aiohttp, one session for every forwarder) and relays the answer, a
stream chunk by chunk as it arrives; the forwarder's `keep` decides whether the exchange is saved, to the
same persister (files or Blob Storage) and in the same versioned YAML as AOAI's recordings. Replay mode
answers from a saved exchange that matches on the recording settings' `RECORDING_MATCH_ON`, with its recorded
timing; requests nothing matches go to the route's handler, since an API's other steps (a poll's earlier
answers) are deliberately not saved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from simulator.errors import OpenAIError
from simulator.extend import Request, Response
from simulator.extensions.calls import call, call_async
from simulator.recording import filters
from simulator.recording.forwarder import relay_timed
from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.layout import check_name
from simulator.recording.matchers import RequestView, body_digest, digest, is_stream, match_key
from simulator.recording.writer import CassetteWriter

if TYPE_CHECKING:
    from simulator.app import Simulator
    from simulator.extensions.routes import ExtensionRoute

logger = logging.getLogger("simulator.extensions")
NOT_PASSED_BACK = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})


def cassette_of(route: ExtensionRoute) -> str:
    assert route.forwarder is not None
    return check_name(route.forwarder.cassette or f"extensions/{route.name}.yaml")


class ExtensionForwarding:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._session: aiohttp.ClientSession | None = None
        self._writer: CassetteWriter | None = None

    async def forward(self, route: ExtensionRoute, view: Request) -> Response:
        forwarder = route.forwarder
        assert forwarder is not None
        url = call(route.extension, "a forwarder's target", forwarder.target, view)
        headers = {name: view.headers[name] for name in forwarder.headers if name in view.headers}
        headers.update(forwarder.auth)
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=forwarder.timeout)
        try:
            upstream = await self._client().request(
                view.method, url, data=view.body or None, headers=headers, timeout=timeout, allow_redirects=False
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _unavailable(url, error) from error
        passed = {k.lower(): v for k, v in upstream.headers.items() if k.lower() not in NOT_PASSED_BACK}
        if upstream.content_type == "text/event-stream":
            answer = Response(upstream.status, passed)
            answer = await call_async(route.extension, "a forwarder's adapt", forwarder.adapt, view, answer)
            answer.stream = self._relay(route, view, upstream, answer, started)
            return answer
        try:
            data = await upstream.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _unavailable(url, error) from error
        finally:
            upstream.release()
        answer = await call_async(
            route.extension, "a forwarder's adapt", forwarder.adapt, view, Response(upstream.status, passed, data)
        )
        recorded = RecordedResponse.from_body(
            answer.status, filters.response_headers(answer.headers.items()), time.monotonic() - started, answer.body
        )
        await self._keep(route, view, answer, recorded)
        return answer

    def _relay(
        self, route: ExtensionRoute, view: Request, upstream: aiohttp.ClientResponse, answer: Response, started: float
    ) -> AsyncIterator[bytes]:
        async def keep(duration: float, events: list[tuple[float, bytes]]) -> None:
            headers = filters.response_headers(answer.headers.items())
            recorded = RecordedResponse.from_events(answer.status, headers, duration, events)
            whole = Response(answer.status, answer.headers, b"".join(event for _, event in events), streamed=True)
            await self._keep(route, view, whole, recorded)

        return relay_timed(upstream, time.monotonic, started, f"of route {route.name}", keep)

    async def _keep(self, route: ExtensionRoute, view: Request, answer: Response, recorded: RecordedResponse) -> None:
        forwarder = route.forwarder
        assert forwarder is not None
        if not call(route.extension, "a forwarder's keep", forwarder.keep, view, answer):
            return
        writer = self._cassettes()
        name = cassette_of(route)
        writer.add(name, Interaction(recorded_request(view), recorded))
        await writer.flush(name)

    async def replay(self, route: ExtensionRoute, view: Request) -> Response | None:
        started = time.monotonic()
        replayer = self.simulator.replayer()
        cassette = await replayer.cache.get(cassette_of(route))
        playback = cassette.play(match_key(live_view(view, replayer.config.ignored_fields), replayer.config.match_on))
        if playback is None:
            return None
        recorded = playback.interaction.response
        scale = replayer.config.timing_scale
        headers = dict(recorded.headers)
        if recorded.is_stream:
            offsets = [event.at * scale for event in recorded.events or ()]
            return Response(recorded.status, headers, stream=_paced(playback.chunks, offsets, started))
        delay = started + recorded.duration * scale - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return Response(recorded.status, headers, playback.chunks[0])

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        return self._session

    def _cassettes(self) -> CassetteWriter:
        if self._writer is None:
            self._writer = CassetteWriter(self.simulator.persister())
        return self._writer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _decoded(body: bytes) -> tuple[bool, Any]:
    if not body:
        return True, None
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None


def recorded_request(view: Request) -> RecordedRequest:
    """The request as saved: secrets out; a body that is not JSON (a document) kept only as its digest."""
    recorded = RecordedRequest(
        method=view.method.upper(),
        path=view.path,
        query=filters.query(view.query),
        headers=filters.request_headers(view.headers),
    )
    is_json, value = _decoded(view.body)
    if is_json:
        recorded.body = filters.body(value)
    else:
        recorded.body_sha256, recorded.body_size = digest(view.body), len(view.body)
    return recorded


def live_view(view: Request, ignored_fields: Any) -> RequestView:
    is_json, value = _decoded(view.body)
    if not is_json:
        return RequestView(view.method, view.path, view.query, digest(view.body), False)
    return RequestView(view.method, view.path, view.query, body_digest(value, ignored_fields), is_stream(value))


async def _paced(chunks: tuple[bytes, ...], offsets: list[float], started: float) -> AsyncIterator[bytes]:
    for chunk, at in zip(chunks, offsets, strict=True):
        delay = started + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield chunk


def _unavailable(url: str, error: BaseException) -> OpenAIError:
    host = urlsplit(url).netloc
    if isinstance(error, TimeoutError):
        return OpenAIError(504, "GatewayTimeout", f"The upstream at {host} did not answer in time.")
    return OpenAIError(502, "BadGateway", f"Could not reach the upstream at {host} ({type(error).__name__}).")
