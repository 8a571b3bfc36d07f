"""Chat completions: lorem answers, tool calls or structured outputs, with exact usage, whole or as AOAI's SSE
sequence.

Each choice is one of two things: text (lorem, or JSON for a `response_format`) or tool calls. Usage counts
what was generated: lorem pieces are one token each (no tokenizer on the hot path); JSON and tool calls
(names plus arguments) are counted with tiktoken. Nothing about tools or formats runs when a request has none.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from simulator import reasoning, tokens
from simulator.context import OpenAIRequest
from simulator.generators import envelope, logprobs
from simulator.generators.base import (
    GenerationSettings,
    budget_cap,
    check_context,
    check_output_cap,
    choose_length,
    output_limit,
)
from simulator.generators.json_schema import generate_json_passing
from simulator.generators.lorem import lorem_pieces
from simulator.generators.response_format import JsonFormat, parse_response_format
from simulator.generators.text_stream import (
    ChoiceChunk,
    ChoiceShape,
    StreamFrame,
    fit_pieces,
    stream_events,
    text_chunks,
    token_pieces,
)
from simulator.generators.tool_calls import ToolCalls, choose_tool_calls, parse_tools, tool_call_deltas
from simulator.models import ModelSpec, Operation
from simulator.params import ChatParams, parse_chat
from simulator.replies import JsonReply, Reply, StreamReply, Usage


@dataclasses.dataclass(slots=True)  # not frozen: one per choice, and a frozen __init__ costs on the hot path
class Answer:
    """One choice: text `pieces` (their token counts in `weights`, or one token each) or `tool_calls`."""

    finish_reason: str
    tokens: int  # reasoning tokens included
    pieces: Sequence[str] = ()
    weights: Sequence[int] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    reasoning_tokens: int = 0
    logprobs: list[dict[str, Any]] | None = None  # one entry per piece, when asked for

    def message(self) -> dict[str, Any]:
        if self.tool_calls is not None:
            return {"content": None, "refusal": None, "role": "assistant", "tool_calls": self.tool_calls}
        return {"annotations": [], "content": "".join(self.pieces), "refusal": None, "role": "assistant"}


class ChatGenerator:
    operation = Operation.CHAT_COMPLETIONS

    def __init__(self, settings: GenerationSettings) -> None:
        self.settings = settings

    def parse(self, request: OpenAIRequest) -> ChatParams:
        body = request.body
        effort = None
        profile = request.deployment.reasoning_profile
        if profile is not None:
            reasoning.check_sampling(body, profile, "chat")
            effort = reasoning.requested_effort(body.get("reasoning_effort"), profile, "reasoning_effort")
        elif "reasoning_effort" in body and body["reasoning_effort"] is not None:
            raise reasoning.unsupported_parameter("reasoning_effort")
        params = parse_chat(body, request.model, reasoning_effort=effort)
        parsed_tools = parse_tools(body)
        response_format = parse_response_format(body)
        encoding = request.model.encoding
        prompt_tokens = tokens.count_messages(params.messages, encoding)
        if parsed_tools is not None:
            prompt_tokens += tokens.count_tools(body["tools"], encoding)
            params = dataclasses.replace(params, tools=tuple(parsed_tools[0]), tool_choice=parsed_tools[1])
        if response_format is not None:
            params = dataclasses.replace(params, response_format=response_format)
        request.prompt_tokens = prompt_tokens
        param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        check_output_cap(params.max_tokens, request.model, param)
        check_context(prompt_tokens, params.max_tokens, request.model, "messages")
        return params

    def generate(self, request: OpenAIRequest, params: ChatParams, rng: random.Random) -> Reply:
        params = self.budgeted(request, params)
        if params.reasoning_effort is None and params.logprobs is None:  # the usual case: one call per choice
            answers = [self.visible_answer(request.model, params, rng, params.max_tokens) for _ in range(params.n)]
        else:
            answers = [self.answer(request, params, rng) for _ in range(params.n)]
        return self.render(request, params, answers, rng)

    def budgeted(self, request: OpenAIRequest, params: ChatParams) -> ChatParams:
        """`params` with each choice's cap within the request's generation budget (its logprobs counted)."""
        budget = self.settings.max_generated_tokens
        cap = budget_cap(params.max_tokens, request.model, params.n, budget, logprobs=params.logprobs)
        return params if cap == params.max_tokens else dataclasses.replace(params, max_tokens=cap)

    def render(
        self, request: OpenAIRequest, params: ChatParams, answers: Sequence[Answer], rng: random.Random
    ) -> Reply:
        """The reply for `answers`, whole or streamed, with their usage: apart from `answer` so that an extension
        can change what is said (simulator.extend) and still get AOAI's shapes and exact usage."""
        usage = Usage(
            request.prompt_tokens or 0,
            sum(answer.tokens for answer in answers),
            sum(answer.reasoning_tokens for answer in answers),
        )
        completion_id = envelope.random_id("chatcmpl-", rng)
        created = int(self.settings.clock())
        if params.stream:
            frame = StreamFrame(completion_id, "chat.completion.chunk", created, request.model.name)
            filter_results = envelope.content_filter_results()
            chunks: list[ChoiceChunk] = []
            for index, answer in enumerate(answers):
                chunks += answer_chunks(index, answer, request.model.encoding, filter_results)
            events = stream_events(frame, chunks, usage_body(usage) if params.include_usage else None)
            return StreamReply(events=events, usage=usage)
        body = {
            "choices": [
                {
                    # Azure's filter annotates text; a tool call's verdict is empty (unverified for Azure).
                    "content_filter_results": {} if answer.tool_calls else envelope.content_filter_results(),
                    "finish_reason": answer.finish_reason,
                    "index": index,
                    "logprobs": None if answer.logprobs is None else logprobs.chat_logprobs(answer.logprobs),
                    "message": answer.message(),
                }
                for index, answer in enumerate(answers)
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

    def answer(self, request: OpenAIRequest, params: ChatParams, rng: random.Random) -> Answer:
        """One choice: a reasoning model's hidden thought first (it spends the cap before the answer does), then
        the visible answer within what is left, with its logprobs when asked for."""
        model = request.model
        cap = params.max_tokens
        thought = 0
        if params.reasoning_effort is not None:
            profile = request.deployment.reasoning_profile
            assert profile is not None  # parse() set the effort from it
            thought, cap = reasoning.plan(profile, params.reasoning_effort, rng).within(output_limit(cap, model))
            if cap == 0:  # all thought: an empty answer cut short, as the service gives
                return Answer(
                    "length", thought, reasoning_tokens=thought, logprobs=None if params.logprobs is None else []
                )
        answer = self.visible_answer(model, params, rng, cap)
        if thought:
            answer.tokens += thought
            answer.reasoning_tokens = thought
        if params.logprobs is not None and answer.tool_calls is None:
            answer.logprobs = logprobs.chat_entries(answer.pieces, params.logprobs, rng)
        return answer

    def visible_answer(self, model: ModelSpec, params: ChatParams, rng: random.Random, cap: int | None) -> Answer:
        """Tool calls when the tool choice calls for them, else JSON or lorem text; at most `cap` tokens (None:
        the model's limit)."""
        if params.tool_choice is not None:
            after_tool = bool(params.messages) and params.messages[-1].get("role") == "tool"  # Responses: input []
            limit = output_limit(cap, model)

            def arguments(schema: Any, rng: random.Random) -> str:  # made no further than the cut
                return generate_json_passing(schema, rng, limit, lambda text: tokens.count_text(text, model.encoding))

            calls = choose_tool_calls(
                params.tools,
                params.tool_choice,
                rng,
                self.settings.tool_calls,
                after_tool=after_tool,
                arguments=arguments,
            )
            if calls is not None:
                return tool_call_answer(calls, limit, model.encoding)
        if params.response_format is not None:
            return json_answer(params.response_format, rng, output_limit(cap, model), model.encoding)
        length = choose_length(cap, model, rng, self.settings.completion_tokens)
        return Answer(length.finish_reason, length.tokens, lorem_pieces(length.tokens, rng))


def json_answer(fmt: JsonFormat, rng: random.Random, limit: int, encoding: str) -> Answer:
    """JSON valid for the format; cut (finish_reason "length", invalid JSON) when even its smallest instance
    exceeds `limit`, as the service cuts it."""
    text = fmt.content_within(rng, limit, lambda candidate: tokens.count_text(candidate, encoding))
    pieces, cut = fit_pieces(token_pieces(text, encoding), limit, encoding)
    weights = [weight for _, weight in pieces]
    return Answer("length" if cut else "stop", sum(weights), [piece for piece, _ in pieces], weights)


def tool_call_answer(calls: ToolCalls, limit: int, encoding: str) -> Answer:
    """The calls, counted as their names plus arguments; past `limit` the arguments are cut (finish_reason
    "length") and later calls dropped. A name alone is never cut, so a `limit` below the first name's tokens
    still answers that call, with empty arguments and `limit` completion tokens."""
    kept: list[dict[str, Any]] = []
    used = 0
    for call in calls.calls:
        kind = call["type"]
        field = "input" if kind == "custom" else "arguments"
        name_tokens = tokens.count_text(call[kind]["name"], encoding)
        if kept and used + name_tokens > limit:
            return Answer("length", used, tool_calls=kept)
        pieces = token_pieces(call[kind][field], encoding)
        fitted, cut = fit_pieces(pieces, max(limit - used - name_tokens, 0), encoding)
        if not cut:
            kept.append(call)
            used += name_tokens + sum(weight for _, weight in pieces)
            continue
        arguments = "".join(piece for piece, _ in fitted)
        kept.append({**call, kind: {**call[kind], field: arguments}})
        used = min(used + name_tokens + sum(weight for _, weight in fitted), limit)
        return Answer("length", used, tool_calls=kept)
    return Answer(calls.finish_reason, used, tool_calls=kept)


def answer_chunks(index: int, answer: Answer, encoding: str, filter_results: dict[str, Any]) -> list[ChoiceChunk]:
    if answer.tool_calls is None:
        chunk_logprobs = None
        if answer.logprobs is not None:
            chunk_logprobs = [logprobs.chat_logprobs([entry]) for entry in answer.logprobs]
        return text_chunks(
            CHAT_CHUNK, index, answer.pieces, answer.finish_reason, filter_results, answer.weights, chunk_logprobs
        )
    return tool_call_chunks(index, answer.tool_calls, answer.finish_reason, encoding)


def tool_call_chunks(index: int, calls: list[dict[str, Any]], finish_reason: str, encoding: str) -> list[ChoiceChunk]:
    """As OpenAI streams calls: the role with the first call's id, type and name; its arguments in token
    fragments; each further call's head and arguments likewise; then the `finish_reason`."""
    deltas = tool_call_deltas(
        calls, lambda text: token_pieces(text, encoding), lambda text: tokens.count_text(text, encoding)
    )
    chunks: list[ChoiceChunk] = []
    for position, (delta, weight) in enumerate(deltas):
        role = {"content": None, "refusal": None, "role": "assistant"} if position == 0 else {}
        chunks.append((_choice(index, {**role, "tool_calls": [delta]}, None), weight))
    chunks.append((_choice(index, {}, finish_reason), 0))
    return chunks


def _choice(index: int, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "content_filter_results": {},
        "delta": delta,
        "finish_reason": finish_reason,
        "index": index,
        "logprobs": None,
    }


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": usage.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens": usage.prompt_tokens,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


class _ChatChunk(ChoiceShape):
    def opening(self, index: int) -> dict[str, Any] | None:
        return _choice(index, {"content": "", "refusal": None, "role": "assistant"}, None)

    def content(self, index: int, text: str, filter_results: dict[str, Any]) -> dict[str, Any]:
        return {
            "content_filter_results": filter_results,
            "delta": {"content": text},
            "finish_reason": None,
            "index": index,
            "logprobs": None,
        }

    def closing(self, index: int, finish_reason: str) -> dict[str, Any]:
        return _choice(index, {}, finish_reason)


CHAT_CHUNK = _ChatChunk()
