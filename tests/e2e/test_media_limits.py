"""Audio and image deployments meet their own limits (requests per minute, images per minute) and latency
(per audio second, per image) through HTTP, with AOAI's 429 shape."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import openai
import pytest
from openai import AzureOpenAI

from tests.support.media import wav
from tests.support.server import SimulatorProcess

DEPLOYMENTS = {
    "whisper": {"model": "whisper", "requestsPerMinute": 2},
    "tts": {"model": "tts", "requestsPerMinute": 2},
    "dalle": {"model": "gpt-image-1", "imagesPerMinute": 3},
    "slow-whisper": {"model": "whisper"},
}
LATENCY = {
    "enabled": True,
    "deployments": {"slow-whisper": {"ttftMs": 100, "ttftStdMs": 0, "msPerAudioSecond": 20}},
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator[SimulatorProcess]:
    path = tmp_path_factory.mktemp("media-limits") / "deployments.json"
    path.write_text(json.dumps(DEPLOYMENTS))
    # Latency on for slow-whisper; the others' family defaults are overridden to nothing.
    quick = {"ttftMs": 0, "ttftStdMs": 0, "msPerAudioSecond": 0, "msPerImage": 0}
    latency = {**LATENCY, "families": {family: quick for family in ("whisper", "tts", "gpt-image-1")}}
    env = {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(path), "SIMULATOR_LATENCY_CONFIG": json.dumps(latency)}
    with SimulatorProcess(env) as process:
        yield process


def client(server: SimulatorProcess) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version="2024-10-21", max_retries=0)


def test_whisper_is_limited_in_requests_per_minute(limited) -> None:
    azure = client(limited)
    answer = azure.audio.transcriptions.with_raw_response.create(model="whisper", file=("a.wav", wav(0.5)))
    assert answer.headers["x-ratelimit-limit-requests"] == "2"
    assert answer.headers["x-ratelimit-remaining-requests"] == "1"
    assert "x-ratelimit-limit-tokens" not in answer.headers
    azure.audio.transcriptions.create(model="whisper", file=("a.wav", wav(0.5)))
    with pytest.raises(openai.RateLimitError) as raised:
        azure.audio.transcriptions.create(model="whisper", file=("a.wav", wav(0.5)))
    error = raised.value
    assert error.code == "RateLimitReached"
    assert re.fullmatch(
        r"Your requests to whisper for whisper in East US have exceeded the call rate limit for your current OpenAI "
        r"S0 pricing tier\. This request was for Transcriptions_Create under Azure OpenAI API version 2024-10-21\. "
        r"Please retry after \d+ seconds?\. To increase your default rate limit, visit: "
        r"https://aka\.ms/oai/quotaincrease\.",
        error.body["message"],
    )
    assert 0 < int(error.response.headers["retry-after-ms"]) <= 60_000


def test_speech_is_limited_in_requests_per_minute(limited) -> None:
    azure = client(limited)
    for _ in range(2):
        azure.audio.speech.create(model="tts", voice="alloy", input="hello", response_format="pcm")
    with pytest.raises(openai.RateLimitError):
        azure.audio.speech.create(model="tts", voice="alloy", input="hello", response_format="pcm")


def test_images_are_limited_in_images_per_minute(limited) -> None:
    azure = client(limited)
    first = azure.images.with_raw_response.generate(model="dalle", prompt="one", n=2, quality="low", size="1024x1024")
    assert not any(name.startswith("x-ratelimit-") for name in first.headers)  # no request limit, no AOAI image headers
    with pytest.raises(openai.RateLimitError) as raised:
        azure.images.generate(model="dalle", prompt="two more", n=2, quality="low", size="1024x1024")
    assert "exceeded the image rate limit" in raised.value.message
    azure.images.generate(model="dalle", prompt="the last one", n=1, quality="low", size="1024x1024")


def test_transcription_latency_grows_with_the_audio(limited) -> None:
    """100 ms + 20 ms per audio second: 10 s of audio answers no sooner than 300 ms after it was sent."""
    azure = client(limited)
    started = time.monotonic()
    azure.audio.transcriptions.create(model="slow-whisper", file=("ten.wav", wav(10.0)))
    assert time.monotonic() - started >= 0.3
