"""The record contract as JSON Schema, for the OpenAPI document.

Invariants: the schemas are generated from :data:`vault.schema.RECORD_SPECS` (field
names, kinds, choices, required fields and sensitivity classes), never written by
hand, so the document cannot drift from what the vault accepts; each record type is
one named component (``SiteRecord``, ...), and ``Record`` is their union with
``type`` as the discriminator. The schemas describe shape and limits; a few rules
stay with the vault's own validation (a real country code, a date that exists, a
birth year no later than this year, text that is not only spaces), which answers
422 naming the field.
"""

from __future__ import annotations

from typing import Any, Final

from vault.schema import (
    DATE_PATTERN,
    GEO_RANGES,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    LONG_TEXT,
    MAX_LIST,
    PERSON_FIELDS,
    RECORD_SPECS,
    SHORT_TEXT,
    FieldSpec,
    RecordType,
    Sensitivity,
)

__all__: list[str] = []

RECORD: Final = "Record"
_REF: Final = "#/components/schemas/"
_CLASS_NOTES: Final = {
    Sensitivity.IDENTITY: "Identity: taken on input, never served through the API.",
    Sensitivity.QUASI: "Quasi-identifier.",
    Sensitivity.SPECIAL: "Special category: served to tokens with the special class.",
    Sensitivity.NARRATIVE: "Free text: served to tokens with the narrative class.",
}


def schema_name(record_type: str) -> str:
    """The component name of a record type's schema: ``site`` -> ``SiteRecord``."""
    return f"{record_type.capitalize()}Record"


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


def _id() -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{ID_PATTERN}$"}


def _value(spec: FieldSpec, record_type: str) -> dict[str, Any]:
    """The schema of one leaf field's value, by its kind."""
    kind = spec.kind
    if spec.path == "type":
        return {"type": "string", "const": record_type}
    if kind == "id":
        return _id()
    if kind in ("text", "longtext"):
        return _text(SHORT_TEXT if kind == "text" else LONG_TEXT)
    if kind == "int":
        return {"type": "integer"}
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"}
    if kind == "enum":
        return {"type": "string", "enum": list(spec.choices)}
    if kind == "country":
        return {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2."}
    if kind == "language":
        return {"type": "string", "pattern": f"^{LANGUAGE_PATTERN}$"}
    if kind == "geo":
        return {
            "type": "object",
            "description": "A point: latitude, longitude (degrees) and its precision (metres).",
            "properties": {
                key: {"type": "number", "minimum": low, "maximum": high}
                for key, (low, high) in GEO_RANGES.items()
            },
            "required": ["lat", "lon"],
            "additionalProperties": False,
        }
    items: dict[str, Any]
    if kind == "ids":
        items = _id()
    elif kind == "texts":
        items = _text(SHORT_TEXT)
    elif kind == "enums":
        items = {"type": "string", "enum": list(spec.choices)}
    elif kind == "persons":
        items = {
            "type": "object",
            "properties": {key: _text(SHORT_TEXT) for key in PERSON_FIELDS},
            "required": [PERSON_FIELDS[0]],
            "additionalProperties": False,
        }
    else:  # pragma: no cover - the contract's kinds are closed
        raise AssertionError(kind)
    out: dict[str, Any] = {"type": "array", "items": items, "maxItems": MAX_LIST}
    if kind == "enums":
        out["uniqueItems"] = True
    return out


def _field(spec: FieldSpec, value: dict[str, Any]) -> dict[str, Any]:
    """A field's property: its value, or null where the field is optional."""
    prop = value if spec.required else {"anyOf": [value, {"type": "null"}]}
    note = _CLASS_NOTES.get(spec.sensitivity)
    return (
        prop | ({"description": note} if note else {}) | {"x-sensitivity": spec.sensitivity.value}
    )


def _object(fields: list[tuple[str, FieldSpec, dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        **extra,
        "properties": {name: _field(spec, value) for name, spec, value in fields},
        "required": [name for name, spec, _value in fields if spec.required],
        "additionalProperties": False,
    }


def record_schema(spec: RecordType) -> dict[str, Any]:
    """One record type's JSON Schema, from its entry in ``RECORD_SPECS``."""
    top: list[tuple[str, FieldSpec, dict[str, Any]]] = []
    for path, field in spec.fields.items():
        group, _, leaf = path.partition(".")
        if leaf:
            continue
        if field.kind == "group":
            leaves = [
                (sub.path.partition(".")[2], sub, _value(sub, spec.name))
                for sub in spec.fields.values()
                if sub.path.startswith(f"{group}.")
            ]
            top.append((path, field, _object(leaves)))
        else:
            top.append((path, field, _value(field, spec.name)))
    return _object(
        top,
        title=schema_name(spec.name),
        description=f"A {spec.name} record, as imported and as served (see README).",
    )


def record_schemas() -> dict[str, dict[str, Any]]:
    """A component per record type, and ``Record``, their union on ``type``."""
    out = {schema_name(name): record_schema(spec) for name, spec in RECORD_SPECS.items()}
    out[RECORD] = {
        "title": RECORD,
        "description": "Any record; `type` says which.",
        "oneOf": [{"$ref": _REF + schema_name(name)} for name in RECORD_SPECS],
        "discriminator": {
            "propertyName": "type",
            "mapping": {name: _REF + schema_name(name) for name in RECORD_SPECS},
        },
    }
    return out


def type_records(doc: dict[str, Any]) -> None:
    """Add the record schemas to an OpenAPI document, and let the routes that take
    or give one whole record refer to them."""
    doc.setdefault("components", {}).setdefault("schemas", {}).update(record_schemas())
    ref = {"$ref": _REF + RECORD}
    doc["paths"]["/records"]["post"]["requestBody"]["content"]["application/json"]["schema"] = ref
    got = doc["paths"]["/records/{record_id}"]["get"]["responses"]["200"]
    got["content"]["application/json"]["schema"] = ref
