"""Example extension: chat answers that echo the last user message instead of lorem text.

Run with `EXTENSION_PATH=extensions/echo_generator.py make run`. `initialize(simulator)` is called once
after the simulator is built; here it wraps the chat generator, keeping its validation and token counting.
"""

from __future__ import annotations

import random
from typing import Any

from simulator.app import Simulator
from simulator.context import OpenAIRequest
from simulator.models import Operation
from simulator.replies import JsonReply, Reply
from simulator.tokens import count_text


class EchoChat:
    operation = Operation.CHAT_COMPLETIONS

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def parse(self, request: OpenAIRequest) -> Any:
        return self.inner.parse(request)

    def generate(self, request: OpenAIRequest, params: Any, rng: random.Random) -> Reply:
        reply = self.inner.generate(request, params, rng)
        if not isinstance(reply, JsonReply) or reply.usage is None:
            return reply  # streams keep the default text
        last = next((m for m in reversed(params.messages) if m.get("role") == "user"), {})
        text = last.get("content") if isinstance(last.get("content"), str) else ""
        reply.usage.completion_tokens = count_text(text, request.model.encoding)
        for choice in reply.body["choices"]:
            choice["message"]["content"] = text
            choice["finish_reason"] = "stop"
        reply.body["usage"]["completion_tokens"] = reply.usage.completion_tokens
        reply.body["usage"]["total_tokens"] = reply.usage.total_tokens
        return reply


def initialize(simulator: Simulator) -> None:
    simulator.generators[Operation.CHAT_COMPLETIONS] = EchoChat(simulator.generators[Operation.CHAT_COMPLETIONS])
