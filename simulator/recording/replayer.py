"""Replay mode: answer from recordings, with the recorded status, headers, body and timings.

A plain answer is returned after its recorded duration (the replayer sleeps; the caller adds no latency of its
own); a stream's events are released at their recorded offsets, both counted from the call to `replay` and
multiplied by `timing_scale`. When nothing matches, the configured policy decides: an AOAI-shaped 404, or None
so the caller generates an answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.media.image_urls import ImageUrls
from simulator.recording.cache import CassetteCache
from simulator.recording.cassette import Playback
from simulator.recording.config import RecordingConfig, UnmatchedPolicy
from simulator.recording.layout import request_cassette_name
from simulator.recording.matchers import RequestView, body_digest, match_key
from simulator.recording.media import CONTENT_TYPES, Publish, has_published_images, republish
from simulator.recording.persisters import Persister
from simulator.replies import JsonReply, Reply, StreamReply


class Replayer:
    def __init__(
        self,
        config: RecordingConfig,
        persister: Persister,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        image_urls: ImageUrls | None = None,
    ) -> None:
        self.config = config
        self.image_urls = image_urls
        self.clock = clock
        self.sleep = sleep
        self.cache = CassetteCache(
            persister,
            match_on=config.match_on,
            ignored_fields=config.ignored_fields,
            refresh_interval=config.refresh_interval,
            clock=clock,
        )

    async def replay(self, request: OpenAIRequest) -> Reply | None:
        started = self.clock()
        name = request_cassette_name(request)
        view = self.view(request)
        playback = (await self.cache.get(name)).play(match_key(view, self.config.match_on))
        if playback is None:
            if self.config.unmatched is UnmatchedPolicy.GENERATE:
                return None
            raise no_recording(view, name)
        response = playback.interaction.response
        headers = dict(response.headers)
        if response.is_stream:
            source = self._paced(playback, started)
            return StreamReply(source=source, status=response.status, headers=headers, usage=playback.usage)
        body = playback.chunks[0]
        if self.image_urls is not None and has_published_images(response):
            body = await republish(response, self._publisher(request))
        await self._sleep_until(started + response.duration * self.config.timing_scale)
        return JsonReply(body=body, status=response.status, headers=headers, usage=playback.usage)

    def _publisher(self, request: OpenAIRequest) -> Publish:
        """Publishes a recorded image at a fresh simulator URL, as the client of `request` reaches it."""
        urls = self.image_urls
        assert urls is not None

        async def publish(data: bytes, name: str) -> str:
            extension = name.rpartition(".")[2]
            content_type = CONTENT_TYPES.get(extension, "application/octet-stream")
            return await urls.publish(data, content_type, extension, request.headers)

        return publish

    def view(self, request: OpenAIRequest) -> RequestView:
        digest = body_digest(request.body, self.config.ignored_fields)
        return RequestView(request.method, request.path, request.query, digest, request.stream)

    async def _paced(self, playback: Playback, started: float) -> AsyncIterator[bytes]:
        events = playback.interaction.response.events or []
        for event, chunk in zip(events, playback.chunks, strict=True):
            await self._sleep_until(started + event.at * self.config.timing_scale)
            yield chunk

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - self.clock()
        if delay > 0:
            await self.sleep(delay)


def no_recording(view: RequestView, name: str) -> OpenAIError:
    return OpenAIError(
        404,
        "RecordingNotFound",
        f"No recording matches {view.method.upper()} {view.path} (normalised body sha256 {view.body_digest[:16]}, "
        f"stream {str(view.stream).lower()}) in {name}. Record it first (SIMULATOR_MODE=record), or set "
        "RECORDING_UNMATCHED=generate to generate answers for unmatched requests.",
    )
