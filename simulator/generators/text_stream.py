"""AOAI's SSE sequence for text answers, shared by chat and legacy completions.

1. a prompt-filter event (empty id, object and model; `created` 0; no choices);
2. per choice: an opening chunk (chat: the role), one chunk per token, a closing chunk with `finish_reason`;
3. with `stream_options.include_usage`: every chunk carries `"usage": null`, then one chunk with the usage;
4. `data: [DONE]`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from simulator import sse
from simulator.generators import envelope
from simulator.replies import StreamEvent


@dataclasses.dataclass(frozen=True, slots=True)
class StreamFrame:
    """What every chunk of one answer repeats."""

    id: str
    object: str
    created: int
    model: str


class ChoiceShape(Protocol):
    """How one API shapes the `choices[0]` of its chunks."""

    def opening(self, index: int) -> dict[str, Any] | None: ...

    def content(self, index: int, text: str, filter_results: dict[str, Any]) -> dict[str, Any]: ...

    def closing(self, index: int, finish_reason: str) -> dict[str, Any]: ...


def text_events(
    frame: StreamFrame,
    shape: ChoiceShape,
    answers: list[tuple[list[str], str]],
    usage: dict[str, Any] | None,
) -> list[StreamEvent]:
    """The whole stream for `answers` (one `(pieces, finish_reason)` per choice), one token per chunk."""
    head = {"created": frame.created, "id": frame.id, "model": frame.model, "object": frame.object}
    head["system_fingerprint"] = envelope.system_fingerprint(frame.model)
    if usage is not None:
        head["usage"] = None

    def chunk(choice: dict[str, Any] | None, tokens: int = 0) -> StreamEvent:
        return StreamEvent(sse.event({"choices": [] if choice is None else [choice], **head}), tokens)

    prompt_filter = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    prompt_filter["prompt_filter_results"] = envelope.prompt_filter_results()
    events = [StreamEvent(sse.event(prompt_filter))]
    filter_results = envelope.content_filter_results()
    for index, (pieces, finish_reason) in enumerate(answers):
        opening = shape.opening(index)
        if opening is not None:
            events.append(chunk(opening))
        events.extend(chunk(shape.content(index, piece, filter_results), 1) for piece in pieces)
        events.append(chunk(shape.closing(index, finish_reason)))
    if usage is not None:
        events.append(StreamEvent(sse.event({"choices": [], **head, "usage": usage})))
    events.append(StreamEvent(sse.DONE))
    return events
