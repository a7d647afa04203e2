"""The part of a language that the disclosure corpus needs: names, titles, numbers, dates.

``Lang`` holds what most languages share (Latin script, "+cc" phone numbers, digit
words, day-month-year dates); each language in ``disclosure_lang_asia.py`` and
``disclosure_lang_europe.py`` overrides what it does its own way and brings its
sentence templates. Every name, number and place it makes is invented.

Templates are sentences with slots: ``{W}`` the worker's stored name, ``{NAME}`` one
of its other forms, ``{EID}``, ``{PHONE}``, ``{DOB}`` and so on (see
``disclosure_corpus.Context.slot``); ``{^X}`` capitalises a slot at the start of a
sentence, and ``<<word>>`` marks an ordinary content word the scrubber should keep.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from disclosure_model import fold, handle_pieces, number_pieces, word_pieces

ZWSP = "\u200b"


@dataclass(frozen=True)
class Form:
    """One way a name (or a number, a place) is written, and the pieces that identify."""

    text: str
    pieces: tuple[str, ...]


@dataclass
class Person:
    given: str
    family: str
    gender: str  # "f" or "m"
    full: str  # as the vault stores it
    pieces: tuple[str, ...]  # of the full name
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def parts_folded(self) -> set[str]:
        return {fold(p) for p in self.pieces}


def ascii_only(text: str) -> str:
    """Diacritics dropped, as people type a name on a phone: Nguyễn -> Nguyen."""
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_pieces(text: str) -> tuple[str, ...]:
    """The parts of a name in a spaced script that are two letters or more."""
    out: list[str] = []
    word: list[str] = []
    for c in [*text, " "]:
        if c.isalpha() or unicodedata.combining(c):
            word.append(c)
        elif c != ZWSP:
            if sum(ch.isalpha() for ch in word) >= 2:
                out.append("".join(word))
            word = []
    return tuple(out)


def spaced_digits(digits: str, groups: Sequence[int], sep: str) -> str:
    out: list[str] = []
    i = 0
    for g in groups:
        out.append(digits[i : i + g])
        i += g
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(p for p in out if p)


class Lang:
    """Defaults for a language written with spaces in Latin script."""

    code: ClassVar[str]
    country: ClassVar[str]
    nationalities: ClassVar[tuple[str, ...]]
    cc: ClassVar[str]  # country calling code
    trunk: ClassVar[str] = "0"
    phone_groups: ClassVar[tuple[int, ...]] = (3, 3, 3)
    spaced: ClassVar[bool] = True
    sentence_sep: ClassVar[str] = " "
    digit_words: ClassVar[tuple[str, ...]]
    word_sep: ClassVar[str] = " "
    months: ClassVar[tuple[str, ...]]
    mail_domains: ClassVar[tuple[str, ...]]
    handle_words: ClassVar[tuple[str, ...]] = (
        "moon",
        "sunny",
        "tiger",
        "lucky",
        "blue",
        "star",
        "rain",
        "cloud",
        "river",
        "mango",
        "kitty",
        "panda",
    )
    eid_prefixes: ClassVar[tuple[str, ...]] = ("EMP", "E", "NV", "ID", "RJ", "W")
    templates: ClassVar[Mapping[str, Sequence[str]]]
    # "The only ..." descriptions by gender ("f", "m"); "{k}" is a line number.
    only_phrases: ClassVar[Mapping[str, Sequence[str]]]
    hours_format: ClassVar[str]  # "{} hours"
    days_format: ClassVar[str]
    traps: ClassVar[Mapping[str, Sequence[str]]] = {}
    phone_writings: ClassVar[tuple[str, ...]] = ("stored", "local", "compact", "words")
    eid_writings: ClassVar[tuple[str, ...]] = ("stored", "digits", "regrouped", "spelled")
    name_weights: ClassVar[Mapping[str, float]] = {
        "full": 1.0,
        "given": 2.0,
        "caps": 0.6,
        "zwsp": 0.6,
        "linebreak": 0.6,
        "ascii": 1.0,
        "nickname": 1.0,
        "alias": 1.0,
        "initials": 0.8,
        "reversed": 0.8,
        "romanized": 2.0,
        "cyrillic": 3.0,
    }

    # --- people -------------------------------------------------------------------

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        raise NotImplementedError

    def _pick(self, rng: random.Random, pool: Sequence[str], taken: set[str]) -> str:
        """A name part not yet used at the site, when the pool allows it."""
        for _ in range(30):
            choice = rng.choice(pool)
            if fold(choice) not in taken:
                return choice
        return rng.choice(pool)

    def given_form(self, p: Person, rng: random.Random) -> Form:
        return Form(p.given, name_pieces(p.given))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        """How a narrative names someone other than its worker (title and name)."""
        return self.given_form(p, rng)

    def nickname(self, p: Person, rng: random.Random, taken: set[str]) -> str | None:
        """The language's short form of the name, unless it is a name already at the site."""
        nick = p.extra.get("nick")
        return nick if isinstance(nick, str) and fold(nick) not in taken else None

    def pronoun(self, p: Person) -> str:
        return ""

    def pronoun2(self, p: Person) -> str:
        return self.pronoun(p)

    def pronoun3(self, p: Person) -> str:
        return self.pronoun(p)

    def ending(self, p: Person) -> str:
        """What a past participle or adjective adds for this person's gender (-a, -e)."""
        return ""

    def kin_relation(self, kin: Person) -> str:
        return ""

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        """Every way this language writes the worker's own name, by subkind."""
        forms = {"full": Form(p.full, p.pieces), "given": self.given_form(p, rng)}
        if p.full.upper() != p.full:
            forms["caps"] = Form(p.full.upper(), name_pieces(p.full.upper()))
        longest = max(p.pieces, key=len)
        if len(longest) >= 3:
            cut = len(longest) // 2
            forms["zwsp"] = Form(
                p.full.replace(longest, longest[:cut] + ZWSP + longest[cut:], 1), p.pieces
            )
        if " " in p.full:
            head, _, tail = p.full.rpartition(" ")
            forms["linebreak"] = Form(f"{head}\n{tail}", p.pieces)
        plain = ascii_only(p.full)
        if plain != p.full:
            forms["ascii"] = Form(plain, name_pieces(plain))
        parts = p.full.split()
        if len(parts) >= 2:
            initials = ".".join(x[0].upper() for x in parts) + "."
            forms["initials"] = Form(initials, (initials.rstrip("."),))
            rev = f"{p.family} {p.full.replace(p.family, '').strip()}"
            if rev != p.full:
                forms["reversed"] = Form(rev, name_pieces(rev))
            comma = f"{p.family}, {p.full.replace(p.family, '').strip()}"
            forms["comma_reversed"] = Form(comma, name_pieces(comma))
        forms["handle"] = self.name_handle(p, rng)
        given = p.given.split()[0]
        forms["digits"] = Form(f"{given}{rng.randint(1, 99):02d}", (given,))
        return forms

    def name_handle(self, p: Person, rng: random.Random) -> Form:
        g = ascii_only(p.given).lower().replace(" ", "")
        f = ascii_only(p.family).lower().replace(" ", "")
        yy = f"{rng.randint(80, 99)}"
        text = rng.choice((f"{g}.{f}{yy}", f"{g}{f}{yy}", f"{f}_{g}", f"{g}.{f}"))
        return Form(text, handle_pieces(text))

    # --- numbers --------------------------------------------------------------------

    def mobile(self, rng: random.Random) -> str:
        """A mobile number without country code or trunk prefix (digits only)."""
        raise NotImplementedError

    def phone_stored(self, nsn: str) -> str:
        return f"+{self.cc} {spaced_digits(nsn, self.phone_groups, ' ')}"

    def phone_written(self, nsn: str, how: str, rng: random.Random) -> Form | None:
        national = self.trunk + nsn
        if how == "stored":
            text = self.phone_stored(nsn)
        elif how == "local":
            sep = rng.choice((" ", ".", "-"))
            groups = (len(self.trunk) + self.phone_groups[0], *self.phone_groups[1:])
            text = spaced_digits(national, groups, sep)
        elif how == "compact":
            text = rng.choice((national, f"+{self.cc}{nsn}"))
        elif how == "words":
            text, pieces = word_pieces([self.digit_words[int(d)] for d in national], self.word_sep)
            return Form(text, pieces)
        else:
            return None
        return Form(text, number_pieces(text, drop_country=True))

    def eid_written(self, stored: str, digits: str, how: str, rng: random.Random) -> Form | None:
        if how == "stored":
            text = stored
        elif how == "digits":
            text = digits
        elif how == "regrouped":
            cut = 2 if len(digits) == 4 else len(digits) - 3
            text = digits[:cut] + rng.choice((" ", ".")) + digits[cut:]
            if stored[0].isalpha() and rng.random() < 0.5:
                text = stored.rstrip("0123456789").rstrip("-_ ") + " " + text
        elif how == "spelled":
            text = rng.choice(("-", " ")).join(digits)
        else:
            return None
        return Form(text, number_pieces(text))

    # --- dates ----------------------------------------------------------------------

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day} {self.months[d.month - 1]} {d.year}",
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                f"{d.day}.{d.month}.{d.year}",
            )
        )
        return Form(text, number_pieces(text))

    def birth_year(self, d: dt.date, rng: random.Random) -> Form:
        return Form(str(d.year), (str(d.year),))

    def numeric_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}.{d.month}.{d.year}"))

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day} {self.months[d.month - 1]}", self.numeric_date(d, rng)))

    # --- places and content ---------------------------------------------------------

    def village(self, rng: random.Random) -> Form:
        raise NotImplementedError

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text}, {rng.randint(1, 99)}"

    def room(self, rng: random.Random) -> Form:
        raise NotImplementedError

    def line(self, rng: random.Random) -> Form:
        raise NotImplementedError

    def only(self, p: Person, rng: random.Random) -> str:
        """A "the only ..." description that fits this worker (only women are pregnant)."""
        return rng.choice(self.only_phrases[p.gender]).format(k=rng.randint(1, 12))

    def amount(self, rng: random.Random) -> str:
        raise NotImplementedError

    def hours(self, rng: random.Random) -> str:
        return self.hours_format.format(rng.randint(2, 14))

    def days(self, rng: random.Random) -> str:
        return self.days_format.format(rng.randint(2, 7))

    def nationality(self, p: Person, rng: random.Random) -> str:
        return rng.choice(self.nationalities)

    def case_form(self, p: Person, case: str, titled: bool) -> Form | None:
        """The name in a grammatical case (Czech), with "pan"/"paní" when ``titled``;
        None in a language whose names do not decline."""
        return None
