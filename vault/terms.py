"""Onward terms: what a recipient may do with an export's records, signed with it.

A sending policy says ``onward: none``, ``onward: same-audience`` or
``onward: {audiences: [...]}``; without the key it is ``none`` (deny by default).
Resolved against the policy's own audience, terms are a set of audiences: ``none``
is the empty set, ``same-audience`` the policy's audience. The export's manifest
carries them (``terms``) under its signature, and a vault that receives the export
keeps them sealed with every record it takes from it.

Invariants:

* Terms only narrow. A receiving vault lets a received record leave only under a
  policy whose audience is in the record's set; an export that carries received
  records promises onward no more than each of them allows (:meth:`Terms.meet`).
* A manifest without terms (from a vault before terms existed) means ``none``;
  malformed terms are refused, never read as something wider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from vault.errors import InvalidInputError
from vault.schema import AUDIENCES

__all__ = ["ONWARD_KINDS", "Terms"]

ONWARD_KINDS: Final = ("none", "same-audience", "audiences")


@dataclass(frozen=True)
class Terms:
    """Who a recipient may pass material on to: ``audiences`` (resolved), and the
    ``onward`` kind the sending policy wrote, for people to read."""

    onward: str = "none"
    audiences: frozenset[str] = frozenset()

    @classmethod
    def resolve(cls, onward: str, audiences: Iterable[str], own_audience: str) -> Terms:
        """Terms as a policy for ``own_audience`` states them."""
        if onward == "none":
            return cls()
        if onward == "same-audience":
            return cls("same-audience", frozenset({own_audience}))
        listed = frozenset(audiences)
        return cls("audiences", listed) if listed else cls()

    def allows(self, audience: str) -> bool:
        return audience in self.audiences

    def meet(self, other: Terms) -> Terms:
        """What both allow: the terms of an export that carries material under each."""
        if other == self:
            return self
        both = self.audiences & other.audiences
        return Terms("audiences", both) if both else Terms()

    def to_manifest(self) -> dict[str, Any]:
        return {"onward": self.onward, "audiences": sorted(self.audiences)}

    @classmethod
    def from_manifest(cls, value: object, where: str) -> Terms:
        """The terms of a verified manifest (``None``: a manifest without terms)."""
        if value is None:
            return cls()
        if not isinstance(value, dict) or set(value) != {"onward", "audiences"}:
            raise InvalidInputError("the manifest's terms are malformed", where=where)
        onward, audiences = value["onward"], value["audiences"]
        if (
            onward not in ONWARD_KINDS
            or not isinstance(audiences, list)
            or not all(isinstance(a, str) and a in AUDIENCES for a in audiences)
            or len(set(audiences)) != len(audiences)
            or (onward == "none") != (not audiences)
        ):
            raise InvalidInputError("the manifest's terms are malformed", where=where)
        return cls(str(onward), frozenset(audiences))

    def describe(self) -> str:
        if not self.audiences:
            return "the recipient may pass it on to no one"
        return "the recipient may pass it on only to: " + ", ".join(sorted(self.audiences))
