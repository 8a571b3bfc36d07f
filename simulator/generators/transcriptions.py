"""Transcriptions and translations: lorem text as long as the uploaded audio is, in each response format.

The audio's duration (read from the file, `simulator.media.audio_probe`) decides everything: about 2.5 words a
second of speech, segments of at most `SEGMENT_SECONDS`, word and segment timings spread over it, the usage
(`seconds` for whisper, tokens for the gpt-4o transcribers) and the latency (per audio second).
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

from simulator import errors, tokens
from simulator.context import OpenAIRequest
from simulator.generators import fields
from simulator.generators.lorem import lorem_pieces
from simulator.media.audio_probe import probe
from simulator.models import Operation
from simulator.params import invalid_value, missing_parameter
from simulator.replies import JsonReply, Reply, StreamEvent, StreamEvents, StreamReply, TextRun, Usage
from simulator.sse import event as sse_event

FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TOKEN_FORMATS = ("json", "text")  # what gpt-4o-transcribe and gpt-4o-mini-transcribe answer
GRANULARITIES = ("word", "segment")
TOKENS_PER_SECOND = 2.5  # tokens of lorem per second of speech: about 150 words a minute
SEGMENT_SECONDS = 6.0
AUDIO_TOKENS_PER_SECOND = 10  # what the gpt-4o transcribers count per second of input audio
TEXT = "text/plain; charset=utf-8"
LANGUAGES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ja": "japanese",
    "zh": "chinese",
}


@dataclasses.dataclass(frozen=True, slots=True)
class TranscriptionParams:
    seconds: float
    response_format: str
    language: str
    granularities: tuple[str, ...]
    temperature: float
    stream: bool
    counts_tokens: bool  # the gpt-4o transcribers: usage in tokens rather than seconds


class TranscriptionGenerator:
    """One class for both operations: a translation is a transcription into English."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    def parse(self, request: OpenAIRequest) -> TranscriptionParams:
        body = request.body
        uploads = request.files.get("file")
        if not uploads:
            raise missing_parameter("file")
        counts_tokens = request.model.name.lower().startswith(("gpt-4o-transcribe", "gpt-4o-mini-transcribe"))
        allowed = TOKEN_FORMATS if counts_tokens else FORMATS
        response_format = body.get("response_format")
        if counts_tokens and response_format in FORMATS and response_format not in allowed:
            raise errors.invalid_request(
                f"response_format '{response_format}' is not compatible with model '{request.model.name}'. "
                "Use 'json' or 'text' instead.",
                "response_format",
                "unsupported_value",
            )
        response_format = fields.choice(body, "response_format", allowed, "json")
        stream = body.get("stream") is True
        if stream and not counts_tokens:
            raise errors.invalid_request(
                f"Streaming is not supported for the model '{request.model.name}'.", "stream", "unsupported_value"
            )
        granularities = _granularities(body.get("timestamp_granularities"))
        if granularities and response_format != "verbose_json":
            raise errors.invalid_request(
                "timestamp_granularities is only supported with response_format 'verbose_json'.",
                "timestamp_granularities",
                "invalid_value",
            )
        language = fields.text(body, "language", required=False) or "en"
        prompt = fields.text(body, "prompt", required=False) or ""
        temperature = fields.number(body, "temperature", 0.0, 1.0, 0.0)
        info = probe(uploads[0])  # the costly checks last: a bad field is refused without reading the audio
        request.audio_seconds = info.seconds
        request.prompt_tokens = tokens.count_text(prompt, request.model.encoding) if prompt else 0
        english = self.operation is Operation.TRANSLATIONS
        return TranscriptionParams(
            info.seconds,
            response_format,
            "english" if english else LANGUAGES.get(language.lower(), language.lower()),
            granularities or ("segment",),
            temperature,
            stream,
            counts_tokens,
        )

    def generate(self, request: OpenAIRequest, params: TranscriptionParams, rng: random.Random) -> Reply:
        count = max(1, round(params.seconds * TOKENS_PER_SECOND))
        pieces = lorem_pieces(count, rng)
        usage = Usage(request.prompt_tokens or 0, count)
        if params.stream:
            return _stream(pieces, _usage(params, request, count), usage)
        text = "".join(pieces)
        if params.response_format == "text":
            return JsonReply((text + "\n").encode(), headers={"content-type": TEXT}, usage=usage)
        if params.response_format in ("srt", "vtt"):
            cues = _segments(pieces, params.seconds)
            body = (_srt if params.response_format == "srt" else _vtt)(cues)
            return JsonReply(body.encode(), headers={"content-type": TEXT}, usage=usage)
        answer: dict[str, Any] = {"text": text}
        if params.response_format == "verbose_json":
            answer = {
                "task": "translate" if self.operation is Operation.TRANSLATIONS else "transcribe",
                "language": params.language,
                "duration": round(params.seconds, 2),
                "text": text,
            }
            segments = _segments(pieces, params.seconds)
            if "segment" in params.granularities:
                answer["segments"] = [_segment_json(index, cue, params, request) for index, cue in enumerate(segments)]
            if "word" in params.granularities:
                answer["words"] = _words(pieces, params.seconds)
        answer["usage"] = _usage(params, request, count)
        return JsonReply(answer, usage=usage)


