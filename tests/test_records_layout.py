"""How a version's blobs are laid out: its field order as numbers into a table that
only grows at its end, each class's fields keyed by the same numbers, its
blind-index entries in base64; versions sealed before (paths and hex) read as they
did, and a tampered number is refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import Backend, sample_records
from vault import IntegrityError, crypto
from vault.keys import KeyClass
from vault.records import ORDER_CODES, RecordCodec, SealedVersion, index_entry
from vault.schema import RECORD_SPECS

# The tables as they first were: a number, once given, names its path forever.
PINNED = {
    "site": ("type", "id", "source_key", "name", "kind", "country", "region", "operator"),
    "testimony": (
        *("type", "id", "source_key", "site_id", "received_on", "channel", "language"),
        *("worker", "worker.name", "worker.employee_id", "worker.phone", "worker.email"),
        *("worker.address", "worker.location", "worker.aliases", "worker.gender"),
        *("worker.birth_year", "worker.nationality", "worker.migrant", "worker.job_title"),
        *("worker.department", "worker.union_member", "worker.union_name"),
        *("persons_mentioned", "allegations", "narrative", "consent", "consent.share_with"),
        *("consent.recorded_on", "consent.withdrawn", "risk", "risk.retaliation"),
    ),
    "finding": (
        *("type", "id", "source_key", "site_id", "audit_date", "monitor", "category"),
        *("standard_refs", "severity", "summary", "details", "evidence", "status"),
        *("remediation", "remediation.plan", "remediation.due", "remediation.updated"),
    ),
}

SUBJECT = "subject-1"
INDEX = [("employee_id", bytes(range(32))), ("phone", b"\xff" * 32)]


def test_the_tables_only_grow_and_hold_every_path_of_the_contract() -> None:
    assert set(ORDER_CODES) == set(RECORD_SPECS)
    for rtype, paths in ORDER_CODES.items():
        assert paths[: len(PINNED[rtype])] == PINNED[rtype], rtype
        assert len(set(paths)) == len(paths), rtype
        assert set(RECORD_SPECS[rtype].fields) <= set(paths), (
            f"add the contract's new {rtype} fields at the end of records.ORDER_CODES"
        )


def _testimony() -> dict[str, Any]:
    record = next(r for r in sample_records() if r["type"] == "testimony" and "worker" in r)
    # Keys out of the contract's order: the order read back is the one sealed.
    return dict(reversed(list(record.items())))


def _sealed(codec: RecordCodec, record: dict[str, Any]) -> tuple[SealedVersion, Any]:
    subject = (SUBJECT, crypto.random_key())
    ref = codec.reference(record["id"])
    sealed = codec.seal(record, "testimony", ref, 1, subject, index=INDEX, subject_id=SUBJECT)
    return sealed, subject


# A sealed testimony in a new vault: its codec, record, reference, sealed columns
# and worker key.
Sealed = tuple[RecordCodec, dict[str, Any], str, dict[str, Any], Any]


@pytest.fixture
def sealed(sqlite_backend: Backend) -> Iterator[Sealed]:
    with sqlite_backend.create() as v:
        codec: RecordCodec = v._ctx.codec
        record = _testimony()
        version, subject = _sealed(codec, record)
        yield codec, record, codec.reference(record["id"]), version.columns(), subject


def _resealed(
    codec: RecordCodec, columns: dict[str, Any], ref: str, change: Callable[[Any], Any]
) -> dict[str, Any]:
    new = codec.replace_class(columns, "testimony", ref, 1, KeyClass.OPERATIONAL, change, "t")
    assert new is not None
    return columns | new


def _opened(codec: RecordCodec, columns: dict[str, Any], ref: str, subject: Any) -> Any:
    return codec.open(columns, "testimony", ref, 1, subject, "t", subject_id=SUBJECT)


def _paths(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields keyed by their paths, as versions were sealed before."""
    return {ORDER_CODES["testimony"][int(k)] if k.isdigit() else k: v for k, v in fields.items()}


