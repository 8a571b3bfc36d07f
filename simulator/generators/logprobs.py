"""Log probabilities for generated text: chat's `logprobs`/`top_logprobs` and legacy completions' `logprobs`.

One entry per piece of the answer, so the entries' tokens concatenate to the content exactly (whole or
streamed). Lorem pieces are single tokens; a piece of JSON or tool text that holds a character split across
tokens (one entry for several tokens) is the only place where entries and tokens differ, as the service would
give the split bytes. Values are drawn from the request's random source: the chosen token is the most likely
(a greedy model's), the alternatives are lorem words, each less likely than the one before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from simulator.generators.lorem import WORDS

_ALTERNATIVES = tuple(" " + word for word in WORDS)


def _ranked(piece: str, top: int, rng: random.Random) -> list[tuple[str, float]]:
    """The chosen piece and `top - 1` other tokens, most likely first, with their log probabilities."""
    logprob = -rng.expovariate(8.0)
    ranked = [(piece, round(logprob, 6))]
    others = rng.sample(_ALTERNATIVES, min(top, len(_ALTERNATIVES)))
    for other in others:
        if len(ranked) >= top:
            break
        if other != piece:
            logprob -= 0.5 + rng.expovariate(0.5)
            ranked.append((other, round(logprob, 6)))
    return ranked


def chat_entries(pieces: Sequence[str], top: int, rng: random.Random) -> list[dict[str, Any]]:
    """`ChatCompletionTokenLogprob`s for `pieces`, each with `top` alternatives (the chosen one first)."""
    entries = []
    for piece in pieces:
        ranked = _ranked(piece, max(top, 1), rng)
        alternatives = [{"token": token, "logprob": value, "bytes": list(token.encode())} for token, value in ranked]
        entries.append({**alternatives[0], "top_logprobs": alternatives[:top]})
    return entries


def chat_logprobs(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A choice's (or a chunk's) `logprobs`."""
    return {"content": entries, "refusal": None}


class CompletionLogprobs:
    """Legacy completions' `logprobs` for one request: `tokens`, `token_logprobs`, `top_logprobs` (the `top` most
    likely, as a token → logprob map) and `text_offset` (each token's start in the choice's text, echoed prompt
    included). An echoed prompt's first token has no logprob (null), as OpenAI answers.

    An echoed prompt is scored, not sampled: a model gives its tokens the same logprobs in every choice, so they
    are drawn once per prompt position and shared by the request's choices (and 128 choices of a long prompt cost
    one prompt's entries, not 128)."""

    def __init__(self, top: int, rng: random.Random) -> None:
        self.top, self.rng = top, rng
        self._prompt: dict[tuple[int, str], tuple[float, dict[str, float]]] = {}

    def values(self, pieces: Sequence[str], offset: int = 0, *, echoed: int = 0, start: int = 0) -> dict[str, Any]:
        """The logprobs of `pieces`, the first starting at character `offset` and at position `start` of its
        choice; the choice's first `echoed` pieces are the prompt."""
        tokens, token_logprobs, top_logprobs, offsets = [], [], [], []
        for position, piece in enumerate(pieces, start):
            tokens.append(piece)
            offsets.append(offset)
            offset += len(piece)
            if position == 0 and echoed:
                token_logprobs.append(None)
                top_logprobs.append(None)
                continue
            logprob, top = self._scored(position, piece) if position < echoed else self._sampled(piece)
            token_logprobs.append(logprob)
            top_logprobs.append(top)
        return {
            "text_offset": offsets,
            "token_logprobs": token_logprobs,
            "tokens": tokens,
            "top_logprobs": top_logprobs,
        }

    def _sampled(self, piece: str) -> tuple[float, dict[str, float]]:
        """A token's logprob and its `top` alternatives."""
        ranked = _ranked(piece, max(self.top, 1), self.rng)
        return ranked[0][1], dict(ranked[: self.top])

    def _scored(self, position: int, piece: str) -> tuple[float, dict[str, float]]:
        """A prompt token's, the same in every choice."""
        key = (position, piece)
        values = self._prompt.get(key)
        if values is None:
            values = self._prompt[key] = self._sampled(piece)
        return values
