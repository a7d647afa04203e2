"""Ids and numbers: the value after an id keyword, and digit sequences split by separators.

* After an id, badge or phone keyword in any supported language (``thẻ số 4471``,
  ``工号是A7731``, ``osobní číslo RJ 49.06``, ``รหัสพนักงาน 55 001``), the value goes,
  split by spaces, dots, dashes or slashes and with letters in it; the keyword stays.
* Anywhere, a sequence of at least four digits split by such separators
  (``55 001``, ``6-0-9-2``, ``0912.345.678``) goes, unless it reads as a calendar date,
  a time or a time range, a decimal, a numeric range, a round or counted thousand, or
  an amount next to a currency or a percent sign.

Hits are ``(start, end, kind)`` in the normalised text of :mod:`.prepared`.
"""

from __future__ import annotations

import re
from typing import Final

from vault.detect.keywords import CURRENCY_AFTER, CURRENCY_BEFORE, ID_CONNECTORS, UNITS, alternation
from vault.detect.prepared import Prepared
from vault.detect.scan import Hit, Hits, spaced_letter

__all__ = ["find_ids", "find_sequences", "is_amount_or_count", "is_date"]

# "no." ends some keywords ("staff no"): its dot may follow.
_CONNECTORS: Final = re.compile(
    rf"\.?(?:\s*(?:[:：#№=(,]|-(?!\d)|{alternation(ID_CONNECTORS)})){{0,4}}\s*"
)
# An id: an optional letter prefix (RJ, A-, EMP), then groups of digits and letters
# joined by a dash, slash or dot, or by a space before more digits.
_ID_VALUE: Final = re.compile(
    r"(?:(?P<pre>[a-z]{1,6})(?P<sep>\s?[-./#]\s?|\s|(?=\d)))?"
    r"(?P<body>\d[0-9a-z]*"
    r"(?:(?:\s?[-/]\s?|\.)[0-9a-z]*\d[0-9a-z]*|\s\d[0-9a-z]*|-[a-z]{1,2}(?![a-z0-9]))*)"
)
_PHONE_VALUE: Final = re.compile(r"\+?\(?\d[\d .\-/()]{4,22}\d")
# The search starts on a digit (a fast scan); what may stand before it is checked after.
# Starts only where a run of digits starts, and takes its digits possessively: a
# long run without separators is read once, not once per digit (hostile text).
_SEQUENCE: Final = re.compile(r"(?<!\d)\d++(?:(?:\s?[-/]\s?|[. ])\d++)+(?![0-9a-z]|[.,/-]\d)")
_LONG_RUN: Final = re.compile(r"(?<![\d.,])\+?\d{6,}(?![\d.,]\d|\d)")
_SEPARATOR: Final = re.compile(r"\s?[-/]\s?|[. ]")


def _first_word(item: str) -> str:
    return item.split(maxsplit=1)[0]


# Money and unit words, looked up as the word after a number: a set lookup per number
# instead of a long alternation. Words of the spaced scripts by their first word,
# symbols and Thai or Chinese units by prefix.
_AMOUNT_WORDS: Final = frozenset(
    _first_word(w) for w in (*CURRENCY_AFTER, *UNITS) if spaced_letter(w[0])
)
_AMOUNT_PREFIXES: Final = (
    *(w for w in (*CURRENCY_AFTER, *UNITS) if not spaced_letter(w[0])),
    *"万千百元块个天年月周次人名件岁号",
)
# Words that begin with a unit without being one: วันเกิด (birthday) is not วัน (days).
_NOT_UNITS: Final = ("วันเกิด", "วันที่", "เดือนเกิด", "ปีเกิด", "号码", "号线")
_CURRENCY_BEFORE: Final = tuple(CURRENCY_BEFORE)
_WORD: Final = re.compile(r"[^\W\d_]+")
_DIGIT: Final = re.compile(r"\d")


def _year(value: str) -> bool:
    """A four-digit year, Gregorian or Buddhist era."""
    if len(value) != 4:
        return False
    y = int(value)
    return 1900 <= y <= 2100 or 2443 <= y <= 2643


def is_date(groups: list[str]) -> bool:
    """Groups of digits that read as a calendar date (d.m.y, y-m-d, m/d/y, d.m, m/y)."""
    if not 2 <= len(groups) <= 3 or any(len(g) > 4 for g in groups):
        return False
    n = [int(g) for g in groups]

    def day_month(d: int, m: int) -> bool:
        return 1 <= d <= 31 and 1 <= m <= 12

    if len(groups) == 3:
        a, b, c = groups
        if _year(a):
            return day_month(n[2], n[1])
        if _year(c) or len(c) == 2:
            return day_month(n[0], n[1]) or day_month(n[1], n[0])
        return False
    a, b = groups
    if _year(a):
        return 1 <= n[1] <= 12 and len(b) <= 2
    if _year(b):
        return 1 <= n[0] <= 12 and len(a) <= 2
    return len(a) <= 2 and len(b) <= 2 and (day_month(n[0], n[1]) or day_month(n[1], n[0]))


