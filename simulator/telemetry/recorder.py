"""The one place requests are measured. `Simulator.answer` hands every request it handles to `answered` or
`refused`; a stream is measured when it ends (`StreamReply.closed`, called by the response that sent it).

With no exporter and no request log (the default) a request costs one `Stats.add`: no object is made for it
and nothing leaves the process. Exporters and the request log get a whole `Outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.ratelimit.policy import answer_allowance
from simulator.replies import Reply, StreamReply, Usage
from simulator.telemetry.outcome import Outcome, refusal_reason
from simulator.telemetry.stats import Stats

if TYPE_CHECKING:
    from simulator.settings import Settings
    from simulator.telemetry.exporters import Exporters
    from simulator.telemetry.requestlog import RequestLog
    from simulator.telemetry.shared import SharedStats


class Telemetry:
    def __init__(
        self,
        stats: Stats | None = None,
        *,
        exporters: Exporters | None = None,
        request_log: RequestLog | None = None,
        shared: SharedStats | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` is the clock of `OpenAIRequest.received_at`."""
        self.stats = stats or Stats()
        self.exporters = exporters
        self.request_log = request_log
        self.shared = shared
        self._clock = clock
        self._detailed = exporters is not None or request_log is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        from simulator.telemetry.exporters import open_exporters
        from simulator.telemetry.requestlog import RequestLog

        stats = Stats()
        shared = None
        if settings.storage_configured:
            from simulator.telemetry.shared import SharedStats

            shared = SharedStats.from_settings(settings, stats)
        return cls(
            stats,
            exporters=open_exporters(settings),
            request_log=RequestLog.when_enabled(settings.request_log_level, prompts=settings.request_log_prompts),
            shared=shared,
        )

    async def start(self) -> None:
        if self.shared is not None:
            await self.shared.start()

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()
        if self.exporters is not None:
            self.exporters.close()

    def answered(self, request: OpenAIRequest, reply: Reply, mode: str) -> Reply:
        """A whole answer is measured now; a stream counts as open until its `closed` hook runs."""
        if type(reply) is StreamReply:
            self._stream_opened(request, reply, mode)
            return reply
        full = self._clock() - request.received_at
        usage = reply.usage
        prompt = request.prompt_tokens or 0
        requested = prompt + answer_allowance(request)
        used = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
        self.stats.add(request.deployment.name, reply.status, None, used, requested, full * 1000.0, None)
        if self._detailed:
            self._export(request, mode, reply.status, None, usage, requested, full, None, None)
        return reply

    def refused(self, request: OpenAIRequest, error: OpenAIError, mode: str, *, injected: bool) -> None:
        """An error answer: `injected` when a fault rule chose it."""
        full = self._clock() - request.received_at
        reason = refusal_reason(error, injected)
        requested = (request.prompt_tokens or 0) + answer_allowance(request)
        self.stats.add(request.deployment.name, error.status, reason, 0, requested, full * 1000.0, None)
        if self._detailed:
            self._export(request, mode, error.status, reason, None, requested, full, None, None)

    def _stream_opened(self, request: OpenAIRequest, reply: StreamReply, mode: str) -> None:
        name = request.deployment.name
        ready = self._clock()
        series = self.stats.series(name)
        series.open_streams += 1
        if self.exporters is not None:
            self.exporters.stream_opened(name)

        def closed(first_write: float | None, ended: float) -> None:
            series.open_streams -= 1
            if self.exporters is not None:
                self.exporters.stream_closed(name)
            full = ended - request.received_at
            ttft = None if first_write is None else first_write - request.received_at
            usage = reply.usage
            completion = usage.completion_tokens if usage is not None else 0
            between = None
            if first_write is not None and completion > 1:
                between = (ended - first_write) / (completion - 1)
            used = usage.prompt_tokens + completion if usage is not None else 0
            requested = (request.prompt_tokens or 0) + answer_allowance(request)
            ttft_ms = None if ttft is None else ttft * 1000.0
            self.stats.add(name, reply.status, None, used, requested, full * 1000.0, ttft_ms)
            if self._detailed:
                base = ready - request.received_at
                self._export(request, mode, reply.status, None, usage, requested, full, ttft, between, base=base)

        reply.closed = closed

    def _export(
        self,
        request: OpenAIRequest,
        mode: str,
        status: int,
        reason: str | None,
        usage: Usage | None,
        requested: int,
        full: float,
        ttft: float | None,
        between: float | None,
        *,
        base: float | None = None,
    ) -> None:
        outcome = Outcome(
            deployment=request.deployment.name,
            operation=request.operation.value,
            mode=mode,
            status=status,
            reason=reason,
            prompt_tokens=usage.prompt_tokens if usage is not None else (request.prompt_tokens or 0),
            completion_tokens=usage.completion_tokens if usage is not None else 0,
            requested_tokens=requested,
            base=max(0.0, full - request.added_latency) if base is None else base,
            full=full,
            ttft=ttft,
            between_tokens=between,
            request_id=request.request_id,
            stream=request.stream,
        )
        if self.exporters is not None:
            self.exporters.record(outcome, request)
        if self.request_log is not None:
            self.request_log.write(outcome, request)
