"""The Responses API's stream: typed events, each with its `sequence_number`, in the order the service sends them.

`response.created` → `response.in_progress` → per output item: `response.output_item.added`, then for a message
`response.content_part.added`, `response.output_text.delta`…, `response.output_text.done`,
`response.content_part.done`, and for a function call `response.function_call_arguments.delta`…,
`response.function_call_arguments.done`; then `response.output_item.done` → `response.completed` (or
`response.incomplete`). A reasoning item streams its summary parts (`response.reasoning_summary_part.added`,
`response.reasoning_summary_text.delta`…, `.done`, `response.reasoning_summary_part.done`) when asked for.
A background stream starts `response.created` (queued) → `response.queued`.
Each event carries the completion tokens it releases, so the latency model paces it like a chat stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from simulator import sse
from simulator.generators import envelope
from simulator.replies import StreamEvent, StreamEvents
from simulator.responses import body as items

OBFUSCATION_LENGTH = 16  # a delta and its obfuscation padding together, in characters
# A message's text as generated: its pieces, their token counts (None: one each), their logprobs (None: not asked).
MessagePieces = tuple[Sequence[str], Sequence[int] | None, Sequence[Mapping[str, Any]] | None]
FINAL_EVENTS = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}


class EventWriter:
    """Appends numbered events to a stream."""

    def __init__(self, rng: random.Random) -> None:
        self.events = StreamEvents()
        self.rng = rng
        self.sequence = 0

    def add(self, kind: str, fields: Mapping[str, Any], tokens: int = 0) -> None:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.events.append(StreamEvent(sse.named_event(kind, payload), tokens))
        self.sequence += 1

    def obfuscation(self, delta: str) -> str:
        """Random padding that hides a delta's length, as the service adds to every delta event."""
        return envelope.random_id("", self.rng, max(OBFUSCATION_LENGTH - len(delta), 1))


def response_events(
    response: Mapping[str, Any],
    message_pieces: Mapping[int, MessagePieces],
    split: Callable[[str], Sequence[tuple[str, int]]],
    count_tokens: Callable[[str], int],
    rng: random.Random,
) -> StreamEvents:
    """The whole stream of a finished `response`. `message_pieces` gives, per message output index, the text as
    generated (`MessagePieces`); `split` cuts call arguments and summaries into pieces."""
    writer = EventWriter(rng)
    if response["background"]:
        writer.add("response.created", {"response": items.snapshot(response, "queued")})
        writer.add("response.queued", {"response": items.snapshot(response, "queued")})
    else:
        writer.add("response.created", {"response": items.snapshot(response, "in_progress")})
    writer.add("response.in_progress", {"response": items.snapshot(response, "in_progress")})
    for index, item in enumerate(response["output"]):
        if item["type"] == "message":
            _message(writer, index, item, *message_pieces[index])
        elif item["type"] == "reasoning":
            _reasoning(writer, index, item, split)
        else:
            _call(writer, index, item, split, count_tokens)
    writer.add(FINAL_EVENTS.get(response["status"], "response.completed"), {"response": response})
    return writer.events


def _message(
    writer: EventWriter,
    index: int,
    item: Mapping[str, Any],
    pieces: Sequence[str],
    weights: Sequence[int] | None,
    logprobs: Sequence[Mapping[str, Any]] | None,
) -> None:
    item_id = item["id"]
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    writer.add(
        "response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress", "content": []}}
    )
    writer.add("response.content_part.added", {**where, "part": items.output_text_part("")})
    for position, piece in enumerate(pieces):
        tokens = 1 if weights is None else weights[position]
        entries = [] if logprobs is None else [logprobs[position]]
        delta = {**where, "delta": piece, "logprobs": entries, "obfuscation": writer.obfuscation(piece)}
        writer.add("response.output_text.delta", delta, tokens)
    part = item["content"][0]
    writer.add("response.output_text.done", {**where, "text": part["text"], "logprobs": part["logprobs"]})
    writer.add("response.content_part.done", {**where, "part": part})
    writer.add("response.output_item.done", {"output_index": index, "item": item})


def _reasoning(
    writer: EventWriter, index: int, item: Mapping[str, Any], split: Callable[[str], Sequence[tuple[str, int]]]
) -> None:
    """The reasoning item and its summary parts. The thought itself is never streamed: the latency model spends
    its tokens before the first visible one, so summary deltas carry none of their own."""
    writer.add("response.output_item.added", {"output_index": index, "item": {**item, "summary": []}})
    for position, part in enumerate(item["summary"]):
        where = {"item_id": item["id"], "output_index": index, "summary_index": position}
        writer.add("response.reasoning_summary_part.added", {**where, "part": items.summary_part("")})
        for piece, _ in split(part["text"]):
            delta = {**where, "delta": piece, "obfuscation": writer.obfuscation(piece)}
            writer.add("response.reasoning_summary_text.delta", delta)
        writer.add("response.reasoning_summary_text.done", {**where, "text": part["text"]})
        writer.add("response.reasoning_summary_part.done", {**where, "part": part})
    writer.add("response.output_item.done", {"output_index": index, "item": item})


def _call(
    writer: EventWriter,
    index: int,
    item: Mapping[str, Any],
    split: Callable[[str], Sequence[tuple[str, int]]],
    count_tokens: Callable[[str], int],
) -> None:
    field = "input" if item["type"] == "custom_tool_call" else "arguments"
    kind = "response.custom_tool_call_input" if field == "input" else "response.function_call_arguments"
    opening = {**item, "status": "in_progress", field: ""}
    writer.add("response.output_item.added", {"output_index": index, "item": opening}, count_tokens(item["name"]))
    where = {"item_id": item["id"], "output_index": index}
    for piece, tokens in split(item[field]):
        writer.add(f"{kind}.delta", {**where, "delta": piece, "obfuscation": writer.obfuscation(piece)}, tokens)
    writer.add(f"{kind}.done", {**where, field: item[field]})
    writer.add("response.output_item.done", {"output_index": index, "item": item})
