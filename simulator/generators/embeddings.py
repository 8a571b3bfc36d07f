"""Embeddings: unit vectors derived from the input text alone, so the same text gets the same vector in
every process and run, and similar-looking load tests get cache-friendly, stable answers."""

from __future__ import annotations

import base64
import functools
import hashlib
import random

import numpy as np

from simulator import errors, tokens
from simulator.context import OpenAIRequest
from simulator.models import Operation
from simulator.params import EmbeddingParams, parse_embedding
from simulator.replies import JsonReply, Reply, Usage


class EmbeddingGenerator:
    operation = Operation.EMBEDDINGS

    def parse(self, request: OpenAIRequest) -> EmbeddingParams:
        params = parse_embedding(request.body, request.model)
        encoding = request.model.encoding
        counts = [len(item) if isinstance(item, list) else tokens.count_text(item, encoding) for item in params.inputs]
        for index, count in enumerate(counts):
            if count > request.model.context_window:
                raise errors.invalid_request(
                    f"This model's maximum context length is {request.model.context_window} tokens, however you "
                    f"requested {count} tokens in input[{index}]. Please reduce your prompt.",
                    "input",
                    "context_length_exceeded",
                )
        request.prompt_tokens = sum(counts)
        return params

    def generate(self, request: OpenAIRequest, params: EmbeddingParams, rng: random.Random) -> Reply:
        size = params.dimensions or request.deployment.embedding_dimensions
        native = request.deployment.embedding_dimensions
        data = []
        for index, item in enumerate(params.inputs):
            text = item if isinstance(item, str) else _decode(item, request.model.encoding, index)
            vector = _vector(text, native, size)
            embedding = base64.b64encode(vector.astype("<f4").tobytes()).decode() if params.base64 else vector
            data.append({"embedding": embedding, "index": index, "object": "embedding"})
        usage = Usage(request.prompt_tokens or 0, 0)
        body = {
            "data": data,
            "model": request.model.name,
            "object": "list",
            "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
        }
        return JsonReply(body, usage=usage)


@functools.lru_cache(maxsize=2048)
def _vector(text: str, native: int, size: int) -> np.ndarray:
    """A unit vector seeded by the text; shortened like text-embedding-3 (truncate, renormalise)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(native, dtype=np.float32)[:size]
    vector /= np.linalg.norm(vector)
    vector.flags.writeable = False
    return vector


def _decode(token_ids: list[int], encoding_name: str, index: int) -> str:
    try:
        return tokens.encoding(encoding_name).decode(token_ids)
    except (KeyError, ValueError, OverflowError):
        raise errors.invalid_request(f"Invalid token ids in input[{index}].", "input") from None
