"""Metadata stripping for exported evidence files, with well-kept libraries only.

* Images (JPEG, PNG, TIFF, WebP, GIF): decoded and re-encoded by Pillow, which
  writes no EXIF (GPS, camera serial numbers), XMP, IPTC, ICC or text chunks unless
  asked to.
* PDF: pikepdf removes the document information dictionary and the XMP stream.
* Audio (MP3, WAV, FLAC, Ogg, MP4/M4A): mutagen deletes every tag.

Invariant: a media type not listed here cannot be stripped, and the caller leaves
such a file out of the export (fail closed). Stripping runs in memory: no plaintext
copy of a file touches the disk.
"""

from __future__ import annotations

import io
from typing import Final

import mutagen
import pikepdf
from PIL import Image

__all__ = ["STRIPPABLE", "StripError", "strip"]

_IMAGES: Final = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
_AUDIO: Final = frozenset(
    {
        "audio/mpeg",
        "audio/x-wav",
        "audio/wav",
        "audio/x-flac",
        "audio/ogg",
        "audio/mp4",
        "audio/m4a",
        "audio/x-m4a",
    }
)
STRIPPABLE: Final = frozenset({*_IMAGES, "application/pdf", *_AUDIO})


class StripError(Exception):
    """The file could not be stripped (unsupported or unreadable)."""


def strip(data: bytes, media_type: str) -> bytes:
    """A copy of ``data`` without its metadata; StripError if that cannot be done."""
    try:
        if media_type in _IMAGES:
            return _strip_image(data, _IMAGES[media_type])
        if media_type == "application/pdf":
            return _strip_pdf(data)
        if media_type in _AUDIO:
            return _strip_audio(data)
    except StripError:
        raise
    except Exception as exc:  # each library raises its own family of errors
        raise StripError(f"cannot strip a {media_type} file: {type(exc).__name__}") from None
    raise StripError(f"no metadata stripper for {media_type}")


def _strip_image(data: bytes, fmt: str) -> bytes:
    Image.MAX_IMAGE_PIXELS = 200_000_000
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        # No exif=, icc_profile=, pnginfo= or xmp=: nothing but pixels is written.
        clean = image.copy()
        clean.info = {}
        if fmt == "GIF" and getattr(image, "n_frames", 1) > 1:
            raise StripError("animated GIFs are not stripped")
        clean.save(out, format=fmt)
    return out.getvalue()


def _strip_pdf(data: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Metadata" in pdf.Root:
            del pdf.Root.Metadata
        if "/Info" in pdf.trailer:
            del pdf.trailer.Info
        for page in pdf.pages:
            if "/Metadata" in page.obj:
                del page.obj.Metadata
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    return out.getvalue()


def _strip_audio(data: bytes) -> bytes:
    buffer = io.BytesIO(data)
    audio = mutagen.File(buffer)
    if audio is None:
        raise StripError("unreadable audio file")
    buffer.seek(0)
    audio.delete(buffer)
    return buffer.getvalue()
