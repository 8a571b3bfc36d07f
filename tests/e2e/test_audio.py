"""Transcriptions, translations and speech through the official openai SDK, over a socket."""

from __future__ import annotations

import base64
import io
import json

import httpx
import openai
import pytest

from tests.support import spec
from tests.support.media import decoded_seconds, encoded, wav

pytestmark = pytest.mark.skipif(not spec.available(), reason="needs ../shared/specs")

MINUTE = wav(60.0)


@pytest.mark.parametrize("response_format", ["json", "text", "srt", "verbose_json", "vtt"])
def test_every_transcription_format(azure, response_format) -> None:
    answer = azure.audio.transcriptions.with_raw_response.create(
        model="whisper", file=("minute.wav", MINUTE), response_format=response_format
    )
    text = answer.http_response.text
    if response_format in ("json", "verbose_json"):
        body = json.loads(text)
        spec.validate(body, "audioVerboseResponse" if response_format == "verbose_json" else "audioResponse")
        assert body["usage"] == {"type": "duration", "seconds": 60}
        if response_format == "verbose_json":
            assert body["duration"] == 60.0 and body["task"] == "transcribe"
            assert body["segments"][-1]["end"] == 60.0 and len(body["segments"]) == 10
    else:
        assert answer.http_response.headers["content-type"].startswith("text/plain")
    if response_format == "srt":
        assert text.startswith("1\n00:00:00,000 --> 00:00:06,") and "00:01:00,000" in text
    if response_format == "vtt":
        assert text.startswith("WEBVTT\n\n00:00:00.000 --> ") and "00:01:00.000" in text
    parsed = answer.parse()
    assert (parsed if isinstance(parsed, str) else parsed.text).strip()


def test_verbose_json_word_timings(azure) -> None:
    answer = azure.audio.transcriptions.create(
        model="whisper",
        file=("ten.wav", wav(10.0)),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="de",
    )
    assert answer.language == "german" and answer.duration == 10.0
    assert answer.words and answer.words[-1].end == 10.0 and answer.segments


@pytest.mark.parametrize(
    ("name", "container", "codec"),
    [
        ("a.mp3", "mp3", "libmp3lame"),
        ("a.flac", "flac", "flac"),
        ("a.ogg", "ogg", "libopus"),
        ("a.m4a", "mp4", "aac"),
        ("a.webm", "webm", "libopus"),
    ],
)
def test_duration_is_read_from_each_format(azure, name, container, codec) -> None:
    answer = azure.audio.transcriptions.create(
        model="whisper", file=(name, encoded(container, codec, 7.0)), response_format="verbose_json"
    )
    assert answer.duration == pytest.approx(7.0, abs=0.1)


def test_translation(azure, v1) -> None:
    for client in (azure, v1):
        answer = client.audio.translations.with_raw_response.create(
            model="whisper", file=("five.wav", wav(5.0)), response_format="verbose_json"
        )
        body = json.loads(answer.http_response.text)
        spec.validate(body, "audioVerboseResponse")
        assert body["task"] == "translate" and body["language"] == "english"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (("notes.txt", b"hello"), "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3'"),
        (("broken.wav", b"RIFF\x00\x00junk" * 10), "Audio file might be corrupted or unsupported"),
        (("huge.wav", b"\x00" * (25 * 1024 * 1024 + 1)), "Maximum content size limit (26214400) exceeded"),
    ],
)
def test_bad_files_get_aoai_400(azure, file, message) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        azure.audio.transcriptions.create(model="whisper", file=file)
    assert message in raised.value.body["message"]
    assert raised.value.body["param"] == "file"
    spec.validate_error(raised.value.response.json())