def _old_form(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in payload.items() if k not in ("o", "ix")}
    out["order"] = [ORDER_CODES["testimony"][n] for n in payload["o"]]
    out["fields"] = _paths(payload["fields"])
    out["index"] = [f"{kind}:{mac.hex()}" for kind, mac in INDEX]
    return out


def test_new_versions_are_numbered_and_old_ones_read_the_same(sealed: Sealed) -> None:
    codec, record, ref, columns, subject = sealed
    payload = codec._operational_payload(columns, "testimony", ref, 1, "t")
    assert "order" not in payload
    assert "index" not in payload
    assert all(type(n) is int for n in payload["o"])
    opened = _opened(codec, columns, ref, subject)
    assert opened == record
    assert list(opened) == list(record)
    extras = codec.sealed_extras(columns, "testimony", ref, 1, "t")
    # Each value sealed whole, as index_entry compares rows with them.
    assert extras.index == frozenset(f"{kind}:{mac.hex()}" for kind, mac in INDEX)
    assert extras.index == frozenset(index_entry(kind, mac) for kind, mac in INDEX)
    assert all(len(e.partition(":")[2]) == 43 for e in payload["ix"])
    # The operational fields are keyed by number too.
    assert payload["fields"]
    assert all(k.isdigit() for k in payload["fields"])
    # Smaller than the same version sealed the way versions were before.
    old = _resealed(codec, columns, ref, _old_form)
    assert len(columns["operational_data"]) + 250 < len(old["operational_data"])
    assert _opened(codec, old, ref, subject) == record
    assert list(_opened(codec, old, ref, subject)) == list(record)
    assert codec.sealed_extras(old, "testimony", ref, 1, "t") == extras


def test_no_path_of_the_contract_reads_as_a_number() -> None:
    for paths in ORDER_CODES.values():
        assert not any(p.isdigit() for p in paths)


def _class_fields(codec: RecordCodec, columns: dict[str, Any], ref: str, kc: KeyClass) -> Any:
    seen: list[Any] = []

    def keep(fields: Any) -> None:
        seen.append(fields)

    codec.replace_class(columns, "testimony", ref, 1, kc, keep, "t")
    return seen[0] if seen else None


def _raw_class(codec: RecordCodec, columns: dict[str, Any], ref: str, kc: KeyClass) -> Any:
    ctx = codec._context("testimony", ref, 1)
    return codec._open_class(kc, columns[f"{kc.value}_key"], columns[f"{kc.value}_data"], ctx, "t")


def _reseal_raw(
    codec: RecordCodec, columns: dict[str, Any], ref: str, kc: KeyClass, fields: dict[str, Any]
) -> dict[str, Any]:
    """A class sealed again with exactly these stored fields (no numbering)."""
    ctx = codec._context("testimony", ref, 1).extend(kc.value)
    dek = crypto.random_key()
    kv = codec.kek_version
    return columns | {
        f"{kc.value}_key": crypto.wrap_key(
            codec._keys.class_kek(kc, kv), dek, ctx.extend(kv), key_version=kv
        ),
        f"{kc.value}_data": crypto.seal(dek, json.dumps(fields).encode(), ctx),
    }


