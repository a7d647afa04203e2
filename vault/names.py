"""The spellings one known name is written in, and how each may be matched.

From a name as the vault stores it, :func:`variants` derives what people actually
write: every part, contiguous runs of parts, reversed and comma-reversed order,
initials, handles ("huong.nguyen94", "jdvorak"), Czech, Slovak and Polish case
forms (Jiřího, Dvořákovi, Novákovou), Latin spellings of Chinese names (pypinyin)
and of Thai names (RTGS, pythainlp), and Cyrillic <-> Latin transliterations.

Each variant carries a :class:`Rule` that says when a match of it counts, because a
bare name part is often also an ordinary word:

* a Vietnamese syllable (Lan, Lương, Công) counts alone only capitalised, with its
  own diacritics in Vietnamese text, and not at the start of a sentence unless the
  text shows it is the name; Thị and Văn and middle names never count alone;
* a Chinese surname or one-character given name (金, 芳) counts only beside a title
  (老金, 金组长) — 押金 is a deposit;
* a Thai family name counts only after a title (คุณ, นาย); the given name counts
  alone, as Thai people are called by it;
* a romanised syllable or a case form counts capitalised only.

Invariant: everything here is derived from the stored name alone (no I/O; the two
romanisation libraries are imported only when a Chinese or Thai name needs them).
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from typing import Final, NamedTuple

__all__ = [
    "HAN_TITLES_AFTER",
    "HAN_TITLES_BEFORE",
    "THAI_FORMAL_TITLES",
    "THAI_TITLES",
    "Rule",
    "Variant",
    "case_forms",
    "has_vietnamese_marks",
    "is_vietnamese",
    "script_of",
    "variants",
]


class Rule(enum.StrEnum):
    """When a match of a variant counts (the matcher in ``scrub`` applies these).

    A string enum: a site holds hundreds of thousands of variants, and a plain
    enum member hashes in Python code where a string hashes in C."""

    ANY = "any"  # Always: a whole name, a run of parts, a non-Vietnamese part.
    VI = "vi"  # A Vietnamese syllable alone (see the module docstring).
    VI_RUN = "vi-run"  # Vietnamese parts in sequence: not a lower-case run of other words.
    CAP = "cap"  # Capitalised (or inside a handle); at a sentence start only with support.
    CAP_ANYWHERE = "cap-anywhere"  # Capitalised (or inside a handle), wherever it stands.
    # A part of a name in a cased script: capitalised, inside a handle, or in a text
    # written without capitals. Rose is a name; "rose", "flores", "petit" are words.
    CASED = "cased"
    UPPER = "upper"  # Initials without dots: upper case, exactly.
    HAN_TITLE = "han-title"  # A Chinese name character only beside a title.
    THAI_TITLE = "thai-title"  # A Thai family name only after a title.


class Variant(NamedTuple):
    text: str
    rule: Rule


MIN_PART: Final = 2
_SPLIT: Final = re.compile(r"[\s,;:()\[\]{}\"'“”‘’«»/\\|._\-‐‑–—]+")
_BRACKETED: Final = re.compile(r"\(([^)]*)\)|\[([^\]]*)\]")
# Parts that are placeholders in test and sample data, never a person.
_NOT_NAMES: Final = frozenset({"fictional"})

# --- scripts -------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _char_script(c: str) -> str:
    name = unicodedata.name(c, "")
    if name.startswith(("CJK", "IDEOGRAPHIC")):
        return "han"
    for script in ("THAI", "CYRILLIC", "LATIN", "HIRAGANA", "KATAKANA", "LAO", "KHMER"):
        if name.startswith(script):
            return script.lower()
    if name.startswith(("MYANMAR", "TIBETAN")):
        return "nospace"
    return "other"


def script_of(text: str) -> str:
    """The script of a name: han, thai, cyrillic, latin, or another; letters only."""
    seen = {_char_script(c) for c in text if c.isalpha()}
    if not seen:
        return "other"
    if seen <= {"han", "hiragana", "katakana"}:
        return "han" if seen == {"han"} else "japanese"
    if len(seen) == 1:
        return next(iter(seen))
    return "mixed"


# --- Vietnamese ----------------------------------------------------------------

# Marks Vietnamese uses and the other Latin-script languages of the vault do not:
# hook above, dot below, horn; breve on a; a circumflex vowel with a tone mark.
_VI_MARKS: Final = re.compile("[\u0309\u0323\u031bđĐ]|[aA]\u0306|\u0302[\u0300\u0301\u0303]")
_VI_SYLLABLE: Final = re.compile(
    r"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdghklmnprstvx])?"
    r"(?:uye|uya|uyu|ieu|yeu|oai|oay|uay|uoi|uou|oeo|"
    r"ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ye|[aeiouy])"
    r"(?:ch|nh|ng|[cmnpt])?"
)
# Never a name alone: the gender markers, and the usual middle names.
_VI_NEVER_ALONE: Final = frozenset({"thi", "van"})


def has_vietnamese_marks(text: str) -> bool:
    """Whether ``text`` has a letter only Vietnamese writes (ư, ơ, ạ, ả, ă, đ, ấ...)."""
    return _VI_MARKS.search(unicodedata.normalize("NFD", text)) is not None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base.casefold().replace("đ", "d")


def is_vietnamese(name: str, hints: Collection[str] = ()) -> bool:
    """Whether a Latin-script name follows the Vietnamese rules: it has a letter only
    Vietnamese writes, or the person or site is Vietnamese and every part is a
    Vietnamese syllable."""
    return _is_vietnamese([p for p in _SPLIT.split(name) if p], hints)


def _is_vietnamese(parts: list[str], hints: Collection[str]) -> bool:
    if any(has_vietnamese_marks(p) for p in parts):
        return True
    return "VN" in hints and all(_VI_SYLLABLE.fullmatch(_plain(p)) for p in parts)


# --- Czech, Slovak, Polish case forms -------------------------------------------

_WEST_SLAVIC_LETTERS: Final = frozenset("ěščřžůňťďľĺŕąęłńśźżĚŠČŘŽŮŇŤĎĽĹŔĄĘŁŃŚŹŻ")
_SOFT_FINALS: Final = frozenset("šžčřcjďťňľ")
# Feminine -a before the dative/locative -ě: Jitka -> Jitce, Olga -> Olze, Petra -> Petře.
_SOFTEN_A: Final = (
    ("cha", "še"),
    ("ka", "ce"),
    ("ga", "ze"),
    ("ha", "ze"),
    ("ra", "ře"),
    ("la", "le"),
    ("sa", "se"),
    ("za", "ze"),
)


def _west_slavic(parts: list[str], hints: Collection[str]) -> bool:
    if {"CZ", "SK", "PL"} & set(hints):
        return True
    return any(c in _WEST_SLAVIC_LETTERS for p in parts for c in p)


def case_forms(word: str, hints: Collection[str] = ()) -> list[str]:
    """The declined forms of a Czech (and, cheaply, Slovak or Polish) name part.

    Rule tables by ending, not a dictionary: a suffix is only ever added to the
    stem it belongs to, so "Jiří" gives "Jiřího" but no "Jiříxyz"."""
    if len(word) < 3 or not word.isalpha():
        return []
    low = word.casefold()
    forms: list[str] = []

    def add(stem: str, *suffixes: str) -> None:
        forms.extend(stem + s for s in suffixes)

    polish = "PL" in hints or any(c in "ąęłńśźżĄĘŁŃŚŹŻ" for c in word)
    slovak = "SK" in hints
    if low.endswith(("ová", "ná", "ká", "lá", "rá", "tá", "cá", "á")) and low[-2:] != "aá":
        add(word[:-1], "é", "ou")  # Nováková -> Novákové, Novákovou
    elif low.endswith(("ský", "cký")) or (polish and low.endswith(("ski", "cki", "dzki"))):
        stem = word[:-1]
        add(stem, "ého", "ému", "ým", "í", "ých", "ými", "iego", "iemu", "im")
    elif low.endswith("ý"):
        add(word[:-1], "ého", "ému", "ým", "í", "ých", "ými")  # Novotný -> Novotného
    elif low.endswith("í"):
        add(word, "ho", "mu", "m")  # Jiří -> Jiřího, Jiřímu, Jiřím
    elif low.endswith(("ska", "cka")) and polish:
        add(word[:-1], "iej", "ą")  # Kowalska -> Kowalskiej, Kowalską
    elif low.endswith("a"):
        stem = word[:-1]
        add(stem, "y", "u", "ou", "o", "ovi", "i", "ą", "ę", "owi")
        for ending, dative in _SOFTEN_A:
            if low.endswith(ending):
                forms.append(word[: -len(ending)] + dative)
                break
        else:
            add(stem, "ě", "ie")  # Jana -> Janě; Polish Anna -> Annie
    elif low.endswith(("ie", "e")):
        add(word[:-1], "i", "í")  # Marie -> Marii, Marií; Alice -> Alici
    elif low[-1] in _SOFT_FINALS or low.endswith(("ec", "x")):
        stem = word[:-2] + word[-1] if low.endswith("ec") and len(low) > 4 else word
        add(stem, "e", "i", "ovi", "em", "ové", "ů", "ům", "owi")  # Tomáš -> Tomáše
        if stem != word:
            add(word, "e", "i", "ovi", "em")
    elif low[-1].isalpha() and low[-1] not in "aeiouyáéíóúůý":
        stems = [word]
        # The fleeting e: Marek -> Marka, Pavel -> Pavla, Karel -> Karla.
        if len(low) >= 4 and low[-2] == "e" and low[-1] in "kl":
            stems.append(word[:-2] + word[-1])
        for stem in stems:
            add(stem, "a", "u", "ovi", "em", "e", "ové", "ů", "ům", "y", "ových", "ovým")
            add(stem, "owi", "ie", "ów")
            if slovak:
                add(stem, "om")
        if low.endswith("r") and len(low) >= 4:
            forms.append(word[:-1] + "ře")  # Petr -> Petře
        if polish and low.endswith("k"):
            forms.append(word + "iem")  # Polish Marek -> Markiem comes from the stem
    return [f for f in dict.fromkeys(forms) if f.casefold() != low]


# --- Cyrillic -------------------------------------------------------------------

_CYR_ICAO: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e",
    "є": "ie", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
# The other spellings in common use: English-style (BGN) and Czech-style.
_CYR_ALTERNATES: Final = (
    {"й": "y", "ю": "yu", "я": "ya", "ъ": "", "е": "e", "х": "kh", "є": "ye", "ї": "yi"},
    {"й": "j", "ю": "ju", "я": "ja", "ъ": "", "х": "ch", "ж": "ž", "ч": "č", "ш": "š",
     "щ": "šč", "ц": "c", "є": "je", "ї": "ji"},
)  # fmt: skip
_LAT_TO_CYR: Final = (
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("yu", "ю"), ("ya", "я"), ("ju", "ю"), ("ja", "я"), ("ř", "рж"),
    ("š", "ш"), ("č", "ч"), ("ž", "ж"), ("ě", "е"), ("ý", "ы"), ("a", "а"), ("b", "б"),
    ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"),
    ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
    ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"),
    ("x", "кс"), ("y", "й"), ("z", "з"),
)  # fmt: skip


def _from_cyrillic(text: str) -> list[str]:
    tables = [_CYR_ICAO, *({**_CYR_ICAO, **alt} for alt in _CYR_ALTERNATES)]
    # One spelling per table, duplicates kept: the parts of a name zip by table.
    return ["".join(_keep_case(c, table.get(c.lower(), c)) for c in text) for table in tables]


_LAT_SINGLE: Final = {latin: cyr for latin, cyr in _LAT_TO_CYR if len(latin) == 1}


def _russian_forms(word: str) -> list[str]:
    """Russian (and, close enough, Ukrainian) case forms: Иван -> Ивана, Ивану;
    Петрова -> Петровой; Мария -> Марии."""
    low = word.lower()
    if len(low) < 3 or not word.isalpha():
        return []
    if low.endswith("ия"):
        return [word[:-1] + s for s in ("и", "ю", "ей")]
    if low.endswith(("а", "я")):
        return [word[:-1] + s for s in ("ы", "и", "е", "у", "ю", "ой", "ей", "ою")]
    if low.endswith(("ий", "ый", "ой")):
        return [word[:-2] + s for s in ("ого", "ому", "им", "ым", "ом")]
    if low.endswith(("й", "ь")):
        return [word[:-1] + s for s in ("я", "ю", "ем", "е")]
    if low[-1] not in "аеёиоуыэюя":
        return [word + s for s in ("а", "у", "ом", "е", "ым", "ым", "ой", "ы")]
    return []


_LAT_TABLE: Final = dict(_LAT_TO_CYR)
# Longest first, as the table is read: "shch" before "sh" before "s".
_LAT_PATTERN: Final = re.compile(
    "|".join(re.escape(k) for k in sorted(_LAT_TABLE, key=len, reverse=True)) + "|.",
    re.DOTALL,
)


def _to_cyrillic_char(m: re.Match[str]) -> str:
    piece = m.group()
    found = _LAT_TABLE.get(piece)
    if found is not None:
        return found
    plain = _plain(piece)
    return _LAT_SINGLE.get(plain, plain) if piece.isalpha() else piece


def _to_cyrillic(text: str) -> str:
    return _LAT_PATTERN.sub(_to_cyrillic_char, unicodedata.normalize("NFC", text).lower())


def _keep_case(source: str, target: str) -> str:
    return target[:1].upper() + target[1:] if source.isupper() else target


# --- Chinese --------------------------------------------------------------------

# Two-character family names; any other Chinese name starts with a one-character one.
_COMPOUND_SURNAMES: Final = frozenset(
    re.findall(
        r"\S+",
        "欧阳 司马 诸葛 上官 司徒 东方 皇甫 尉迟 公孙 慕容 长孙 夏侯 令狐 宇文 端木 西门 "
        "南宫 独孤 闻人 万俟 申屠 轩辕 澹台 呼延 歐陽 諸葛 司馬 長孫 東方",
    )
)
# How a character reads as a family name where that differs from its common reading.
_SURNAME_READINGS: Final = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao",
    "查": "zha", "乐": "yue", "盖": "ge", "缪": "miao", "覃": "qin", "种": "chong",
    "翟": "zhai", "召": "shao", "员": "yun", "尉迟": "yuchi", "万俟": "moqi", "长孙": "zhangsun",
}  # fmt: skip
# A bare family name (or a one-character given name) is a name beside these only.
HAN_TITLES_BEFORE: Final = ("老", "小", "阿")
HAN_TITLES_AFTER: Final = (
    "组长", "主管", "经理", "师傅", "师父", "姐", "哥", "先生", "女士", "小姐", "总", "工",
    "班长", "主任", "老板", "老师", "叔", "姨", "阿姨", "大姐", "大哥", "厂长", "科长", "部长",
    "线长", "领班", "拉长", "太太", "同学", "同事", "医生", "律师",
)  # fmt: skip


def _split_han(name: str) -> tuple[str, str]:
    if len(name) >= 3 and name[:2] in _COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


@functools.cache
def _pinyin() -> Callable[[str], list[list[str]]]:
    # Imported here: only Chinese names need it.
    from pypinyin import Style, pinyin  # noqa: PLC0415

    def read(text: str) -> list[list[str]]:
        return [r[:2] for r in pinyin(text, style=Style.NORMAL, heteronym=True)]

    return read


def _syllables(text: str, surname: bool) -> list[list[str]]:
    """The readings of ``text``: a family name as a family name reads (单 is Shan),
    plus its common reading; a given name by its likeliest reading, and by the
    second reading of each character that has one."""
    readings = _pinyin()(text)
    first = [r[0] for r in readings]
    if surname:
        special = _SURNAME_READINGS.get(text)
        out = [[special]] if special else []
        return [*out, first] if len(readings) == len(text) else out
    second = [r[-1] for r in readings]
    return [first, second] if second != first else [first]


def _han_variants(name: str) -> list[Variant]:
    out = [Variant(name, Rule.ANY)]
    surname, given = _split_han(name)
    if not given:
        out.append(Variant(name, Rule.HAN_TITLE))
        return out
    out.append(Variant(surname, Rule.HAN_TITLE))
    out.append(Variant(given, Rule.ANY if len(given) >= 2 else Rule.HAN_TITLE))
    for sep in (", ", "，", ","):
        out.append(Variant(f"{given}{sep}{surname}", Rule.ANY))
        out.append(Variant(f"{surname}{sep}{given}", Rule.ANY))
    for family_reading in _syllables(surname, surname=True):
        fam = "".join(family_reading).capitalize()
        for given_reading in _syllables(given, surname=False):
            out.extend(_latin_of(fam, given_reading))
    return out


def _latin_of(family: str, given: list[str]) -> list[Variant]:
    """Latin spellings of a family and given name read aloud (pinyin, RTGS)."""
    joined = "".join(given).capitalize()
    hyphened = "-".join(given).capitalize()
    spaced = " ".join(g.capitalize() for g in given)
    out = []
    for g in dict.fromkeys((joined, hyphened, spaced)):
        for text in (f"{family} {g}", f"{g} {family}", f"{family}, {g}", f"{g}, {family}"):
            out.append(Variant(text, Rule.ANY))
    for text in (family + joined.lower(), joined + family.lower()):
        out.append(Variant(text, Rule.ANY))
    for sep in (".", "_"):
        out.append(Variant(f"{family}{sep}{joined}".lower(), Rule.ANY))
        out.append(Variant(f"{joined}{sep}{family}".lower(), Rule.ANY))
    # A syllable alone ("Li", "Fang") is often an ordinary word: only capitalised,
    # and short ones never.
    for part in {family, joined, *(g.capitalize() for g in given)}:
        if len(part) >= 3:
            out.append(Variant(part, Rule.CAP))
    return out


# --- Thai -----------------------------------------------------------------------

THAI_TITLES: Final = (
    "คุณ", "นาย", "นาง", "นางสาว", "น.ส.", "ด.ช.", "ด.ญ.", "พี่", "น้อง", "หัวหน้า", "ผู้จัดการ",
    "นายหน้า", "ลุง", "ป้า", "น้า", "อา", "ชื่อ",
)  # fmt: skip


# The titles before which a Thai family name is one (informal ones, พี่ or หัวหน้า,
# go with given names and nicknames: หัวหน้าใจดี is a kind boss).
THAI_FORMAL_TITLES: Final = ("คุณ", "นาย", "นาง", "นางสาว", "น.ส.", "ด.ช.", "ด.ญ.")


@functools.cache
def _romanize() -> Callable[[str], str]:
    # Imported here: pythainlp takes a moment to load, and only Thai names need it.
    # The RTGS engine is rule-based and reads only data shipped in the package.
    from pythainlp.transliterate import romanize  # noqa: PLC0415

    def read(text: str) -> str:
        return str(romanize(text, engine="royin"))

    return read


def _thai_spellings(word: str) -> list[str]:
    """RTGS, and the spellings Thai people commonly use for their names beside it
    (Jaidee for RTGS Chaidi, Boonmee for Bunmi)."""
    rtgs = _romanize()(word).strip().lower()
    if not rtgs or not rtgs.isascii():
        return []
    common = rtgs
    if common.startswith("ch") and "จ" in word[:2]:
        common = "j" + common[2:]
    common = re.sub(r"(?<=[^aeiou])i$", "ee", common)
    common = re.sub(r"(?<=[bmpf])u(?=n|m)", "oo", common)
    return list(dict.fromkeys((rtgs, common)))


def _thai_variants(parts: list[str]) -> list[Variant]:
    out = [Variant(" ".join(parts), Rule.ANY), Variant("".join(parts), Rule.ANY)]
    out.append(Variant(parts[0], Rule.ANY))
    out.extend(Variant(p, Rule.THAI_TITLE) for p in parts[1:])
    latin = [[s.capitalize() for s in _thai_spellings(p)] for p in parts]
    if all(latin):
        for combo in itertools.islice(itertools.product(*latin), 8):
            if len(combo) >= 2:
                out.extend(_latin_of(combo[-1], [combo[0].lower()]))
                out.append(Variant(" ".join(combo), Rule.ANY))
            else:
                out.append(Variant(combo[0], Rule.CAP))
    return out


# --- Latin and Cyrillic ---------------------------------------------------------


def _initials(parts: list[str]) -> list[Variant]:
    """Initials where they cannot stand for something else: with the family name
    spelled out ("J. Dvořák", "N. T. Hương"), or all of them dotted ("N.T.H."),
    or three or more undotted in capitals ("NTH"); never two undotted ("JD")."""
    letters = [p[0].upper() for p in parts]
    out: list[Variant] = []
    first, last = parts[0], parts[-1]
    head = letters[:-1]
    for sep, end in ((". ", ". "), (".", ". "), (".", "."), (" ", " ")):
        out.append(Variant(sep.join(head) + end + last, Rule.ANY))
    tail = letters[1:]
    out.append(Variant(first + " " + ". ".join(tail) + ".", Rule.ANY))
    out.append(Variant(first + " " + ".".join(tail) + ".", Rule.ANY))
    out.append(Variant(last + " " + ". ".join(head) + ".", Rule.ANY))
    out.append(Variant(last + ", " + ". ".join(head) + ".", Rule.ANY))
    out.append(Variant(".".join(letters) + ".", Rule.UPPER))
    out.append(Variant(". ".join(letters) + ".", Rule.UPPER))
    if len(letters) >= 3:
        out.append(Variant("".join(letters), Rule.UPPER))
    return out


def _orders(parts: list[str], rule: Rule) -> list[Variant]:
    """Reversed and comma-reversed orders, and runs of two or more parts."""
    out = []
    first, last, rest = parts[0], parts[-1], parts[1:]
    out.append(Variant(" ".join(reversed(parts)), rule))
    out.append(Variant(f"{last} {first}", rule))
    out.append(Variant(f"{last}, {' '.join(parts[:-1])}", rule))
    out.append(Variant(f"{first}, {' '.join(rest)}", rule))
    out.append(Variant(f"{last}, {first}", rule))
    for size in range(2, len(parts)):
        for start in range(len(parts) - size + 1):
            out.append(Variant(" ".join(parts[start : start + size]), rule))
    return out


def _handles(parts: list[str], *, initials: bool) -> list[Variant]:
    """Names run together as in user names and e-mail addresses: "jiri.dvorak",
    "nguyenhuong_88", "jdvorak". Digits around a name part never hide it (the
    matcher allows them), so only the joined letters need listing."""
    words = [_plain(p) for p in parts]
    first, last = words[0], words[-1]
    pairs = [(first, last), (last, first), ("".join(words), ""), ("".join(reversed(words)), "")]
    out = []
    for a, b in pairs:
        for sep in ("", ".", "_", "-"):
            text = f"{a}{sep}{b}" if b else a
            if len(text) >= 5:
                out.append(Variant(text, Rule.ANY))
    # "jdvorak"; not for Vietnamese, where "n" + "huong" spells nhường.
    for text in (first[0] + last, last + first[0], first + last[0]) if initials else ():
        if len(text) >= 5:
            out.append(Variant(text, Rule.CAP_ANYWHERE if len(text) < 6 else Rule.ANY))
    return out


def _latin_variants(parts: list[str], hints: Collection[str]) -> list[Variant]:
    vietnamese = _is_vietnamese(parts, hints)
    run = Rule.VI_RUN if vietnamese else Rule.ANY
    out: list[Variant] = []
    if len(parts) >= 2:
        out.append(Variant(" ".join(parts), run))
        out.extend(_orders(parts, run))
        out.extend(_initials(parts))
        out.extend(_handles(parts, initials=not vietnamese))
    slavic = not vietnamese and _west_slavic(parts, hints)
    for i, part in enumerate(parts):
        plain = _plain(part)
        if len(part) < MIN_PART or plain in _NOT_NAMES:
            continue
        if vietnamese:
            middle = 0 < i < len(parts) - 1 and len(parts) >= 3
            if plain in _VI_NEVER_ALONE or middle:
                continue
            out.append(Variant(part, Rule.VI))
        else:
            out.append(Variant(part, Rule.CASED))
            if slavic:
                out.extend(Variant(f, Rule.CAP_ANYWHERE) for f in case_forms(part, hints))
    if not vietnamese:
        cyrillic = [_to_cyrillic(p) for p in parts]
        out.append(Variant(" ".join(cyrillic), Rule.ANY))
        out.extend(Variant(c, Rule.CAP) for c in cyrillic if len(c) >= 3)
    return out


def _cyrillic_variants(parts: list[str], hints: Collection[str]) -> list[Variant]:
    out = [Variant(" ".join(parts), Rule.ANY)]
    if len(parts) >= 2:
        out.extend(_orders(parts, Rule.ANY))
    out.extend(Variant(p, Rule.CASED) for p in parts if len(p) >= MIN_PART)
    for part in parts:
        for form in _russian_forms(part):
            out.append(Variant(form, Rule.CAP_ANYWHERE))
            out.extend(Variant(latin, Rule.CAP_ANYWHERE) for latin in _from_cyrillic(form))
    spellings = [_from_cyrillic(p) for p in parts]
    for combo in zip(*spellings, strict=False):
        latin = list(combo)
        out.append(Variant(" ".join(latin), Rule.ANY))
        if len(latin) >= 2:
            out.extend(_orders(latin, Rule.ANY))
            out.extend(_initials(latin))
            out.extend(_handles(latin, initials=True))
        out.extend(Variant(p, Rule.CAP) for p in latin if len(p) >= 3)
    return out


def variants(name: str, hints: Collection[str] = ()) -> list[Variant]:
    """Every spelling of ``name`` to look for, each with when it counts.

    ``hints`` are ISO country codes that say which conventions apply when the name
    itself does not (the person's nationality, the site's country): a plain "Lan"
    at a Vietnamese site is a Vietnamese syllable; "Novak" at a Czech one declines."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        return []
    out: list[Variant] = []
    # "Name (nickname)": the name without the brackets, and the nickname on its own.
    core = _BRACKETED.sub(" ", name).strip()
    if core != name:
        out.append(Variant(name, Rule.ANY))
        for m in _BRACKETED.finditer(name):
            out.extend(variants(m.group(1) or m.group(2) or "", hints))
        if core:
            out.extend(variants(core, hints))
        return _unique(out)
    script = script_of(name)
    # A mark with nothing to sit on (a stray accent after a space) is no part.
    parts = [p for p in _SPLIT.split(name) if p and _plain(p)]
    if script == "han":
        joined = "".join(parts)
        return _unique([Variant(name, Rule.ANY), *_han_variants(joined)])
    if script == "thai":
        return _unique(_thai_variants(parts))
    if script == "cyrillic":
        return _unique(_cyrillic_variants(parts, hints))
    if script == "latin" and parts:
        return _unique(_latin_variants(parts, hints))
    # Other scripts: the name, and each part of it.
    out.append(Variant(name, Rule.ANY))
    out.extend(Variant(p, Rule.ANY) for p in parts if len(p) >= MIN_PART)
    if len(parts) >= 2:
        out.extend(_orders(parts, Rule.ANY))
    return _unique(out)


def _unique(items: Iterable[Variant]) -> list[Variant]:
    # A spelling without a letter ("Lan (2)" gives "2") is no name, and digits may
    # touch a name: it would match inside every number.
    return list(dict.fromkeys(v for v in items if any(map(str.isalpha, v.text))))
