"""Text to speech: a playable file as long as the input takes to say, streamed as it is "spoken".

The answer is cut into events of `CHUNK_SECONDS` of audio each, counted in milliseconds of audio, so the
latency model releases them as a voice producing audio at its modelled speed would (docs/audio-images.md).
With `stream_format: "sse"` (gpt-4o-mini-tts; not tts/tts-hd, as the service says) the same pieces go out as
`speech.audio.delta` events carrying base64 audio, then `speech.audio.done` with the usage.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import math
import random

from simulator import errors, tokens
from simulator.context import OpenAIRequest
from simulator.generators import fields
from simulator.media import speech_audio
from simulator.models import Operation
from simulator.params import invalid_value
from simulator.replies import StreamEvent, StreamEvents, StreamReply, Usage
from simulator.sse import event as sse_event

VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
MAX_INPUT = 4096
CHUNK_SECONDS = 0.25
AUDIO_TOKENS_PER_SECOND = 20  # what gpt-4o-mini-tts reports as output tokens, per second of audio (unverified)


@dataclasses.dataclass(frozen=True, slots=True)
class SpeechParams:
    text: str
    voice: str
    response_format: str
    speed: float
    sse: bool


class SpeechGenerator:
    operation = Operation.SPEECH

    def parse(self, request: OpenAIRequest) -> SpeechParams:
        body = request.body
        text = fields.text(body, "input", required=True, maximum=MAX_INPUT) or ""
        voice = fields.text(body, "voice", required=True) or ""
        if voice not in VOICES:
            raise invalid_value("voice", voice, VOICES)
        response_format = fields.choice(body, "response_format", tuple(speech_audio.FORMATS), "mp3")
        speed = fields.number(body, "speed", 0.25, 4.0, 1.0)
        fields.text(body, "instructions", required=False)
        sse = fields.choice(body, "stream_format", ("audio", "sse"), "audio") == "sse"
        if sse and not request.model.name.lower().startswith("gpt-"):
            raise errors.invalid_request(
                f"stream_format 'sse' is not supported for the model '{request.model.name}'.",
                "stream_format",
                "unsupported_value",
            )
        request.prompt_tokens = tokens.count_text(text, request.model.encoding)
        return SpeechParams(text, voice, response_format, speed, sse)

    async def generate(self, request: OpenAIRequest, params: SpeechParams, rng: random.Random) -> StreamReply:
        seconds = speech_audio.speech_seconds(params.text, params.speed)
        data = speech_audio.cached(params.response_format, seconds)
        if data is None:
            data = await asyncio.to_thread(speech_audio.encode, params.response_format, seconds)
        usage = Usage(request.prompt_tokens or 0, 0)
        if params.sse:
            return StreamReply(events=_sse(data, seconds, usage), usage=usage)
        headers = {"content-type": speech_audio.FORMATS[params.response_format].content_type}
        return StreamReply(events=StreamEvents(_chunks(data, seconds)), headers=headers, usage=usage)


def _chunks(data: bytes, seconds: float) -> list[StreamEvent]:
    """The file in pieces of about CHUNK_SECONDS of audio, each weighing its milliseconds of audio."""
    count = max(1, round(seconds / CHUNK_SECONDS))
    size = -(-len(data) // count)
    milliseconds = round(seconds * 1000 / count)
    return [StreamEvent(data[start : start + size], milliseconds) for start in range(0, len(data), size)]


def _sse(data: bytes, seconds: float, usage: Usage) -> StreamEvents:
    """The same pieces as `speech.audio.delta` events (base64), then `speech.audio.done` with the usage."""
    events = [
        StreamEvent(
            sse_event({"type": "speech.audio.delta", "audio": base64.b64encode(chunk.data).decode()}), chunk.tokens
        )
        for chunk in _chunks(data, seconds)
    ]
    output = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    done = {
        "type": "speech.audio.done",
        "usage": {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": output,
            "total_tokens": usage.prompt_tokens + output,
        },
    }
    return StreamEvents([*events, StreamEvent(sse_event(done))])
