"""Recordings rebuilt as their samples in a plain WAV file (soundfile, then ``wave``).

Invariants: the copy is a canonical 44-byte-header WAV (``RIFF``, ``fmt``, ``data``
and nothing else) of 16-bit PCM samples at the original's sample rate and channel
count, written by the standard library's ``wave`` from the samples libsndfile
decoded: no tag, chunk, picture or block of the original (ID3, APE, LIST/INFO, BWF
``bext``, iXML, Vorbis comments, FLAC pictures and application blocks) can reach it.
Only the formats in :data:`FORMATS` are decoded; an Ogg file is taken only when
every stream it holds is Vorbis, Opus or FLAC (see :mod:`vault.rebuild.identify`).
Channels and sample rate are checked before decoding, and the length while the
samples are counted, against :data:`MAX_AUDIO_CHANNELS`, :data:`AUDIO_RATES`,
:data:`MAX_AUDIO_SECONDS` and :data:`MAX_AUDIO_SAMPLES`. The recording is decoded
twice, once to count its frames and once to write them, so that memory holds the
original and one block, never the decoded whole.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import soundfile

from vault.rebuild.base import (
    AUDIO_RATES,
    MAX_AUDIO_CHANNELS,
    MAX_AUDIO_SAMPLES,
    MAX_AUDIO_SECONDS,
    RebuildError,
    Rebuilt,
)

__all__ = ["FORMATS", "audio_format", "rebuild_audio"]

FORMATS: Final = {
    "WAV": "audio/wav",
    "WAVEX": "audio/wav",
    "RF64": "audio/wav",
    "AIFF": "audio/aiff",
    "FLAC": "audio/flac",
    "OGG": "audio/ogg",
    "MP3": "audio/mpeg",
}
"""The formats libsndfile is allowed to decode, with their media types."""
_BLOCK: Final = 1 << 16
_FULL_SCALE: Final = 32768
"""libsndfile reads 16-bit samples as s / 32768: scaling back by it is exact."""


def audio_format(data: bytes) -> str | None:
    """The format libsndfile recognises in ``data`` (among any it knows), or None."""
    try:
        return str(soundfile.info(io.BytesIO(data)).format)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None


def rebuild_audio(data: bytes) -> Rebuilt:
    channels, rate = _check(data)
    frames = _count(data, channels, rate)
    return Rebuilt("audio/wav", ".wav", _wav(data, channels, rate, frames))


def _open(data: bytes) -> Any:
    try:
        return soundfile.SoundFile(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        raise RebuildError("unreadable", "an unreadable recording") from None


def _check(data: bytes) -> tuple[int, int]:
    with _open(data) as sound:
        fmt, channels, rate = str(sound.format), int(sound.channels), int(sound.samplerate)
    if fmt not in FORMATS:
        raise RebuildError("unsupported", f"a recording in {fmt} format")
    if not 1 <= channels <= MAX_AUDIO_CHANNELS:
        raise RebuildError("over_limits", f"a recording of more than {MAX_AUDIO_CHANNELS} channels")
    if rate not in AUDIO_RATES:
        raise RebuildError("over_limits", "a recording at an unusual sample rate")
    return channels, rate


def _blocks(data: bytes) -> Iterator[Any]:
    """The decoded samples, a block of float frames at a time."""
    with _open(data) as sound:
        try:
            yield from sound.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError):
            raise RebuildError("unreadable", "a recording that fails to decode") from None


def _count(data: bytes, channels: int, rate: int) -> int:
    limit = min(MAX_AUDIO_SAMPLES // channels, MAX_AUDIO_SECONDS * rate)
    frames = 0
    for block in _blocks(data):
        frames += len(block)
        if frames > limit:
            raise RebuildError(
                "over_limits",
                f"a recording longer than {MAX_AUDIO_SECONDS // 3600} hours or "
                f"{MAX_AUDIO_SAMPLES:,} samples",
            )
    if frames == 0:
        raise RebuildError("unreadable", "a recording without samples")
    return frames


def _header(channels: int, rate: int, frames: int) -> bytes:
    """The WAV header ``wave`` writes for ``frames`` frames of 16-bit samples."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.setnframes(frames)
        # Writing no frames writes the header for the count set above; closing then
        # rewrites it for the frames actually written, after it was read here.
        writer.writeframesraw(b"")
        return buffer.getvalue()


def _wav(data: bytes, channels: int, rate: int, frames: int) -> Iterator[bytes]:
    yield _header(channels, rate, frames)
    written = 0
    for block in _blocks(data):
        written += len(block)
        if written > frames:
            raise RebuildError("unreadable", "a recording that decodes differently twice")
        samples = np.clip(np.rint(block * _FULL_SCALE), -_FULL_SCALE, _FULL_SCALE - 1)
        yield samples.astype("<i2").tobytes()
    if written != frames:
        raise RebuildError("unreadable", "a recording that decodes differently twice")
