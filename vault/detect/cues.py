"""Residual risk cues: what is still identifying in text that has been scrubbed.

Scrubbing removes names, numbers and contacts, but a narrative can still single a
worker out. :func:`residual_flags` reads already-scrubbed text (tokens such as
``[WORKER-1]`` or ``[PLACE]`` may stand in it) and names the cues it finds, so a
custodian can review the text before it leaves. The flags, in :data:`FLAG_KINDS`:

``only``
    a uniquely identifying description: "the only …", "the one who …", "the sole …",
    "người duy nhất", "chỉ có mình", "唯一", "jediná", "la única", "la seule",
    "satu-satunya", "คนเดียว" …
``role``
    a union office, which one or two people hold at a site: union president,
    secretary or representative ("chủ tịch công đoàn", "工会主席", "předseda odborů",
    "delegado sindical", "délégué syndical", "ketua serikat", "ประธานสหภาพ" …).
``age``
    an exact age: "24 tuổi", "aged 24", "24岁", "อายุ 24", "ve věku 24" …
``place_number``
    a room, dormitory, line or shift keyword with a number or letter still after it, or
    a village keyword with a name still after it.
``birth_date``
    a birth keyword with a date or a birth year still next to it.
``id_number``
    an id, badge or phone keyword with a value still after it, or a split digit sequence.
``handle``
    an e-mail address, an @handle, a messaging or social keyword still followed by an
    id, or a profile link.
``number_words``
    a number still read out in digit words ("không chín một ba …").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from vault.detect.contacts import find_contacts
from vault.detect.dates import find_birth_dates
from vault.detect.numbers import find_ids, find_sequences
from vault.detect.places import find_places
from vault.detect.prepared import Prepared, prepare
from vault.detect.scan import Hit, Hits, scan
from vault.detect.spelled import find_spelled

__all__ = ["FLAG_KINDS", "residual_flags"]

FLAG_KINDS: Final[tuple[str, ...]] = (
    "only",
    "role",
    "age",
    "place_number",
    "birth_date",
    "id_number",
    "handle",
    "number_words",
)
_AGE_BEFORE: Final = re.compile(r"(?<!\d)\d{1,2}\s?-?\s?$")
_AGE_AFTER: Final = re.compile(r"\s*(?:of\s+|de\s+|:\s*)?\d{1,2}(?!\d)")


def _age(p: Prepared, hits: list[Hit]) -> bool:
    return any(
        _AGE_BEFORE.search(p.low, max(0, start - 4), start) or _AGE_AFTER.match(p.low, end)
        for start, end, _ in hits
    )


def _birth_dates(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    find_birth_dates(p, hits, frozenset(), out)


def _ids_and_sequences(p: Prepared, hits: Hits, out: list[Hit]) -> None:
    find_ids(p, hits, out)
    find_sequences(p, out)


# The flags a detector of find_spans raises when it still finds something.
_DETECTORS: Final[tuple[tuple[str, Callable[[Prepared, Hits, list[Hit]], None]], ...]] = (
    ("place_number", find_places),
    ("birth_date", _birth_dates),
    ("id_number", _ids_and_sequences),
    ("handle", find_contacts),
    ("number_words", find_spelled),
)


def residual_flags(text: str) -> frozenset[str]:
    """Risk cues left in already-scrubbed text (see the module docstring)."""
    if not text:
        return frozenset()
    p = prepare(text)
    hits = scan(p.low)
    flags: set[str] = set()
    if "only" in hits:
        flags.add("only")
    if "role" in hits:
        flags.add("role")
    if "age" in hits and _age(p, hits["age"]):
        flags.add("age")
    for flag, detect in _DETECTORS:
        found: list[Hit] = []
        detect(p, hits, found)
        if found:
            flags.add(flag)
    return frozenset(flags)
