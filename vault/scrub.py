"""Free-text scrubbing without a language model.

A :class:`Scrubber` replaces, in narratives, summaries and details:

* every identity term the vault knows for the site being exported: each worker's
  name and each part of it, employee id, phone, e-mail and address, and every person
  named in ``persons_mentioned`` — in any letter case, with or without diacritics
  (Nguyễn = NGUYEN = nguyen), with punctuation or a possessive around it, and inside
  scripts written without spaces (Thai, Chinese, Japanese, Lao, Khmer, Myanmar);
* phone numbers in any national or international format (``phonenumbers``),
  e-mail addresses, and runs of six or more digits (ID numbers).

Replacements are typed and consistent within one export: ``[WORKER-3]``,
``[PERSON-7]``, ``[NAME]`` (a name part shared by several people), ``[EMPLOYEE-ID]``,
``[PHONE]``, ``[EMAIL]``, ``[ADDRESS]``, ``[NUMBER]``.

Matching runs one Aho–Corasick automaton (``pyahocorasick``) over a folded copy of
the text (NFKD, combining marks removed, case-folded, a few letters that do not
decompose mapped by hand), so its cost does not grow with the number of names.
Invariant: scrubbing only ever removes information; when in doubt it replaces.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import ahocorasick
import phonenumbers

__all__ = ["Scrubber", "SiteTerms", "fold", "fold_text", "site_terms_from"]

# Letters that NFKD does not decompose into a base letter and a mark.
_EXTRA_FOLD: Final = str.maketrans(
    {
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "ŋ": "n",
        "ʼ": "'",
        "’": "'",
        "‘": "'",
    }
)
_NO_SPACE_SCRIPTS: Final = (
    "THAI",
    "CJK",
    "LAO",
    "KHMER",
    "MYANMAR",
    "HIRAGANA",
    "KATAKANA",
    "TIBETAN",
    "IDEOGRAPHIC",
)
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_MAYBE_PHONE = re.compile(r"\d(?:[\s().\-/]*\d){4,}")
_DIGIT_RUN = re.compile(r"\+?\d(?:[ .\-/]?\d){5,}")
_DATE_LIKE = re.compile(r"\d{1,4}([-./])\d{1,2}\1\d{1,4}")
_SPLIT = re.compile(r"[\s,;:()\[\]{}\"'“”‘’«»/\\|._\-‐‑–—]+")
_ADDRESS_SPLIT = re.compile(r"[,;\n]+")
_ID_DIGITS = re.compile(r"\d{4,}")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_REPEATED_TOKEN = re.compile(r"(\[[A-Z]+(?:-\d+)?\])(?:\s+\1)+")
MIN_PART: Final = 2


@functools.lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    # Invisible format characters (soft hyphen, zero-width joiners) and the Arabic
    # tatweel must not split a name into pieces that no longer match.
    if c == "\u0640" or unicodedata.category(c) == "Cf":
        return ""
    decomposed = unicodedata.normalize("NFKD", c)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.casefold().translate(_EXTRA_FOLD)


def fold_text(text: str) -> str:
    """The folded form of ``text`` alone (see :func:`fold`)."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


