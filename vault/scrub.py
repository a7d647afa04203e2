"""Free-text scrubbing without a language model.

A :class:`Scrubber` replaces, in narratives, summaries and details:

* every identity term the vault knows for the site being exported: each worker's
  name, aliases, employee id, phone, e-mail and address, and every person named in
  ``persons_mentioned`` — with every spelling :mod:`vault.names` derives (initials,
  reversed order, handles, case forms, pinyin, RTGS, Cyrillic), in any letter case
  where case does not decide, with or without diacritics where they do not, with
  punctuation, digits or a possessive around it, and inside scripts written without
  spaces (Thai, Chinese, Japanese, Lao, Khmer, Myanmar);
* in :meth:`Scrubber.scrub`, the people a title or role introduces that the vault does
  not know (:mod:`vault.persons`), as ``[PERSON]``;
* phone numbers in any national or international format (``phonenumbers``),
  e-mail addresses, and runs of six or more digits (ID numbers).

Replacements are typed and consistent within one export: ``[WORKER-3]``,
``[PERSON-7]``, ``[PERSON]`` (someone the vault does not know), ``[NAME]`` (a name
part shared by several people), ``[EMPLOYEE-ID]``, ``[PHONE]``, ``[EMAIL]``,
``[ADDRESS]``, ``[NUMBER]``.

Matching runs one Aho–Corasick automaton (``pyahocorasick``) over a folded copy of
the text (NFKD, combining marks removed, case-folded, a few letters that do not
decompose mapped by hand), so its cost does not grow with the number of names. Each
match is then held to its variant's rule (:class:`vault.names.Rule`): a name part that
is also an ordinary word — Vietnamese lương, Chinese 金 in 押金 — counts only where
it is written as a name. Known and unknown persons are replaced in one pass,
leftmost and longest first.
Invariant: a spelling the vault stores is always replaced; when a rule is in doubt
about a whole name it replaces.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

import ahocorasick
import phonenumbers

from vault import names
from vault.detect import find_spans, residual_flags
from vault.errors import UsageError
from vault.names import Rule, variants
from vault.ner import available, find_entities
from vault.persons import continue_names, find_persons

__all__ = ["Scrubber", "SiteTerms", "Term", "fold", "fold_text", "site_terms_from"]

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
# From the start of a run of address characters only, read possessively: a long run
# with no "@" is read once (hostile text), not once per character.
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]++@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digits that could be a phone number, with what may stand inside one.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+(])(?:\(\+?\d{1,4}\)[ .\-]?|\+)?\d(?:[ ().\-/]{0,2}\d){5,16}(?!\w)"
)
_ADDRESS_SPLIT = re.compile(r"[,;\n]+")
_ID_DIGITS = re.compile(r"\d{4,}")
_REPEATED_TOKEN = re.compile(r"(\[[A-Z]+(?:-\d+)?\])(?:\s+\1)+")


@functools.lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    # Invisible format characters (soft hyphen, zero-width joiners) and the Arabic
    # tatweel must not split a name into pieces that no longer match.
    if c == "\u0640" or unicodedata.category(c) == "Cf":
        return ""
    # A line break or a no-break space inside a name is a space.
    if c.isspace():
        return " "
    decomposed = unicodedata.normalize("NFKD", c)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.casefold().translate(_EXTRA_FOLD)


def fold(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for matching; also return, per folded character, its source index."""
    folded, index = _fold_indexed(text)
    return folded, list(range(len(text))) if index is None else index


# Characters seen so far and, for those that fold to something else, what they fold
# to: ``str.translate`` then folds a whole text in one call. Replaced whole (never
# emptied in place) when it grows too large, so that a thread folding a text keeps
# the table it filled for that text; a character is marked seen only once its fold
# is in the table.
_TABLES: tuple[dict[int, str], set[str]] = ({}, set())


_FORMAT_CHARS: Final = re.compile("[\u00ad\u0640\u200b-\u200f\u2060-\u2064\ufeff]")
_NAME_TOKENS: Final = ("WORKER", "PERSON", "NAME")
# Every ASCII character str.isspace() knows, as _fold_char folds it in other texts.
_ASCII_SPACES: Final = str.maketrans("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", " " * 9)


