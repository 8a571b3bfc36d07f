"""The request log line: its fields, the prompt only when asked for, JSON with the fields as keys, and no
cost at all when its level is off."""

from __future__ import annotations

import json
import logging

import pytest

from simulator.context import OpenAIRequest, Surface
from simulator.deployments import Deployments
from simulator.models import Operation
from simulator.telemetry.outcome import Outcome
from simulator.telemetry.requestlog import JsonFormatter, RequestLog

PROMPT = "tell me a secret"


def request() -> OpenAIRequest:
    deployments = Deployments(
        {}, allow_undefined=True, default_chat_model="gpt-4o", default_embedding_model="text-embedding-3-small"
    )
    deployment = deployments.resolve("gpt-4o", Operation.CHAT_COMPLETIONS)
    body = {"messages": [{"role": "user", "content": PROMPT}]}
    headers = {"api-key": "k"}
    chat = Operation.CHAT_COMPLETIONS
    return OpenAIRequest(chat, deployment, Surface.CLASSIC, "POST", "/p", "", headers, body, b"", None, 0)


def outcome(**changes: object) -> Outcome:
    fields = dict(
        deployment="gpt-4o", operation="ChatCompletions_Create", mode="generate", status=429, reason="tokens",
        prompt_tokens=9, completion_tokens=0, requested_tokens=109, base=0.001, full=0.0012, ttft=None,
        between_tokens=None, request_id="id-1", stream=False,
    )  # fmt: skip
    return Outcome(**{**fields, **changes})  # type: ignore[arg-type]


def test_off_unless_its_level_is_let_through() -> None:
    logging.getLogger("simulator.requests").setLevel(logging.INFO)
    try:
        assert RequestLog.when_enabled("DEBUG") is None
        assert RequestLog.when_enabled("INFO") is not None
    finally:
        logging.getLogger("simulator.requests").setLevel(logging.NOTSET)


@pytest.mark.parametrize("prompts", [False, True])
def test_fields_and_the_prompt_only_when_asked(caplog: pytest.LogCaptureFixture, prompts: bool) -> None:
    with caplog.at_level(logging.INFO, logger="simulator.requests"):
        RequestLog(logging.INFO, prompts=prompts).write(outcome(), request())
    [record] = caplog.records
    text = record.getMessage()
    assert "deployment=gpt-4o" in text and "status_code=429" in text and "rate_limit_reason=tokens" in text
    assert "request_id=id-1" in text and "ttft_ms" not in text  # absent values are left out
    assert (PROMPT in text) is prompts
    line = json.loads(JsonFormatter().format(record))
    assert line["logger"] == "simulator.requests" and line["status_code"] == 429 and line["request_id"] == "id-1"
    assert ("prompt" in line) is prompts
