"""One log line per request: deployment, operation, mode, status, tokens, latency, 429 reason and request id.

Never the key (it is not in an `Outcome`), and the prompt only when `SIMULATOR_REQUEST_LOG_PROMPTS` asks for
it. The line is written at `SIMULATOR_REQUEST_LOG_LEVEL` (DEBUG by default, so `LOG_LEVEL=INFO` leaves it
out and a request pays nothing for it); with `LOG_FORMAT=json` each field is a JSON key, and on Application
Insights a custom dimension.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from simulator.context import OpenAIRequest
from simulator.telemetry.outcome import Outcome

logger = logging.getLogger("simulator.requests")
_PROMPT_KEYS = ("messages", "prompt", "input")
# LogRecord attributes that are not fields of the message (what `extra` adds is).
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RequestLog:
    def __init__(self, level: int, *, prompts: bool = False) -> None:
        self.level = level
        self.prompts = prompts

    @classmethod
    def when_enabled(cls, level_name: str, *, prompts: bool = False) -> RequestLog | None:
        """A request log if its lines would be written at all; None keeps it off the request path."""
        level = logging.getLevelName(level_name.upper())
        return cls(level, prompts=prompts) if logger.isEnabledFor(level) else None

    def write(self, outcome: Outcome, request: OpenAIRequest) -> None:
        fields: dict[str, Any] = {
            "deployment": outcome.deployment,
            "operation": outcome.operation,
            "mode": outcome.mode,
            "status_code": outcome.status,
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "latency_ms": round(outcome.full * 1000, 1),
            "ttft_ms": None if outcome.ttft is None else round(outcome.ttft * 1000, 1),
            "rate_limit_reason": outcome.reason,
            "request_id": outcome.request_id,
        }
        if self.prompts:
            fields["prompt"] = next((request.body[key] for key in _PROMPT_KEYS if key in request.body), None)
        text = " ".join(f"{name}={_text(value)}" for name, value in fields.items() if value is not None)
        logger.log(self.level, "request %s", text, extra=fields)


def _text(value: Any) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """`LOG_FORMAT=json`: one JSON object per line, with a request line's fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