@dataclasses.dataclass(frozen=True, slots=True)
class _Cue:
    start: float
    end: float
    pieces: list[str]

    @property
    def text(self) -> str:
        return "".join(self.pieces).strip()


def _granularities(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    for item in values:
        if item not in GRANULARITIES:
            raise invalid_value("timestamp_granularities", item, GRANULARITIES)
    return tuple(dict.fromkeys(values))


def _segments(pieces: list[str], seconds: float) -> list[_Cue]:
    """Consecutive cues of at most SEGMENT_SECONDS, the pieces spread evenly over the audio."""
    count = max(1, math.ceil(seconds / SEGMENT_SECONDS))
    per = math.ceil(len(pieces) / count)
    cues = []
    for index in range(0, len(pieces), per):
        start = seconds * index / len(pieces)
        end = seconds * min(len(pieces), index + per) / len(pieces)
        cues.append(_Cue(round(start, 2), round(end, 2), pieces[index : index + per]))
    return cues


def _segment_json(index: int, cue: _Cue, params: TranscriptionParams, request: OpenAIRequest) -> dict[str, Any]:
    encoding = tokens.encoding(request.model.encoding)
    return {
        "id": index,
        "seek": int(cue.start * 100),
        "start": cue.start,
        "end": cue.end,
        "text": " " + cue.text,
        "tokens": encoding.encode(" " + cue.text),
        "temperature": params.temperature,
        "avg_logprob": -0.25,
        "compression_ratio": 1.4,
        "no_speech_prob": 0.01,
    }


def _words(pieces: list[str], seconds: float) -> list[dict[str, Any]]:
    """Word timings: each word (pieces without punctuation) gets an even share of the audio."""
    words = [piece.strip() for piece in pieces if piece.strip().isalnum()]
    step = seconds / max(1, len(words))
    return [
        {"word": word, "start": round(index * step, 2), "end": round((index + 1) * step, 2)}
        for index, word in enumerate(words)
    ]


def _usage(params: TranscriptionParams, request: OpenAIRequest, output: int) -> dict[str, Any]:
    if not params.counts_tokens:
        return {"type": "duration", "seconds": math.ceil(params.seconds)}
    audio = math.ceil(params.seconds * AUDIO_TOKENS_PER_SECOND)
    text_tokens = request.prompt_tokens or 0
    return {
        "type": "tokens",
        "input_tokens": audio + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + text_tokens + output,
    }


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _srt(cues: list[_Cue]) -> str:
    return "".join(
        f"{index}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{cue.text}\n\n"
        for index, cue in enumerate(cues, 1)
    )


def _vtt(cues: list[_Cue]) -> str:
    return "WEBVTT\n\n" + "".join(
        f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{cue.text}\n\n" for cue in cues
    )


def _stream(pieces: list[str], usage: dict[str, Any], reply_usage: Usage) -> StreamReply:
    """gpt-4o-transcribe's stream: a `transcript.text.delta` event per piece, then `transcript.text.done`."""
    deltas = TextRun(b'data: {"type":"transcript.text.delta","delta":', pieces, b"}\n\n")
    done = {"type": "transcript.text.done", "text": "".join(pieces), "usage": usage}
    events = StreamEvents([deltas, StreamEvent(sse_event(done))])
    return StreamReply(events=events, usage=reply_usage)
