"""Extension generators for chat completions and legacy completions: text or choices from an extension, or
changes to the simulator's own, shaped by the generator's `render` (AOAI's body or SSE sequence) with usage
counted from the final text. Text beyond the request's cap is cut there (finish_reason "length"), as the
service cuts it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from simulator.context import OpenAIRequest
from simulator.extend import Choice, Generate, Prompt, WrapGenerator
from simulator.extensions.calls import call
from simulator.generators import logprobs
from simulator.generators.base import output_limit
from simulator.generators.chat import Answer, ChatGenerator, tool_call_answer
from simulator.generators.completions import CompletionChoice, CompletionGenerator
from simulator.generators.text_stream import fit_pieces, token_pieces
from simulator.generators.tool_calls import ToolCalls
from simulator.models import Operation
from simulator.params import ChatParams, CompletionParams
from simulator.replies import Reply

A = TypeVar("A")  # the wrapped generator's own form of a choice
P = TypeVar("P")  # its parsed parameters


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorSteps:
    """What extensions registered for one operation, in load order."""

    producers: list[tuple[str, Generate]] = dataclasses.field(default_factory=list)
    wrappers: list[tuple[str, WrapGenerator]] = dataclasses.field(default_factory=list)


class Extended(Generic[A, P]):
    """A generator with extensions' producers (the first that answers wins; none: the generator's own answer)
    and then their wrappers, in order. Validation and prompt counting stay the generator's."""

    operation: Operation
    what: str  # for log lines: "a chat generator"

    def __init__(self, inner: Any, steps: GeneratorSteps) -> None:
        self.inner = inner
        self.steps = steps

    def parse(self, request: OpenAIRequest) -> P:
        return self.inner.parse(request)  # type: ignore[no-any-return]

    def generate(self, request: OpenAIRequest, params: P, rng: random.Random) -> Reply:
        params = self.budgeted(request, params)
        prompt = self.prompt(request, params)
        originals: list[A] = []
        choices = self._produce(prompt)
        if choices is None:
            originals = self.originals(request, params, rng)
            choices = [self.choice(original) for original in originals]
        for extension, wrap in self.steps.wrappers:
            changed = call(extension, f"{self.what} wrapper", wrap, prompt, choices)
            if changed is not None:
                choices = list(changed)
        answers = [
            self.answer(request, params, rng, index, choice, originals[index] if index < len(originals) else None)
            for index, choice in enumerate(choices)
        ]
        return self.inner.render(request, params, answers, rng)  # type: ignore[no-any-return]

    def _produce(self, prompt: Prompt) -> list[Choice] | None:
        for extension, generate in self.steps.producers:
            produced = call(extension, self.what, generate, prompt)
            if produced is None:
                continue
            if isinstance(produced, str):
                return [Choice(produced) for _ in range(prompt.n)]
            return list(produced)
        return None

    # What differs per operation.
    def budgeted(self, request: OpenAIRequest, params: P) -> P:
        """`params` with the caps the generator applies (its generation budget)."""
        return params

    def prompt(self, request: OpenAIRequest, params: P) -> Prompt:
        raise NotImplementedError

    def originals(self, request: OpenAIRequest, params: P, rng: random.Random) -> list[A]:
        raise NotImplementedError

    def choice(self, original: A) -> Choice:
        raise NotImplementedError

    def answer(
        self, request: OpenAIRequest, params: P, rng: random.Random, index: int, choice: Choice, original: A | None
    ) -> A:
        raise NotImplementedError


def _prompt(
    request: OpenAIRequest, messages: Sequence[dict[str, Any]], cap: int | None, n: int, stream: bool
) -> Prompt:
    return Prompt(
        operation=request.operation,
        deployment=request.deployment.name,
        model=request.model.name,
        body=request.body,
        messages=messages,
        max_tokens=output_limit(cap, request.model),
        n=n,
        stream=stream,
        prompt_tokens=request.prompt_tokens or 0,
    )


