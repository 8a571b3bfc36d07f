"""Text to speech: a playable file as long as the input takes to say, streamed as it is "spoken".

The answer is cut into events of `CHUNK_SECONDS` of audio each, counted in milliseconds of audio, so the
latency model releases them as a voice producing audio at its modelled speed would (docs/audio-images.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random

from simulator import tokens
from simulator.context import OpenAIRequest
from simulator.generators import fields
from simulator.media import speech_audio
from simulator.models import Operation
from simulator.params import invalid_value
from simulator.replies import StreamEvent, StreamEvents, StreamReply, Usage

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


@dataclasses.dataclass(frozen=True, slots=True)
class SpeechParams:
    text: str
    voice: str
    response_format: str
    speed: float


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
        request.prompt_tokens = tokens.count_text(text, request.model.encoding)
        return SpeechParams(text, voice, response_format, speed)

    async def generate(self, request: OpenAIRequest, params: SpeechParams, rng: random.Random) -> StreamReply:
        seconds = speech_audio.speech_seconds(params.text, params.speed)
        data = speech_audio.cached(params.response_format, seconds)
        if data is None:
            data = await asyncio.to_thread(speech_audio.encode, params.response_format, seconds)
        audio_format = speech_audio.FORMATS[params.response_format]
        events = StreamEvents(_chunks(data, seconds))
        headers = {"content-type": audio_format.content_type}
        return StreamReply(events=events, headers=headers, usage=Usage(request.prompt_tokens or 0, 0))


def _chunks(data: bytes, seconds: float) -> list[StreamEvent]:
    """The file in pieces of about CHUNK_SECONDS of audio, each weighing its milliseconds of audio."""
    count = max(1, round(seconds / CHUNK_SECONDS))
    size = -(-len(data) // count)
    milliseconds = round(seconds * 1000 / count)
    return [StreamEvent(data[start : start + size], milliseconds) for start in range(0, len(data), size)]
