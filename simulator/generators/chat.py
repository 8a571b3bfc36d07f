"""Chat completions: lorem answers with exact usage, whole or as AOAI's exact SSE sequence."""

from __future__ import annotations

import random
from typing import Any

from simulator import tokens
from simulator.context import OpenAIRequest
from simulator.generators import envelope
from simulator.generators.base import GenerationSettings, check_context, check_output_cap, choose_length
from simulator.generators.lorem import lorem_pieces
from simulator.generators.text_stream import ChoiceShape, StreamFrame, text_events
from simulator.models import Operation
from simulator.params import ChatParams, parse_chat
from simulator.replies import JsonReply, Reply, StreamReply, Usage


class ChatGenerator:
    operation = Operation.CHAT_COMPLETIONS

    def __init__(self, settings: GenerationSettings) -> None:
        self.settings = settings

    def parse(self, request: OpenAIRequest) -> ChatParams:
        params = parse_chat(request.body, request.model)
        encoding = request.model.encoding
        prompt_tokens = tokens.count_messages(params.messages, encoding)
        if params.tools:
            prompt_tokens += tokens.count_tools(params.tools, encoding)
        request.prompt_tokens = prompt_tokens
        param = "max_completion_tokens" if "max_completion_tokens" in request.body else "max_tokens"
        check_output_cap(params.max_tokens, request.model, param)
        check_context(prompt_tokens, params.max_tokens, request.model, "messages")
        return params

    def generate(self, request: OpenAIRequest, params: ChatParams, rng: random.Random) -> Reply:
        prompt_tokens = request.prompt_tokens or 0
        answers = [
            (lorem_pieces(length.tokens, rng), length.finish_reason)
            for length in (
                choose_length(params.max_tokens, request.model, rng, self.settings.completion_tokens)
                for _ in range(params.n)
            )
        ]
        usage = Usage(prompt_tokens, sum(len(pieces) for pieces, _ in answers))
        completion_id = envelope.random_id("chatcmpl-", rng)
        created = int(self.settings.clock())
        if params.stream:
            frame = StreamFrame(completion_id, "chat.completion.chunk", created, request.model.name)
            events = text_events(frame, CHAT_CHUNK, answers, usage_body(usage) if params.include_usage else None)
            return StreamReply(events=events, usage=usage)
        body = {
            "choices": [
                {
                    "content_filter_results": envelope.content_filter_results(),
                    "finish_reason": finish_reason,
                    "index": index,
                    "logprobs": None,
                    "message": {"annotations": [], "content": "".join(pieces), "refusal": None, "role": "assistant"},
                }
                for index, (pieces, finish_reason) in enumerate(answers)
            ],
            "created": created,
            "id": completion_id,
            "model": request.model.name,
            "object": "chat.completion",
            "prompt_filter_results": envelope.prompt_filter_results(),
            "system_fingerprint": envelope.system_fingerprint(request.model.name),
            "usage": usage_body(usage),
        }
        return JsonReply(body, usage=usage)


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens": usage.prompt_tokens,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


class _ChatChunk(ChoiceShape):
    def opening(self, index: int) -> dict[str, Any] | None:
        delta = {"content": "", "refusal": None, "role": "assistant"}
        return {"content_filter_results": {}, "delta": delta, "finish_reason": None, "index": index, "logprobs": None}

    def content(self, index: int, text: str, filter_results: dict[str, Any]) -> dict[str, Any]:
        return {
            "content_filter_results": filter_results,
            "delta": {"content": text},
            "finish_reason": None,
            "index": index,
            "logprobs": None,
        }

    def closing(self, index: int, finish_reason: str) -> dict[str, Any]:
        return {
            "content_filter_results": {},
            "delta": {},
            "finish_reason": finish_reason,
            "index": index,
            "logprobs": None,
        }


CHAT_CHUNK = _ChatChunk()