def _fold_indexed(text: str) -> tuple[str, list[int] | None]:
    """:func:`fold`, with ``None`` for an index that is the identity (most texts)."""
    if text.isascii():
        return text.lower().translate(_ASCII_SPACES), None
    global _TABLES  # noqa: PLW0603 - replaced whole, see above
    folds, seen = _TABLES
    chars = set(text)
    new = chars.difference(seen)
    if new:
        if len(seen) > 65536:
            folds, seen = _TABLES = ({}, set())
            new = chars
        for c in new:
            f = _fold_char(c)
            if f != c:
                folds[ord(c)] = f
        seen.update(new)
    folded = text.translate(folds)
    # Positions line up unless some character folds to none (a combining mark) or
    # to two (æ -> ae).
    if all(len(folds.get(ord(c), c)) == 1 for c in chars):
        return folded, None
    index: list[int] = []
    for i, c in enumerate(text):
        index.extend([i] * len(folds.get(ord(c), c)))
    return folded, index


def fold_text(text: str) -> str:
    """The folded form of ``text`` alone (see :func:`fold`)."""
    return _fold_indexed(text)[0]


def _in_one_pass(texts: list[str], change: Callable[[str], str]) -> dict[str, str]:
    """``change`` of each of ``texts``, made once over them all joined by NUL (which
    validation refuses in text): for a change that leaves NUL as it is and never
    lets it touch its neighbours (folding, NFC composition). A text that holds NUL
    itself is changed alone."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:
        return {text: change(text) for text in texts}
    return dict(zip(texts, change(joined).split("\x00"), strict=True))


# No cache of names outlives the site being scrubbed: none is kept module-wide.
def _fold_terms(texts: list[str]) -> dict[str, str]:
    """Each of ``texts`` folded and stripped, in one pass over them all: folding goes
    character by character."""
    return {text: f.strip() for text, f in _in_one_pass(texts, fold_text).items()}


def _has_unspaced(text: str) -> bool:
    return any(_no_space_script(c) for c in text)


_ALL_THAI: Final = re.compile("[\u0e00-\u0e7f]+")


@functools.lru_cache(maxsize=8192)
def _no_space_script(c: str) -> bool:
    return unicodedata.name(c, "").startswith(_NO_SPACE_SCRIPTS)


def _is_word_char(c: str) -> bool:
    return c.isalnum() and not _no_space_script(c)


class Term(NamedTuple):
    """One spelling to look for: what it stands for, and when a match of it counts."""

    text: str
    kind: str
    key: str
    rule: Rule = Rule.ANY
    name: bool = True  # A name (digits may touch it) or an identifier (they may not).


@dataclass
class SiteTerms:
    """Identity terms of one site, and the countries that say how its names are written."""

    terms: list[Term]
    regions: set[str]
    country: str | None
    birth_years: set[int]

    def __init__(self) -> None:
        self.terms = []
        self.regions = set()
        self.country = None
        self.birth_years = set()
        self._people: set[tuple[str, str, str, frozenset[str]]] = set()

    def add_person(
        self, name: str, kind: str, key: str, hints: Collection[str] | None = None
    ) -> None:
        """A name, typed WORKER or PERSON: the whole of it and every variant of it
        (:func:`vault.names.variants`). ``hints`` are the countries whose conventions
        apply (nationality, site); by default the site's country."""
        if hints is None:
            hints = {self.country} if self.country else self.regions
        # A worker's testimonies, and the people several of them name, repeat names.
        seen = (name, kind, key, frozenset(hints))
        if seen in self._people:
            return
        self._people.add(seen)
        for variant in variants(name, hints):
            self.terms.append(Term(variant.text, kind, key, variant.rule))

    def add_worker(self, worker: Mapping[str, object], kind: str = "WORKER") -> None:
        """A testimony's worker: their name, their aliases and their identifiers. A
        named kind (``WORKER``) is keyed by the folded name, so one worker's
        testimonies share a number; any other kind (``ERASED``) stands alone."""
        hints = {h for h in (worker.get("nationality"), self.country) if isinstance(h, str)}
        name = worker.get("name")
        key = fold_text(name) if kind == "WORKER" and isinstance(name, str) else ""
        if isinstance(name, str):
            self.add_person(name, kind, key, hints)
        aliases = worker.get("aliases")
        if isinstance(aliases, list):
            for alias in aliases:
                if isinstance(alias, str):
                    # A nickname is the same person: the same number.
                    self.add_person(alias, kind, key or "", hints)
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
            self.terms.append(Term(value, kind, value, name=False))
        if kind == "EMPLOYEE-ID":
            for digits in _ID_DIGITS.findall(value):
                self.terms.append(Term(digits, kind, value, name=False))
        elif kind == "ADDRESS":
            for segment in _ADDRESS_SPLIT.split(value):
                if len(segment.strip()) >= 5:
                    self.terms.append(Term(segment.strip(), kind, value, name=False))


