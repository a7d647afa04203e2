"""One pass over a prepared text that finds every keyword of every detector.

A single Aho–Corasick automaton (``pyahocorasick``) holds all keyword lists, so the
cost of a text does not grow with the number of keywords or languages; the detectors
then run small anchored regexes only where a keyword stands.

Invariants: a keyword of a spaced script (Latin, Vietnamese, Cyrillic) is kept only as
a whole word — no letter of such a script touches it; digits may (``ID55001``,
``line3``). Keywords are found leftmost-longest and never overlap, so ``thẻ`` inside
``thẻ số`` is not found again; each category's hits come in text order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

import ahocorasick

from vault.detect import keywords as kw

__all__ = ["Hit", "Hits", "scan", "spaced_letter"]

Hit = tuple[int, int, str]  # start, end, the keyword as listed
Hits = dict[str, list[Hit]]

# Category -> keywords. The detectors ask for hits by category.
CATEGORIES: Final[dict[str, Iterable[str]]] = {
    "emp": kw.EMPLOYEE_ID,
    "nat": kw.NATIONAL_ID,
    "tel": kw.PHONE,
    "msg": kw.MESSAGING,
    "at": kw.EMAIL_AT,
    "url": kw.URL_STARTS,
    "birth": kw.BIRTH_BEFORE,
    "birth_after": kw.BIRTH_AFTER,
    "room": kw.ROOM,
    "unit": kw.WORK_UNIT,
    "village": kw.VILLAGE,
    "suffix": kw.PLACE_SUFFIX,
    "digit": (*kw.DIGIT_WORDS, "double", "triple"),
    "only": kw.ONLY,
    "role": kw.ROLE,
    "age": kw.AGE,
}


def spaced_letter(c: str) -> bool:
    """A letter of a script that separates words with spaces."""
    return c.isalpha() and (c < "\u0e00" or "\u1e00" <= c < "\u2000")


def _build() -> ahocorasick.Automaton:
    # Per key, one owner per category (một and mốt both give "mot").
    entries: dict[str, dict[str, str]] = {}
    for category, items in CATEGORIES.items():
        for item in items:
            key = unicodedata.normalize("NFC", item.lower())
            entries.setdefault(key, {}).setdefault(category, item)
    automaton = ahocorasick.Automaton()
    for key, owners in entries.items():
        left = spaced_letter(key[0]) or key[0].isdigit()
        right = spaced_letter(key[-1]) or key[-1].isdigit()
        automaton.add_word(key, (len(key) - 1, left, right, tuple(owners.items())))
    automaton.make_automaton()
    return automaton


_AUTOMATON: Final = _build()
# Letters of the spaced scripts (Latin with its extensions, Greek, Cyrillic), for the
# whole-word test: a set lookup is cheaper than a call per hit.
_SPACED: Final = frozenset(
    chr(c)
    for lo, hi in ((0x61, 0x7A), (0xC0, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x1E00, 0x1EFF))
    for c in range(lo, hi + 1)
    if chr(c).isalpha()
)


def scan(low: str) -> Hits:
    """Every keyword in ``low`` (a prepared text's lower-case form), by category.

    Matches are leftmost-longest and do not overlap: ``thẻ số`` is one keyword, not
    ``thẻ`` and ``số``."""
    hits: Hits = {}
    size = len(low)
    spaced = _SPACED
    for last, (back, left, right, owners) in _AUTOMATON.iter_long(low):
        start = last - back
        end = last + 1
        if left and start and low[start - 1] in spaced:
            continue
        if right and end < size and low[end] in spaced:
            continue
        for category, item in owners:
            found = hits.get(category)
            if found is None:
                hits[category] = [(start, end, item)]
            else:
                found.append((start, end, item))
    return hits
