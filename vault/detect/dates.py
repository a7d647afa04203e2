"""Dates of birth.

* A date after a birth keyword, within a few words and the same sentence, in any of
  the supported forms: ``12/03/1994``, ``1994-03-12``, ``12. 3. 1994``,
  ``12 tháng 3 năm 1994``, ``1994年3月12日``, ``12. března 1994``,
  ``12 de marzo de 1994``, ``12 mars 1994``, ``12 Maret 1994``, ``March 12, 1994``,
  ``12 มีนาคม 2537`` (Buddhist era), a day and month alone (``sinh nhật 12/3``), or a
  bare birth year (``born in 1994``, ``sinh năm 1994``, ``เกิดปี 2537``).
* A Chinese date before 出生/生/生人 (``1994年3月12日出生``, ``1994年生``).
* Any full date whose year is one of the worker's birth years (given by the caller).

Words that only look like a birth keyword are checked in context: Vietnamese ``sinh``
in ``học sinh`` (pupil) or ``vệ sinh`` (hygiene), Thai ``เกิด`` in ``เกิดขึ้น``
(happened), Chinese ``生于`` in ``发生于`` (took place in). A bare year counts only
when it is a plausible year of birth.
"""

from __future__ import annotations

import re
from typing import Final

from vault.detect.keywords import MONTHS, alternation
from vault.detect.prepared import Prepared
from vault.detect.scan import Hit, Hits

__all__ = ["find_birth_dates"]

_D: Final = r"(?:3[01]|[12]\d|0?[1-9])"
_M: Final = r"(?:1[0-2]|0?[1-9])"
_Y: Final = r"(?:1[89]\d\d|20\d\d|2[45]\d\d)(?!\d)"
_S: Final = r"\s?[./-]\s?"
_MON: Final = alternation(MONTHS)
_ERA: Final = r"(?:(?:พ\.?\s?ศ\.?|ค\.?\s?ศ\.?)\s*)?"
_CJK_DIGIT: Final = "零〇一二三四五六七八九"
_CJK_YEAR: Final = f"[{_CJK_DIGIT}]{{4}}"
_CJK_SMALL: Final = "[一二三四五六七八九十]"

_NUMERIC: Final = (
    rf"(?<!\d){_Y}{_S}{_M}{_S}{_D}(?!\d)"
    rf"|(?<!\d){_D}{_S}{_M}{_S}(?:{_Y}|\d\d(?!\d))"
    rf"|(?<!\d){_M}{_S}{_D}{_S}{_Y}"
)
_VIETNAMESE: Final = (
    rf"{_D}\s*(?:tháng|thang)\s*{_M}(?:\s*(?:năm|nam|,|/)?\s*{_Y})?(?!\d)"
    rf"|(?:tháng|thang)\s*{_M}\s*(?:năm|nam|,|/)\s*{_Y}"
)
_CHINESE: Final = (
    rf"{_Y}\s*年(?:\s*{_M}\s*月(?:\s*{_D}\s*[日号])?)?"
    rf"|(?<!\d){_M}\s*月\s*{_D}\s*[日号]"
    rf"|{_CJK_YEAR}\s*年(?:{_CJK_SMALL}{{1,2}}月(?:{_CJK_SMALL}{{1,3}}[日号])?)?"
)
_NAMED: Final = (
    rf"(?<!\d){_D}(?:\.|st|nd|rd|th|er|º)?\s*(?:de\s+|of\s+|the\s+)?{_MON}\.?"
    rf"(?:\s*(?:de\s+|del\s+|,)?\s*{_ERA}{_Y})?"
    rf"|{_MON}\.?\s+{_D}(?:st|nd|rd|th)?(?:,?\s*{_Y})?(?!\d)"
    rf"|{_MON}\.?\s+(?:de\s+|del\s+)?{_ERA}{_Y}"
)
_FULL_CHINESE: Final = rf"{_Y}\s*年\s*{_M}\s*月\s*{_D}\s*[日号]"
_DAY_MONTH: Final = rf"(?<!\d){_D}\s?[./]\s?{_M}(?![\d./])"
_YEAR: Final = rf"(?<!\d){_ERA}{_Y}"

