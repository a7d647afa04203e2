"""Review decisions on free text, and how an export applies them.

A custodian who knows the workplace reads a narrative as it would leave and decides,
span by span, what is redacted: the machine's redactions they let stand, the ones
they release (a common word taken for a name), and spans they add. A decision holds
offsets into one version of one field, never its words, and a keyed digest of the
text it was made on: if the text differs (a new version, an erasure that rewrote
it), the decision is void and the text counts as unreviewed.

Invariant: applying a decision never redacts less than the reviewer saw redacted.
What the machine finds now is redacted too, unless the reviewer released exactly that
span; a span the reviewer redacted is never released by anything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from vault import crypto
from vault.crypto import SecretKey
from vault.errors import IntegrityError, InvalidInputError

__all__ = [
    "MAX_SPANS",
    "Decision",
    "Span",
    "apply_decision",
    "check_spans",
    "decisions_by_record",
    "text_digest",
]

MAX_SPANS: Final = 10_000
Span = tuple[int, int]


def text_digest(key: SecretKey, field: str, text: str) -> str:
    """The keyed digest of one field's text: which text a decision was made on."""
    return crypto.hmac_sha256(key, field.encode() + b"\x00" + text.encode()).hex()


@dataclass(frozen=True, slots=True)
class Decision:
    """One reviewer's decision on one field of one record version, for one audience."""

    record_id: str
    field: str
    version: int
    audience: str
    reviewer: str
    at: dt.datetime
    digest: str
    # Made by an exporter: honoured only under policies that let exporters review.
    by_exporter: bool
    redact: tuple[Span, ...]
    release: tuple[Span, ...]

    def __repr__(self) -> str:
        return (
            f"Decision(record_id={self.record_id!r}, field={self.field!r}, "
            f"version={self.version}, redact={len(self.redact)}, release={len(self.release)})"
        )

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "record_id": self.record_id,
                "field": self.field,
                "version": self.version,
                "audience": self.audience,
                "reviewer": self.reviewer,
                "by_exporter": self.by_exporter,
                "at": self.at.isoformat(),
                "digest": self.digest,
                "redact": [list(s) for s in self.redact],
                "release": [list(s) for s in self.release],
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, what: str) -> Decision:
        try:
            data = json.loads(raw)
            return cls(
                record_id=str(data["record_id"]),
                field=str(data["field"]),
                version=int(data["version"]),
                audience=str(data["audience"]),
                reviewer=str(data["reviewer"]),
                by_exporter=bool(data["by_exporter"]),
                at=dt.datetime.fromisoformat(data["at"]),
                digest=str(data["digest"]),
                redact=tuple(_span(s) for s in data["redact"]),
                release=tuple(_span(s) for s in data["release"]),
            )
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"integrity check failed for {what}") from None


def _span(value: Any) -> Span:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("a span is [start, end]")
    start, end = value
    if isinstance(start, bool) or isinstance(end, bool):
        raise ValueError("a span is two integers")
    return int(start), int(end)


def check_spans(spans: Iterable[Any], length: int, where: str, name: str) -> tuple[Span, ...]:
    """Spans given by a reviewer: pairs of offsets inside a text of ``length``."""
    out: list[Span] = []
    for i, value in enumerate(spans):
        if i >= MAX_SPANS:
            raise InvalidInputError(f"{name}: more than {MAX_SPANS} spans", where=where)
        try:
            start, end = _span(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{name}[{i}] must be [start, end] (two integers)", where=where
            ) from None
        if not 0 <= start < end <= length:
            raise InvalidInputError(
                f"{name}[{i}] must lie inside the text (0 ≤ start < end ≤ {length})", where=where
            )
        out.append((start, end))
    return tuple(sorted(set(out)))


def apply_decision(
    machine: Iterable[tuple[int, int, str]], decision: Decision
) -> list[tuple[int, int, str]]:
    """The spans to redact: the machine's, less those released, plus those added."""
    released = set(decision.release)
    kept = set(decision.redact)
    found = list(machine)
    out = [
        (start, end, kind)
        for start, end, kind in found
        if (start, end) not in released or (start, end) in kept
    ]
    spans = {(start, end) for start, end, _kind in out}
    out += [(start, end, "REDACTED") for start, end in decision.redact if (start, end) not in spans]
    return sorted(out)


def decisions_by_record(
    decisions: Iterable[Decision],
) -> Mapping[str, Mapping[str, Decision]]:
    """Record id -> field -> decision."""
    out: dict[str, dict[str, Decision]] = {}
    for d in decisions:
        out.setdefault(d.record_id, {})[d.field] = d
    return out
