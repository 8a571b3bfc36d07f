"""Example extension: chat answers that echo the last user message instead of lorem text, whole or streamed.

    EXTENSION_PATH=extensions/echo_generator.py make run

The simulator shapes the text as AOAI would (the same body, the same SSE sequence), cuts it at the request's
`max_tokens` (finish_reason "length") and counts `usage.completion_tokens` from it exactly.
"""

from __future__ import annotations

from simulator import extend


def echo(prompt: extend.Prompt) -> str:
    return prompt.last_user_text


def initialize(simulator: extend.Simulator) -> None:
    simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, echo)