Owner = tuple[str, str]  # (token kind, person key)


# What a folded term stands for, in the automaton: per way it may count (its rule,
# its NFC case-folded spelling for the rules that compare it, and which neighbours
# may touch it: _NONE, _LETTERS or _ALNUM), whose name it is. Plain tuples and sets:
# a site holds thousands of terms, and few of them ever match.
_Options = dict[tuple[Rule, str, int], set[Owner]]


_NONE, _LETTERS, _ALNUM = 0, 1, 2
# A match counts, waits for support (the person named elsewhere in the text, or
# another part of the name after it), waits for the rest of the name after it
# only, does not count, or counts only beside the rest of the name.
_ACCEPT, _DEFER, _DEFER_STRICT, _REJECT, _BESIDE = 0, 1, 2, 3, 4
# Words that only Vietnamese text is full of: a text with two of them is Vietnamese,
# and there a name syllable must carry its own diacritics.
_VI_WORDS: Final = re.compile(
    r"(?<!\w)(?:của|và|là|không|được|tôi|có|người|những|với|cho|này|đã|trong|khi|các|"
    r"một|bị|rằng|nói|làm|chúng|họ|thì|chị|anh|em|ông|bà|lương|công|việc|ngày)(?!\w)",
    re.IGNORECASE,
)
_OPENERS: Final = frozenset(" \t\"'“‘«(*-–—„")
_NOT_LETTERS: Final = re.compile(r"(?:[^\w\u0300-\u036f]|[\d_])+")
_NEXT_WORD: Final = re.compile(r"[\s,]+([^\W\d_]+)")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _nfc_terms(texts: list[str]) -> dict[str, str]:
    """:func:`_nfc` of each of ``texts``, in one pass: NUL composes with nothing and
    folds to itself."""
    return _in_one_pass(texts, _nfc)


def _resolve(owners: Iterable[Owner]) -> Owner:
    who = set(owners)
    if len(who) == 1:
        return next(iter(who))
    kinds = {k for k, _ in who}
    # A part several people share cannot name one of them: say only that a name
    # stood here.
    return ("NAME" if kinds <= {"WORKER", "PERSON"} else min(kinds)), ""


def _is_letter(c: str) -> bool:
    return c.isalpha() and not _no_space_script(c)


@functools.cache
def _thai_dictionary() -> frozenset[str]:
    # Loaded only for a site with Thai names (a word list of some 60,000 words).
    corpus = importlib.import_module("pythainlp.corpus")
    return frozenset(corpus.thai_words())


def _thai_bounds(text: str) -> frozenset[int]:
    """Where the words of a Thai text begin and end (dictionary segmentation)."""
    tokenize = importlib.import_module("pythainlp.tokenize")
    bounds = {0}
    at = 0
    for token in tokenize.word_tokenize(text, engine="newmm", keep_whitespace=True):
        at += len(token)
        bounds.add(at)
    return frozenset(bounds)