def test_every_class_keys_its_fields_by_number_and_old_blobs_read_the_same(
    sealed: Sealed,
) -> None:
    codec, record, ref, columns, subject = sealed
    identity = json.loads(
        crypto.open_sealed(
            subject[1],
            columns["identity_data"],
            codec._context("testimony", ref, 1).extend("identity", SUBJECT),
        )
    )
    assert {"8", "9"} <= set(identity)  # worker.name, worker.employee_id
    assert all(k.isdigit() for k in identity)
    narrative = _raw_class(codec, columns, ref, KeyClass.NARRATIVE)
    assert narrative
    assert all(k.isdigit() for k in narrative)
    assert "25" in narrative  # narrative
    # replace_class hands over paths, whatever is stored.
    assert "narrative" in _class_fields(codec, columns, ref, KeyClass.NARRATIVE)
    # The same class sealed keyed by paths (as before) reads the same.
    old = _reseal_raw(codec, columns, ref, KeyClass.NARRATIVE, _paths(narrative))
    assert len(old["narrative_data"]) > len(columns["narrative_data"])
    assert _opened(codec, old, ref, subject) == record
    # An erasure's rewrite keeps them numbered.
    rewritten = codec.replace_class(
        columns,
        "testimony",
        ref,
        1,
        KeyClass.NARRATIVE,
        lambda f: {p: "[removed]" if p == "narrative" else v for p, v in f.items()},
        "t",
    )
    assert rewritten is not None
    again = _raw_class(codec, columns | rewritten, ref, KeyClass.NARRATIVE)
    assert again["25"] == "[removed]"
    assert all(k.isdigit() for k in again)


@pytest.mark.parametrize(
    "entries",
    [["employee_id:00"], ["employee_id:zz"], ["employee_id"], [7], "employee_id:00"],
    ids=["short", "not-hex", "no-value", "not-text", "not-a-list"],
)
def test_bad_index_entries_sealed_before_are_refused(sealed: Sealed, entries: Any) -> None:
    codec, _record, ref, columns, _subject = sealed

    def old(p: dict[str, Any]) -> dict[str, Any]:
        return {k: w for k, w in p.items() if k != "ix"} | {"index": entries}

    bad = _resealed(codec, columns, ref, old)
    with pytest.raises(IntegrityError):
        codec.sealed_extras(bad, "testimony", ref, 1, "t")


@pytest.mark.parametrize(
    "fields",
    [{"999": "x"}, {"025": "x"}, {"25": "x", "narrative": "y"}, {"\u0662\u0665": "x"}],
    ids=["beyond", "leading-zero", "twice", "not-ascii-digits"],
)
def test_a_bad_field_key_is_refused(sealed: Sealed, fields: dict[str, Any]) -> None:
    codec, _record, ref, columns, subject = sealed
    bad = _reseal_raw(codec, columns, ref, KeyClass.NARRATIVE, fields)
    # Arabic-Indic digits are no number: a path the sealed order does not hold.
    with pytest.raises(IntegrityError):
        _opened(codec, bad, ref, subject)


@pytest.mark.parametrize(
    "change",
    [
        {"o": [999]},
        {"o": [-1]},
        {"o": [True]},
        {"o": ["0"]},
        {"o": "0"},
        {"o": None},
    ],
    ids=["beyond", "negative", "bool", "text", "not-a-list", "none"],
)
def test_a_bad_number_is_refused(sealed: Sealed, change: dict[str, Any]) -> None:
    codec, _record, ref, columns, subject = sealed
    bad = _resealed(codec, columns, ref, lambda p: p | change)
    with pytest.raises(IntegrityError):
        _opened(codec, bad, ref, subject)


@pytest.mark.parametrize(
    "entries",
    [
        ["employee_id:***"],
        ["employee_id"],
        [":AAAA"],
        [7],
        "employee_id:AAAA",
        ["phone:AAAAB"],
        ["phone:AAAAAAAAAAA"],
        ["phone:" + "A" * 22],
    ],
    ids=[
        *("not-base64", "no-value", "no-kind", "not-text", "not-a-list", "not-canonical"),
        *("short", "half"),
    ],
)
def test_bad_index_entries_are_refused(sealed: Sealed, entries: Any) -> None:
    codec, _record, ref, columns, _subject = sealed
    bad = _resealed(codec, columns, ref, lambda p: p | {"ix": entries})
    with pytest.raises(IntegrityError):
        codec.sealed_extras(bad, "testimony", ref, 1, "t")
