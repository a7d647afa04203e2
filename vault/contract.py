"""The record contract as people and programs read it, generated from
:data:`vault.schema.RECORD_SPECS`.

Invariants: every field, type, requirement, class and allowed value comes from the
table the vault validates with, so the description cannot drift from it; every
example is a value :func:`vault.schema.validate_record` accepts, and
:func:`template` (one example of every field) is a record it accepts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from vault.errors import UsageError
from vault.schema import RECORD_SPECS, RECORD_TYPES, FieldSpec, RecordType

__all__ = ["KIND_LABELS", "contract", "describe_type", "template"]

# What each kind of field holds, in words (the kinds of :class:`vault.schema.FieldSpec`).
KIND_LABELS: Final = {
    "id": "identifier",
    "text": "text (≤ 1,000 characters)",
    "longtext": "text (≤ 200,000 characters)",
    "int": "integer",
    "bool": "true or false",
    "date": "date YYYY-MM-DD",
    "enum": "one of the values",
    "country": "country (ISO 3166-1 alpha-2)",
    "language": "language tag",
    "ids": "list of identifiers",
    "texts": "list of texts",
    "enums": "list of the values, each once",
    "persons": "list of {name, role}",
    "geo": "a point {lat, lon, precision}: degrees, and metres",
    "group": "object of the fields below",
}

_ID_PREFIX: Final = {"site": "SITE-001", "testimony": "T-0001", "finding": "F-0001"}
_EXAMPLE_DATE: Final = dt.date(2026, 3, 14).isoformat()


def _example(rtype: str, spec: FieldSpec) -> Any:
    """A value of ``spec``'s kind that validation accepts; identifiers look like the
    record ids they point to."""
    kind, leaf = spec.kind, spec.path.rpartition(".")[2]
    if spec.path == "type":
        return rtype
    if kind == "id":
        return _ID_PREFIX["site" if leaf == "site_id" else rtype]
    if kind == "ids":
        return [_ID_PREFIX["testimony"]]
    if kind in ("enum", "enums"):
        return spec.choices[0] if kind == "enum" else [spec.choices[0]]
    simple: dict[str, Any] = {
        "text": leaf.replace("_", " "),
        "longtext": f"{leaf.replace('_', ' ')}, in any language",
        "int": 1990,
        "bool": False,
        "date": _EXAMPLE_DATE,
        "country": "VN",
        "language": "vi",
        "texts": [leaf.replace("_", " ")],
        "persons": [{"name": "person's name", "role": "role"}],
        "geo": {"lat": 10.8, "lon": 106.7, "precision": 25.0},
        "group": {},
    }
    return simple[kind]


def describe_type(rtype: str) -> dict[str, Any]:
    """One record type: the field it is filed under by date, and each field's path,
    kind, whether required, class (as policies name it), key class (which key seals
    it), allowed values and an example."""
    spec = _spec(rtype)
    return {
        "type": rtype,
        "date_field": spec.date_field,
        "fields": [
            {
                "path": f.path,
                "kind": f.kind,
                "description": KIND_LABELS[f.kind],
                "required": f.required,
                "class": f.sensitivity.value,
                "key_class": f.key_class.value,
                "choices": list(f.choices),
                "example": None if f.kind == "group" else _example(rtype, f),
            }
            for f in spec.fields.values()
        ],
    }


def contract(rtype: str | None = None) -> dict[str, dict[str, Any]]:
    """Every record type's description (or only ``rtype``'s), by type name."""
    names = RECORD_TYPES if rtype is None else (rtype,)
    return {name: describe_type(name) for name in names}


def template(rtype: str) -> dict[str, Any]:
    """A record of ``rtype`` with an example in every field, groups nested, in the
    contract's order: a form to fill in (and a record the vault accepts as it is)."""
    spec = _spec(rtype)
    out: dict[str, Any] = {}
    for f in spec.fields.values():
        head, _, tail = f.path.partition(".")
        if f.kind == "group":
            out[head] = {}
        elif tail:
            out[head][tail] = _example(rtype, f)
        else:
            out[head] = _example(rtype, f)
    return out


def _spec(rtype: str) -> RecordType:
    if not isinstance(rtype, str) or rtype not in RECORD_SPECS:
        raise UsageError(f"record types are: {', '.join(RECORD_TYPES)}")
    return RECORD_SPECS[rtype]
