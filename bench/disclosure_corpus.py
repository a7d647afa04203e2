"""A seeded, multilingual corpus of fictional worker testimonies with gold annotations.

``build(n, seed)`` makes ``n`` narratives (default 480, an equal share in each of
vi, th, zh, cs, es, id, fr, en), grouped into sites of 6 to 12 workers. A site's
records carry what the vault would store: each worker's name, employee id, phone,
e-mail, address, birth year, nationality, sometimes aliases, and ``persons_mentioned``
for some of the other people the narratives name (not all: some people the vault
never hears of). Narratives are sentences from each language's templates in varied
order; every slot becomes a gold ``Span`` and every ``<<word>>`` a ``Keep``.

What makes it hard: names that fold into common words (Lan / lần, 金 / 押金, Malá /
malá, Dolores / dolores), Czech case endings, pinyin and Thai romanisation, Cyrillic,
initials, reversed and comma-reversed names, names in handles, ALL CAPS, zero-width
spaces and line breaks inside names, numbers regrouped, spelled out or in other digits,
obfuscated e-mails, dates of birth in each language's own way, rooms, lines and
villages, and "the only ..." descriptions. Everything is invented.

Invariants (tests/test_disclosure_bench.py): one seed, one corpus; each span and keep
word stands in its narrative at its offset; keep words never overlap a span.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from disclosure_lang import Form, Lang, Person, name_pieces
from disclosure_lang_asia import Chinese, Indonesian, Thai, Vietnamese
from disclosure_lang_europe import CASES, Czech, English, French, Spanish
from disclosure_model import (
    LANGUAGES,
    Keep,
    Narrative,
    Site,
    Span,
    fold,
    handle_pieces,
    number_pieces,
)

__all__ = ["build", "languages"]

_EXACT_FORMS: Final = frozenset(
    {"full", "given", "caps", "zwsp", "linebreak", "digits", "possessive"}
)
# Slots that write the worker's own name in one form: slot -> form (subkind).
_FORM_SLOTS: Final = {
    "W": "full",
    "GIVEN": "given",
    "CAPS": "caps",
    "HANDLE_NAME": "handle",
    "COMMA": "comma_reversed",
    "DIGITS_NAME": "digits",
    "POSS": "possessive",
    "CYR": "cyrillic",
}
_ROLES: Final = ("supervisor", "supervisor", "recruiter", "hr", "coworker", "coworker", "guard")
_SLOT: Final = re.compile(r"\{(\^?)(\w+)\}|<<(.+?)>>")
_EVENT_YEARS: Final = (2023, 2024, 2025)


def languages() -> list[Lang]:
    langs: list[Lang] = [
        Vietnamese(),
        Thai(),
        Chinese(),
        Czech(),
        Spanish(),
        Indonesian(),
        French(),
        English(),
    ]
    assert tuple(lang.code for lang in langs) == LANGUAGES
    return langs


@dataclass(frozen=True)
class _G:
    """A gold span before it has a place."""

    kind: str
    subkind: str
    text: str
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class _K:
    text: str


_Frag = str | _G | _K


@dataclass
class _Other:
    person: Person
    role: str
    known: bool


@dataclass
class _Worker:
    person: Person
    forms: dict[str, Form]
    record: dict[str, Any]
    nsn: str
    eid: str
    eid_digits: str
    email_local: str
    email_domain: str
    birth: dt.date
    village: Form
    mentions: list[_Other] = field(default_factory=list)


@dataclass
class _SiteDraft:
    lang: Lang
    workers: list[_Worker]
    others: list[_Other]
    taken: set[str]


def _capitalise(frag: _Frag) -> _Frag:
    def cap(s: str) -> str:
        return s[:1].upper() + s[1:]

    if isinstance(frag, _G):
        return _G(frag.kind, frag.subkind, cap(frag.text), frag.pieces)
    if isinstance(frag, _K):
        return _K(cap(frag.text))
    return cap(frag)


class Context:
    """One narrative being written: its worker, its site, and the slots they fill."""

    def __init__(self, rng: random.Random, site: _SiteDraft, worker: _Worker) -> None:
        self.rng = rng
        self.lang = site.lang
        self.site = site
        self.worker = worker
        self.p = worker.person
        self.kin, self.kin_known = self._kin()
        self._available: dict[str, bool] = {}

    def _kin(self) -> tuple[Person, bool]:
        gender = self.rng.choice("fm")
        kin = self.lang.person(self.rng, gender, self.site.taken)
        self.site.taken |= kin.parts_folded
        return kin, self.rng.random() < 0.3

    def _other(self, slot: str, case: str | None = None) -> _Other:
        pool = self._pool(slot)
        if case is not None:
            pool = [o for o in pool if self.lang.case_form(o.person, case, True)]
        other = self.rng.choice(pool)
        if other.known and other not in self.worker.mentions:
            self.worker.mentions.append(other)
        return other

    def _name_form(self) -> tuple[str, Form]:
        forms = self.worker.forms
        weights = self.lang.name_weights
        choices = [k for k in weights if k in forms]
        subkind = self.rng.choices(choices, [weights[k] for k in choices])[0]
        return subkind, forms[subkind]

    def _name(self, subkind: str, form: Form) -> _G:
        kind = "name_exact" if subkind in _EXACT_FORMS else "name_variant"
        return _G(kind, subkind, form.text, form.pieces)

    def available(self, name: str) -> bool:
        """Whether this narrative can fill the slot (a worker without a nickname cannot)."""
        known = self._available.get(name)
        if known is None:
            known = self._available[name] = self._can_fill(name)
        return known

    def _can_fill(self, name: str) -> bool:
        forms = self.worker.forms
        if name in _FORM_SLOTS:
            return _FORM_SLOTS[name] in forms
        if name == "NICK":
            return "nickname" in forms or "alias" in forms
        if name in ("SUP", "AGENT"):
            return bool(self._pool(name))
        if name == "COWORKER":
            return len(self.site.workers) > 1
        base, _, case = name.rpartition("_")
        if case in CASES:
            if base in ("W", "PANI"):
                return self.lang.case_form(self.p, case, False) is not None
            return any(self.lang.case_form(o.person, case, True) for o in self._pool(base))
        return True

    def _pool(self, slot: str) -> list[_Other]:
        roles = {"SUP": ("supervisor",), "AGENT": ("recruiter",)}.get(slot, _ROLES)
        return [o for o in self.site.others if o.role in roles]

    def slot(self, name: str) -> _Frag:
        rng, lang, p, w = self.rng, self.lang, self.p, self.worker
        if name in _FORM_SLOTS:
            return self._name(_FORM_SLOTS[name], w.forms[_FORM_SLOTS[name]])
        if name == "NAME":
            return self._name(*self._name_form())
        if name == "NICK":
            key = "alias" if "alias" in w.forms else "nickname"
            return self._name(key, w.forms[key])
        if name == "PRON":
            return lang.pronoun(p)
        if name == "PRON2":
            return lang.pronoun2(p)
        if name == "PRON3":
            return lang.pronoun3(p)
        if name == "A":
            return lang.ending(p)
        if name == "KINREL":
            return lang.kin_relation(self.kin)
        if name == "KIN":
            form = lang.refer(self.kin, rng, "family")
            return _G("other_person", "known" if self.kin_known else "unknown", *_tf(form))
        if name in ("OTHER", "OTHER_FULL", "SUP", "AGENT"):
            other = self._other(name)
            who = other.person
            form = (
                Form(who.full, who.pieces)
                if name == "OTHER_FULL"
                else lang.refer(who, rng, other.role)
            )
            return _G("other_person", "known" if other.known else "unknown", *_tf(form))
        if name == "COWORKER":
            mate = rng.choice([x for x in self.site.workers if x is not w])
            form = lang.refer(mate.person, rng, "coworker")
            return _G("other_person", "coworker", *_tf(form))
        if name == "EID":
            how = rng.choice(lang.eid_writings)
            written = lang.eid_written(w.eid, w.eid_digits, how, rng)
            assert written is not None
            return _G("employee_id", how, *_tf(written))
        if name == "BADGE":
            digits = str(rng.randint(100, 99999))
            return _G("badge", "keyword", digits, (digits,))
        if name in ("PHONE", "PHONE_OTHER"):
            if name == "PHONE":
                how, nsn = rng.choice(lang.phone_writings), w.nsn
            else:
                how, nsn = rng.choice(("local", "compact", "stored")), lang.mobile(rng)
            written = lang.phone_written(nsn, how, rng)
            assert written is not None
            return _G("phone", "other" if name == "PHONE_OTHER" else how, *_tf(written))
        if name in ("EMAIL", "EMAIL_OTHER"):
            if name == "EMAIL":
                local, domain = w.email_local, w.email_domain
            else:
                local = f"{rng.choice(lang.handle_words)}.{rng.choice(('tuyen', 'job', 'work', 'hr'))}{rng.randint(1, 99)}"
                domain = rng.choice(lang.mail_domains)
            return _email(rng, local, domain, "other" if name == "EMAIL_OTHER" else None)
        if name in ("HANDLE_AT", "HANDLE_ID", "HANDLE_URL"):
            return _handle(rng, lang, name)
        if name == "DOB":
            return _G("dob", "full", *_tf(lang.dob(w.birth, rng)))
        if name == "BYEAR":
            return _G("dob", "year", *_tf(lang.birth_year(w.birth, rng)))
        if name == "SAMEYEAR":
            d = dt.date(w.birth.year, rng.randint(1, 12), rng.randint(1, 28))
            text = lang.numeric_date(d, rng)
            return _G("dob", "same_year", text, number_pieces(text))
        if name == "VILLAGE":
            return _G("small_place", "home", *_tf(w.village))
        if name == "PLACE":
            return _G("small_place", "village", *_tf(lang.village(rng)))
        if name == "ROOM":
            return _G("small_place", "room", *_tf(lang.room(rng)))
        if name == "LINE":
            return _G("small_place", "line", *_tf(lang.line(rng)))
        if name == "ONLY":
            return _G("only_description", "only", lang.only(p, rng), ())
        if name == "AMOUNT":
            return _K(lang.amount(rng))
        if name == "HOURS":
            return _K(lang.hours(rng))
        if name == "DAYS":
            return _K(lang.days(rng))
        if name == "DATE":
            d = dt.date(rng.choice(_EVENT_YEARS), rng.randint(1, 12), rng.randint(1, 28))
            return _K(lang.event_date(d, rng))
        return self._case_slot(name)

    def _case_slot(self, name: str) -> _G:
        """``{W_gen}``, ``{PANI_dat}``, ``{SUP_acc}``: a name in a grammatical case."""
        base, _, case = name.rpartition("_")
        if case in CASES and base in ("W", "PANI"):
            form = self.lang.case_form(self.p, case, base == "PANI")
            assert form is not None
            return _G("name_variant", "inflected", *_tf(form))
        if case in CASES and base in ("OTHER", "SUP", "AGENT"):
            other = self._other(base, case)
            form = self.lang.case_form(other.person, case, True)
            assert form is not None
            return _G("other_person", "known" if other.known else "unknown", *_tf(form))
        raise KeyError(f"template slot {{{name}}} is unknown in {self.lang.code}")


def _tf(form: Form) -> tuple[str, tuple[str, ...]]:
    return form.text, form.pieces


def _email(rng: random.Random, local: str, domain: str, subkind: str | None) -> _G:
    name, _, tld = domain.rpartition(".")
    pieces = (*handle_pieces(local), name)
    obfuscated = rng.random() < 0.5
    if not obfuscated:
        text = f"{local}@{domain}"
    else:
        text = rng.choice(
            (
                f"{local} (at) {name} [dot] {tld}",
                f"{local} at {name} dot {tld}",
                f"{local}[at]{name}.{tld}",
                f"{local} @ {name} . {tld}",
            )
        )
    return _G("email", subkind or ("obfuscated" if obfuscated else "plain"), text, pieces)


def _handle(rng: random.Random, lang: Lang, slot: str) -> _G:
    words = lang.handle_words
    handle = rng.choice(
        (
            f"{rng.choice(words)}.{rng.choice(words)}{rng.randint(10, 99)}",
            f"{rng.choice(words)}_{rng.randint(1, 2025)}",
            f"{rng.choice(words)}{rng.choice(words)}{rng.randint(1, 999)}",
        )
    )
    if slot == "HANDLE_AT":
        text, subkind = f"@{handle}", "at"
    elif slot == "HANDLE_ID":
        text, subkind = handle, "id"
    else:
        host = rng.choice(
            ("facebook.com/", "www.facebook.com/", "fb.com/", "t.me/", "tiktok.com/@")
        )
        text, subkind = f"{'https://' if rng.random() < 0.4 else ''}{host}{handle}", "url"
    return _G("handle", subkind, text, handle_pieces(handle))


def _worker(
    rng: random.Random, lang: Lang, site: _SiteDraft, index: int, eid_style: tuple[str, int, str]
) -> _Worker:
    p = lang.person(rng, rng.choice("ffm"), site.taken)
    site.taken |= p.parts_folded
    forms = lang.worker_forms(p, rng)
    aliases: list[str] = []
    if rng.random() < 0.5:
        nick = lang.nickname(p, rng, site.taken)
        if nick is not None:
            stored = rng.random() < 0.5
            pieces = (name_pieces(nick) or (nick,)) if lang.spaced else (nick,)
            forms["alias" if stored else "nickname"] = Form(nick, pieces)
            if stored:
                aliases.append(nick)
                site.taken.add(fold(nick))
    prefix, width, sep = eid_style
    digits = str(rng.randint(10 ** (width - 1), 10**width - 1))
    eid = f"{prefix}{sep}{digits}" if prefix else digits
    nsn = lang.mobile(rng)
    birth = dt.date(rng.randint(1972, 2004), rng.randint(1, 12), rng.randint(1, 28))
    village = lang.village(rng)
    handle = forms["handle"].text
    local = (
        handle if rng.random() < 0.6 else f"{rng.choice(lang.handle_words)}{rng.randint(1, 9999)}"
    )
    domain = rng.choice(lang.mail_domains)
    worker: dict[str, Any] = {
        "name": p.full,
        "employee_id": eid,
        "phone": lang.phone_stored(nsn),
        "email": f"{local}@{domain}",
        "address": lang.address(village, rng),
        "gender": "female" if p.gender == "f" else "male",
        "birth_year": birth.year,
        "nationality": lang.nationality(p, rng),
    }
    if aliases:
        worker["aliases"] = aliases
    record = {"type": "testimony", "id": f"{lang.code.upper()}-{index:04d}", "worker": worker}
    return _Worker(p, forms, record, nsn, eid, digits, local, domain, birth, village)


def _site(rng: random.Random, lang: Lang, number: int, size: int, first: int) -> Site:
    site = _SiteDraft(lang, [], [], set())
    eid_style = (
        rng.choice((*lang.eid_prefixes, "")),
        rng.randint(4, 6),
        rng.choice(("-", "", " ")),
    )
    for i in range(size):
        site.workers.append(_worker(rng, lang, site, first + i, eid_style))
    for role in _ROLES:
        person = lang.person(rng, rng.choice("fm"), site.taken)
        site.taken |= person.parts_folded
        site.others.append(_Other(person, role, rng.random() < 0.5))
    narratives = [_narrative(rng, site, w) for w in site.workers]
    # Every person the vault knows is listed by at least one testimony of the site.
    listed = {id(o) for w in site.workers for o in w.mentions}
    for other in site.others:
        if other.known and id(other) not in listed:
            rng.choice(site.workers).mentions.append(other)
    out: list[Narrative] = []
    for w, (text, spans, keep, kin) in zip(site.workers, narratives, strict=True):
        persons = [{"name": o.person.full, "role": o.role} for o in w.mentions]
        if kin is not None:
            persons.append({"name": kin.full, "role": "family"})
        record = {**w.record, "site_id": f"DS-{lang.code}-{number:03d}", "language": lang.code}
        record["persons_mentioned"] = persons
        record["narrative"] = text
        out.append(Narrative(str(record["id"]), lang.code, record, spans, keep))
    return Site(f"DS-{lang.code}-{number:03d}", lang.code, lang.country, tuple(out))


@functools.cache
def _slots(template: str) -> tuple[str, ...]:
    return tuple(m.group(2) for m in _SLOT.finditer(template) if m.group(2))


def _render(ctx: Context, template: str) -> list[_Frag]:
    frags: list[_Frag] = []
    pos = 0
    for m in _SLOT.finditer(template):
        if m.start() > pos:
            frags.append(template[pos : m.start()])
        if m.group(3):
            frags.append(_K(m.group(3)))
        else:
            frag = ctx.slot(m.group(2))
            frags.append(_capitalise(frag) if m.group(1) else frag)
        pos = m.end()
    if pos < len(template):
        frags.append(template[pos:])
    return frags


# How many sentences of each group a narrative takes: (least, most, probability of any).
_PLAN: Final = (
    ("name", 1, 2, 1.0),
    ("id", 1, 1, 0.8),
    ("contact", 1, 2, 0.9),
    ("birth", 1, 1, 0.7),
    ("place", 1, 2, 1.0),
    ("people", 1, 2, 1.0),
    ("only", 1, 1, 0.35),
    ("content", 2, 3, 1.0),
)


def _narrative(
    rng: random.Random, site: _SiteDraft, worker: _Worker
) -> tuple[str, tuple[Span, ...], tuple[Keep, ...], Person | None]:
    lang = site.lang
    ctx = Context(rng, site, worker)
    used: set[str] = set()

    def pick(group: Sequence[str]) -> str | None:
        usable = [t for t in group if t not in used and all(ctx.available(s) for s in _slots(t))]
        if not usable:
            return None
        t = rng.choice(usable)
        used.add(t)
        return t

    middle: list[str] = []
    for group, least, most, chance in _PLAN:
        if rng.random() >= chance:
            continue
        for _ in range(rng.randint(least, most)):
            t = pick(lang.templates[group])
            if t is not None:
                middle.append(t)
    # Sentences with the ordinary words that a name at this site folds into.
    names = {part for w in site.workers for part in w.person.parts_folded}
    names |= {part for o in site.others if o.known for part in o.person.parts_folded}
    names |= {fold(f.text) for w in site.workers for k, f in w.forms.items() if k == "alias"}
    by_key = {fold(k): v for k, v in lang.traps.items()}
    traps = [t for key in sorted(names) for t in by_key.get(key, ())]
    rng.shuffle(traps)
    middle.extend(t for t in traps[:2] if t not in used)
    rng.shuffle(middle)
    chosen = [pick(lang.templates["intro"]), *middle]
    if rng.random() < 0.5:
        chosen.append(pick(lang.templates["closing"]))
    sentences = [_render(ctx, t) for t in chosen if t is not None]
    text, spans, keep = _assemble(sentences, lang.sentence_sep, rng)
    return text, spans, keep, ctx.kin if ctx.kin_known else None


def _assemble(
    sentences: list[list[_Frag]], sep: str, rng: random.Random
) -> tuple[str, tuple[Span, ...], tuple[Keep, ...]]:
    out: list[str] = []
    spans: list[Span] = []
    keep: list[Keep] = []
    pos = 0
    for i, sentence in enumerate(sentences):
        if i:
            # Now and then a paragraph break, as interview notes have.
            joint = "\n" if rng.random() < 0.15 else sep
            out.append(joint)
            pos += len(joint)
        for frag in sentence:
            if isinstance(frag, _G):
                spans.append(Span(frag.kind, frag.subkind, frag.text, pos, frag.pieces))
                text = frag.text
            elif isinstance(frag, _K):
                keep.append(Keep(frag.text, pos))
                text = frag.text
            else:
                text = frag
            out.append(text)
            pos += len(text)
    return "".join(out), tuple(spans), tuple(keep)


def _site_sizes(rng: random.Random, count: int) -> list[int]:
    sizes: list[int] = []
    left = count
    while left > 12:
        size = rng.randint(6, min(12, left - 6))
        sizes.append(size)
        left -= size
    if left:
        sizes.append(left)
    return sizes


def build(n: int = 480, seed: int = 13) -> list[Site]:
    """``n`` narratives in sites, the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    langs = languages()
    sites: list[Site] = []
    for i, lang in enumerate(langs):
        count = n // len(langs) + (1 if i < n % len(langs) else 0)
        first = 0
        for size in _site_sizes(rng, count):
            sites.append(_site(rng, lang, len(sites), size, first))
            first += size
    return sites
