"""One normalised copy of a text for the detectors, and the way back to the original.

The detectors match on :attr:`Prepared.low`: NFC, lower case, ASCII digits (fullwidth,
Thai, Arabic-Indic … digits mapped), fullwidth letters and ``# + - . / @`` as ASCII
(not the fullwidth commas and colons Chinese is written with), every
kind of space as a plain space, dashes as ``-``, and invisible format characters
(zero-width spaces and joiners, soft hyphens, byte-order marks) removed.
:attr:`Prepared.text` is the same before lower-casing, for the few rules that look at
letter case. Both have the same length, so one index serves both.

Invariant: :meth:`Prepared.source` maps any span of the normalised text to the span of
the original text that produced it, whole characters included: a span never ends
between a base letter and its combining mark, and covers any invisible character that
sat inside it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import compress, count
from operator import not_
from typing import Final

__all__ = ["Prepared", "prepare"]

# What can differ between a text and its normalised form. Anything else is copied.
# One character class, so the search runs at C speed over ordinary text.
_COMBINING: Final = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_CHARS: Final = (
    "\u0660-\u0669\u06f0-\u06f9\u0966-\u096f\u09e6-\u09ef\u0e50-\u0e59"  # digits
    "\u0ed0-\u0ed9\u0f20-\u0f29\u1040-\u1049\u17e0-\u17e9"
    "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"  # spaces
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"  # invisible
    "\u2010-\u2015\u2212"  # dashes and the minus sign
    "\uff03\uff0b\uff0d-\uff0f\uff10-\uff19\uff20-\uff3a\uff41-\uff5a"  # fullwidth #+-./09@AZaz
    "\u0130"  # İ, the one letter whose lower case is two characters
)
_ODD: Final = re.compile(f"[{_CHARS}]")
# Text that is not NFC (Vietnamese often arrives decomposed): a letter and its marks
# are composed together.
_ODD_OR_CLUSTER: Final = re.compile(f"[{_CHARS}]|[^{_COMBINING}][{_COMBINING}]+", re.DOTALL)
# Letters that compose with a following character that is not a combining mark
# (Hangul jamo, some Indic vowel signs): such text takes the slow, exact path.
_OTHER_COMPOSERS: Final = re.compile(
    "[\u1100-\u11ff\u0b3e\u0b56\u0b57\u0bbe\u0bd7\u0cc2\u0cd5\u0cd6\u0d3e\u0d57"
    "\u0dcf\u0ddf\u102e\u1b35]"
)


def _replacement(odd: str) -> str:
    c = odd[0]
    if len(odd) > 1:
        return unicodedata.normalize("NFC", odd)
    if c.isdigit():
        return str(unicodedata.digit(c, 0))
    if unicodedata.category(c) == "Zs":
        return " "
    if "\uff01" <= c <= "\uff5e":
        return chr(ord(c) - 0xFEE0)
    if c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212":
        return "-"
    if c == "\u0130":
        return "I"
    return ""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A text normalised for matching, with the map back to the original."""

    text: str
    low: str
    # Per normalised character, the original span it came from; None when the two
    # texts are the same character for character.
    starts: list[int] | None
    ends: list[int] | None

    def __repr__(self) -> str:
        return f"Prepared(<{len(self.text)} characters>)"

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind ``[start, end)`` of the normalised text."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def prepare(text: str) -> Prepared:
    """The normalised form of ``text`` (see the module docstring)."""
    if text.isascii():
        return Prepared(text, text.lower(), None, None)
    if unicodedata.is_normalized("NFC", text):
        return _map_odd(text, None, None)
    composed = _compose(text)
    if composed is None:
        return _map(text, _ODD_OR_CLUSTER)
    nfc, starts, ends = composed
    return _map_odd(nfc, starts, ends)


def _compose(text: str) -> tuple[str, list[int], list[int]] | None:
    """NFC of ``text`` and, per composed character, its original span — when every
    composed character is one letter and the marks after it (Vietnamese, Czech,
    Spanish, French …); None otherwise."""
    if _OTHER_COMPOSERS.search(text):
        return None
    nfc = unicodedata.normalize("NFC", text)
    # Positions of the characters that start a cluster, found by C iterators.
    starts = list(compress(count(), map(not_, map(unicodedata.combining, text))))
    if len(starts) != len(nfc) or (starts and starts[0] != 0):
        return None
    return nfc, starts, [*starts[1:], len(text)]


def _map_odd(text: str, starts: list[int] | None, ends: list[int] | None) -> Prepared:
    """Map the odd characters of an NFC ``text`` whose own map back is given."""
    if _ODD.search(text) is None:
        return Prepared(text, text.lower(), starts, ends)
    mapped = _map(text, _ODD)
    if starts is None or ends is None:
        return mapped
    assert mapped.starts is not None
    assert mapped.ends is not None
    return Prepared(
        mapped.text,
        mapped.low,
        [starts[i] for i in mapped.starts],
        [ends[i - 1] for i in mapped.ends],
    )


def _map(text: str, pattern: re.Pattern[str]) -> Prepared:
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        a, b = m.span()
        if a > pos:
            pieces.append(text[pos:a])
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        new = _replacement(m.group())
        pieces.append(new)
        starts.extend([a] * len(new))
        ends.extend([b] * len(new))
        pos = b
    if pos < len(text):
        pieces.append(text[pos:])
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    norm = "".join(pieces)
    low = norm.lower()
    if len(low) != len(norm):  # a composed letter without a one-character lower case
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in norm)
    return Prepared(norm, low, starts, ends)
