"""The record contract: sites, testimonies and findings, their fields and classes.

Invariants:

* A record is a JSON object whose ``type`` is ``site``, ``testimony`` or ``finding``
  and whose fields are exactly those below; an unknown field is an error, never kept.
* Every field has a sensitivity class (identity, quasi, special, narrative,
  operational) that policies speak of, and a *key class* that says which key seals
  it. Quasi-identifiers are sealed with the operational key class, because every
  export needs them to generalize; identity is sealed under the worker's subject key.
* Validation errors name the place and the field, never the value.
* Every type may carry a ``source_key``: the record's id in the system it came from
  (a survey tool's submission uuid), sealed like the record id and found again by a
  keyed index, so that a later download of the same source can be matched to it
  (``evault import --key source_key``).
* :func:`flatten` and :func:`unflatten` split a record into per-key-class parts and
  put it back together in the original key order, so a record reads back exactly as
  it was imported.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from vault.errors import InvalidInputError
from vault.keys import KeyClass

__all__ = [
    "DATE_FIELDS",
    "DATE_PATTERN",
    "FIELDS",
    "GEO_KEYS",
    "GEO_RANGES",
    "ID_PATTERN",
    "LANGUAGE_PATTERN",
    "PERSON_FIELDS",
    "RECORD_SPECS",
    "RECORD_TYPES",
    "FieldSpec",
    "RecordType",
    "Sensitivity",
    "check_name",
    "flatten",
    "key_class_of",
    "shown_id",
    "shown_name",
    "unflatten",
    "validate_record",
]


class Sensitivity(StrEnum):
    IDENTITY = "identity"
    QUASI = "quasi"
    SPECIAL = "special"
    NARRATIVE = "narrative"
    OPERATIONAL = "operational"


def key_class_of(sensitivity: Sensitivity) -> KeyClass:
    if sensitivity is Sensitivity.QUASI:
        return KeyClass.OPERATIONAL
    return KeyClass(sensitivity.value)


RECORD_TYPES: Final = ("site", "testimony", "finding")
SITE_KINDS: Final = ("mine", "smelter", "refinery", "manufacturing", "other")
CHANNELS: Final = ("interview", "hotline", "survey", "union", "other")
AUDIENCES: Final = ("union", "monitor", "buyers", "public")
RISK_LEVELS: Final = ("low", "medium", "high")
SEVERITIES: Final = ("low", "medium", "high", "critical")
STATUSES: Final = ("open", "in_remediation", "remediated", "disputed")
ALLEGATIONS: Final = (
    "freedom_of_association",
    "forced_labour",
    "wages",
    "working_hours",
    "health_safety",
    "discrimination",
    "harassment",
    "child_labour",
    "other",
)
GENDERS: Final = ("female", "male", "non_binary", "other", "undisclosed")
GEO_KEYS: Final = ("lat", "lon", "precision")
"""A location's keys: WGS 84 latitude and longitude in degrees, and the precision the
device reported, in metres (optional)."""

SHORT_TEXT: Final = 1_000
LONG_TEXT: Final = 200_000
MAX_LIST: Final = 1_000

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
# What an unknown field's name may look like to be repeated in a message: anything
# else (a name, a phone number pasted as a key) is not.
_FIELD_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39})*(\[\d+\])?")


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def shown_name(value: object) -> str:
    """A custodian, recipient or token name as messages may show it (quoted)."""
    if isinstance(value, str) and _NAME_RE.fullmatch(value):
        return repr(value)
    return "(not a valid name)"


# Plain ASCII only: str.isalnum() admits Cyrillic, Greek, fullwidth and other
# letters and digits, so that "аdmin" (Cyrillic а) could stand beside "admin".
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_name(name: str, kind: str = "custodian") -> str:
    """A custodian, token or recipient name, as the vault accepts it: 1 to 64 ASCII
    letters, digits, '-', '_' and '.', so that no two names can look alike.

    ``kind`` names the kind of name in the message.
    """
    if not isinstance(name, str) or not _PLAIN_NAME_RE.fullmatch(name):
        raise InvalidInputError(f"a {kind} name uses letters, digits, '-', '_' and '.'")
    return name


def shown_id(value: object) -> str:
    """A record id as messages may show it: only if it has the grammar of an id."""
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return value
    return "(not a valid record id)"


def _unknown(path: str, key: str | None = None) -> str:
    name = path if key is None else f"{path}.{key}"
    parts = [p for p in re.split(r"\[\d+\]\.?", name) if p]
    if all(_FIELD_NAME_RE.fullmatch(p) for p in parts):
        return f"unknown field {name!r}"
    return (
        f"unknown field under {path.split('.', maxsplit=1)[0]!r}"
        if key is not None
        else "unknown field"
    )


_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANG_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
# The grammars above as patterns, for the contract's JSON Schema (vault.api.contract).
ID_PATTERN: Final = _ID_RE.pattern
DATE_PATTERN: Final = _DATE_RE.pattern
LANGUAGE_PATTERN: Final = _LANG_RE.pattern


@dataclass(frozen=True)
class FieldSpec:
    """One field of the contract.

    ``kind`` is one of: id, text, longtext, int, bool, date, enum, country, language,
    ids, texts, enums, persons, geo (a point: ``{lat, lon, precision}``), group.
    """

    path: str
    kind: str
    sensitivity: Sensitivity
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def key_class(self) -> KeyClass:
        return key_class_of(self.sensitivity)


_I, _Q, _S, _N, _O = (
    Sensitivity.IDENTITY,
    Sensitivity.QUASI,
    Sensitivity.SPECIAL,
    Sensitivity.NARRATIVE,
    Sensitivity.OPERATIONAL,
)


def _specs(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.path: s for s in specs}


@dataclass(frozen=True)
class RecordType:
    """One record type of the contract: its fields (with their classes), and the date
    field it is filed under. Everything else about a type is derived from this."""

    name: str
    date_field: str | None
    fields: dict[str, FieldSpec]

    @functools.cached_property
    def groups(self) -> frozenset[str]:
        """Fields that hold other fields (``worker``): split into their leaves."""
        return frozenset(p for p, spec in self.fields.items() if spec.kind == "group")

    @functools.cached_property
    def key_class_names(self) -> dict[str, str]:
        """Which key class seals each field (plain strings: they are hashed per field)."""
        return {p: spec.key_class.value for p, spec in self.fields.items()}


RECORD_SPECS: Final[dict[str, RecordType]] = {
    "site": RecordType(
        "site",
        None,
        _specs(
            FieldSpec("type", "enum", _O, True, RECORD_TYPES),
            FieldSpec("id", "id", _O, True),
            FieldSpec("source_key", "id", _O),
            FieldSpec("name", "text", _Q, True),
            FieldSpec("kind", "enum", _O, True, SITE_KINDS),
            FieldSpec("country", "country", _O, True),
            FieldSpec("region", "text", _Q),
            FieldSpec("operator", "text", _O),
        ),
    ),
    "testimony": RecordType(
        "testimony",
        "received_on",
        _specs(
            FieldSpec("type", "enum", _O, True, RECORD_TYPES),
            FieldSpec("id", "id", _O, True),
            FieldSpec("source_key", "id", _O),
            FieldSpec("site_id", "id", _Q, True),
            FieldSpec("received_on", "date", _O, True),
            FieldSpec("channel", "enum", _O, False, CHANNELS),
            FieldSpec("language", "language", _O),
            FieldSpec("worker", "group", _O),
            FieldSpec("worker.name", "text", _I),
            FieldSpec("worker.employee_id", "text", _I),
            FieldSpec("worker.phone", "text", _I),
            FieldSpec("worker.email", "text", _I),
            FieldSpec("worker.address", "text", _I),
            # Where a survey's GPS placed the interview: sealed with the identity, and
            # out of every export unless a policy generalizes it to a coarse grid.
            FieldSpec("worker.location", "geo", _I),
            # Nicknames and other names the worker goes by: scrubbed like the name.
            FieldSpec("worker.aliases", "texts", _I),
            FieldSpec("worker.gender", "enum", _Q, False, GENDERS),
            FieldSpec("worker.birth_year", "int", _Q),
            FieldSpec("worker.nationality", "country", _Q),
            FieldSpec("worker.migrant", "bool", _Q),
            FieldSpec("worker.job_title", "text", _Q),
            FieldSpec("worker.department", "text", _Q),
            FieldSpec("worker.union_member", "bool", _S),
            FieldSpec("worker.union_name", "text", _S),
            FieldSpec("persons_mentioned", "persons", _I),
            FieldSpec("allegations", "enums", _O, False, ALLEGATIONS),
            FieldSpec("narrative", "longtext", _N),
            FieldSpec("consent", "group", _O),
            FieldSpec("consent.share_with", "enums", _O, False, AUDIENCES),
            FieldSpec("consent.recorded_on", "date", _O),
            FieldSpec("consent.withdrawn", "bool", _O),
            FieldSpec("risk", "group", _O),
            FieldSpec("risk.retaliation", "enum", _O, False, RISK_LEVELS),
        ),
    ),
    "finding": RecordType(
        "finding",
        "audit_date",
        _specs(
            FieldSpec("type", "enum", _O, True, RECORD_TYPES),
            FieldSpec("id", "id", _O, True),
            FieldSpec("source_key", "id", _O),
            FieldSpec("site_id", "id", _Q, True),
            FieldSpec("audit_date", "date", _O, True),
            FieldSpec("monitor", "text", _O),
            FieldSpec("category", "enum", _O, False, ALLEGATIONS),
            FieldSpec("standard_refs", "texts", _O),
            FieldSpec("severity", "enum", _O, True, SEVERITIES),
            FieldSpec("summary", "longtext", _N),
            FieldSpec("details", "longtext", _N),
            FieldSpec("evidence", "ids", _O),
            FieldSpec("status", "enum", _O, True, STATUSES),
            FieldSpec("remediation", "group", _O),
            FieldSpec("remediation.plan", "longtext", _N),
            FieldSpec("remediation.due", "date", _O),
            FieldSpec("remediation.updated", "date", _O),
        ),
    ),
}
FIELDS: Final[dict[str, dict[str, FieldSpec]]] = {
    t: spec.fields for t, spec in RECORD_SPECS.items()
}
DATE_FIELDS: Final[dict[str, str]] = {
    t: spec.date_field for t, spec in RECORD_SPECS.items() if spec.date_field is not None
}


_PERSON_KEYS: Final = ("name", "role")
PERSON_FIELDS: Final = _PERSON_KEYS  # what a person mentioned holds; name is required


def _check_text(value: Any, limit: int, where: str, path: str) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"field {path!r} must be a string", where=where)
    if not value or value.isspace():
        raise InvalidInputError(f"field {path!r} must not be empty", where=where)
    if len(value) > limit:
        raise InvalidInputError(f"field {path!r} is longer than {limit} characters", where=where)
    if "\x00" in value:
        raise InvalidInputError(f"field {path!r} contains a NUL character", where=where)
    if not value.isascii() and _SURROGATE_RE.search(value):
        # JSON may escape half of a UTF-16 pair ("\ud800"): not text, and not storable.
        raise InvalidInputError(f"field {path!r} is not valid Unicode text", where=where)


def _check_date(spec: FieldSpec, value: Any, where: str) -> None:
    path = spec.path
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise InvalidInputError(f"field {path!r} must be a date YYYY-MM-DD", where=where)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"field {path!r} is not a valid date", where=where) from None


def _check_list(value: Any, where: str, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInputError(f"field {path!r} must be a list", where=where)
    if len(value) > MAX_LIST:
        raise InvalidInputError(f"field {path!r} has more than {MAX_LIST} items", where=where)
    return value


def _check_id(spec: FieldSpec, value: Any, where: str) -> None:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidInputError(
            f"field {spec.path!r} must be an identifier (letters, digits, . _ : -; "
            "at most 128 characters)",
            where=where,
        )


def _check_short(spec: FieldSpec, value: Any, where: str) -> None:
    _check_text(value, SHORT_TEXT, where, spec.path)


def _check_long(spec: FieldSpec, value: Any, where: str) -> None:
    _check_text(value, LONG_TEXT, where, spec.path)


def _check_int(spec: FieldSpec, value: Any, where: str) -> None:
    path = spec.path
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"field {path!r} must be an integer", where=where)
    if path.endswith("birth_year") and not 1900 <= value <= dt.date.today().year:
        raise InvalidInputError(f"field {path!r} is out of range", where=where)


def _check_bool(spec: FieldSpec, value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise InvalidInputError(f"field {spec.path!r} must be true or false", where=where)


def _check_enum(spec: FieldSpec, value: Any, where: str) -> None:
    if not isinstance(value, str) or value not in spec.choices:
        raise InvalidInputError(
            f"field {spec.path!r} must be one of: {', '.join(spec.choices)}", where=where
        )


@functools.cache
def _country_codes() -> frozenset[str]:
    # pycountry reads its tables on import (a fiftieth of a second): only checking
    # a record needs them, never reading one.
    import pycountry  # noqa: PLC0415

    return frozenset(str(c.alpha_2) for c in pycountry.countries)


def _check_country(spec: FieldSpec, value: Any, where: str) -> None:
    if (
        not isinstance(value, str)
        or len(value) != 2
        or not value.isupper()
        or value not in _country_codes()
    ):
        raise InvalidInputError(
            f"field {spec.path!r} must be an ISO 3166-1 alpha-2 code", where=where
        )


def _check_language(spec: FieldSpec, value: Any, where: str) -> None:
    if not isinstance(value, str) or not _LANG_RE.fullmatch(value):
        raise InvalidInputError(
            f"field {spec.path!r} must be a language tag such as 'vi' or 'th'", where=where
        )


def _check_ids(spec: FieldSpec, value: Any, where: str) -> None:
    for item in _check_list(value, where, spec.path):
        if not isinstance(item, str) or not _ID_RE.fullmatch(item):
            raise InvalidInputError(f"field {spec.path!r} must list identifiers", where=where)


def _check_texts(spec: FieldSpec, value: Any, where: str) -> None:
    for item in _check_list(value, where, spec.path):
        _check_text(item, SHORT_TEXT, where, spec.path)


def _check_enums(spec: FieldSpec, value: Any, where: str) -> None:
    path = spec.path
    items = _check_list(value, where, path)
    for item in items:
        if not isinstance(item, str) or item not in spec.choices:
            raise InvalidInputError(
                f"field {path!r} items must be among: {', '.join(spec.choices)}", where=where
            )
    if len(set(items)) != len(items):
        raise InvalidInputError(f"field {path!r} lists an item twice", where=where)


def _check_persons(spec: FieldSpec, value: Any, where: str) -> None:
    path = spec.path
    for i, person in enumerate(_check_list(value, where, path)):
        if not isinstance(person, dict):
            raise InvalidInputError(f"field {path}[{i}] must be an object", where=where)
        for key in person:
            if key not in _PERSON_KEYS:
                raise InvalidInputError(_unknown(f"{path}[{i}]", str(key)), where=where)
        if "name" not in person:
            raise InvalidInputError(f"field '{path}[{i}].name' is required", where=where)
        for key, item in person.items():
            _check_text(item, SHORT_TEXT, where, f"{path}[{i}].{key}")


GEO_RANGES: Final = {"lat": (-90.0, 90.0), "lon": (-180.0, 180.0), "precision": (0.0, 1e7)}


def _check_geo(spec: FieldSpec, value: Any, where: str) -> None:
    path = spec.path
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"field {path!r} must be an object with lat, lon and (optionally) precision",
            where=where,
        )
    for key in value:
        if key not in GEO_KEYS:
            raise InvalidInputError(_unknown(path, str(key)), where=where)
    for key in ("lat", "lon"):
        if key not in value:
            raise InvalidInputError(f"field '{path}.{key}' is required", where=where)
    for key, item in value.items():
        low, high = GEO_RANGES[key]
        if (
            isinstance(item, bool)
            or not isinstance(item, (int, float))
            or not math.isfinite(item)
            or not low <= item <= high
        ):
            raise InvalidInputError(
                f"field '{path}.{key}' must be a number from {low:g} to {high:g}", where=where
            )


# One check per kind of field, looked up once per value.
_CHECKS: Final[dict[str, Callable[[FieldSpec, Any, str], None]]] = {
    "id": _check_id,
    "text": _check_short,
    "longtext": _check_long,
    "int": _check_int,
    "bool": _check_bool,
    "date": _check_date,
    "enum": _check_enum,
    "country": _check_country,
    "language": _check_language,
    "ids": _check_ids,
    "texts": _check_texts,
    "enums": _check_enums,
    "persons": _check_persons,
    "geo": _check_geo,
}


def _check_value(spec: FieldSpec, value: Any, where: str) -> None:
    _CHECKS[spec.kind](spec, value, where)


def validate_record(raw: Any, where: str, *, expect_type: str | None = None) -> dict[str, Any]:
    """Check ``raw`` against the contract and return it (unchanged) as a record.

    Raises :class:`InvalidInputError` naming ``where`` and the field on the first fault.
    """
    if not isinstance(raw, dict):
        raise InvalidInputError("a record must be a JSON object", where=where)
    rtype = raw.get("type")
    if rtype not in RECORD_SPECS:
        raise InvalidInputError(
            f"field 'type' must be one of: {', '.join(RECORD_TYPES)}", where=where
        )
    assert isinstance(rtype, str)
    if expect_type is not None and rtype != expect_type:
        raise InvalidInputError(
            f"field 'type' cannot change from {expect_type!r} to {rtype!r}", where=where
        )
    specs = RECORD_SPECS[rtype].fields
    rid = raw.get("id")
    if isinstance(rid, str) and _ID_RE.fullmatch(rid):
        where = f"{where}, record {rid}"
    seen: set[str] = set()
    for key, value in raw.items():
        _validate_field(specs, key, value, where, seen)
    for path, spec in specs.items():
        if spec.required and path not in seen:
            raise InvalidInputError(f"field {path!r} is required", where=where)
    return raw


def _validate_field(
    specs: Mapping[str, FieldSpec], path: str, value: Any, where: str, seen: set[str]
) -> None:
    spec = specs.get(path)
    if spec is None:
        raise InvalidInputError(_unknown(path), where=where)
    seen.add(path)
    if value is None:
        if spec.required:
            raise InvalidInputError(f"field {path!r} is required", where=where)
        return
    if spec.kind == "group":
        if not isinstance(value, dict):
            raise InvalidInputError(f"field {path!r} must be an object", where=where)
        for key, sub in value.items():
            if not isinstance(key, str) or "." in key:
                raise InvalidInputError(_unknown(path, str(key)), where=where)
            _validate_field(specs, f"{path}.{key}", sub, where, seen)
        return
    _check_value(spec, value, where)


def flatten(record: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, value)`` for every leaf of a validated record, in key order.

    An empty group yields the group's own path with ``{}`` so it reads back as it was.
    """
    groups = RECORD_SPECS[record["type"]].groups
    for key, value in record.items():
        if key in groups and isinstance(value, dict):
            if not value:
                yield key, {}
            for sub, subvalue in value.items():
                yield f"{key}.{sub}", subvalue
        else:
            yield key, value


def unflatten(order: list[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild a record from its field order and the field values one may see.

    Fields whose class was not opened are left out.
    """
    out: dict[str, Any] = {}
    for path in order:
        if path not in values:
            continue
        value = values[path]
        head, _, tail = path.partition(".")
        if tail:
            group = out.setdefault(head, {})
            group[tail] = value
        else:
            out[head] = value
    return out
