"""Legacy completions (`gpt-35-turbo-instruct`): the same lorem mechanism as chat, in `text_completion` shape."""

from __future__ import annotations

import random
from typing import Any

from simulator import tokens
from simulator.context import OpenAIRequest
from simulator.generators import envelope
from simulator.generators.base import (
    GenerationSettings,
    budget_cap,
    check_context,
    check_output_cap,
    choose_length,
)
from simulator.generators.lorem import lorem_pieces
from simulator.generators.text_stream import ChoiceShape, StreamFrame, text_events
from simulator.models import Operation
from simulator.params import CompletionParams, parse_completion
from simulator.replies import JsonReply, Reply, StreamReply, Usage


class CompletionGenerator:
    operation = Operation.COMPLETIONS

    def __init__(self, settings: GenerationSettings) -> None:
        self.settings = settings

    def parse(self, request: OpenAIRequest) -> CompletionParams:
        params = parse_completion(request.body)
        encoding = request.model.encoding
        request.prompt_tokens = sum(tokens.count_text(prompt, encoding) for prompt in params.prompts)
        check_output_cap(params.max_tokens, request.model, "max_tokens")
        longest = max(tokens.count_text(prompt, encoding) for prompt in params.prompts)
        check_context(longest, params.max_tokens, request.model, "prompt")
        return params

    def generate(self, request: OpenAIRequest, params: CompletionParams, rng: random.Random) -> Reply:
        answers = []
        choices = len(params.prompts) * params.n
        cap = budget_cap(params.max_tokens, request.model, choices, self.settings.max_generated_tokens)
        for prompt in params.prompts:
            for _ in range(params.n):
                length = choose_length(cap, request.model, rng, self.settings.completion_tokens)
                pieces = lorem_pieces(length.tokens, rng)
                answers.append(([prompt, *pieces] if params.echo else pieces, length.finish_reason))
        # An echoed prompt is one leading piece per answer and is not a completion token.
        completion_tokens = sum(len(pieces) for pieces, _ in answers) - (len(answers) if params.echo else 0)
        usage = Usage(request.prompt_tokens or 0, completion_tokens)
        completion_id = envelope.random_id("cmpl-", rng)
        created = int(self.settings.clock())
        usage_json = {
            "completion_tokens": usage.completion_tokens,
            "prompt_tokens": usage.prompt_tokens,
            "total_tokens": usage.total_tokens,
        }
        if params.stream:
            frame = StreamFrame(completion_id, "text_completion", created, request.model.name)
            events = text_events(frame, COMPLETION_CHUNK, answers, usage_json if params.include_usage else None)
            return StreamReply(events=events, usage=usage)
        body = {
            "choices": [
                {
                    "content_filter_results": envelope.content_filter_results(),
                    "finish_reason": finish_reason,
                    "index": index,
                    "logprobs": None,
                    "text": "".join(pieces),
                }
                for index, (pieces, finish_reason) in enumerate(answers)
            ],
            "created": created,
            "id": completion_id,
            "model": request.model.name,
            "object": "text_completion",
            "prompt_filter_results": envelope.prompt_filter_results(len(params.prompts)),
            "system_fingerprint": envelope.system_fingerprint(request.model.name),
            "usage": usage_json,
        }
        return JsonReply(body, usage=usage)


class _CompletionChunk(ChoiceShape):
    def opening(self, index: int) -> dict[str, Any] | None:
        return None

    def content(self, index: int, text: str, filter_results: dict[str, Any]) -> dict[str, Any]:
        return {
            "content_filter_results": filter_results,
            "finish_reason": None,
            "index": index,
            "logprobs": None,
            "text": text,
        }

    def closing(self, index: int, finish_reason: str) -> dict[str, Any]:
        return {
            "content_filter_results": {},
            "finish_reason": finish_reason,
            "index": index,
            "logprobs": None,
            "text": "",
        }


COMPLETION_CHUNK = _CompletionChunk()
