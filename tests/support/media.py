"""Audio and image files for tests, made on the spot with the kept libraries (nothing binary in the repo)."""

from __future__ import annotations

import io

from bench.scenarios import silent_wav


def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A silent mono 16-bit WAV of `seconds` (the standard library writes it; the benchmark sends the same)."""
    return silent_wav(seconds, rate)


def encoded(container: str, codec: str, seconds: float, rate: int = 24_000) -> bytes:
    """`seconds` of silence in another format, written by PyAV (mp3, flac, ogg, m4a...)."""
    from simulator.media.speech_audio import AudioFormat, _encode

    return _encode(AudioFormat(container, "", container, codec), bytes(2 * round(seconds * rate)))


def decoded_seconds(data: bytes) -> float:
    """How long `data` plays, by decoding every frame with PyAV (the proof that a file is playable)."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    from PIL import Image

    output = io.BytesIO()
    Image.new(mode, (width, height), (10, 20, 30, 255) if mode == "RGBA" else (10, 20, 30)).save(output, "PNG")
    return output.getvalue()
