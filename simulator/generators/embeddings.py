"""Embeddings: unit vectors derived from the input text alone (see `vectors`), so the same text gets the
same vector in every process and run."""

from __future__ import annotations

import random

from simulator import errors, tokens
from simulator.context import OpenAIRequest
from simulator.generators.vectors import vector_base64, vector_json
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
            embedding = (vector_base64 if params.base64 else vector_json)(text, native, size)
            data.append({"embedding": embedding, "index": index, "object": "embedding"})
        usage = Usage(request.prompt_tokens or 0, 0)
        body = {
            "data": data,
            "model": request.model.name,
            "object": "list",
            "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
        }
        return JsonReply(body, usage=usage)


def _decode(token_ids: list[int], encoding_name: str, index: int) -> str:
    try:
        return tokens.encoding(encoding_name).decode(token_ids)
    except (KeyError, ValueError, OverflowError):
        raise errors.invalid_request(f"Invalid token ids in input[{index}].", "input") from None
