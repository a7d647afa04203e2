"""Small places: dormitory rooms and buildings, production lines and shifts, villages.

The keyword stays; what follows it goes:

* rooms, beds, dormitory buildings (``phòng 304 ký túc xá B``, ``room 12B``,
  ``pokoj č. 12``, ``ห้อง 305``, ``宿舍5栋302``): a number, or one capital letter;
* lines, teams and shifts (``line 3``, ``chuyền 5``, ``tổ 2``, ``linka 4``,
  ``ligne 3``, ``lini 5``, ``ไลน์ 3``) — and in Chinese the number before the keyword
  (``3号线``, ``5栋``, ``302室``, ``二车间``);
* villages and home communes (``xã Yên Phong``, ``the village of Ban Na``,
  ``obec Lhota``, ``desa Sukamaju``, ``หมู่บ้านหนองบัว``, ``老家在河南周口``,
  ``李庄村``): the following capitalised words, or Thai or Chinese characters up to
  punctuation, or a number (``thôn 5``, ``หมู่ 5``).

A number followed by a unit or a count (``ca 12 tiếng``, ``room for 4 people``) is
not a place; lower-case words after a keyword are not names (``line manager``).
"""

from __future__ import annotations

import re
from typing import Final

from vault.detect.keywords import PLACE_CONNECTORS, alternation
from vault.detect.numbers import is_amount_or_count
from vault.detect.prepared import Prepared
from vault.detect.scan import Hit, Hits

__all__ = ["find_places"]

# After a value: no Latin letter or digit, and no ".5"/",5" (then it is part of an amount).
_LATIN_AFTER: Final = r"(?![0-9a-z\u00c0-\u024f\u1e00-\u1eff]|[.,]\d)"
_NUMBER_CONNECTORS: Final = (
    r"(?:\s*(?:no\.?|n[°º]\.?|số|so|č\.|c\.|#|:|number|nomor|número|numéro|เลขที่|ที่|号|第))"
    r"{0,2}\s*"
)
_ROOM_VALUE: Final = re.compile(
    rf"{_NUMBER_CONNECTORS}(?P<v>\d{{1,4}}[a-z]?(?:\s?[-/.]\s?\d{{1,4}}[a-z]?)?"
    rf"|[a-z](?:\s?-?\s?\d{{1,4}}[a-z]?)?){_LATIN_AFTER}"
)
_UNIT_VALUE: Final = re.compile(
    rf"{_NUMBER_CONNECTORS}(?P<v>\d{{1,3}}[a-z]?|[a-z]\d{{0,2}}){_LATIN_AFTER}"
)
_SUFFIX_VALUE: Final = re.compile(
    r"(?:(?<![0-9a-z])[a-z]|(?<!\d)\d{1,4}[a-z]?|[一二三四五六七八九十]{1,3})\s*[号號]?\s*$"
)
_CJK_NUMERALS: Final = frozenset("一二三四五六七八九十")
_PLACE_CONNECTORS: Final = re.compile(rf"(?:\s*(?:,|{alternation(PLACE_CONNECTORS)}))*\s*")
_WORD: Final = re.compile(r"[^\W\d_][\w'’-]*")
_PARTICLES: Final = frozenset({"de", "del", "la", "las", "los", "le", "du", "des", "di", "van"})
_THAI: Final = re.compile(r"[\u0e01-\u0e4e]{1,24}")
_CJK: Final = re.compile(r"[\u4e00-\u9fff]{1,12}")
_NUMBER: Final = re.compile(r"\d{1,4}[a-z]?" + _LATIN_AFTER)
_THAI_NOT_NAMES: Final = ("ของ", "นี้", "นั้น", "ที่", "เรา", "ผม", "ฉัน", "เดียวกัน", "เกิด", "และ")
_CJK_STOP: Final = frozenset("在的是个我他她们和从到回了自来去住那这同一农乡山渔本全该各邻小大老新")
_NUMERIC_ONLY: Final = frozenset({"หมู่", "หมู่ที่"})
# Words that are also common inside compounds (cơ bản, văn bản, Nhật Bản): names only.
_NAMES_ONLY: Final = frozenset({"bản"})


