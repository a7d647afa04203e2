"""What a file is, judged by its content, never by its name or its container's brand.

Invariants: a file is an image only if Pillow opens it as one of the image formats
taken, a document only if it starts (within the first KiB, as PDF readers allow)
with a PDF header, a recording only if libsndfile decodes it as one of the audio
formats taken, or if it is an MP4/QuickTime file whose every track is a sound track.
A container that can hold video is a video as soon as one of its tracks or streams
is not sound, whatever its brand says (an MP4 branded ``M4A `` with a video track is
a video), and when its tracks cannot be read at all. A file none of the libraries
recognises, but that ``filetype`` names by its magic bytes, takes the kind of that
name (and is refused as unreadable when the name is of a format the libraries should
have read); anything else is ``other``.
"""

from __future__ import annotations

import io
from typing import Final

import filetype

# The atom walker mutagen reads MP4 files with (its own MP4Info finds the sound
# track this way); mutagen does not list it in ``__all__``.
from mutagen.mp4 import Atoms  # type: ignore[attr-defined]
from mutagen.ogg import OggPage
from PIL import Image

from vault.rebuild import audio, image
from vault.rebuild.base import Detected

__all__ = ["detect"]

_PDF_HEAD: Final = 1024
_SOUND: Final = b"soun"
# The boxes an ISO base media file may start with: ``ftyp`` since MP4, and the movie,
# media data or free space of QuickTime files written before it.
_ISO_FIRST_BOXES: Final = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"})
_OGG_AUDIO: Final = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC")
_MIME_KINDS: Final = {"image/": "image", "audio/": "audio", "video/": "video"}
_DAMAGED: Final = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
        "image/gif",
        "audio/x-wav",
        "audio/x-aiff",
        "audio/x-flac",
        "audio/ogg",
        "audio/mpeg",
    }
)
"""What ``filetype`` calls the formats that have a rebuild: named by magic bytes
alone, such a file is one its library could not read."""


def detect(data: bytes) -> Detected:
    # An ISO base media file (MP4, M4A, QuickTime, 3GP, HEIF) first: its brand is what
    # other detectors trust, and a brand is only a claim.
    if data[4:8] in _ISO_FIRST_BOXES:
        return _iso_media(data)
    # An Ogg file can carry video beside its sound: its streams decide.
    if data[:4] == b"OggS" and not _ogg_is_audio(data):
        return Detected("video", "OGG", "video/ogg")
    if b"%PDF-" in data[:_PDF_HEAD]:
        return Detected("document", "PDF", "application/pdf")
    found = _image(data)
    if found is not None:
        return found
    found = _audio(data)
    if found is not None:
        return found
    return _by_magic(data)


def _image(data: bytes) -> Detected | None:
    try:
        with image.open_image(data) as opened:
            fmt = str(opened.format)
    except Image.DecompressionBombError:
        # Pillow refuses to open a header that claims this many pixels.
        return Detected("image", "unknown", "application/octet-stream", refusal="over_limits")
    except Exception:  # Pillow raises many kinds of error on what is not its image
        return None
    return Detected("image", fmt, image.FORMATS.get(fmt, "application/octet-stream"))


def _audio(data: bytes) -> Detected | None:
    fmt = audio.audio_format(data)
    if fmt is None:
        return None
    return Detected("audio", fmt, audio.FORMATS.get(fmt, "application/octet-stream"))


def _ogg_is_audio(data: bytes) -> bool:
    """Whether every logical stream of an Ogg file is Vorbis, Opus or FLAC audio
    (Theora video, or any other stream, makes it not)."""
    stream = io.BytesIO(data)
    pages = 0
    try:
        while stream.tell() < len(data):
            page = OggPage(stream)
            pages += 1
            if page.first and not (page.packets and page.packets[0].startswith(_OGG_AUDIO)):
                return False
    except Exception:  # mutagen raises its own errors on a damaged page
        return False
    return pages > 0


def _iso_media(data: bytes) -> Detected:
    """An MP4 family file is audio only when it has tracks and all are sound."""
    stream = io.BytesIO(data)
    try:
        atoms = Atoms(stream)
        handlers = []
        for track in atoms[b"moov"].findall(b"trak"):
            ok, payload = track[b"mdia", b"hdlr"].read(stream)
            handlers.append(payload[8:12] if ok else b"")
    except Exception:  # no movie box, or one mutagen cannot walk: not known to be audio
        handlers = []
    if handlers and all(h == _SOUND for h in handlers):
        return Detected("audio", "MP4", "audio/mp4")
    if not handlers:
        guess = filetype.guess(data[:8192])
        if guess is not None and str(guess.mime).startswith("image/"):
            # HEIF and AVIF pictures hold no movie tracks.
            return Detected("image", str(guess.extension).upper(), str(guess.mime))
    return Detected("video", "MP4", "video/mp4")


def _by_magic(data: bytes) -> Detected:
    guess = filetype.guess(data[:8192])
    if guess is None:
        return Detected("other", "unknown", "application/octet-stream")
    mime = str(guess.mime)
    kind = next((k for prefix, k in _MIME_KINDS.items() if mime.startswith(prefix)), "other")
    if mime in _DAMAGED:
        # Its magic bytes name a format whose library has just failed to open it.
        return Detected(kind, str(guess.extension).upper(), mime, refusal="unreadable")
    return Detected(kind, str(guess.extension).upper(), mime)