def _text_pieces(text: str, encoding: str, limit: int) -> tuple[list[str], list[int], bool]:
    """`text` in token pieces, cut at `limit` tokens; the pieces, their tokens and whether it was cut."""
    pieces, cut = fit_pieces(token_pieces(text, encoding), limit, encoding)
    return [piece for piece, _ in pieces], [weight for _, weight in pieces], cut


class ExtendedChat(Extended[Answer, ChatParams]):
    operation = Operation.CHAT_COMPLETIONS
    what = "a chat generator"
    inner: ChatGenerator

    def budgeted(self, request: OpenAIRequest, params: ChatParams) -> ChatParams:
        return self.inner.budgeted(request, params)

    def prompt(self, request: OpenAIRequest, params: ChatParams) -> Prompt:
        return _prompt(request, params.messages, params.max_tokens, params.n, params.stream)

    def originals(self, request: OpenAIRequest, params: ChatParams, rng: random.Random) -> list[Answer]:
        return [self.inner.answer(request, params, rng) for _ in range(params.n)]

    def choice(self, original: Answer) -> Choice:
        if original.tool_calls is not None:
            return Choice(None, original.finish_reason, [dict(call) for call in original.tool_calls])
        return Choice("".join(original.pieces), original.finish_reason)

    def answer(
        self,
        request: OpenAIRequest,
        params: ChatParams,
        rng: random.Random,
        index: int,
        choice: Choice,
        original: Answer | None,
    ) -> Answer:
        """An unchanged choice is the original, counted as it was. A reasoning model's thought stays the
        original's (hidden, counted, and spent from the cap first)."""
        if original is not None and self.choice(original) == choice:
            return original
        encoding = request.model.encoding
        thought = original.reasoning_tokens if original is not None else 0
        limit = max(output_limit(params.max_tokens, request.model) - thought, 0)
        if choice.tool_calls is not None:
            answer = tool_call_answer(ToolCalls(list(choice.tool_calls), choice.finish_reason), limit, encoding)
        else:
            texts, weights, cut = _text_pieces(choice.text or "", encoding, limit)
            answer = Answer("length" if cut else choice.finish_reason, sum(weights), texts, weights)
            if params.logprobs is not None:
                answer.logprobs = logprobs.chat_entries(texts, params.logprobs, rng)
        answer.tokens += thought
        answer.reasoning_tokens = thought
        return answer


class ExtendedCompletions(Extended[CompletionChoice, CompletionParams]):
    """Legacy completions: choices go prompt by prompt, `n` each; the prompt a generator sees is the last user
    message of `Prompt.messages` (one per prompt of the request)."""

    operation = Operation.COMPLETIONS
    what = "a completions generator"
    inner: CompletionGenerator

    def prompt(self, request: OpenAIRequest, params: CompletionParams) -> Prompt:
        messages = [{"role": "user", "content": prompt} for prompt in params.prompts]
        cap = self.inner.cap(request, params)
        return _prompt(request, messages, cap, params.n * len(params.prompts), params.stream)

    def originals(self, request: OpenAIRequest, params: CompletionParams, rng: random.Random) -> list[CompletionChoice]:
        return self.inner.choices(request, params, rng)

    def choice(self, original: CompletionChoice) -> Choice:
        return Choice("".join(original.pieces[original.echoed :]), original.finish_reason)

    def answer(
        self,
        request: OpenAIRequest,
        params: CompletionParams,
        rng: random.Random,
        index: int,
        choice: Choice,
        original: CompletionChoice | None,
    ) -> CompletionChoice:
        if original is not None and self.choice(original) == choice:
            return original
        prompt = params.prompts[min(index // params.n, len(params.prompts) - 1)]
        echoed = self.inner.echoed(request, params, prompt)
        limit = output_limit(self.inner.cap(request, params), request.model)
        texts, weights, cut = _text_pieces(choice.text or "", request.model.encoding, limit)
        return CompletionChoice([*echoed, *texts], "length" if cut else choice.finish_reason, len(echoed), sum(weights))
