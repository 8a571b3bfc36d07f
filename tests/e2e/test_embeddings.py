from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from openai import AzureOpenAI, BadRequestError, OpenAI

from simulator.tokens import count_text, encoding
from tests.support.server import REPO


def _vector(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def test_vectors_are_unit_length_and_sized_by_model(azure: AzureOpenAI) -> None:
    sizes = {"embed-ada": 1536, "embed-small": 1536, "embed-custom": 1024}
    for deployment, size in sizes.items():
        result = azure.embeddings.create(model=deployment, input="hello world")
        vector = _vector(result.data[0].embedding)
        assert vector.shape == (size,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-5


def test_same_text_same_vector_different_text_different_vector(azure: AzureOpenAI) -> None:
    result = azure.embeddings.create(model="embed-ada", input=["alpha", "beta", "alpha"])
    a, b, again = (_vector(item.embedding) for item in result.data)
    assert np.array_equal(a, again)
    assert abs(float(a @ b)) < 0.2
    assert [item.index for item in result.data] == [0, 1, 2]
    assert result.usage.prompt_tokens == 3 * count_text("alpha", "cl100k_base") == result.usage.total_tokens


def test_vectors_are_stable_across_processes(azure: AzureOpenAI) -> None:
    served = azure.embeddings.create(model="embed-ada", input="cross process").data[0].embedding
    script = (
        "import json; from simulator.generators.vectors import unit_vector;"
        "print(json.dumps(unit_vector('cross process', 1536, 1536)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert np.allclose(json.loads(out.stdout), served, atol=1e-7)


def test_dimensions_for_text_embedding_3_only(azure: AzureOpenAI) -> None:
    short = azure.embeddings.create(model="embed-small", input="hello", dimensions=256)
    full = azure.embeddings.create(model="embed-small", input="hello")
    vector = _vector(short.data[0].embedding)
    assert vector.shape == (256,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    prefix = _vector(full.data[0].embedding)[:256]
    assert np.allclose(vector, prefix / np.linalg.norm(prefix), atol=1e-6)
    with pytest.raises(BadRequestError):
        azure.embeddings.create(model="embed-ada", input="hello", dimensions=256)
    with pytest.raises(BadRequestError):
        azure.embeddings.create(model="embed-small", input="hello", dimensions=5000)


def test_base64_is_little_endian_float32(azure: AzureOpenAI) -> None:
    raw = azure.embeddings.with_raw_response.create(model="embed-small", input="hello", encoding_format="base64")
    encoded = raw.http_response.json()["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    floats = azure.embeddings.create(model="embed-small", input="hello", encoding_format="float").data[0].embedding
    assert np.allclose(decoded, floats, atol=1e-7)
    # The SDK asks for base64 by default and decodes it itself.
    assert np.allclose(azure.embeddings.create(model="embed-small", input="hello").data[0].embedding, floats)


def test_token_array_inputs(azure: AzureOpenAI, v1: OpenAI) -> None:
    ids = encoding("cl100k_base").encode("hello world")
    from_tokens = azure.embeddings.create(model="embed-ada", input=ids)
    from_text = azure.embeddings.create(model="embed-ada", input="hello world")
    assert np.allclose(from_tokens.data[0].embedding, from_text.data[0].embedding)
    assert from_tokens.usage.prompt_tokens == len(ids)
    batch = v1.embeddings.create(model="embed-ada", input=[ids, ids[:1]])
    assert len(batch.data) == 2 and batch.usage.prompt_tokens == len(ids) + 1


def test_embedding_model_refuses_chat(azure: AzureOpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        azure.chat.completions.create(model="embed-ada", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "OperationNotSupported"
