"""Record mode: answer each request from the real Azure OpenAI and keep the exchange as a recording.

The client gets the upstream answer as it arrives (a stream is relayed chunk by chunk) while the recorder
keeps a copy: the body, or each SSE event with the time it arrived. The interaction is queued when the
answer is complete and written at once (autosave) or by `save()`. An answer cut short is not recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp

from simulator.context import OpenAIRequest
from simulator.recording import filters
from simulator.recording.config import RecordingConfig
from simulator.recording.forwarder import Forwarder, passed_back_headers, relay_timed, upstream_error
from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.layout import request_cassette_name
from simulator.recording.matchers import canonical_json, digest, normalise_body
from simulator.recording.media import externalize
from simulator.recording.persisters import Persister
from simulator.recording.writer import CassetteWriter
from simulator.replies import JsonReply, Reply, StreamReply

logger = logging.getLogger(__name__)

# Answers about the caller's quota or the recorder's own credentials, not about the request: not worth replaying.
NOT_RECORDED = frozenset({401, 403, 408, 429})


class Recorder:
    def __init__(
        self,
        config: RecordingConfig,
        persister: Persister,
        *,
        forwarder: Forwarder | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if forwarder is None and not config.endpoint:
            raise ValueError("record mode needs the Azure OpenAI endpoint to forward to")
        self.config = config
        self.forwarder = forwarder or Forwarder(
            config.endpoint or "",
            key=config.key,
            deployment_map=config.deployment_map,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
        )
        self.writer = CassetteWriter(persister)
        self.clock = clock

    async def forward(self, request: OpenAIRequest) -> Reply:
        """The upstream answer for `request`; raises OpenAIError for upstream failures."""
        name = request_cassette_name(request)
        recorded_request = self.recorded_request(request)
        started = self.clock()
        response = await self.forwarder.send(request)
        headers = passed_back_headers(response)
        if response.status < 300 and response.content_type == "text/event-stream":
            reply = StreamReply(status=response.status, headers=headers)
            reply.source = self._relay(response, reply, name, recorded_request, started)
            return reply
        data = await self.forwarder.read(response)
        recorded = RecordedResponse.from_body(
            response.status, filters.response_headers(response.headers.items()), self.clock() - started, data
        )
        await self._keep(name, Interaction(recorded_request, recorded))
        if response.status >= 500:
            raise upstream_error(response.status, data, response.headers)
        return JsonReply(body=data, status=response.status, headers=headers, usage=recorded.usage())

    async def save(self) -> int:
        """Write every interaction not yet saved; how many were written."""
        return await self.writer.flush()

    @property
    def unsaved(self) -> int:
        return self.writer.pending

    async def close(self) -> None:
        """Save what is still queued (whatever autosave says: closing must not drop recordings), then disconnect."""
        try:
            await self.save()
        finally:
            await self.forwarder.close()

    def recorded_request(self, request: OpenAIRequest) -> RecordedRequest:
        recorded = RecordedRequest(
            method=request.method.upper(),
            path=request.path,
            query=filters.query(request.query),
            headers=filters.request_headers(request.headers),
        )
        # A multipart body is kept as its fields and file digests (small whatever the file's size).
        if len(request.raw_body) > self.config.body_hash_threshold and not request.operation.multipart:
            normalised = canonical_json(normalise_body(request.body, self.config.ignored_fields))
            recorded.body_sha256 = digest(normalised)
            recorded.body_size = len(request.raw_body)
            recorded.stream = request.stream
        else:
            recorded.body = filters.body(request.body)
        return recorded

    def _relay(
        self,
        response: aiohttp.ClientResponse,
        reply: StreamReply,
        name: str,
        recorded_request: RecordedRequest,
        started: float,
    ) -> AsyncIterator[bytes]:
        async def keep(duration: float, events: list[tuple[float, bytes]]) -> None:
            headers = filters.response_headers(response.headers.items())
            recorded = RecordedResponse.from_events(response.status, headers, duration, events)
            reply.usage = recorded.usage()
            await self._keep(name, Interaction(recorded_request, recorded))

        return relay_timed(response, self.clock, started, f"for {name}", keep)

    async def _keep(self, name: str, interaction: Interaction) -> None:
        status = interaction.response.status
        if not self.config.record_failures and (status >= 500 or status in NOT_RECORDED):
            return
        try:
            await externalize(name, interaction, self.writer.persister, self.forwarder.download)
        except Exception:  # kept inline (base64) instead: bulkier, but nothing is lost
            logger.exception("could not save the media of recording %s beside it", name)
        self.writer.add(name, interaction)
        if not self.config.autosave:
            return
        try:
            await self.writer.flush(name)
        except Exception:  # the client's answer stands; the interaction stays queued for the next save
            logger.exception("could not save recording %s", name)
