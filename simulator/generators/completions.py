"""Legacy completions (`gpt-35-turbo-instruct`): the same lorem mechanism as chat, in `text_completion` shape."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Sequence
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
    token_cost,
)
from simulator.generators.logprobs import CompletionLogprobs
from simulator.generators.lorem import lorem_pieces
from simulator.generators.text_stream import (
    ChoiceChunk,
    ChoiceShape,
    StreamFrame,
    stream_events,
    text_chunks,
    token_pieces,
)
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
        return self.render(request, params, self.choices(request, params, rng), rng)

    def choices(self, request: OpenAIRequest, params: CompletionParams, rng: random.Random) -> list[CompletionChoice]:
        """`n` lorem answers per prompt, each within the cap."""
        answers = []
        cap = self.cap(request, params)
        for prompt in params.prompts:
            echoed = self.echoed(request, params, prompt)
            for _ in range(params.n):
                length = choose_length(cap, request.model, rng, self.settings.completion_tokens)
                pieces = [*echoed, *lorem_pieces(length.tokens, rng)]
                answers.append(CompletionChoice(pieces, length.finish_reason, len(echoed), length.tokens))
        return answers

    def cap(self, request: OpenAIRequest, params: CompletionParams) -> int | None:
        """Each choice's cap within the request's generation budget, its logprobs counted: an echoed prompt's
        logprobs are spent first (made once per prompt, `CompletionLogprobs`), the rest is the choices' share."""
        choices = len(params.prompts) * params.n
        echoed = (request.prompt_tokens or 0) if params.echo and params.logprobs is not None else 0
        spent = echoed * (token_cost(params.logprobs) - 1)
        budget = self.settings.max_generated_tokens
        return budget_cap(params.max_tokens, request.model, choices, budget, logprobs=params.logprobs, spent=spent)

    def echoed(self, request: OpenAIRequest, params: CompletionParams, prompt: str) -> list[str]:
        """An echoed prompt leads each answer and is no completion token: one piece, or its own tokens when each
        needs its logprobs."""
        if not params.echo:
            return []
        return [prompt] if params.logprobs is None else self._prompt_pieces(request, prompt)

    def render(
        self, request: OpenAIRequest, params: CompletionParams, answers: Sequence[CompletionChoice], rng: random.Random
    ) -> Reply:
        """The reply for `answers`, whole or streamed: apart from `choices` so that an extension can change what is
        said (simulator.extend) and still get AOAI's shapes and exact usage."""
        usage = Usage(request.prompt_tokens or 0, sum(answer.tokens for answer in answers))
        values = None
        if params.logprobs is not None:
            values = CompletionLogprobs(params.logprobs, rng)
        completion_id = envelope.random_id("cmpl-", rng)
        created = int(self.settings.clock())
        usage_json = {
            "completion_tokens": usage.completion_tokens,
            "prompt_tokens": usage.prompt_tokens,
            "total_tokens": usage.total_tokens,
        }
        if params.stream:
            frame = StreamFrame(completion_id, "text_completion", created, request.model.name)
            filter_results = envelope.content_filter_results()
            chunks: list[ChoiceChunk] = []
            for index, choice in enumerate(answers):
                pieces, chunk_logprobs = choice.pieces, None
                if values is not None:
                    pieces, chunk_logprobs = choice.streamed(values)
                chunks += text_chunks(
                    COMPLETION_CHUNK, index, pieces, choice.finish_reason, filter_results, None, chunk_logprobs
                )
            events = stream_events(frame, chunks, usage_json if params.include_usage else None)
            return StreamReply(events=events, usage=usage)
        body = {
            "choices": [
                {
                    "content_filter_results": envelope.content_filter_results(),
                    "finish_reason": choice.finish_reason,
                    "index": index,
                    "logprobs": None if values is None else values.values(choice.pieces, echoed=choice.echoed),
                    "text": "".join(choice.pieces),
                }
                for index, choice in enumerate(answers)
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

    def _prompt_pieces(self, request: OpenAIRequest, prompt: str) -> list[str]:
        return [piece for piece, _ in token_pieces(prompt, request.model.encoding)]


@dataclasses.dataclass(frozen=True, slots=True)
class CompletionChoice:
    pieces: list[str]  # an echoed prompt's, then the answer's
    finish_reason: str
    echoed: int  # leading pieces that are the prompt
    tokens: int  # completion tokens (the echoed prompt's are not)

    def streamed(self, values: CompletionLogprobs) -> tuple[list[str], list[dict[str, Any]]]:
        """The streamed pieces and each one's `logprobs` (its tokens, offsets in the whole text, and values): an
        echoed prompt in one chunk, as it is echoed without logprobs, then the answer a token a chunk."""
        echoed = self.pieces[: self.echoed]
        answer = self.pieces[self.echoed :]
        offsets = itertools.accumulate((len(piece) for piece in answer), initial=len("".join(echoed)))
        logprobs = [
            values.values([piece], offset, start=position)
            for position, (piece, offset) in enumerate(zip(answer, offsets, strict=False), self.echoed)
        ]
        if not echoed:
            return answer, logprobs
        return ["".join(echoed), *answer], [values.values(echoed, echoed=self.echoed), *logprobs]


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
