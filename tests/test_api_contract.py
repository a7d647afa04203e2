"""The record contract in the OpenAPI document: one schema per record type, made from
``RECORD_SPECS`` (so it cannot drift from what the vault accepts), and the record
routes refer to them."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest

from conftest import sample_records
from vault import InvalidInputError
from vault.api import openapi_document
from vault.api.contract import schema_name
from vault.schema import RECORD_SPECS, validate_record

DOC = openapi_document()
SCHEMAS = DOC["components"]["schemas"]
RECORD = jsonschema_rs.validator_for(
    {"$ref": "#/components/schemas/Record", "components": DOC["components"]}
)


def _value(prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without the null an optional field may be."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    assert len(options) == 1
    only: dict[str, Any] = options[0]
    return only


@pytest.mark.parametrize("record_type", list(RECORD_SPECS))
def test_each_record_type_is_a_schema_made_from_the_contract(record_type: str) -> None:
    spec = RECORD_SPECS[record_type]
    schema = SCHEMAS[schema_name(record_type)]
    top = {path: f for path, f in spec.fields.items() if "." not in path}
    assert list(schema["properties"]) == list(top)
    assert schema["required"] == [path for path, f in top.items() if f.required]
    assert schema["additionalProperties"] is False
    for path, field in spec.fields.items():
        group, _, leaf = path.partition(".")
        prop = schema["properties"][group]
        if leaf:
            holder = _value(prop)
            assert holder["additionalProperties"] is False
            prop = holder["properties"][leaf]
        assert prop["x-sensitivity"] == field.sensitivity.value, path
        assert ("anyOf" in prop) is not field.required, path  # optional fields may be null
        value = _value(prop)
        if path == "type":
            assert value["const"] == record_type
        elif field.kind == "enum":
            assert value["enum"] == list(field.choices), path
        elif field.kind == "enums":
            assert value["items"]["enum"] == list(field.choices), path
    groups = {p.partition(".")[0] for p in spec.fields if "." in p}
    for group in groups:
        leaves = [p.partition(".")[2] for p in spec.fields if p.startswith(f"{group}.")]
        assert list(_value(schema["properties"][group])["properties"]) == leaves


def test_the_record_routes_refer_to_the_union_on_type() -> None:
    union = SCHEMAS["Record"]
    names = [schema_name(t) for t in RECORD_SPECS]
    assert [o["$ref"].rsplit("/", 1)[1] for o in union["oneOf"]] == names
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == set(RECORD_SPECS)
    ref = {"$ref": "#/components/schemas/Record"}
    body = DOC["paths"]["/records"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == ref
    got = DOC["paths"]["/records/{record_id}"]["get"]["responses"]["200"]["content"]
    assert got["application/json"]["schema"] == ref


def _variants(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Records the contract refuses: an unknown field, at the top and in a group, a
    required field left out, a type that does not match the fields."""
    out = [record | {"unknown": 1}, {k: v for k, v in record.items() if k != "id"}]
    other = next(t for t in RECORD_SPECS if t != record["type"])
    out.append(record | {"type": other})
    for key, value in record.items():
        if isinstance(value, dict):
            bad = copy.deepcopy(record)
            bad[key]["unknown"] = 1
            out.append(bad)
    return out


def test_the_schemas_accept_and_refuse_what_the_vault_does() -> None:
    for record in sample_records():
        validate_record(record, "sample")
        assert RECORD.is_valid(record), record["id"]
        for bad in _variants(record):
            with pytest.raises(InvalidInputError):
                validate_record(bad, "variant")
            assert not RECORD.is_valid(bad), record["id"]
