"""Applying a policy to one decrypted record: field actions and generalization.

Invariants:

* A field is in the output only if the policy's action for it is not ``drop``; the
  record type is always there. Nothing else is added.
* Pseudonyms are keyed HMACs (never plain hashes): under a key derived per recipient
  (stable across exports to that recipient, unlinkable between recipients) or a
  random key per export. Record ids, ``site_id`` and ``evidence`` share one domain so
  references between exported records still resolve.
* Generalization can be made coarser by a *level* (k-anonymity): level 0 is what the
  policy says; each level up coarsens every quasi-identifier one step, and the top
  level drops them all.
"""

from __future__ import annotations

import base64
import hmac
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from vault import crypto
from vault.crypto import SecretKey
from vault.decisions import Decision, apply_decision, text_digest
from vault.policy import Action, Policy
from vault.schema import FIELDS, RECORD_SPECS, flatten, unflatten
from vault.scrub import Scrubber

__all__ = ["MAX_LEVEL", "Redactor", "SiteInfo", "TextSeen", "high_risk"]

MAX_LEVEL: Final = 3
_FULL_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID_FIELDS: Final = frozenset({"id", "site_id", "evidence"})
_BIRTH_LADDER: Final = (10, 20)
_DATE_LADDER: Final = ("quarter", "year")
_SITE_LADDER: Final = ("region", "country")
_GRID_LADDER: Final = (1.0, 5.0)


