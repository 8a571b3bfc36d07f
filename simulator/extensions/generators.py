"""Extension generators for chat completions: text or choices from an extension, or changes to the simulator's
own, shaped by the chat generator's `render` (AOAI's body or SSE sequence) with usage counted from the final
text. Text beyond the request's cap is cut there (finish_reason "length"), as the service cuts it.
"""

from __future__ import annotations

import dataclasses
import random

from simulator.context import OpenAIRequest
from simulator.extend import Choice, Generate, Prompt, WrapGenerator
from simulator.extensions.calls import call
from simulator.generators import logprobs
from simulator.generators.base import output_limit
from simulator.generators.chat import Answer, ChatGenerator, tool_call_answer
from simulator.generators.text_stream import fit_pieces, token_pieces
from simulator.generators.tool_calls import ToolCalls
from simulator.models import Operation
from simulator.params import ChatParams
from simulator.replies import Reply


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorSteps:
    """What extensions registered for one operation, in load order."""

    producers: list[tuple[str, Generate]] = dataclasses.field(default_factory=list)
    wrappers: list[tuple[str, WrapGenerator]] = dataclasses.field(default_factory=list)


class ExtendedChat:
    """The chat generator with extensions' producers (the first that answers wins; none: the simulator's own
    answer) and then their wrappers, in order. Validation and prompt counting stay the chat generator's."""

    operation = Operation.CHAT_COMPLETIONS

    def __init__(self, inner: ChatGenerator, steps: GeneratorSteps) -> None:
        self.inner = inner
        self.steps = steps

    def parse(self, request: OpenAIRequest) -> ChatParams:
        return self.inner.parse(request)

    def generate(self, request: OpenAIRequest, params: ChatParams, rng: random.Random) -> Reply:
        model = request.model
        limit = output_limit(params.max_tokens, model)
        prompt = Prompt(
            operation=request.operation,
            deployment=request.deployment.name,
            model=model.name,
            body=request.body,
            messages=params.messages,
            max_tokens=limit,
            n=params.n,
            stream=params.stream,
            prompt_tokens=request.prompt_tokens or 0,
        )
        originals: list[Answer | None] = [None] * params.n
        choices = self._produce(prompt)
        if choices is None:
            originals = [self.inner.answer(request, params, rng) for _ in range(params.n)]
            choices = [_choice(answer) for answer in originals]
        for extension, wrap in self.steps.wrappers:
            changed = call(extension, "a chat generator wrapper", wrap, prompt, choices)
            if changed is not None:
                choices = list(changed)
        answers = [
            _answer(choice, originals[index] if index < len(originals) else None, model.encoding, limit, params, rng)
            for index, choice in enumerate(choices)
        ]
        return self.inner.render(request, params, answers, rng)

    def _produce(self, prompt: Prompt) -> list[Choice] | None:
        for extension, generate in self.steps.producers:
            produced = call(extension, "a chat generator", generate, prompt)
            if produced is None:
                continue
            if isinstance(produced, str):
                return [Choice(produced) for _ in range(prompt.n)]
            return list(produced)
        return None


def _choice(answer: Answer) -> Choice:
    if answer.tool_calls is not None:
        return Choice(None, answer.finish_reason, [dict(call) for call in answer.tool_calls])
    return Choice("".join(answer.pieces), answer.finish_reason)


def _answer(
    choice: Choice, original: Answer | None, encoding: str, limit: int, params: ChatParams, rng: random.Random
) -> Answer:
    """The choice as the chat generator renders it; an unchanged one is the original, counted as it was. A
    reasoning model's thought stays the original's (hidden, counted, and spent from the cap first)."""
    if original is not None and _unchanged(choice, original):
        return original
    thought = original.reasoning_tokens if original is not None else 0
    visible_limit = max(limit - thought, 0)
    if choice.tool_calls is not None:
        answer = tool_call_answer(ToolCalls(list(choice.tool_calls), choice.finish_reason), visible_limit, encoding)
    else:
        pieces, cut = fit_pieces(token_pieces(choice.text or "", encoding), visible_limit, encoding)
        weights = [weight for _, weight in pieces]
        texts = [piece for piece, _ in pieces]
        answer = Answer("length" if cut else choice.finish_reason, sum(weights), texts, weights)
        if params.logprobs is not None:
            answer.logprobs = logprobs.chat_entries(texts, params.logprobs, rng)
    answer.tokens += thought
    answer.reasoning_tokens = thought
    return answer


def _unchanged(choice: Choice, original: Answer) -> bool:
    if choice.finish_reason != original.finish_reason:
        return False
    if original.tool_calls is not None:
        return choice.tool_calls == original.tool_calls and choice.text is None
    return choice.tool_calls is None and choice.text == "".join(original.pieces)
