"""Evidence files rebuilt from their content alone, or left out.

Stripping what is known to hide data loses to every format's next hiding place, so
no exported copy is the original edited: it is a new file made from what the
original shows or sounds like, by well-kept libraries.

* Images (JPEG, PNG, TIFF, WebP, GIF): the decoded pixels, turned upright and into
  sRGB, encoded afresh by Pillow (:mod:`vault.rebuild.image`).
* PDF documents: each page drawn by PDFium, without annotations or form fields, and
  a new PDF of those pictures written by pikepdf (:mod:`vault.rebuild.document`).
* Recordings (WAV, AIFF, FLAC, Ogg Vorbis or Opus, MP3): the samples decoded by
  libsndfile, written as 16-bit PCM WAV (:mod:`vault.rebuild.audio`).

Invariants: :func:`detect` judges a file by its content alone; :func:`rebuild`
either returns a copy built from the content or raises :class:`RebuildError` with a
reason, and the caller leaves the file out and counts that reason (fail closed).
Video, other formats (M4A/AAC, HEIC, multi-frame images, anything unrecognised) have
no rebuild. All work happens in memory within the limits of :mod:`vault.rebuild.base`;
no byte of a file touches the disk. The libraries are loaded on the first rebuild,
not when the vault is.
"""

from __future__ import annotations

from vault.rebuild.base import (
    AUDIO_RATES,
    MAX_AUDIO_CHANNELS,
    MAX_AUDIO_SAMPLES,
    MAX_AUDIO_SECONDS,
    MAX_DOCUMENT_PIXELS,
    MAX_FILE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_PAGE_PIXELS,
    MAX_PAGES,
    PAGE_DPI,
    REASONS,
    Detected,
    RebuildError,
    Rebuilt,
)

__all__ = [
    "AUDIO_RATES",
    "MAX_AUDIO_CHANNELS",
    "MAX_AUDIO_SAMPLES",
    "MAX_AUDIO_SECONDS",
    "MAX_DOCUMENT_PIXELS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_PAGES",
    "MAX_PAGE_PIXELS",
    "PAGE_DPI",
    "REASONS",
    "Detected",
    "RebuildError",
    "Rebuilt",
    "detect",
    "original",
    "rebuild",
]

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "audio/wav": ".wav",
    "audio/aiff": ".aiff",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
}


def detect(data: bytes) -> Detected:
    """What ``data`` is, by its content (see :mod:`vault.rebuild.identify`)."""
    # Imported on first use: the imaging, PDF and audio libraries take a noticeable
    # part of a second to load, which no command but an export should pay.
    from vault.rebuild.identify import detect as _detect  # noqa: PLC0415

    return _detect(data)


def rebuild(data: bytes, found: Detected) -> Rebuilt:
    """A copy of ``data`` made from its content alone; RebuildError if there is none."""
    if found.refusal is not None:
        raise RebuildError(found.refusal, f"{found.kind} file refused on opening")
    if found.kind == "image" and found.format in ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "GIF"):
        from vault.rebuild.image import rebuild_image  # noqa: PLC0415 - see detect

        return rebuild_image(data)
    if found.kind == "document" and found.format == "PDF":
        from vault.rebuild.document import rebuild_pdf  # noqa: PLC0415 - see detect

        return rebuild_pdf(data)
    if found.kind == "audio" and found.format != "MP4":
        from vault.rebuild.audio import FORMATS, rebuild_audio  # noqa: PLC0415 - see detect

        if found.format in FORMATS:
            return rebuild_audio(data)
    raise RebuildError("unsupported", f"no rebuild for {found.kind} in {found.format} format")


def original(data: bytes, found: Detected) -> Rebuilt:
    """The original itself, typed by its content (for policies that send originals)."""
    return Rebuilt(found.media_type, _EXTENSIONS.get(found.media_type, ".bin"), [data])
