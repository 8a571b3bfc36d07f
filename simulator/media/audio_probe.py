"""How long an uploaded audio file plays, read from its headers without decoding it.

mutagen reads WAV, MP3, FLAC, Ogg (Vorbis, Opus) and M4A/MP4 durations from their headers (an MP3 without a
Xing header is estimated from its bitrate, as players do). WebM, which mutagen does not read, is opened with
PyAV's demuxer. A file neither understands, or one that claims no duration, is one AOAI would refuse too.
"""

from __future__ import annotations

import dataclasses
import io
import logging

from simulator import errors
from simulator.context import Upload
from simulator.errors import OpenAIError

logger = logging.getLogger(__name__)

SUPPORTED = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
MAX_FILE_BYTES = 25 * 1024 * 1024  # AOAI's limit for one audio upload: 26,214,400 bytes


@dataclasses.dataclass(frozen=True, slots=True)
class AudioInfo:
    seconds: float
    container: str  # what the file turned out to be: "wav", "mp3", "flac", "ogg", "mp4", "webm"


def probe(upload: Upload) -> AudioInfo:
    """The file's duration; AOAI's 400 when it is too large, of another format, or undecodable."""
    size = len(upload.data)
    if size > MAX_FILE_BYTES:
        raise file_too_large(size)
    extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
    if extension and extension not in SUPPORTED:
        raise invalid_format()
    info = _with_mutagen(upload.data) if extension != "webm" else None
    if info is None:
        info = _with_pyav(upload.data)
    if info is None:
        raise invalid_format() if not extension else corrupted()
    return info


def _with_mutagen(data: bytes) -> AudioInfo | None:
    import mutagen

    # Closed at once: mutagen's chunk objects hold the file in reference cycles, and an open BytesIO would keep
    # the whole upload alive with them until the next full collection (simulator.collector).
    with io.BytesIO(data) as file:
        try:
            found = mutagen.File(file)
        except Exception:  # mutagen raises its own error per format, and struct/value errors on junk
            return None
    seconds = getattr(getattr(found, "info", None), "length", 0) or 0
    if found is None or seconds <= 0:
        return None
    return AudioInfo(float(seconds), _CONTAINERS.get(type(found).__name__, type(found).__name__.lower()))


def _with_pyav(data: bytes) -> AudioInfo | None:
    """WebM and whatever mutagen could not place: demux only (no decoding), for the container's duration."""
    import av

    try:
        with io.BytesIO(data) as file, av.open(file, mode="r") as container:
            if not container.streams.audio:
                return None
            seconds = container.duration / av.time_base if container.duration else 0.0
            name = container.format.name.split(",")[0]
    except (av.FFmpegError, ValueError, OSError):
        return None
    return AudioInfo(seconds, "webm" if name == "matroska" else name) if seconds > 0 else None


_CONTAINERS = {
    "WAVE": "wav",
    "MP3": "mp3",
    "EasyMP3": "mp3",
    "FLAC": "flac",
    "OggVorbis": "ogg",
    "OggOpus": "ogg",
    "OggFLAC": "ogg",
    "OggSpeex": "ogg",
    "MP4": "mp4",
    "EasyMP4": "mp4",
}


def invalid_format() -> OpenAIError:
    supported = ", ".join(f"'{name}'" for name in SUPPORTED)
    return errors.invalid_request(f"Invalid file format. Supported formats: [{supported}]", "file", "invalid_value")


def corrupted() -> OpenAIError:
    return errors.invalid_request("Audio file might be corrupted or unsupported", "file", "invalid_value")


def file_too_large(size: int) -> OpenAIError:
    return errors.invalid_request(
        f"Maximum content size limit ({MAX_FILE_BYTES}) exceeded ({size} bytes read)", "file", "invalid_value"
    )
