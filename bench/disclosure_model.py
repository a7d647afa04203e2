"""What the disclosure corpus is made of, and the one text folding its scorer uses.

A narrative carries gold ``Span``s (identifying text, with the pieces that must not
survive scrubbing) and ``Keep`` words (ordinary content that should survive). Both
record where they start, so the scorer judges each one at its own place in the text
and a name that folds into a common word ("Lan" and "lần") is never confused with it.

Folding here belongs to the benchmark, not to the scrubber under test: lower case,
Latin/Cyrillic diacritics dropped, invisible format characters dropped, every decimal
digit (fullwidth, Thai, Arabic-Indic) read as its ASCII digit. Thai and other scripts
keep their vowel and tone marks, which are letters there, not accents.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

KINDS: Final = (
    "name_exact",
    "name_variant",
    "other_person",
    "employee_id",
    "badge",
    "phone",
    "email",
    "handle",
    "dob",
    "small_place",
    "only_description",
)
LANGUAGES: Final = ("vi", "th", "zh", "cs", "es", "id", "fr", "en")


@dataclass(frozen=True)
class Span:
    """Identifying text at ``start``; removed when none of ``pieces`` is left there."""

    kind: str
    subkind: str
    text: str
    start: int
    pieces: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Keep:
    """An ordinary content word at ``start`` that a good scrubber leaves as it is."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Narrative:
    id: str
    language: str
    record: Mapping[str, Any]  # a testimony: worker, persons_mentioned, narrative
    spans: tuple[Span, ...]
    keep: tuple[Keep, ...]

    @property
    def text(self) -> str:
        return str(self.record["narrative"])


@dataclass(frozen=True)
class Site:
    """One site's testimonies: what a scrubber loads before it scrubs any of them."""

    id: str
    language: str
    country: str
    narratives: tuple[Narrative, ...]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [dict(n.record) for n in self.narratives]


# Combining marks that are accents on a Latin, Greek or Cyrillic letter. Thai vowel
# and tone marks are combining too, but dropping them would change the word.
_ACCENT_BLOCKS: Final = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0xFE20, 0xFE2F))
_EXTRA_FOLD: Final = str.maketrans(
    {"đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "’": "'"}
)
_NO_SPACE_SCRIPTS: Final = (
    "THAI",
    "CJK",
    "LAO",
    "KHMER",
    "MYANMAR",
    "HIRAGANA",
    "KATAKANA",
    "IDEOGRAPHIC",
)


def _accent(c: str) -> bool:
    return any(lo <= ord(c) <= hi for lo, hi in _ACCENT_BLOCKS)


@functools.lru_cache(maxsize=32768)
def fold_char(c: str) -> str:
    category = unicodedata.category(c)
    if category == "Cf":
        return ""
    if category == "Nd":
        return str(unicodedata.digit(c))
    if _accent(c):
        return ""
    decomposed = unicodedata.normalize("NFKD", c)
    return "".join(ch for ch in decomposed if not _accent(ch)).casefold().translate(_EXTRA_FOLD)


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(fold_char(c) for c in text)


def fold_map(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each index of ``text`` (and its end) where it begins there."""
    if text.isascii():
        return text.lower(), list(range(len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    n = 0
    for c in text:
        f = fold_char(c)
        starts.append(n)
        out.append(f)
        n += len(f)
    starts.append(n)
    return "".join(out), starts


@functools.lru_cache(maxsize=32768)
def no_space_script(c: str) -> bool:
    return unicodedata.name(c, "").startswith(_NO_SPACE_SCRIPTS)


def char_class(c: str) -> str:
    """'l' for a letter of a spaced script, 'd' for a digit, '' for anything else.

    A piece of text is a whole word when the characters on either side are not of the
    same class as its own first and last characters: "Hương" stands alone in "Hương07",
    "Lan" does not in "Lanh", and Thai or Chinese letters never bound anything.
    """
    if c.isdigit():
        return "d"
    if c.isalpha() and not no_space_script(c):
        return "l"
    return ""


_DIGITS: Final = re.compile(r"\d+")


def number_pieces(text: str, *, drop_country: bool = False) -> tuple[str, ...]:
    """The digit groups of a number as written; a one-digit group goes with its neighbour.

    "+84 912 345 678" -> 912, 345, 678 (with ``drop_country``); "6-0-9-2" -> 6-0-9-2;
    "+33 6 12 34 56 78" -> "6 12", 34, 56, 78.
    """
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(text)]
    if drop_country and len(groups) > 1 and text.lstrip().startswith("+"):
        groups = groups[1:]
    if not groups:
        return ()
    if all(e - s == 1 for s, e in groups):
        return (text[groups[0][0] : groups[-1][1]],)
    merged: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        s, e = groups[i]
        if e - s == 1:
            if i + 1 < len(groups):
                i += 1
                e = groups[i][1]
            elif merged:
                s = merged.pop()[0]
        merged.append((s, e))
        i += 1
    return tuple(text[s:e] for s, e in merged)


_HANDLE_SPLIT: Final = re.compile(r"[^\w]+|_")


def handle_pieces(handle: str) -> tuple[str, ...]:
    """The parts of a user name or e-mail local part that say something: three characters
    or more ("huong.nguyen94" -> huong, nguyen94; "tiger_88" -> tiger)."""
    return tuple(p for p in _HANDLE_SPLIT.split(handle) if len(p) >= 3)


def word_pieces(words: list[str], sep: str, size: int = 3) -> tuple[str, tuple[str, ...]]:
    """A number read out word by word, and its pieces: runs of ``size`` words as written
    (a last run of one word joins the run before it)."""
    runs = [words[i : i + size] for i in range(0, len(words), size)]
    if len(runs) > 1 and len(runs[-1]) == 1:
        runs[-2:] = [runs[-2] + runs[-1]]
    return sep.join(words), tuple(sep.join(r) for r in runs)
