"""Rule-based detectors of identifying details in free text, in many languages.

:func:`find_spans` finds what a scrubber should replace beyond the terms it already
knows: ids and badge numbers after their keywords, digit sequences split by
separators, numbers read out in words, obfuscated e-mail addresses, handles,
messaging ids and profile links, dates of birth, and small places (rooms, lines,
villages). :func:`residual_flags` names the risk cues still left in scrubbed text.

Languages: Vietnamese, Thai, Chinese, Czech, Spanish, French, Indonesian and English
throughout, with some German and Russian. Input may be NFC or NFD, with fullwidth or
Thai digits, non-breaking and zero-width characters (see :mod:`.prepared`).

Invariants: keywords stay in the text, only the value after (or, in Chinese, before)
them is a span; every span lies inside the text and has a kind from :data:`KINDS`;
nothing here imports the rest of the vault, and nothing keeps the text.

Cost: one Aho–Corasick pass for all keywords (:mod:`.scan`), then small anchored
regexes where a keyword stands, and one digit-led scan for split numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from vault.detect.contacts import find_contacts
from vault.detect.cues import FLAG_KINDS, residual_flags
from vault.detect.dates import find_birth_dates
from vault.detect.numbers import find_ids, find_sequences
from vault.detect.places import find_places
from vault.detect.prepared import prepare
from vault.detect.scan import Hit, scan
from vault.detect.spelled import find_spelled

__all__ = ["FLAG_KINDS", "KINDS", "Span", "find_spans", "residual_flags"]

# The kinds of span (the token a scrubber writes, without brackets).
KINDS: Final[tuple[str, ...]] = (
    "DATE-OF-BIRTH",
    "EMAIL",
    "URL",
    "HANDLE",
    "EMPLOYEE-ID",
    "PHONE",
    "PLACE",
    "NUMBER",
)
_DIGIT: Final = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the original text to replace, and the token kind to write."""

    start: int  # index into the ORIGINAL text
    end: int
    kind: str  # the token the scrubber writes, without brackets

    def __repr__(self) -> str:
        # A span names where, never what: the text it covers may identify a worker.
        return f"Span({self.start}, {self.end}, {self.kind!r})"


def find_spans(text: str, *, birth_years: frozenset[int] = frozenset()) -> list[Span]:
    """Every span the rules find, sorted by start; spans may overlap (the caller
    merges: leftmost, then longest). ``birth_years`` are the years the workers named
    in the text were born: any full date in one of them is a date of birth."""
    if not text:
        return []
    p = prepare(text)
    hits = scan(p.low)
    # The detectors that read a keyword run first: of two readings of the same
    # characters, theirs is kept ("số tài khoản 0071 0004 56789" is an account
    # number, not the phone number its digits alone suggest).
    raw: list[Hit] = []
    find_birth_dates(p, hits, birth_years, raw)
    find_contacts(p, hits, raw)
    digits = _DIGIT.search(p.low) is not None
    if digits:
        find_ids(p, hits, raw)
    find_places(p, hits, raw)
    find_spelled(p, hits, raw)
    if digits:
        find_sequences(p, raw)
    kinds: dict[tuple[int, int], str] = {}
    for start, end, kind in raw:
        if end > start:
            kinds.setdefault(p.source(start, end), kind)
    return [Span(s, e, k) for (s, e), k in sorted(kinds.items(), key=lambda i: (i[0][0], -i[0][1]))]