def _value_ok(p: Prepared, start: int, end: int) -> bool:
    value = p.text[start:end]
    if value[0].isalpha():
        if not value[0].isupper():
            return False  # "line a", a word
        following = p.text[end : end + 2]
        if end - start == 1 and value in "AI" and following[:1] == " " and following[1:].islower():
            return False  # "A lot", "I think"
    return not is_amount_or_count(p, start, end)


def _after(p: Prepared, hits: list[Hit], pattern: re.Pattern[str], out: list[Hit]) -> None:
    for _, end, _ in hits:
        m = pattern.match(p.low, end)
        if m and _value_ok(p, m.start("v"), m.end("v")):
            out.append((m.start("v"), m.end("v"), "PLACE"))


def _suffixes(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low = p.low
    for start, end, word in hits:
        if word == "村":
            name_start = start
            while start - name_start < 4 and name_start > 0:
                c = low[name_start - 1]
                if not ("\u4e00" <= c <= "\u9fff") or c in _CJK_STOP:
                    break
                name_start -= 1
            if name_start < start:
                out.append((name_start, start, "PLACE"))
            continue
        m = _SUFFIX_VALUE.search(low, max(0, start - 8), start)
        if m is None:
            continue
        value = m.group().rstrip(" 号號")
        v_start = m.start()
        v_end = v_start + len(value)
        if value.isalpha() and value.isascii() and not p.text[v_start:v_end].isupper():
            continue
        numbered = word[0] in "号號" or m.group().rstrip()[-1] in "号號"
        if value[0] in _CJK_NUMERALS and not numbered and word != "车间":
            continue  # 一线 (the front line), 三班倒 (three shifts), 一组 (a group)
        if word == "班" and low[end : end + 1] == "倒":
            continue
        if word == "线" and low.startswith("城市", end):
            continue  # 3线城市: a third-tier city
        if word in ("房", "室") and "厅" in low[end : end + 3]:
            continue  # 2房1厅: two rooms and a living room
        out.append((v_start, v_end, "PLACE"))


def _villages(p: Prepared, hits: list[Hit], out: list[Hit]) -> None:
    low, text = p.low, p.text
    for _, end, word in hits:
        if word in _NAMES_ONLY and not text[end + 1 : end + 2].isupper():
            continue
        conn = _PLACE_CONNECTORS.match(low, end)
        pos = conn.end() if conn else end
        number = None if word in _NAMES_ONLY else _NUMBER.match(low, pos)
        if number:
            if not is_amount_or_count(p, pos, number.end()):
                out.append((pos, number.end(), "PLACE"))
            continue
        if word in _NUMERIC_ONLY:
            continue
        thai = _THAI.match(low, pos)
        if thai:
            if not thai.group().startswith(_THAI_NOT_NAMES):
                out.append((pos, thai.end(), "PLACE"))
            continue
        cjk = _CJK.match(low, pos)
        if cjk:
            out.append((pos, cjk.end(), "PLACE"))
            continue
        # Capitalised words, with the particles names carry ("San José de la Montaña").
        stop = cursor = pos
        taken = 0
        while taken < 5:
            m = _WORD.match(text, cursor)
            if m is None:
                break
            if m.group() == "I":
                break  # "the village I grew up in"
            if m.group()[0].isupper():
                stop = m.end()
                taken += 1
            elif m.group().lower() not in _PARTICLES or stop == pos:
                break
            cursor = m.end()
            while cursor < len(text) and text[cursor] == " ":
                cursor += 1
        if stop > pos:
            out.append((pos, stop, "PLACE"))


def find_places(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    """Rooms, lines and shifts, villages (see the module docstring)."""
    if "room" in hits:
        _after(p, hits["room"], _ROOM_VALUE, out)
    if "unit" in hits:
        _after(p, hits["unit"], _UNIT_VALUE, out)
    if "suffix" in hits:
        _suffixes(p, hits["suffix"], out)
    if "village" in hits:
        _villages(p, hits["village"], out)
