"""What every rebuild shares: the limits, the outcome, and the one error.

The limits bound what a hostile file can make a rebuild spend. Each is checked
before the work it bounds is done: the size before a file is read, an image's
width and height (from its header) before its pixels are decoded, a document's page
count and each page's size before a page is drawn, a recording's channels and
sample rate before it is decoded and its length while it is counted. A file over a
limit is left out, never cut short.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

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
]

MAX_FILE_BYTES: Final = 256 * 2**20
"""A file is read whole into memory to be looked at: larger ones are not read."""
MAX_IMAGE_PIXELS: Final = 64_000_000
"""Width times height of an image (a 64-megapixel photo; 256 MiB as RGBA)."""
MAX_PAGES: Final = 500
"""Pages of a document."""
PAGE_DPI: Final = 150
"""The resolution pages are drawn at."""
MAX_PAGE_PIXELS: Final = 9_000_000
"""Pixels of one drawn page: a page larger than A2 at 150 dpi is drawn at less."""
MAX_DOCUMENT_PIXELS: Final = 2**30
"""Pixels of all the pages of a document together (about 480 A4 pages)."""
MAX_AUDIO_SECONDS: Final = 3 * 3600
"""Length of a recording."""
MAX_AUDIO_SAMPLES: Final = 2**30
"""Samples of a recording, all channels together (3 hours of 48 kHz stereo; 2 GiB
as 16-bit PCM, half the size a WAV file can hold)."""
MAX_AUDIO_CHANNELS: Final = 8
AUDIO_RATES: Final = range(1_000, 192_001)
"""Sample rates taken, in Hz."""

REASONS: Final = ("unsupported", "unreadable", "over_limits")
"""Why a file could not be rebuilt, as :attr:`RebuildError.reason` says it."""


class RebuildError(Exception):
    """A file that cannot be rebuilt and must be left out.

    ``reason`` is one of :data:`REASONS`: ``unsupported`` (no rebuild for this format
    or shape of file), ``unreadable`` (the library could not decode it) or
    ``over_limits``. The message names the format and the limit, never the content.
    """

    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Detected:
    """What a file is, judged by its content: its kind (``image``, ``document``,
    ``audio``, ``video`` or ``other``), its format as the library that recognised it
    names it, and the media type of that format. ``refusal`` is the reason a rebuild
    is already known to fail (one of :data:`REASONS`): a file whose magic bytes name
    a format its library could not open is ``unreadable``, a picture whose header
    claims more pixels than Pillow opens is ``over_limits``."""

    kind: str
    format: str
    media_type: str
    refusal: str | None = None


@dataclass(frozen=True)
class Rebuilt:
    """A copy ready to leave: its media type, the extension of its name, and its
    bytes. For a recording the bytes are produced as they are read, and reading them
    may raise :class:`RebuildError` part-way: the copy is then left out."""

    media_type: str
    extension: str
    chunks: Iterable[bytes]