# Anything that can follow a birth keyword, longest forms first.
_DATE: Final = "|".join((_NUMERIC, _VIETNAMESE, _CHINESE, _NAMED, _DAY_MONTH, _YEAR))
_DATE_AT: Final = re.compile(_DATE)
_GAP: Final = 30  # at most this far from the keyword, within the sentence
_REACH: Final = re.compile(rf"[\d{_CJK_DIGIT}]")
_SENTENCE_END: Final = frozenset(".!?。！？\n")
# Full dates for the birth-year rule, split by where the year stands: the rule looks
# only around each place a birth year is written.
_YEAR_FIRST: Final = re.compile(rf"{_Y}{_S}{_M}{_S}{_D}(?!\d)|{_FULL_CHINESE}")
_YEAR_LAST: Final = re.compile(
    rf"(?:(?<!\d){_D}{_S}{_M}{_S}|(?<!\d){_M}{_S}{_D}{_S}"
    rf"|(?<!\d){_D}\s*(?:tháng|thang)\s*{_M}\s*(?:năm|nam|,|/)?\s*"
    rf"|(?<!\d){_D}(?:\.|st|nd|rd|th|er|º)?\s*(?:de\s+|of\s+|the\s+)?{_MON}\.?"
    rf"\s*(?:de\s+|del\s+|,)?\s*{_ERA}"
    rf"|{_MON}\.?\s+{_D}(?:st|nd|rd|th)?,?\s*)$"
)
_CJK_FULL: Final = re.compile(rf"{_CJK_YEAR}\s*年{_CJK_SMALL}{{1,2}}月{_CJK_SMALL}{{1,3}}[日号]")
_CHINESE_BEFORE: Final = re.compile(rf"(?:{_CHINESE})\s*$")
_FOUR_DIGITS: Final = re.compile(r"\d{4}")
_TWO_DIGIT_YEAR: Final = re.compile(r"[./-]\s?(\d\d)$")
# A two-digit year only ends a numeric date: 12/03/94.
_TWO_DIGIT_YEAR_LAST: Final = re.compile(r"\d[./-]\s?$")

# Context for words that only sometimes mean birth.
_SINH_BEFORE: Final = re.compile(
    r"(?:học|hoc|vệ|ve|phát|phat|sản|san|giáng|giang|nữ|nu|hy|sát|sat|ký|ky|tái|tai)\s$"
)
_SINH_AFTER: Final = re.compile(r"\s*(?:năm|nam|ngày|ngay|vào|vao|tháng|thang|:|\d)")
_THAI_AFTER: Final = re.compile(r"\s*(?:เมื่อ|วันที่|ปี|พ\.?\s?ศ|ใน|\d)")
_YEAR_ONLY: Final = re.compile(rf"{_ERA}(\d{{4}})")
_NOT_BIRTH_AFTER: Final = "产活意病效命物态涯长"
_YEAR_NEXT: Final = re.compile(r"\s?(?:19|20)\d\d(?!\d)")  # "b. 1994", not "dorm B."


def _plausible_birth_year(year: int) -> bool:
    return 1920 <= year <= 2015 or 2463 <= year <= 2558


def _in_context(low: str, start: int, end: int, word: str) -> bool:
    if word == "sinh":
        return not _SINH_BEFORE.search(low, max(0, start - 8), start) and bool(
            _SINH_AFTER.match(low, end)
        )
    if word == "เกิด":
        return bool(_THAI_AFTER.match(low, end))
    if word == "生于":
        return start == 0 or low[start - 1] not in "发产卫学医先"
    if word == "b.":
        return bool(_YEAR_NEXT.match(low, end))
    return True


_CJK_VALUE: Final = {c: str(max(0, i - 1)) for i, c in enumerate(_CJK_DIGIT)}


