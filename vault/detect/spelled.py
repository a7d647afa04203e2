"""Numbers read out digit by digit: "zero nine one three …", "không chín một ba …",
"一三九一二三四…", "ศูนย์แปดเก้า…", "nula sedm sedm …".

A run of at least four digit words (``DIGIT_WORDS``: English, Vietnamese, Chinese, Thai,
Czech, Spanish, French, Indonesian, German, Russian), possibly mixed with written
digits and split by spaces, commas, dots or dashes, is a number; with nine digits or
more, a phone number. "double"/"triple" repeat the next digit. Four Chinese numerals
before 年 are a year, not a number.
"""

from __future__ import annotations

import re
from typing import Final

from vault.detect.prepared import Prepared
from vault.detect.scan import Hit, Hits

__all__ = ["find_spelled"]

_REPEAT: Final = {"double": 1, "triple": 2}
# Between two digit words of one run: separators, and digits written as digits.
# A dot belongs to a run only inside it ("0912.345"), never as a sentence end.
_GAP: Final = re.compile(r"(?:[\s,\-/、，\d]|\.(?!\s))*")
# Written digits right before or after a run belong to it: "09 một hai ba bốn".
_DIGITS_BEFORE: Final = re.compile(r"\d(?:[\d \-/]|\.\d)*$")
_DIGITS_AFTER: Final = re.compile(r"(?:[ \-/]*\d|\.\d)+")
# "năm 2023" is "the year 2023", not a five.
_YEAR_WORD: Final = re.compile(r"\s*(?:19|20)\d\d(?!\d)")
_MIN_WORDS: Final = 4
_ASCII_DIGIT: Final = re.compile(r"[0-9]")


def find_spelled(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    """Runs of digit words (see the module docstring)."""
    words = hits.get("digit", ())
    if len(words) < _MIN_WORDS:
        return
    low = p.low
    runs: list[list[Hit]] = []
    for hit in words:
        if runs and _GAP.fullmatch(low, runs[-1][-1][1], hit[0]):
            runs[-1].append(hit)
        else:
            runs.append([hit])
    for run in runs:
        while run and run[-1][2] in ("năm", "nam") and _YEAR_WORD.match(low, run[-1][1]):
            run.pop()
        spelled = sum(1 for h in run if h[2] not in _REPEAT)
        if spelled < _MIN_WORDS:
            continue
        start, end = run[0][0], run[-1][1]
        if end - start == 4 and low[end : end + 1] == "年":
            continue  # 二〇一九年: a year
        before = _DIGITS_BEFORE.search(low, max(0, start - 24), start)
        if before:
            start = before.start()
        after = _DIGITS_AFTER.match(low, end)
        if after:
            end = after.end()
        text = low[start:end]
        digits = spelled + len(_ASCII_DIGIT.findall(text))
        digits += sum(_REPEAT.get(h[2], 0) for h in run)
        out.append((start, end, "PHONE" if digits >= 9 else "NUMBER"))
