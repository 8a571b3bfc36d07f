"""AOAI's SSE sequence for generated answers, shared by chat and legacy completions.

1. a prompt-filter event (empty id, object and model; `created` 0; no choices);
2. per choice: an opening chunk (chat: the role), one chunk per token, a closing chunk with `finish_reason`;
3. with `stream_options.include_usage`: every chunk carries `"usage": null`, then one chunk with the usage;
4. `data: [DONE]`.

`stream_events` frames any sequence of choice chunks; `text_chunks` makes them for text, where a shape says
how an API nests it (with each chunk's logprobs when asked for). Chat makes its tool-call chunks itself and
streams them through the same framing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from simulator import sse, tokens
from simulator.generators import envelope
from simulator.jsonenc import dumps
from simulator.replies import StreamEvent, StreamEvents, TextRun

Piece = tuple[str, int]  # a fragment of text and the tokens it holds


@dataclasses.dataclass(frozen=True, slots=True)
class StreamFrame:
    """What every chunk of one answer repeats."""

    id: str
    object: str
    created: int
    model: str


# One chunk's `choices[0]` and the completion tokens it carries (latency paces chunks by them), or a run of
# content chunks that differ only in their text (`TextRun`: the JSON around the text, and the texts).
ChoiceChunk = tuple[dict[str, Any] | TextRun, int]
# Stands for the text while a content chunk is encoded once; each token then fills in its own JSON string.
_SLOT = "\x00"
_SLOT_JSON = dumps(_SLOT)


class ChoiceShape(Protocol):
    """How one API shapes the `choices[0]` of its text chunks."""

    def opening(self, index: int) -> dict[str, Any] | None: ...

    def content(self, index: int, text: str, filter_results: dict[str, Any]) -> dict[str, Any]: ...

    def closing(self, index: int, finish_reason: str) -> dict[str, Any]: ...


def text_chunks(
    shape: ChoiceShape,
    index: int,
    pieces: Sequence[str],
    finish_reason: str,
    filter_results: dict[str, Any],
    weights: Sequence[int] | None = None,
    logprobs: Sequence[Any] | None = None,
) -> list[ChoiceChunk]:
    """One choice's chunks: opening, one per piece, closing. `weights` are the pieces' token counts; without
    them each piece is one token (lorem's pieces are). `logprobs`: each piece's chunk's `logprobs` value."""
    opening = shape.opening(index)
    chunks: list[ChoiceChunk] = [] if opening is None else [(opening, 0)]
    if logprobs is not None:  # chunks that differ in more than their text: built one by one
        for position, (piece, piece_logprobs) in enumerate(zip(pieces, logprobs, strict=True)):
            choice = shape.content(index, piece, filter_results)
            choice["logprobs"] = piece_logprobs
            chunks.append((choice, 1 if weights is None else weights[position]))
    else:
        # Encode the content chunk once and splice each piece in: the same bytes as encoding each chunk whole.
        before, _, after = dumps(shape.content(index, _SLOT, filter_results)).partition(_SLOT_JSON)
        tokens = len(pieces) if weights is None else sum(weights)
        chunks.append((TextRun(before, pieces, after, weights), tokens))
    chunks.append((shape.closing(index, finish_reason), 0))
    return chunks


def stream_events(frame: StreamFrame, chunks: Iterable[ChoiceChunk], usage: dict[str, Any] | None) -> StreamEvents:
    """The prompt-filter event, one event per chunk in `frame`, the usage event when asked for, `[DONE]`."""
    head = {"created": frame.created, "id": frame.id, "model": frame.model, "object": frame.object}
    head["system_fingerprint"] = envelope.system_fingerprint(frame.model)
    if usage is not None:
        head["usage"] = None
    prompt_filter = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    prompt_filter["prompt_filter_results"] = envelope.prompt_filter_results()
    events = StreamEvents([StreamEvent(sse.event(prompt_filter))])
    # `{"choices": [choice], **head}` encoded by hand: a content chunk keeps its text apart until it is sent.
    opening, closing = b'data: {"choices":[', b"]," + dumps(head)[1:] + b"\n\n"
    for choice, weight in chunks:
        if isinstance(choice, TextRun):
            events.append(choice.wrapped(opening, closing))
        else:
            events.append(StreamEvent(opening + dumps(choice) + closing, weight))
    if usage is not None:
        events.append(StreamEvent(sse.event({"choices": [], **head, "usage": usage})))
    events.append(StreamEvent(sse.DONE))
    return events


def token_pieces(text: str, encoding_name: str) -> list[Piece]:
    """`text` cut where its tokens end, as a model streams it: one token per piece, except that a character
    split across tokens waits for the token that completes it (as the service does)."""
    enc = tokens.encoding(encoding_name)
    pieces: list[Piece] = []
    pending, count = b"", 0
    for raw in enc.decode_tokens_bytes(enc.encode(text, disallowed_special=())):
        pending, count = pending + raw, count + 1
        try:
            piece = pending.decode()
        except UnicodeDecodeError:
            continue
        pieces.append((piece, count))
        pending, count = b"", 0
    return pieces


def fit_pieces(pieces: list[Piece], limit: int, encoding_name: str) -> tuple[list[Piece], bool]:
    """The longest leading pieces whose joined text holds at most `limit` tokens, and whether any were cut.

    Cut text is counted again: text cut mid-word may tokenize differently from the whole.
    """
    if sum(weight for _, weight in pieces) <= limit:
        return pieces, False
    while True:
        kept, used = _leading(pieces, limit)
        text = "".join(piece for piece, _ in kept)
        if not kept or tokens.count_text(text, encoding_name) == used:
            return kept, True
        pieces = token_pieces(text, encoding_name)  # its own tokens, then cut those


def _leading(pieces: list[Piece], limit: int) -> tuple[list[Piece], int]:
    used = 0
    for position, (_, weight) in enumerate(pieces):
        if used + weight > limit:
            return pieces[:position], used
        used += weight
    return pieces, used