def _cjk_year(text: str) -> int | None:
    digits = [_CJK_VALUE[c] for c in text if c in _CJK_VALUE]
    return int("".join(digits[:4])) if len(digits) >= 4 else None


def _years(value: str) -> set[int]:
    """The years a matched date may be in (both centuries for a two-digit year)."""
    found = {int(y) for y in _FOUR_DIGITS.findall(value)}
    if not found:
        two = _TWO_DIGIT_YEAR.search(value)
        if two:
            found = {1900 + int(two.group(1)), 2000 + int(two.group(1))}
        elif (cjk := _cjk_year(value)) is not None:
            found = {cjk}
    return found


def _date_after(low: str, end: int) -> re.Match[str] | None:
    """The first date within a few words after a keyword, in the same sentence.

    Every date holds a digit or a Chinese numeral; it starts there, or at most two
    tokens before it ("March 12", "tháng 3 năm 1994", "พ.ศ. 2537")."""
    reach = _REACH.search(low, end, end + _GAP + 12)
    if reach is None:
        return None
    first = reach.start()
    starts = [first]
    cursor = first
    for _ in range(2):
        while cursor > end and low[cursor - 1] == " ":
            cursor -= 1
        token = low.rfind(" ", end, cursor) + 1 or end
        if token >= cursor:
            break
        starts.insert(0, max(token, end))
        cursor = token
    for start in starts:
        if start - end > _GAP or any(c in _SENTENCE_END for c in low[end:start]):
            continue
        m = _DATE_AT.match(low, start)
        if m is not None:
            return m
    return None


def find_birth_dates(p: Prepared, hits: Hits, birth_years: frozenset[int], out: list[Hit]) -> None:
    """Dates of birth (see the module docstring)."""
    low = p.low
    taken: set[int] = set()
    for start, end, word in hits.get("birth_after", ()):
        before = start
        while before > 0 and low[before - 1] == " ":
            before -= 1
        if before == 0 or not (low[before - 1] in "年月日号" or low[before - 1].isdigit()):
            continue
        if word == "生" and low[end : end + 1] in _NOT_BIRTH_AFTER:
            continue
        m = _CHINESE_BEFORE.search(low, max(0, before - 24), before)
        if m is None:
            continue
        years = _years(m.group())
        if word == "生" and not any(_plausible_birth_year(y) for y in years):
            continue
        out.append((m.start(), before, "DATE-OF-BIRTH"))
        taken.add(start)
    for start, end, word in hits.get("birth", ()):
        if start in taken or not _in_context(low, start, end, word):
            continue
        m = _date_after(low, end)
        if m is None:
            continue
        year_only = _YEAR_ONLY.fullmatch(m.group())
        if year_only and not _plausible_birth_year(int(year_only.group(1))):
            continue
        out.append((m.start(), m.end(), "DATE-OF-BIRTH"))
    if birth_years:
        _dates_in_birth_years(p, birth_years, out)


def _dates_in_birth_years(p: Prepared, birth_years: frozenset[int], out: list[Hit]) -> None:
    low = p.low
    for year in {*birth_years, *(y + 543 for y in birth_years)}:  # and the Buddhist era
        for written in (str(year), f"{year % 100:02d}"):
            at = low.find(written)
            while at != -1:
                end = at + len(written)
                if (at == 0 or not low[at - 1].isdigit()) and not low[end : end + 1].isdigit():
                    if len(written) == 4 and (m := _YEAR_FIRST.match(low, at)):
                        out.append((at, m.end(), "DATE-OF-BIRTH"))
                    before = _YEAR_LAST.search(low, max(0, at - 32), at)
                    if before and (
                        len(written) == 4 or _TWO_DIGIT_YEAR_LAST.search(before.group())
                    ):
                        out.append((before.start(), end, "DATE-OF-BIRTH"))
                at = low.find(written, end)
    if "年" in low:
        for m in _CJK_FULL.finditer(low):
            if _years(m.group()) & birth_years:
                out.append((m.start(), m.end(), "DATE-OF-BIRTH"))