@dataclass(frozen=True, slots=True)
class TextSeen:
    """One free text as an export would treat it (for the review screen)."""

    record_id: str
    path: str
    text: str = field(repr=False)
    spans: tuple[tuple[int, int, str], ...]
    flags: frozenset[str]
    decision: Decision | None


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What generalization and filters need to know of a site."""

    id: str
    country: str
    region: str | None


def _band(year: int, width: int) -> str:
    start = year - year % width
    return f"{start}-{start + width - 1}"


def _date(value: str, level: str) -> str:
    if level == "month":
        return value[:7]
    if level == "quarter":
        return f"{value[:4]}-Q{(int(value[5:7]) - 1) // 3 + 1}"
    return value[:4]


def _grid(point: Mapping[str, Any], degrees: float) -> dict[str, float]:
    """The centre of the grid cell a point falls in, and the cell's size: nothing
    finer (not the device's precision) is kept."""

    def centre(value: float) -> float:
        return round((math.floor(value / degrees) + 0.5) * degrees, 6)

    return {"lat": centre(float(point["lat"])), "lon": centre(float(point["lon"])), "grid": degrees}


def _hashable(value: Any) -> Any:
    """A quasi-identifier's value as a group key (a generalized location is a dict)."""
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def _site(info: SiteInfo | None, level: str) -> str | None:
    if info is None:
        return None
    if level == "region" and info.region:
        return f"{info.country} / {info.region}"
    return info.country


class Redactor:
    """Applies one policy to records, with one pseudonym key and one scrubber."""

    def __init__(
        self,
        policy: Policy,
        recipient_key: SecretKey,
        scrubber: Scrubber,
        *,
        export_key: SecretKey,
        review_key: SecretKey | None = None,
    ) -> None:
        self.policy = policy
        self._keys = {"recipient": recipient_key, "export": export_key}
        self.scrubber = scrubber
        self._action_cache: dict[tuple[str, bool], dict[str, Action]] = {}
        self._quasi = (
            frozenset(policy.k_anonymity.quasi_identifiers) if policy.k_anonymity else frozenset()
        )
        # Risk cues left in the free text of the record last redacted, and its text
        # fields held back for want of a review.
        self.flags: set[str] = set()
        self.withheld: set[str] = set()
        self.reviewed: set[str] = set()
        # Review decisions of the site being exported (record id -> field ->
        # decision), and the key their text digests are under.
        self.decisions: Mapping[str, Mapping[str, Decision]] = {}
        self._review_key = review_key
        # Told of every text scrubbed: how the review screen sees what would leave.
        self.on_text: Callable[[TextSeen], None] | None = None
        self._record_id = ""

    def __repr__(self) -> str:
        return f"Redactor(policy={self.policy.name!r})"

    def pseudonym(self, scope: str, domain: str, value: str) -> str:
        digest = crypto.blind_index(self._keys[scope], domain, value)
        return "P-" + base64.b32encode(digest[:10]).decode("ascii").lower()

    def _pseudonymize(self, scope: str, path: str, value: Any) -> Any:
        domain = "record-id" if path in _ID_FIELDS else path
        if isinstance(value, list):
            return [self.pseudonym(scope, domain, str(v)) for v in value]
        return self.pseudonym(scope, domain, str(value))

    def _apply(
        self, action: Action, path: str, value: Any, level: int, site: SiteInfo | None
    ) -> tuple[bool, Any]:
        """``(present, value)`` for one field under one action and level."""
        kind = action.kind
        if path in self._quasi and level > 0:
            return self._coarser(action, path, value, level, site)
        if kind == "keep":
            return True, value
        if kind == "drop":
            return False, None
        if kind == "mask":
            text = str(value)
            # Never show more than half of a value, whatever the policy asks.
            keep = min(int(action.param), len(text) // 2)
            hidden = len(text) - keep
            return True, "•" * hidden + (text[hidden:] if keep else "")
        if kind == "pseudonymize":
            return True, self._pseudonymize(str(action.param), path, value)
        if kind == "generalize":
            return self._generalize(path, value, action.param, site)
        if kind == "scrub":
            return self._scrub(path, str(value), action.param)
        raise AssertionError(kind)  # pragma: no cover - policies are validated

    def _scrub(self, path: str, text: str, limit: int | None) -> tuple[bool, Any]:
        """Free text as it leaves: the machine's redactions, a reviewer's decision
        on this very text if there is one, and the policy's review mode."""
        spans, flags = self.scrubber.analyse(text)
        decision = self._decision(path, text)
        if decision is not None:
            spans = apply_decision(spans, decision)
        mode = self.policy.review
        withheld = decision is None and (mode == "required" or (mode == "flagged" and bool(flags)))
        if self.on_text is not None:
            self.on_text(TextSeen(self._record_id, path, text, tuple(spans), flags, decision))
        if withheld:
            self.withheld.add(path)
            return False, None
        if decision is not None:
            self.reviewed.add(path)
        else:
            self.flags |= flags
        return True, self.scrubber.render(text, spans, limit)

    @property
    def reviews_readable(self) -> bool:
        """Whether review decisions can be checked (the narrative clearance)."""
        return self._review_key is not None

    def _decision(self, path: str, text: str) -> Decision | None:
        decision = self.decisions.get(self._record_id, {}).get(path)
        if decision is None or self._review_key is None:
            return None
        if decision.by_exporter and not self.policy.review_by_exporters:
            return None
        # A decision made on another text (a new version, an erasure that rewrote
        # this one) is void: its offsets would point at other words.
        digest = text_digest(self._review_key, path, text)
        if not hmac.compare_digest(digest, decision.digest):
            return None
        return decision

    def _generalize(
        self, path: str, value: Any, param: Any, site: SiteInfo | None
    ) -> tuple[bool, Any]:
        if not _generalizable(path, value):
            # Already generalized by a partner's vault (a band, a month): a value this
            # cannot read is dropped, never passed on as it came.
            return False, None
        if path.endswith("birth_year"):
            return True, _band(int(value), int(param))
        if path == "site_id":
            result = _site(site, str(param))
            return result is not None, result
        if isinstance(value, dict):  # a location
            return True, _grid(value, float(param))
        return True, _date(str(value), str(param))

    def _coarser(
        self, action: Action, path: str, value: Any, level: int, site: SiteInfo | None
    ) -> tuple[bool, Any]:
        # Each level coarsens one step beyond the policy; the top level drops.
        if action.kind == "drop" or level >= MAX_LEVEL:
            return False, None
        step = level - 1
        if path.endswith("birth_year"):
            width = _BIRTH_LADDER[step]
            if action.kind == "generalize" and int(action.param) > width:
                width = int(action.param)
            return True, _band(int(value), width)
        if path == "site_id":
            return self._generalize(path, value, _SITE_LADDER[step], site)
        kind = FIELDS["testimony"][path].kind
        if kind == "geo":
            return True, _grid(value, max(float(action.param), _GRID_LADDER[step]))
        if kind == "date":
            return True, _date(str(value), _DATE_LADDER[step])
        # Categorical values (gender, nationality, ...) have no coarser form:
        # they stay until the top level drops them.
        return self._apply(action, path, value, 0, site)

    def redact(
        self,
        record: Mapping[str, Any],
        *,
        level: int = 0,
        site: SiteInfo | None = None,
    ) -> dict[str, Any]:
        """The record as the policy lets this audience see it."""
        rtype = record["type"]
        self.scrubber.start_record()
        self.flags = set()
        self.withheld = set()
        self.reviewed = set()
        self._record_id = str(record.get("id", ""))
        actions = self._actions(rtype, high_risk(record))
        groups = RECORD_SPECS[rtype].groups
        order: list[str] = []
        values: dict[str, Any] = {"type": rtype}
        for path, value in flatten(record):
            order.append(path)
            if path == "type" or value is None or path in groups:
                continue
            action = actions[path]
            if action.kind == "drop" and path not in self._quasi:
                continue
            present, out = self._apply(action, path, value, level, site)
            if present:
                values[path] = out
        return unflatten(order, values)

    def quasi_keys(
        self, record: Mapping[str, Any], site: SiteInfo | None, levels: range
    ) -> list[tuple[Any, ...]]:
        """The exported quasi-identifier values of a testimony, at each level."""
        if self.policy.k_anonymity is None:
            return [() for _ in levels]
        actions = self._actions("testimony", high_risk(record))
        flat = dict(flatten(record))
        quasi = [
            (path, flat.get(path), actions[path])
            for path in self.policy.k_anonymity.quasi_identifiers
        ]
        out = []
        for level in levels:
            key: list[Any] = []
            for path, value, action in quasi:
                if value is None:
                    key.append(None)
                    continue
                present, result = self._apply(action, path, value, level, site)
                key.append(_hashable(result) if present else None)
            out.append(tuple(key))
        return out

    def quasi_key(
        self, record: Mapping[str, Any], level: int, site: SiteInfo | None
    ) -> tuple[Any, ...]:
        """The exported quasi-identifier values of a testimony at one level."""
        return self.quasi_keys(record, site, range(level, level + 1))[0]

    def _actions(self, rtype: str, high: bool) -> dict[str, Action]:
        # Resolved once per record type and risk: field rule, class rule, or drop.
        cached = self._action_cache.get((rtype, high))
        if cached is None:
            rules = self.policy.types[rtype]
            cached = {path: rules.action_for(rtype, path, high_risk=high) for path in FIELDS[rtype]}
            self._action_cache[(rtype, high)] = cached
        return cached


def _generalizable(path: str, value: Any) -> bool:
    """Whether a value has the shape generalization reads (every value of this
    vault's own records has; a received record's may not: a band, a month)."""
    if path.endswith("birth_year"):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, str) and path != "site_id":
        return _FULL_DATE.fullmatch(value) is not None
    return True


def high_risk(record: Mapping[str, Any]) -> bool:
    """Whether a record is a testimony whose author risks retaliation: the policy's
    ``high_risk`` rules apply to it, for its fields and its files."""
    risk = record.get("risk")
    return isinstance(risk, dict) and risk.get("retaliation") == "high"
