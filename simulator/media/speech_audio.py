"""Playable speech-like audio of a given length, encoded as AOAI's speech endpoint answers it.

The sound is a murmur of "syllables" (short tones under an envelope, with pauses), the same for the same
length, so a client can play, decode and measure it. PyAV (FFmpeg's codecs, bundled in its wheel) is the one
library here that writes all six formats: mp3 (LAME), opus (Ogg Opus), aac (ADTS), flac, wav and raw pcm;
soundfile (libsndfile) has no AAC encoder. Encoding costs far more than anything else the simulator does
(about a second of CPU per minute of mp3), so answers are cached by format and length: a load test that asks
for the same sentence again pays nothing.
"""

from __future__ import annotations

import array
import dataclasses
import functools
import io
import math
import sys

from simulator.media.cache import EncodedCache

SAMPLE_RATE = 24_000  # what AOAI's voices produce
CHARACTERS_PER_SECOND = 15.0  # about 150 words a minute at speed 1
MIN_SECONDS = 0.5
_SYLLABLE = 0.18  # seconds of tone, then a pause of a third of that
_PITCHES = (180.0, 210.0, 160.0, 240.0, 200.0)


@dataclasses.dataclass(frozen=True, slots=True)
class AudioFormat:
    name: str
    content_type: str
    container: str | None  # None: raw samples, no container
    codec: str | None


FORMATS = {
    "mp3": AudioFormat("mp3", "audio/mpeg", "mp3", "libmp3lame"),
    "opus": AudioFormat("opus", "audio/opus", "ogg", "libopus"),
    "aac": AudioFormat("aac", "audio/aac", "adts", "aac"),
    "flac": AudioFormat("flac", "audio/flac", "flac", "flac"),
    "wav": AudioFormat("wav", "audio/wav", "wav", "pcm_s16le"),
    "pcm": AudioFormat("pcm", "audio/pcm", None, None),
}


def speech_seconds(text: str, speed: float) -> float:
    """How long the input takes to say at `speed` (AOAI: 0.25 to 4.0), rounded to 50 ms so that equal lengths
    share one cached encoding."""
    seconds = max(MIN_SECONDS, len(text) / CHARACTERS_PER_SECOND / speed)
    return round(seconds * 20) / 20


_CACHE = EncodedCache(32)


def cached(format_name: str, seconds: float) -> bytes | None:
    """The file if it was encoded already (cheap: call it on the event loop)."""
    return _CACHE.get((format_name, seconds))


def encode(format_name: str, seconds: float) -> bytes:
    """The whole file for `seconds` of audio in `format_name` (one of FORMATS), encoded if need be (slow: use a
    thread)."""
    return _CACHE.make((format_name, seconds), lambda: _file(FORMATS[format_name], seconds))


def _file(audio_format: AudioFormat, seconds: float) -> bytes:
    samples = _murmur(round(seconds * SAMPLE_RATE))
    return samples if audio_format.container is None else _encode(audio_format, samples)


def _murmur(count: int) -> bytes:
    """`count` 16-bit mono samples of syllables and pauses."""
    syllables = [_syllable(pitch) for pitch in _PITCHES]
    pause = bytes(2 * round(_SYLLABLE / 3 * SAMPLE_RATE))
    parts: list[bytes] = []
    size = index = 0
    while size < 2 * count:
        syllable = syllables[index % len(syllables)]
        parts += (syllable, pause)
        size += len(syllable) + len(pause)
        index += 1
    return b"".join(parts)[: 2 * count]


@functools.cache
def _syllable(pitch: float) -> bytes:
    length = round(_SYLLABLE * SAMPLE_RATE)
    values = array.array(
        "h",
        (
            round(6000 * math.sin(math.pi * n / length) * math.sin(2 * math.pi * pitch * n / SAMPLE_RATE))
            for n in range(length)
        ),
    )
    if sys.byteorder == "big":  # the codecs are fed little-endian s16
        values.byteswap()
    return values.tobytes()


def _encode(audio_format: AudioFormat, samples: bytes) -> bytes:
    import av

    output = io.BytesIO()
    with av.open(output, mode="w", format=audio_format.container) as container:
        stream = container.add_stream(audio_format.codec, rate=SAMPLE_RATE, layout="mono")
        frame_size = stream.codec_context.frame_size or 1024
        total = len(samples) // 2
        for start in range(0, total, frame_size):
            count = min(frame_size, total - start)
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(samples[2 * start : 2 * (start + count)])
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()