class _Text:
    """One text under scrutiny, with what the rules ask of it computed once."""

    __slots__ = ("_capitals", "_thai_bounds", "_vietnamese", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._vietnamese: bool | None = None
        self._capitals: bool | None = None
        self._thai_bounds: frozenset[int] | None = None

    def thai_word_at(self, start: int, end: int) -> bool:
        """Whether a Thai word of the text begins at ``start`` and one ends at ``end``."""
        if self._thai_bounds is None:
            self._thai_bounds = _thai_bounds(self.text)
        return start in self._thai_bounds and end in self._thai_bounds

    @property
    def capitals(self) -> bool:
        """Whether the text writes anything with a capital letter at all."""
        if self._capitals is None:
            self._capitals = any(c.isupper() for c in self.text)
        return self._capitals

    @property
    def vietnamese(self) -> bool:
        if self._vietnamese is None:
            hits = _VI_WORDS.finditer(unicodedata.normalize("NFC", self.text))
            self._vietnamese = next(hits, None) is not None and next(hits, None) is not None
        return self._vietnamese

    def sentence_start(self, start: int) -> bool:
        text = self.text
        i = start - 1
        while i >= 0 and text[i] in _OPENERS:
            i -= 1
        if i < 0 or text[i] in "\n\r":
            return True
        if text[i] in ".!?…:":
            # "N. T. Hương": a dot after a lone capital is an initial, not an end.
            return not (
                text[i] == "."
                and i >= 1
                and text[i - 1].isupper()
                and not text[i - 2 : i - 1].isalpha()
            )
        return False

    def in_handle(self, start: int, end: int) -> bool:
        """Inside a user name or address: digits, dots or underscores run into it."""
        text = self.text
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if before.isdigit() or after.isdigit():
            return True
        if before in ("._@") and before and start >= 2 and text[start - 2].isalnum():
            return True
        return bool(after in ("._@") and after and end + 1 < len(text) and text[end + 1].isalnum())

    def judge(self, rule: Rule, exact: str, start: int, end: int) -> int:
        """Whether a match of a term with this rule and exact spelling counts."""
        if rule is Rule.ANY:
            return _ACCEPT
        # Invisible format characters (a zero-width space inside a name) are no
        # part of how it is spelled.
        seen = _FORMAT_CHARS.sub("", self.text[start:end])
        if rule is Rule.UPPER:
            return _ACCEPT if seen == exact else _REJECT
        if rule is Rule.VI_RUN:
            # Capitalised, or written without diacritics, or three syllables as
            # spelled: "minh tâm" and "thì lần" are ordinary words.
            words = [w for w in _NOT_LETTERS.split(seen) if w]
            if seen.isascii() or all(w[0].isupper() for w in words):
                return _ACCEPT
            return _ACCEPT if len(words) >= 3 and _nfc(seen) == exact else _REJECT
        if rule is Rule.HAN_TITLE or rule is Rule.THAI_TITLE:
            return self._unspaced(rule, start, end)
        if rule is Rule.CASED:
            # In a text without capitals, every match counts (the safe side).
            if seen[:1].isupper() or not self.capitals or self.in_handle(start, end):
                return _ACCEPT
            return _REJECT
        # CAP, CAP_ANYWHERE and VI: a name part that is also an ordinary word.
        return self._capitalised(rule, exact, seen, start, end)

    def _unspaced(self, rule: Rule, start: int, end: int) -> int:
        """A Chinese family name (金) or a Thai one (ใจดี) is a name beside a title,
        standing alone among other scripts, or beside the rest of the name; inside a
        run of its own script it is a word (押金, หัวหน้าใจดีมาก)."""
        text = self.text
        if rule is Rule.HAN_TITLE:
            if text[start - 1 : start] in names.HAN_TITLES_BEFORE or text.startswith(
                names.HAN_TITLES_AFTER, end
            ):
                return _ACCEPT
        elif text[max(0, start - 8) : start].rstrip().endswith(names.THAI_FORMAL_TITLES):
            return _ACCEPT
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        if not _no_space_script(before) and not _no_space_script(after):
            return _ACCEPT
        return _BESIDE

    def _capitalised(self, rule: Rule, exact: str, seen: str, start: int, end: int) -> int:
        if self.in_handle(start, end):
            return _ACCEPT
        if not seen[:1].isupper():
            return _REJECT
        if rule is Rule.CAP_ANYWHERE:
            return _ACCEPT
        if rule is Rule.CAP:
            return _DEFER if self.sentence_start(start) else _ACCEPT
        # Vietnamese: Lan is not lần, Lương at a sentence start may be the salary.
        same = _nfc(seen) == exact
        if not same and (self.vietnamese or not seen.isascii()):
            return _REJECT
        if not self.sentence_start(start):
            return _ACCEPT
        if self.vietnamese:
            # "Lương tháng ba", "Công ty": at a sentence start only "Lương Văn Công".
            return _DEFER_STRICT
        plainly_a_name = (same and names.has_vietnamese_marks(seen)) or (
            len(seen) > 1 and seen.isupper()
        )
        return _ACCEPT if plainly_a_name else _DEFER


class Scrubber:
    """Replaces identity terms and contact data in free text, for one export.

    ``numbering`` says how far ``[WORKER-n]``/``[PERSON-n]`` stay consistent:
    ``"export"`` (a reader can follow one person across records — which also tells
    that the author of one testimony is the person another one names) or
    ``"record"`` (numbers restart in each record; nothing links records).
    """

    def __init__(self, numbering: str = "record", *, ner: bool = False) -> None:
        if numbering not in ("export", "record"):
            raise ValueError("numbering is 'export' or 'record'")
        if ner and not available():
            raise UsageError(
                "the policy asks for the named-entity pass (ner: true) but no model is "
                "installed: pip install 'evidence-vault[ner]'"
            )
        self._ner = ner
        self._birth_years: frozenset[int] = frozenset()
        self._per_record = numbering == "record"
        self._numbers: dict[str, dict[str, int]] = {"WORKER": {}, "PERSON": {}}
        self._automaton: ahocorasick.Automaton | None = None
        self._parts: dict[str, frozenset[Owner]] = {}
        self._thai_words: frozenset[str] = frozenset()
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
        grouped: dict[str, _Options] = {}
        parts: dict[str, set[Owner]] = {}
        # A site's names repeat (a worker's testimonies, people several of them
        # name): each distinct term is placed once, its spellings folded in one pass.
        terms = dict.fromkeys(site.terms)
        texts = list(dict.fromkeys(term.text for term in terms))
        folds = _fold_terms(texts)
        exacts = _nfc_terms(texts)
        unspaced: dict[str, bool] = {}
        for text, kind, key, rule, name in terms:
            folded = folds[text]
            if not folded:
                continue
            if folded.isascii():
                boundary = _LETTERS if name else _ALNUM
            else:
                if folded not in unspaced:
                    unspaced[folded] = _has_unspaced(folded)
                boundary = _NONE if unspaced[folded] else _LETTERS if name else _ALNUM
            exact = text if rule is Rule.UPPER else exacts[text]
            options = grouped.get(folded)
            if options is None:
                options = grouped[folded] = {}
            owners = options.get((rule, exact, boundary))
            if owners is None:
                owners = options[rule, exact, boundary] = set()
            owners.add((kind, key))
            if name and boundary and " " not in folded:
                parts.setdefault(folded, set()).add((kind, key))
        automaton = ahocorasick.Automaton()
        for folded, options in grouped.items():
            automaton.add_word(folded, (len(folded), options))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        else:
            self._automaton = None
        self._parts = {part: frozenset(owners) for part, owners in parts.items()}
        thai = [f for f in grouped if not f.isascii() and _ALL_THAI.fullmatch(f)]
        self._thai_words = (
            frozenset(f for f in thai if f in _thai_dictionary()) if thai else frozenset()
        )
        self._regions = tuple(sorted(r for r in site.regions if r))
        self._birth_years = frozenset(site.birth_years)

    def scrub(self, text: str, limit: int | None = None) -> str:
        """The text with every known identity term and contact detail replaced."""
        return self.render(text, self.analyse(text)[0], limit)

    def scrub_flagged(self, text: str, limit: int | None = None) -> tuple[str, frozenset[str]]:
        """The scrubbed text and the kinds of risk cue still in it."""
        spans, flags = self.analyse(text)
        return self.render(text, spans, limit), flags

    def replace_terms(self, text: str) -> str:
        """The text with only the loaded identity terms replaced (no contact rules,
        no unknown persons): what erasure rewrites stored texts with."""
        return self.render(text, self._term_spans(text, persons=False), None)

    def analyse(self, text: str) -> tuple[list[tuple[int, int, str]], frozenset[str]]:
        """What to redact in ``text``, as ``(start, end, token)`` over the text as
        given (token without brackets: ``WORKER-3``, ``PHONE``), and the kinds of
        risk cue left once they are redacted."""
        spans = self._term_spans(text, persons=True)
        spans += [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
        spans += self._phone_spans(text)
        spans += [(d.start, d.end, d.kind) for d in find_spans(text, birth_years=self._birth_years)]
        extra: set[str] = set()
        if self._ner:
            found = find_entities(text)
            # A hit the other rules missed is a cue for the reviewer as well.
            if any(not _covered(start, end, spans) for start, end, _kind in found):
                extra.add("ner")
            spans += found
        spans.sort()
        return spans, residual_flags(self.render(text, spans)) | extra

    def render(
        self, text: str, spans: Iterable[tuple[int, int, str]], limit: int | None = None
    ) -> str:
        """``text`` with each span replaced by its token; overlapping spans are
        redacted as one (their union), under the token of the first and longest."""
        out: list[str] = []
        cursor = 0
        # Of spans over the same text, the most telling token: [PHONE] before [NUMBER].
        for start, stop, token in sorted(spans, key=lambda s: (s[0], -s[1], s[2] == "NUMBER")):
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

    def _known_spans(self, text: str) -> list[tuple[int, int, int, Owner]]:
        """Where the loaded terms occur and count, in ``text``'s own indices."""
        assert self._automaton is not None
        folded, index = _fold_indexed(text)
        seen = _Text(text)
        accepted: list[tuple[int, int, frozenset[Owner]]] = []
        deferred: list[tuple[int, int, frozenset[Owner], bool]] = []
        beside: list[tuple[int, int, frozenset[Owner]]] = []
        for end, (length, options) in self._automaton.iter(folded):
            start = end - length + 1
            left = folded[start - 1] if start > 0 else ""
            right = folded[end + 1] if end + 1 < len(folded) else ""
            src_start = start if index is None else index[start]
            src_end = end + 1 if index is None else index[end] + 1
            # Extend over combining marks that belonged to the last matched letter.
            while src_end < len(text) and unicodedata.combining(text[src_end]):
                src_end += 1
            # A Thai name that is also a word (วันดี, แก้ว, น้อย) counts only where the
            # text's words begin and end with it: not inside วันดีคืนดี or น้อยกว่า.
            if folded[start : end + 1] in self._thai_words and not seen.thai_word_at(
                src_start, src_end
            ):
                continue
            taken: set[Owner] = set()
            waiting: set[Owner] = set()
            near: set[Owner] = set()
            strict = False
            for (rule, exact, boundary), owners in options.items():
                if boundary and (
                    (_is_letter(left) or _is_letter(right))
                    if boundary == _LETTERS
                    else (_is_word_char(left) or _is_word_char(right))
                ):
                    continue
                verdict = seen.judge(rule, exact, src_start, src_end)
                if verdict == _ACCEPT:
                    taken |= owners
                elif verdict in (_DEFER, _DEFER_STRICT):
                    waiting |= owners
                    strict = strict or verdict == _DEFER_STRICT
                elif verdict == _BESIDE:
                    near |= owners
            if taken:
                accepted.append((src_start, src_end, frozenset(taken | waiting | near)))
            elif waiting:
                deferred.append((src_start, src_end, frozenset(waiting), strict))
            elif near:
                beside.append((src_start, src_end, frozenset(near)))
        if deferred:
            # A capitalised word at a sentence start counts when the text names the
            # same person elsewhere, or when another name part follows it.
            evidence = {o for *_, owners in accepted for o in owners}
            for start, end, owners, strict in deferred:
                follows = _NEXT_WORD.match(text, end)
                then = fold_text(follows.group(1)) if follows is not None else ""
                if owners & self._parts.get(then, frozenset()) or (
                    not strict and owners & evidence
                ):
                    accepted.append((start, end, owners))
        if beside:
            # Touching (or one space from) the rest of the same person's name.
            edges: dict[int, set[Owner]] = {}
            for start, end, owners in accepted:
                for at in (start, end, start - 1, end + 1):
                    edges.setdefault(at, set()).update(owners)
            for start, end, owners in beside:
                if owners & (edges.get(start, set()) | edges.get(end, set())):
                    accepted.append((start, end, owners))
        return [(s, e, 0, _resolve(owners)) for s, e, owners in accepted]

    def _term_spans(self, text: str, persons: bool) -> list[tuple[int, int, str]]:
        """Known terms and, with ``persons``, people a title or role introduces."""
        spans = self._known_spans(text) if self._automaton is not None else []
        if persons:
            spans.extend((s, e, 1, ("PERSON", "")) for s, e in find_persons(text))
        # Leftmost, then longest, then a known person before an unknown one;
        # overlapping shorter matches are dropped, so a number is given only to a
        # name that is replaced.
        spans.sort(key=lambda s: (s[0], s[0] - s[1], s[2]))
        out: list[tuple[int, int, str]] = []
        cursor = 0
        for start, end, _priority, (kind, key) in spans:
            if start < cursor:
                continue
            out.append((start, end, self._token(kind, key)))
            cursor = end
        if persons and out:
            # The rest of a name the vault spells otherwise: "[WORKER-1] KAEWMANEE".
            names = [(s, e) for s, e, token in out if token.startswith(_NAME_TOKENS)]
            out += [(s, e, "NAME") for s, e in continue_names(text, names)]
        return out

    def _phone_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Phone numbers in any national or international format: each run of digits
        long enough to be one is parsed for the site's countries (``phonenumbers``),
        and kept if it is a valid number of one of them."""
        spans: list[tuple[int, int, str]] = []
        for m in _PHONE_CANDIDATE.finditer(text):
            candidate = m.group()
            if sum(c.isdigit() for c in candidate) < 6:
                continue
            if _valid_phone(candidate, self._regions):
                spans.append((m.start(), m.end(), "PHONE"))
        return spans


def _valid_phone(candidate: str, regions: tuple[str, ...]) -> bool:
    # Not cached: a cache would keep phone numbers in memory after the export.
    for region in (*regions, "ZZ"):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
        # Written with its country code, a number of a plausible length is one even
        # where the numbering plan the library knows has no such range.
        if candidate.startswith(("+", "(+")) and phonenumbers.is_possible_number(number):
            return True
    return False


def _covered(start: int, end: int, spans: Iterable[tuple[int, int, str]]) -> bool:
    return any(s <= start and end <= e for s, e, _kind in spans)


def site_terms_from(records: Iterable[dict[str, object]], country: str | None) -> SiteTerms:
    """Collect the identity terms of a site's testimonies (decrypted with identity)."""
    terms = SiteTerms()
    if country:
        terms.regions.add(country)
        terms.country = country
    for record in records:
        worker = record.get("worker")
        if isinstance(worker, dict):
            if isinstance(worker.get("nationality"), str):
                terms.regions.add(worker["nationality"])
            year = worker.get("birth_year")
            if isinstance(year, int) and not isinstance(year, bool):
                terms.birth_years.add(year)
            terms.add_worker(worker)
        persons = record.get("persons_mentioned")
        if isinstance(persons, list):
            for person in persons:
                if isinstance(person, dict) and isinstance(person.get("name"), str):
                    name = person["name"]
                    terms.add_person(name, "PERSON", fold_text(name))
    return terms