def test_gpt_4o_transcribe_streams_deltas_then_done(azure, server) -> None:
    deltas, done = [], None
    stream = azure.audio.transcriptions.create(
        model="transcribe", file=("three.wav", wav(4.0)), response_format="json", stream=True
    )
    for event in stream:
        if event.type == "transcript.text.delta":
            deltas.append(event.delta)
        else:
            done = event
    assert done is not None and done.text == "".join(deltas) and len(deltas) == 10
    assert done.usage.type == "tokens" and done.usage.input_token_details.audio_tokens == 40
    with pytest.raises(openai.BadRequestError):
        azure.audio.transcriptions.create(model="transcribe", file=("a.wav", wav(1.0)), response_format="srt")
    with pytest.raises(openai.BadRequestError):
        azure.audio.translations.create(model="transcribe", file=("a.wav", wav(1.0)))


def test_multipart_is_required(server) -> None:
    answer = httpx.post(
        f"{server.url}/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21",
        headers={"api-key": server.api_key},
        json={"file": "x"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["message"].startswith("This operation takes")
    spec.validate_error(answer.json())


@pytest.mark.parametrize("response_format", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_speech_is_a_playable_file_of_the_right_length(azure, response_format) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 4  # 180 characters: 12 s at speed 1, 6 s at speed 2
    with azure.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input=text, response_format=response_format, speed=2.0
    ) as answer:
        chunks = list(answer.iter_bytes())
        content_type = answer.headers["content-type"]
    data = b"".join(chunks)
    if response_format == "pcm":
        assert content_type == "audio/pcm" and len(data) == 2 * 24_000 * 6
        return
    assert content_type.startswith("audio/")
    assert decoded_seconds(data) == pytest.approx(6.0, abs=0.1)


def test_speech_as_server_sent_events(azure) -> None:
    """gpt-4o-mini-tts with stream_format sse: base64 audio deltas that join into the file, then the usage."""
    with azure.audio.speech.with_streaming_response.create(
        model="mini-tts", voice="coral", input="x" * 45, response_format="wav", stream_format="sse"
    ) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: ") :]) for line in answer.iter_lines() if line.startswith("data: ")]
    *deltas, done = events
    assert {event["type"] for event in deltas} == {"speech.audio.delta"} and done["type"] == "speech.audio.done"
    audio = b"".join(base64.b64decode(event["audio"]) for event in deltas)
    assert decoded_seconds(audio) == pytest.approx(3.0, abs=0.05)
    assert done["usage"]["output_tokens"] == 60 and done["usage"]["total_tokens"] > 60
    with pytest.raises(openai.BadRequestError) as raised:
        azure.audio.speech.create(model="tts", voice="alloy", input="hi", stream_format="sse")
    assert raised.value.body["param"] == "stream_format"


def test_speech_refuses_bad_input(v1) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        v1.audio.speech.create(model="tts", voice="nobody", input="hi")
    assert raised.value.body["param"] == "voice"
    spec.validate_error(raised.value.response.json())
    with pytest.raises(openai.BadRequestError):
        v1.audio.speech.create(model="tts", voice="alloy", input="x" * 4097)


def test_speech_on_a_chat_deployment_is_not_supported(azure) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        azure.audio.speech.create(model="chat", voice="alloy", input="hi")
    assert raised.value.code == "OperationNotSupported"


def test_wav_helper_plays(azure) -> None:
    assert decoded_seconds(io.BytesIO(MINUTE).getvalue()) == pytest.approx(60.0)


def test_faults_reach_audio_routes(azure, server) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        azure.audio.transcriptions.create(
            model="whisper", file=("a.wav", wav(1.0)), extra_headers={"x-simulator-fault": "429; retry-after=2"}
        )
    assert raised.value.response.headers["retry-after"] == "2"
    path = "/openai/deployments/tts/audio/speech?api-version=2024-10-21"
    headers = {"api-key": server.api_key, "x-simulator-fault": "cut; after=2"}
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST", server.url + path, headers=headers, json={"model": "tts", "voice": "alloy", "input": "x" * 60}
        ) as answer,
    ):
        for chunk in answer.iter_raw():
            received += chunk
    whole = azure.audio.speech.create(model="tts", voice="alloy", input="x" * 60, response_format="mp3").content
    assert 0 < len(received) < len(whole)