def fold(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for matching; also return, per folded character, its source index."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    index: list[int] = []
    for i, c in enumerate(text):
        f = _fold_char(c)
        out.append(f)
        index.extend([i] * len(f))
    return "".join(out), index


@functools.lru_cache(maxsize=8192)
def _no_space_script(c: str) -> bool:
    return unicodedata.name(c, "").startswith(_NO_SPACE_SCRIPTS)


def _is_word_char(c: str) -> bool:
    return c.isalnum() and not _no_space_script(c)


@dataclass
class SiteTerms:
    """Identity terms of one site: ``(text, token kind, person key)``."""

    terms: list[tuple[str, str, str]]
    regions: set[str]

    def __init__(self) -> None:
        self.terms = []
        self.regions = set()

    def add_person(self, name: str, kind: str, key: str) -> None:
        """A name: the whole of it and each part, typed WORKER or PERSON."""
        name = name.strip()
        if not name:
            return
        self.terms.append((name, kind, key))
        # "Name (nickname)" is also written without the part in brackets.
        core = _BRACKETED.sub(" ", name).strip()
        if core and core != name:
            self.terms.append((core, kind, key))
        parts = [p for p in _SPLIT.split(name) if p]
        for part in parts:
            if len(part) >= MIN_PART and part.casefold() not in ("fictional",):
                self.terms.append((part, kind, key))
        # A name in a script without spaces is often used without its family name,
        # or the family name alone (老李): 王小明 -> 小明, 王. Replacing every use of
        # a one-character family name over-redacts; that is the safe side.
        if len(name) >= 2 and all(_no_space_script(c) for c in name):
            self.terms.append((name[1:], kind, key))
            self.terms.append((name[:1], kind, key))

    def add_worker(self, worker: Mapping[str, object], kind: str = "WORKER") -> None:
        """A testimony's worker: their name and their identifiers. A named kind
        (``WORKER``) is keyed by the folded name, so one worker's testimonies share a
        number; any other kind (``ERASED``) stands alone."""
        name = worker.get("name")
        if isinstance(name, str):
            self.add_person(name, kind, fold_text(name) if kind == "WORKER" else "")
        for field, id_kind in (
            ("employee_id", "EMPLOYEE-ID"),
            ("phone", "PHONE"),
            ("email", "EMAIL"),
            ("address", "ADDRESS"),
        ):
            value = worker.get(field)
            if isinstance(value, str):
                self.add_identifier(value, id_kind)

    def add_identifier(self, value: str, kind: str) -> None:
        """An identifier, and the pieces of it people write on their own: the digits
        of an employee id (EMP-55001 -> 55001), each line of an address."""
        value = value.strip()
        if len(value) >= 3:
            self.terms.append((value, kind, value))
        if kind == "EMPLOYEE-ID":
            for digits in _ID_DIGITS.findall(value):
                self.terms.append((digits, kind, value))
        elif kind == "ADDRESS":
            for segment in _ADDRESS_SPLIT.split(value):
                if len(segment.strip()) >= 5:
                    self.terms.append((segment.strip(), kind, value))


class Scrubber:
    """Replaces identity terms and contact data in free text, for one export.

    ``numbering`` says how far ``[WORKER-n]``/``[PERSON-n]`` stay consistent:
    ``"export"`` (a reader can follow one person across records — which also tells
    that the author of one testimony is the person another one names) or
    ``"record"`` (numbers restart in each record; nothing links records).
    """

    def __init__(self, numbering: str = "record") -> None:
        if numbering not in ("export", "record"):
            raise ValueError("numbering is 'export' or 'record'")
        self._per_record = numbering == "record"
        self._numbers: dict[str, dict[str, int]] = {"WORKER": {}, "PERSON": {}}
        self._automaton: ahocorasick.Automaton | None = None
        self._regions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "Scrubber(...)"

    def start_record(self) -> None:
        """Called before each record; restarts numbering when it is per record."""
        if self._per_record:
            for table in self._numbers.values():
                table.clear()

    def _token(self, kind: str, key: str) -> str:
        if kind not in self._numbers or not key:
            return kind
        table = self._numbers[kind]
        if key not in table:
            table[key] = sum(len(t) for t in self._numbers.values()) + 1
        return f"{kind}-{table[key]}"

    def load_site(self, site: SiteTerms) -> None:
        """Build the automaton for one site's terms (replacing the previous site's)."""
        owners: dict[str, set[tuple[str, str]]] = {}
        for text, kind, key in site.terms:
            folded = fold_text(text).strip()
            if folded:
                owners.setdefault(folded, set()).add((kind, key))
        automaton = ahocorasick.Automaton()
        for folded, who in owners.items():
            if len(who) == 1:
                (kind, key) = next(iter(who))
            else:
                kinds = {k for k, _ in who}
                # A part several people share cannot name one of them: say only
                # that a name stood here.
                kind, key = ("NAME" if kinds <= {"WORKER", "PERSON"} else min(kinds)), ""
            boundary = not any(_no_space_script(c) for c in folded)
            automaton.add_word(folded, (len(folded), kind, key, boundary))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        else:
            self._automaton = None
        self._regions = tuple(sorted(r for r in site.regions if r))

    def scrub(self, text: str, limit: int | None = None) -> str:
        """The text with every known identity term and contact detail replaced."""
        return self.render(text, self.analyse(text)[0], limit)

    def scrub_flagged(self, text: str, limit: int | None = None) -> tuple[str, frozenset[str]]:
        """The scrubbed text and the kinds of risk cue still in it."""
        spans, flags = self.analyse(text)
        return self.render(text, spans, limit), flags

    def replace_terms(self, text: str) -> str:
        """The text with only the loaded identity terms replaced (no contact rules)."""
        return self.render(text, self._term_spans(text), None)

    def analyse(self, text: str) -> tuple[list[tuple[int, int, str]], frozenset[str]]:
        """What to redact in ``text``, as ``(start, end, token)`` over the text as
        given (token without brackets: ``WORKER-3``, ``PHONE``), and the kinds of
        risk cue left once they are redacted."""
        spans = self._term_spans(text)
        spans += [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
        spans += self._phone_spans(text)
        spans += [
            (m.start(), m.end(), "NUMBER")
            for m in _DIGIT_RUN.finditer(text)
            if not _is_date(m.group(0))
        ]
        return sorted(spans), frozenset()

    def render(
        self, text: str, spans: Iterable[tuple[int, int, str]], limit: int | None = None
    ) -> str:
        """``text`` with each span replaced by its token; overlapping spans are
        redacted as one (their union), under the token of the first and longest."""
        out: list[str] = []
        cursor = 0
        for start, stop, token in sorted(spans, key=lambda s: (s[0], -s[1])):
            end = stop
            # Extend over combining marks that belonged to the last matched letter.
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1
            if end <= cursor:
                continue
            if start < cursor:
                # Overlaps what is already redacted: redact the rest of it too.
                cursor = end
                continue
            out.append(text[cursor:start])
            out.append(f"[{token}]")
            cursor = end
        out.append(text[cursor:])
        # "[WORKER-3] [WORKER-3]" (given and family name matched apart) reads as one.
        result = _REPEATED_TOKEN.sub(r"\1", "".join(out))
        if limit is not None and len(result) > limit:
            result = result[: limit - 1].rstrip() + "…"
        return result

    def _term_spans(self, text: str) -> list[tuple[int, int, str]]:
        if self._automaton is None:
            return []
        folded, index = fold(text)
        found: list[tuple[int, int, str, str]] = []
        for end, (length, kind, key, boundary) in self._automaton.iter(folded):
            start = end - length + 1
            if boundary and (
                (start > 0 and _is_word_char(folded[start - 1]))
                or (end + 1 < len(folded) and _is_word_char(folded[end + 1]))
            ):
                continue
            found.append((start, end + 1, kind, key))
        # Leftmost, then longest; overlapping shorter matches are dropped, so a
        # number is given only to a name that is replaced.
        found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        spans: list[tuple[int, int, str]] = []
        cursor = 0
        for start, end, kind, key in found:
            src_start = index[start]
            src_end = index[end - 1] + 1
            if src_start < cursor:
                continue
            spans.append((src_start, src_end, self._token(kind, key)))
            cursor = src_end
        return spans

    def _phone_spans(self, text: str) -> list[tuple[int, int, str]]:
        # The matcher is slow; most narratives hold no run of digits long enough.
        if not _MAYBE_PHONE.search(text):
            return []
        spans: list[tuple[int, int, str]] = []
        for region in (*self._regions, "ZZ"):
            for match in phonenumbers.PhoneNumberMatcher(text, region):
                spans.append((match.start, match.end, "PHONE"))
        return spans


def _number_or_date(match: re.Match[str]) -> str:
    value = match.group(0)
    return value if _is_date(value) else "[NUMBER]"


def _is_date(value: str) -> bool:
    """A real calendar date (2026-03-14, 14.03.2026, 3/14/2026), not a number shaped so."""
    m = _DATE_LIKE.fullmatch(value)
    if m is None:
        return False
    parts = [int(p) for p in re.split(r"[-./]", value)]
    orders = ((0, 1, 2), (2, 1, 0), (2, 0, 1))  # Y-M-D, D.M.Y, M/D/Y
    for y, mo, d in orders:
        if 1900 <= parts[y] <= 2100:
            try:
                dt.date(parts[y], parts[mo], parts[d])
            except ValueError:
                continue
            return True
    return False


def site_terms_from(records: Iterable[dict[str, object]], country: str | None) -> SiteTerms:
    """Collect the identity terms of a site's testimonies (decrypted with identity)."""
    terms = SiteTerms()
    if country:
        terms.regions.add(country)
    for record in records:
        worker = record.get("worker")
        if isinstance(worker, dict):
            if isinstance(worker.get("nationality"), str):
                terms.regions.add(worker["nationality"])
            terms.add_worker(worker)
        persons = record.get("persons_mentioned")
        if isinstance(persons, list):
            for person in persons:
                if isinstance(person, dict) and isinstance(person.get("name"), str):
                    name = person["name"]
                    terms.add_person(name, "PERSON", fold_text(name))
    return terms