def is_amount_or_count(p: Prepared, start: int, end: int) -> bool:
    """A currency, a percent sign, or a unit or count word right next to the number."""
    low = p.low
    pos = end + 1 if low[end : end + 1] == " " else end
    word = _WORD.match(low, pos)
    if word and word.group() in _AMOUNT_WORDS:
        return True
    if low.startswith(_AMOUNT_PREFIXES, pos) and not low.startswith(_NOT_UNITS, pos):
        return True
    before = low[max(0, start - 8) : start].rstrip()
    if not before.endswith(_CURRENCY_BEFORE):
        return False
    # A whole word or symbol: "Rp 150.000", not the "rp" of "CURP".
    return any(
        before.endswith(c) and not before[: len(before) - len(c)][-1:].isalpha()
        for c in _CURRENCY_BEFORE
    )


def _time(part: str) -> bool:
    if "." not in part:
        return part.isdigit() and int(part) <= 24
    h, _, m = part.partition(".")
    return h.isdigit() and m.isdigit() and int(h) <= 24 and len(m) == 2 and int(m) < 60


def _kept(p: Prepared, start: int, end: int) -> bool:
    """Whether a split digit sequence reads as something other than an id."""
    value = p.low[start:end]
    if is_amount_or_count(p, start, end):
        return True
    groups = _SEPARATOR.split(value.lstrip("+"))
    seps = {s.strip() for s in _SEPARATOR.findall(value)}
    if is_date(groups) and len(seps) == 1 and "" not in seps:
        return True
    if len(groups) == 2 and seps == {"."} and len(groups[1]) <= 2:
        return True  # a decimal or a time: 49.06, 12.30
    if "-" in seps:
        halves = [h.strip() for h in value.split("-")]
        if len(halves) == 2 and all(_time(h) or is_date(_SEPARATOR.split(h)) for h in halves):
            return True  # a time or date range: 7.30-19.30, 14/3-15/3
    if len(groups) == 2 and seps <= {"-", "/"}:
        a, b = int(groups[0]), int(groups[1])
        if a < b and (b <= 100 or (a % 10 == 0 and b % 10 == 0)):
            return True  # a range: 15-30 minutes, 1000-1500
        if _year(groups[0]) and (_year(groups[1]) or b == (a + 1) % 100):
            return True  # years: 2019-2021, 2019/20
    if (
        len(seps) == 1
        and seps <= {".", ""}
        and 1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and groups[-1].endswith("00")
    ):
        return True  # a round thousand: 1.500.000, 3 200 000
    return seps == {""} and len(groups) == 2 and any(_year(g) for g in groups)  # "in 2019 300"


def find_sequences(p: Prepared, out: list[Hit]) -> None:
    """Digit sequences of four or more digits split by separators, that are not kept."""
    low = p.low
    for m in _SEQUENCE.finditer(low):
        start, end = m.span()
        before = low[start - 1] if start else " "
        if before in ".," or ("a" <= before <= "z"):
            continue
        if before == "+":
            start -= 1
        value = low[start:end]
        digits = len(_DIGIT.findall(value))
        if digits < 4 or _kept(p, start, end):
            continue
        phone = 9 <= digits <= 15 and value[0] in "+0"
        out.append((start, end, "PHONE" if phone else "NUMBER"))
    # Six digits or more in one run, that are not an amount, a count or a date.
    for m in _LONG_RUN.finditer(low):
        start, end = m.span()
        if start and ("a" <= low[start - 1] <= "z"):
            continue
        if _kept(p, start, end):
            continue
        out.append((start, end, "NUMBER"))


def _id_value(p: Prepared, pos: int) -> tuple[int, int] | None:
    m = _ID_VALUE.match(p.low, pos)
    if m is None:
        return None
    start, end = m.span()
    pre = m.group("pre")
    sep = m.group("sep")
    if pre and sep and sep.isspace() and not p.text[start : m.end("pre")].isupper():
        return None  # "badge and 300 workers": a word, not a prefix
    # Counts and amounts after an id are not part of it: "thẻ 4471 3 lần".
    body = m.start("body")
    while is_amount_or_count(p, start, end):
        cut = p.low.rfind(" ", body, end)
        if cut == -1:
            return None
        end = cut
    digits = len(_DIGIT.findall(p.low, start, end))
    if digits < 2 and not (pre and digits):
        return None
    return start, end


def find_ids(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    """The value after each id, badge or phone keyword."""
    low = p.low
    for category, kind in (("emp", "EMPLOYEE-ID"), ("nat", "NUMBER"), ("tel", "PHONE")):
        for _, kw_end, _ in hits.get(category, ()):
            conn = _CONNECTORS.match(low, kw_end)
            pos = conn.end() if conn else kw_end
            if kind == "PHONE":
                v = _PHONE_VALUE.match(low, pos)
                if v and 7 <= len(_DIGIT.findall(v.group())) <= 15:
                    end = v.end()
                    while low[end - 1] in " .-/(":
                        end -= 1
                    out.append((v.start(), end, kind))
                continue
            found = _id_value(p, pos)
            if found is not None:
                out.append((found[0], found[1], kind))
