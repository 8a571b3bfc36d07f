"""The Responses API in generate mode: one turn answered by the chat generator's own decisions.

A turn's input becomes chat messages (`simulator.responses.request.as_messages`), the chat generator chooses
text, JSON for `text.format` or tool calls exactly as it does for chat, and the answer is dressed as output
items. Prompt tokens are the earlier turns' (`request.history_tokens`, known from `previous_response_id`)
plus this turn's instructions, input and tools.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from simulator import jsonenc, sse, tokens
from simulator.context import OpenAIRequest
from simulator.generators.base import GenerationSettings, check_context, check_output_cap
from simulator.generators.chat import Answer, ChatGenerator
from simulator.generators.text_stream import token_pieces
from simulator.models import Operation
from simulator.params import ChatParams
from simulator.reasoning import summary_texts
from simulator.replies import JsonReply, Reply, StreamEvent, StreamEvents, StreamReply, Usage
from simulator.responses import body as items
from simulator.responses.events import MessagePieces, response_events
from simulator.responses.request import ResponsesParams, as_messages, chat_tools, parse_responses

# Prompt caching: prefixes of at least this many tokens are cached, in steps of CACHE_STEP tokens.
CACHE_MINIMUM = 1024
CACHE_STEP = 128


@dataclasses.dataclass(frozen=True, slots=True)
class Turn:
    """A parsed Responses request: its parameters, the chat view of it, and the tokens a next turn inherits."""

    params: ResponsesParams
    chat: ChatParams
    conversation_tokens: int  # earlier turns plus this turn's input (no instructions, tools or primer)


@dataclasses.dataclass(slots=True)
class CreatedResponse:
    """What a generated turn leaves for the core to keep: the finished response, its input items, its stream
    (background responses are resumable), and the conversation's tokens for a turn that continues it."""

    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    conversation_tokens: int
    events: StreamEvents | None = None

    def filter_completion(self) -> None:
        """The content filter stopped the output (the `completion-filter` fault): the response ends
        `incomplete` for `content_filter`, as does its stream's last event and what is stored."""
        response = self.response
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
        for item in response["output"]:
            if "status" in item:
                item["status"] = "incomplete"
        if self.events is not None:
            self.events = self.events.map_events(self._final_event)

    def _final_event(self, event: StreamEvent) -> StreamEvent:
        if not event.data.startswith(b"event: response.completed\n"):
            return event
        sequence = jsonenc.loads(event.data.partition(b"data: ")[2])["sequence_number"]
        payload = {"type": "response.incomplete", "sequence_number": sequence, "response": self.response}
        return StreamEvent(sse.named_event("response.incomplete", payload), event.tokens)


