"""Seeded fuzzing of request bodies: whatever a client sends, the answer is AOAI-shaped and never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from tests.fuzz.requests import mutate
from tests.support import spec
from tests.support.server import SimulatorProcess

VALID = {
    "/openai/deployments/chat/chat/completions?api-version=2024-10-21": {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi", "name": "u"}],
        "max_tokens": 5,
        "n": 2,
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 3,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                },
            }
        ],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
    },
    "/openai/deployments/instruct/completions?api-version=2024-10-21": {
        "prompt": ["a", "b"],
        "max_tokens": 4,
        "echo": True,
        "stream": False,
        "n": 1,
    },
    "/openai/deployments/embed-small/embeddings?api-version=2024-10-21": {
        "input": ["a", [1, 2, 3]],
        "dimensions": 8,
        "encoding_format": "base64",
    },
    "/openai/v1/chat/completions": {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
    "/openai/deployments/tts/audio/speech?api-version=2024-10-21": {
        "input": "Hello there.",
        "voice": "alloy",
        "response_format": "wav",
        "speed": 1.5,
    },
    "/openai/deployments/dalle/images/generations?api-version=2024-10-21": {
        "prompt": "a kite",
        "size": "1024x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
    },
    "/openai/v1/images/generations": {
        "model": "painter",
        "prompt": "a kite",
        "n": 2,
        "size": "1024x1536",
        "quality": "low",
        "output_format": "webp",
        "background": "transparent",
    },
}
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("inf"),
    "",
    "x" * 300,
    "\u0000",
    [],
    [None],
    [[]],
    {},
    {"type": None},
    {"role": "user"},
    [{"role": "user", "content": [{"type": "text"}]}],
    [{"role": "user", "content": [{"type": "image_url", "image_url": None}]}],
    [{"role": "tool", "content": None}],
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory) -> SimulatorProcess:
    config = tmp_path_factory.mktemp("fuzz") / "deployments.json"
    config.write_text(
        json.dumps(
            {
                "chat": {"model": "gpt-4o", "tokensPerMinute": 10_000_000},
                "instruct": {"model": "gpt-35-turbo-instruct"},
                "embed-small": {"model": "text-embedding-3-small"},
                "whisper": {"model": "whisper"},
                "transcribe": {"model": "gpt-4o-transcribe"},
                "tts": {"model": "tts"},
                "dalle": {"model": "dall-e-3"},
                "painter": {"model": "gpt-image-1"},
            }
        )
    )
    with SimulatorProcess({"OPENAI_DEPLOYMENT_CONFIG_PATH": str(config)}) as server:
        yield server


@pytest.mark.parametrize("path", sorted(VALID))
def test_mutated_bodies_never_get_a_500(fuzz_server: SimulatorProcess, path: str) -> None:
    rng = random.Random(f"fuzz:{path}")
    headers = {"api-key": fuzz_server.api_key, "content-type": "application/json"}
    with httpx.Client(base_url=fuzz_server.url, headers=headers, timeout=20) as client:
        for _ in range(150):
            body = mutate(VALID[path], rng, ODD_VALUES)
            for _ in range(rng.randint(0, 2)):
                body = mutate(body, rng, ODD_VALUES)
            content = json.dumps(body, allow_nan=True).encode()
            response = client.post(path, content=content)
            assert response.status_code < 500, (body, response.text)
            if response.status_code >= 400:
                error = response.json()["error"]
                spec.check_error_keys(error)
                assert isinstance(error["message"], str), response.text
                assert error["code"] is None or isinstance(error["code"], str), response.text


FORM_FIELDS = {
    "response_format": ["json", "text", "srt", "verbose_json", "vtt", "mp3", "", "\u0000"],
    "temperature": ["0", "1", "0.5", "-1", "2", "nan", "inf", "x", ""],
    "timestamp_granularities[]": ["word", "segment", "line", ""],
    "language": ["en", "xx", "", "x" * 300],
    "prompt": ["hello", "", "\u0000" * 3],
    "stream": ["true", "false", "yes", ""],
    "model": ["whisper", "transcribe", "tts", "", "nobody"],
}


def _files(rng: random.Random) -> dict[str, tuple[str, bytes, str]]:
    """A WAV, cut short, corrupted, empty or not audio at all, under a name with or without an extension."""
    from tests.support.media import wav

    audio = wav(rng.choice([0.01, 1.0, 3.0]))
    data = rng.choice([audio, audio[: rng.randrange(1, len(audio))], bytes(rng.randrange(256) for _ in range(64)), b""])
    if data and rng.random() < 0.3:
        position = rng.randrange(len(data))
        data = data[:position] + bytes([rng.randrange(256)]) + data[position + 1 :]
    name = rng.choice(["a.wav", "a.mp3", "a.webm", "a.txt", "noextension", "", "a.WAV"])
    return {rng.choice(["file", "file", "audio"]): (name, data, rng.choice(["audio/wav", "text/plain", ""]))}


@pytest.mark.parametrize(
    "path",
    [
        "/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21",
        "/openai/deployments/transcribe/audio/transcriptions?api-version=2024-10-21",
        "/openai/deployments/whisper/audio/translations?api-version=2024-10-21",
        "/openai/v1/audio/transcriptions",
        "/openai/deployments/painter/images/edits?api-version=2024-10-21",
    ],
)
def test_mutated_uploads_never_get_a_500(fuzz_server: SimulatorProcess, path: str) -> None:
    """Random form fields, damaged files and damaged multipart framing: AOAI-shaped answers, never a 500."""
    rng = random.Random(f"fuzz-upload:{path}")
    with httpx.Client(base_url=fuzz_server.url, headers={"api-key": fuzz_server.api_key}, timeout=20) as client:
        for _ in range(60):
            fields = {name: rng.choice(values) for name, values in FORM_FIELDS.items() if rng.random() < 0.5}
            request = client.build_request("POST", path, data=fields, files=_files(rng))
            content = request.read()
            headers = {name: value for name, value in request.headers.items() if name.lower() != "content-length"}
            if rng.random() < 0.2:  # framing: cut short, or a boundary the body does not use
                content = content[: rng.randrange(len(content))]
            elif rng.random() < 0.1:
                headers["content-type"] = "multipart/form-data; boundary=elsewhere"
            response = client.post(path, content=content, headers=headers)
            assert response.status_code < 500, (fields, response.text)
            if response.status_code >= 400:
                spec.validate_error(response.json())
