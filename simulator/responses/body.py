"""The `response` object and its output items, as the Responses API returns them.

Output items are made from a chat `Answer` (text pieces or tool calls), so the Responses API answers with the
very text, JSON and tool arguments the chat generators make, and counts them the same way.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

RESPONSE_PREFIX = "resp_"
ITEM_ID_BYTES = 25  # ids are a prefix and 50 hex digits, as the service's are


def new_id(prefix: str, rng: random.Random) -> str:
    return prefix + rng.randbytes(ITEM_ID_BYTES).hex()


def output_text_part(text: str, logprobs: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": list(logprobs or ()), "text": text}


def message_item(
    item_id: str, text: str | None, status: str, logprobs: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """An assistant message; `text` None while it is being streamed (no content part yet). `logprobs`: one
    entry per piece of the text, when `include` asks for them."""
    content = [] if text is None else [output_text_part(text, logprobs)]
    return {"id": item_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def reasoning_item(item_id: str, summary: Sequence[str]) -> dict[str, Any]:
    """A reasoning model's hidden thought: only its summary (when asked for) is shown."""
    return {"id": item_id, "type": "reasoning", "summary": [summary_part(text) for text in summary]}


def summary_part(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def call_item(item_id: str, call: Mapping[str, Any], status: str, arguments: str | None = None) -> dict[str, Any]:
    """A chat tool call (`{"id", "type", "function": {"name", "arguments"}}`) as a Responses output item;
    `arguments` replaces the call's own (empty while it is being streamed)."""
    kind = call["type"]
    field = "input" if kind == "custom" else "arguments"
    value = call[kind][field] if arguments is None else arguments
    item_type = "custom_tool_call" if kind == "custom" else "function_call"
    return {
        "id": item_id,
        "type": item_type,
        "status": status,
        field: value,
        "call_id": call["id"],
        "name": call[kind]["name"],
    }


def usage_body(input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def response_body(
    request_body: Mapping[str, Any],
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: Sequence[Mapping[str, Any]],
    usage: Mapping[str, Any] | None,
    incomplete_reason: str | None = None,
) -> dict[str, Any]:
    """The response object, echoing the request's settings (with the service's defaults) as the service does."""
    body = request_body
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": body.get("background") is True,
        "error": None,
        "incomplete_details": None if incomplete_reason is None else {"reason": incomplete_reason},
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": list(output),
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
        "service_tier": "default",
        "store": body.get("store") is not False,
        "temperature": _number(body.get("temperature"), 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": list(body.get("tools") or ()),
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": _number(body.get("top_p"), 1.0),
        "truncation": body.get("truncation") or "disabled",
        **({} if usage is None else {"usage": dict(usage)}),
        "user": body.get("user"),
        "metadata": dict(body.get("metadata") or {}),
    }


def snapshot(response: Mapping[str, Any], status: str) -> dict[str, Any]:
    """The response as it stands before it is done (queued, in progress, cancelled): no output, and no usage
    (left out rather than null: the v1 spec's `usage` is not nullable)."""
    partial = {key: value for key, value in response.items() if key != "usage"}
    return {**partial, "status": status, "output": [], "incomplete_details": None}


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
