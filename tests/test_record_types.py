"""Record types have one source of truth: the field table decides how a record is split
and sealed, so a new group or field cannot fall under the wrong key by default."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from conftest import sample_records
from vault import Vault
from vault.errors import InvalidInputError
from vault.keys import KeyClass
from vault.policy import find_policy, parse_policy
from vault.schema import (
    DATE_FIELDS,
    FIELDS,
    RECORD_SPECS,
    RECORD_TYPES,
    FieldSpec,
    RecordType,
    Sensitivity,
    flatten,
)
from vault.store import RecordVersion, sealed_columns

CANARY = "signal-handle-QX7-canary"


def test_record_types_are_one_table() -> None:
    assert tuple(RECORD_SPECS) == RECORD_TYPES
    assert {t: s.fields for t, s in RECORD_SPECS.items()} == FIELDS
    assert DATE_FIELDS == {"testimony": "received_on", "finding": "audit_date"}
    for rtype, spec in RECORD_SPECS.items():
        assert spec.name == rtype
        if spec.date_field is not None:
            assert spec.fields[spec.date_field].kind == "date"


@pytest.mark.parametrize("record", sample_records(), ids=lambda r: str(r["id"]))
def test_flatten_yields_only_classed_leaves(record: dict[str, Any]) -> None:
    spec = RECORD_SPECS[record["type"]]
    for path, value in flatten(record):
        assert path in spec.fields, path
        if spec.fields[path].kind == "group":
            assert value in ({}, None), path  # only an empty group stands for itself


def _with_contact_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new group under testimonies, as an engineer would add it to the field table."""
    base = RECORD_SPECS["testimony"]
    fields = dict(base.fields)
    fields["contact"] = FieldSpec("contact", "group", Sensitivity.OPERATIONAL)
    fields["contact.signal"] = FieldSpec("contact.signal", "text", Sensitivity.IDENTITY)
    fields["contact.preferred_hours"] = FieldSpec(
        "contact.preferred_hours", "text", Sensitivity.OPERATIONAL
    )
    extended = RecordType("testimony", base.date_field, fields)
    monkeypatch.setitem(RECORD_SPECS, "testimony", extended)
    monkeypatch.setitem(FIELDS, "testimony", extended.fields)


def test_a_new_group_with_an_identity_field_is_sealed_under_the_identity_key(
    monkeypatch: pytest.MonkeyPatch, vault: Vault
) -> None:
    _with_contact_group(monkeypatch)
    records = sample_records()
    vault.import_records([r for r in records if r["type"] == "site"])
    testimony = next(r for r in records if r["type"] == "testimony")
    testimony = testimony | {"contact": {"signal": CANARY, "preferred_hours": "evenings"}}
    vault.add(testimony)

    # The leaf is split out of its group and sealed by its own class.
    assert dict(flatten(testimony))["contact.signal"] == CANARY
    assert RECORD_SPECS["testimony"].key_class_names["contact.signal"] == "identity"

    # Without identity, the group comes back without the identity field ...
    plain = vault.get(testimony["id"])
    assert plain["contact"] == {"preferred_hours": "evenings"}
    # ... with it (approvals are off in this fixture), whole.
    whole = vault.get(testimony["id"], identity=True)
    assert whole["contact"] == {"signal": CANARY, "preferred_hours": "evenings"}

    # The operational blob alone does not hold it: only the subject key opens it.
    ctx = vault._ctx
    ref = ctx.codec.reference(testimony["id"])
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(*RecordVersion.__table__.c).where(RecordVersion.record_ref == ref)
        ).one()
    order, fields = ctx.codec.open_operational(
        sealed_columns(row), "testimony", ref, row.version, "test"
    )
    assert "contact.signal" in order
    assert "contact.signal" not in fields
    assert CANARY not in repr(fields)
    assert row.identity_data is not None
    opened = ctx.codec.open(
        sealed_columns(row),
        "testimony",
        ref,
        row.version,
        None,
        "test",
        classes=[KeyClass.OPERATIONAL, KeyClass.NARRATIVE, KeyClass.SPECIAL],
    )
    assert CANARY not in repr(opened)


def test_a_field_without_a_class_is_sealed_nowhere(vault: Vault) -> None:
    testimony = next(r for r in sample_records() if r["type"] == "testimony")
    with pytest.raises(ValueError, match="key class"):
        vault._ctx.codec.seal(testimony | {"unclassed": "x"}, "testimony", "ref", 1, None)


def test_the_policy_floor_covers_identity_in_every_record_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A finding type that gained an identity field (say, the auditor's informant):
    # a policy that keeps it is refused as it would be for a testimony.
    base = RECORD_SPECS["finding"]
    fields = dict(base.fields)
    fields["informant"] = FieldSpec("informant", "text", Sensitivity.IDENTITY)
    extended = RecordType("finding", base.date_field, fields)
    monkeypatch.setitem(RECORD_SPECS, "finding", extended)
    monkeypatch.setitem(FIELDS, "finding", extended.fields)
    text = find_policy("monitor").text
    assert "informant" not in text
    anchor = "      evidence: {pseudonymize: recipient}\n"
    assert text.count(anchor) == 1
    with pytest.raises(InvalidInputError, match="identity fields may only be dropped"):
        parse_policy(text.replace(anchor, anchor + "      informant: keep\n"), "monitor.yaml")
    parse_policy(text, "monitor.yaml")  # dropping it, by saying nothing, stays allowed


def test_every_kind_of_field_has_its_check() -> None:
    from vault.schema import _CHECKS, RECORD_SPECS

    kinds = {f.kind for spec in RECORD_SPECS.values() for f in spec.fields.values()}
    assert kinds - {"group"} <= set(_CHECKS)