class ResponsesGenerator:
    operation = Operation.RESPONSES

    def __init__(self, settings: GenerationSettings, chat: ChatGenerator | None = None) -> None:
        self.settings = settings
        self.chat = chat or ChatGenerator(settings)

    def parse(self, request: OpenAIRequest) -> Turn:
        body, model = request.body, request.model
        params = parse_responses(body, model, request.deployment.reasoning_profile)
        encoding = model.encoding
        input_messages = as_messages(params.items, None)
        input_tokens = tokens.count_messages(input_messages, encoding) - tokens.REPLY_PRIMER
        prompt_tokens = request.history_tokens + input_tokens + tokens.REPLY_PRIMER
        if params.instructions:  # a system message, not carried over to a turn that continues this one
            instructions = [{"role": "system", "content": params.instructions}]
            prompt_tokens += tokens.count_messages(instructions, encoding) - tokens.REPLY_PRIMER
        if params.tool_choice is not None:
            prompt_tokens += tokens.count_tools(chat_tools(body.get("tools")), encoding)
        request.prompt_tokens = prompt_tokens
        check_output_cap(params.max_output_tokens, model, "max_output_tokens")
        check_context(prompt_tokens, params.max_output_tokens, model, "input")
        chat = ChatParams(
            messages=input_messages,
            max_tokens=params.max_output_tokens,
            n=1,
            stream=params.stream,
            include_usage=False,
            seed=params.seed,
            tools=params.tools,
            tool_choice=params.tool_choice,
            response_format=params.text_format,
            reasoning_effort=params.reasoning_effort,
            logprobs=params.logprobs,
        )
        return Turn(params, chat, request.history_tokens + input_tokens)

    def generate(self, request: OpenAIRequest, turn: Turn, rng: random.Random) -> Reply:
        model, params = request.model, turn.params
        answer = self.chat.answer(request, self.chat.budgeted(request, turn.chat), rng)
        output, pieces = _output(answer, params, rng)
        incomplete = answer.finish_reason == "length"
        prompt_tokens = request.prompt_tokens or 0
        usage = Usage(prompt_tokens, answer.tokens, answer.reasoning_tokens)
        history = request.history_tokens
        cached = min(history // CACHE_STEP * CACHE_STEP, prompt_tokens) if history >= CACHE_MINIMUM else 0
        response = items.response_body(
            request.body,
            response_id=items.new_id(items.RESPONSE_PREFIX, rng),
            created_at=int(self.settings.clock()),
            model=model.name,
            status="incomplete" if incomplete else "completed",
            output=output,
            usage=items.usage_body(prompt_tokens, answer.tokens, cached=cached, reasoning=answer.reasoning_tokens),
            incomplete_reason="max_output_tokens" if incomplete else None,
        )
        # A continuing turn inherits the visible answer, not the thought (the service drops earlier reasoning).
        conversation = turn.conversation_tokens + answer.tokens - answer.reasoning_tokens
        listed = _with_ids(params.items, rng) if params.store else []  # `input_items` of a stored response
        created = CreatedResponse(response, listed, conversation)
        if params.stream or params.background:
            encoding = model.encoding
            created.events = response_events(
                response,
                pieces,
                lambda text: token_pieces(text, encoding),
                lambda text: tokens.count_text(text, encoding),
                rng,
            )
        if params.stream:
            return StreamReply(events=created.events, usage=usage, resource=created)
        if params.background:
            body = items.snapshot(response, "queued")
            return JsonReply(body, usage=usage, resource=created, immediate=True)
        return JsonReply(response, usage=usage, resource=created)


def _output(
    answer: Answer, params: ResponsesParams, rng: random.Random
) -> tuple[list[dict[str, Any]], dict[int, MessagePieces]]:
    """Output items for a chat answer (a reasoning model's reasoning item first), and each message item's text
    pieces (for its stream). Thought that spent the whole cap leaves no message, as the service leaves none."""
    status = "incomplete" if answer.finish_reason == "length" else "completed"
    output: list[dict[str, Any]] = []
    if params.reasoning_effort is not None:
        summary = (
            []
            if params.reasoning_summary is None
            else summary_texts(rng, params.reasoning_summary, answer.reasoning_tokens)
        )
        output.append(items.reasoning_item(items.new_id("rs_", rng), summary))
    if answer.tool_calls is not None:
        for call in answer.tool_calls:
            prefix = "fc_" if call["type"] == "function" else "ctc_"
            output.append(items.call_item(items.new_id(prefix, rng), call, status))
        return output, {}
    if not answer.pieces and answer.finish_reason == "length":
        return output, {}
    message = items.message_item(items.new_id("msg_", rng), "".join(answer.pieces), status, answer.logprobs)
    return [*output, message], {len(output): (answer.pieces, answer.weights, answer.logprobs)}


def _with_ids(input_items: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The input items as `input_items` lists them: each with an id (and a message with its status)."""
    listed = []
    for item in input_items:
        entry = {"id": item.get("id") or items.new_id("msg_", rng), **item}
        entry.setdefault("type", "message")
        if entry["type"] == "message":
            content = entry.get("content")
            if isinstance(content, str):
                entry["content"] = [{"type": "input_text", "text": content}]
            entry.setdefault("status", "completed")
        listed.append(entry)
    return listed
