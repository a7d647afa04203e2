"""An optional named-entity pass over free text: people and small places.

Only models installed as Python packages, with their weights inside the package, are
used; nothing is fetched at run time. Installed by the ``ner`` extra
(``pip install 'evidence-vault[ner]'``):

* Chinese: ``jieba`` part-of-speech tags (``nr``/``nrfg``/``nrt`` people, ``ns``
  places ending in a village, street or building suffix);
* Vietnamese: ``underthesea`` named entities (``PER``, ``LOC``).

The other languages of the corpus (Thai, Czech, Spanish, Indonesian, French, English)
have no such package model; for them the rules of :mod:`vault.detect` and the names
the vault knows are all there is. The pass only adds spans to replace, never removes
any; a policy switches it on (``ner: true``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Final

__all__ = ["available", "find_entities"]

# Letters written in Vietnamese and in no other language of the corpus.
_VIETNAMESE: Final = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĂÂĐÊÔƠƯ]")
_CJK: Final = re.compile("[\u4e00-\u9fff]")
_ZH_PEOPLE: Final = frozenset({"nr", "nrfg", "nrt"})
# A place a handful of people live in, not a province: 李庄村, 幸福街, 3号楼.
_ZH_SMALL_PLACE: Final = re.compile("(村|镇|乡|庄|屯|寨|组|社区|街道|街|路|巷|弄|号|栋|楼|宿舍)$")

Span = tuple[int, int, str]


def available() -> tuple[str, ...]:
    """The languages whose model is installed."""
    found = []
    if importlib.util.find_spec("jieba") is not None:
        found.append("zh")
    if importlib.util.find_spec("underthesea") is not None:
        found.append("vi")
    return tuple(found)


@functools.cache
def _jieba() -> Callable[[str], list[tuple[str, str]]]:
    # Imported only when asked for: the extra is optional and loads a dictionary.
    jieba = importlib.import_module("jieba")
    posseg = importlib.import_module("jieba.posseg")
    # Its dictionary loads once per process; the log lines would go to stderr.
    jieba.setLogLevel(logging.ERROR)
    return lambda text: [(w.word, w.flag) for w in posseg.cut(text)]


@functools.cache
def _underthesea() -> Callable[[str], list[tuple[str, str]]]:
    ner = importlib.import_module("underthesea").ner
    return lambda text: [(token[0], token[3]) for token in ner(text)]


def find_entities(text: str) -> list[Span]:
    """``(start, end, kind)`` of people (``PERSON``) and small places (``PLACE``)
    the installed models find in ``text``, by the script it is written in."""
    spans: list[Span] = []
    langs = available()
    if "zh" in langs and _CJK.search(text):
        spans += _chinese(text)
    if "vi" in langs and _VIETNAMESE.search(text):
        spans += _vietnamese(text)
    return spans


def _chinese(text: str) -> list[Span]:
    spans: list[Span] = []
    cursor = 0
    for word, flag in _jieba()(text):
        start = text.find(word, cursor)
        if start < 0:
            continue
        end = start + len(word)
        cursor = end
        if flag in _ZH_PEOPLE and len(word) >= 2:
            spans.append((start, end, "PERSON"))
        elif flag == "ns" and _ZH_SMALL_PLACE.search(word):
            spans.append((start, end, "PLACE"))
    return spans


def _vietnamese(text: str) -> list[Span]:
    # The model reads composed text; offsets are found back in the text as given.
    source = unicodedata.normalize("NFC", text)
    if source != text:
        return []
    spans: list[Span] = []
    cursor = 0
    current: list[int] | None = None
    kind = ""
    for word, tag in _underthesea()(source):
        start = source.find(word, cursor)
        if start < 0:
            continue
        end = start + len(word)
        cursor = end
        label = tag[2:] if tag[:2] in ("B-", "I-") else ""
        if label in ("PER", "LOC"):
            new_kind = "PERSON" if label == "PER" else "PLACE"
            if current is not None and tag.startswith("I-") and new_kind == kind:
                current[1] = end
                continue
            if current is not None:
                spans.append((current[0], current[1], kind))
                current = None
            # A place begins at its name or number: "phòng", "chuyền" stay.
            if new_kind == "PLACE" and word[:1].islower():
                continue
            current, kind = [start, end], new_kind
        elif current is not None:
            spans.append((current[0], current[1], kind))
            current = None
    if current is not None:
        spans.append((current[0], current[1], kind))
    return spans
