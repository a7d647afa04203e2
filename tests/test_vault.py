"""The vault through its Python API: round trips, versions, lookups, passphrases."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PASSPHRASE, SAMPLES, Backend, fast_kdf, sample_records
from corpus import canary_records
from vault import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Passphrase,
    StorageError,
    UsageError,
    Vault,
)


def test_every_sample_record_reads_back_exactly(loaded: Vault) -> None:
    for record in sample_records():
        got = loaded.get(record["id"], identity=True)
        assert got == record
        # Key order too: "exactly as imported".
        assert json.dumps(got, ensure_ascii=False) == json.dumps(record, ensure_ascii=False)


def test_every_field_of_every_type_round_trips(vault: Vault) -> None:
    from vault.schema import FIELDS

    records = canary_records()
    vault.import_records(records)
    for record in records:
        assert vault.get(record["id"], identity=True) == record
    # Samples plus canaries cover every field of the contract.
    covered: dict[str, set[str]] = {t: set() for t in FIELDS}
    for record in sample_records() + records:
        for key, value in record.items():
            covered[record["type"]].add(key)
            if isinstance(value, dict):
                covered[record["type"]].update(f"{key}.{k}" for k in value)
    for rtype, specs in FIELDS.items():
        assert set(specs) <= covered[rtype], set(specs) - covered[rtype]


def test_non_latin_scripts_survive(loaded: Vault) -> None:
    assert loaded.get("T-0001", identity=True)["worker"]["name"].startswith("Nguyễn Thị Hương")
    assert loaded.get("T-0002", identity=True)["narrative"].startswith("สมชายเล่าว่า")
    assert loaded.get("T-0003", identity=True)["worker"]["name"].startswith("王小明")
    assert loaded.get("T-0004", identity=True)["worker"]["name"].startswith("Jiří Dvořák")


_ids = itertools.count()
_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_text, narrative=_text, phone=_text, union=st.booleans(), year=st.integers(1900, 2010))
def test_round_trip_property(
    loaded: Vault, name: str, narrative: str, phone: str, union: bool, year: int
) -> None:
    rec = copy.deepcopy(sample_records()[4])
    rec["id"] = f"H-{next(_ids)}"
    rec["worker"].update(name=name, phone=phone, union_member=union, birth_year=year)
    rec["narrative"] = narrative
    loaded.add(rec)
    assert loaded.get(rec["id"], identity=True) == rec


def test_update_keeps_earlier_versions(loaded: Vault) -> None:
    original = loaded.get("F-0001", identity=True)
    changed = {**original, "status": "remediated"}
    assert loaded.update("F-0001", changed) == 2
    assert loaded.get("F-0001", identity=True) == changed
    assert loaded.get("F-0001", version=1, identity=True) == original
    assert [v.version for v in loaded.versions("F-0001")] == [1, 2]
    summary = next(s for s in loaded.list(type="finding") if s.id == "F-0001")
    assert summary.version == 2
    with pytest.raises(NotFoundError):
        loaded.get("F-0001", version=3)


def test_update_refuses_another_id_or_type(loaded: Vault) -> None:
    rec = loaded.get("T-0001", identity=True)
    with pytest.raises(InvalidInputError, match="'id'"):
        loaded.update("T-0001", {**rec, "id": "T-9999"})
    site = loaded.get("SITE-001")
    with pytest.raises(InvalidInputError, match="'type'"):
        loaded.update("T-0001", site | {"id": "T-0001"})
    with pytest.raises(NotFoundError):
        loaded.update("NOPE", rec)
    assert [v.version for v in loaded.versions("T-0001")] == [1]


def test_update_replaces_blind_indexes(loaded: Vault) -> None:
    rec = loaded.get("T-0003", identity=True)
    rec["worker"]["email"] = "new.address@example.org"
    loaded.update("T-0003", rec)
    assert [s.id for s in loaded.find(email="NEW.address@example.org")] == ["T-0003"]
    assert loaded.find(email="wang.fictional@example.net") == []


def test_find_by_blind_index(loaded: Vault) -> None:
    assert [s.id for s in loaded.find(employee_id="emp-55001")] == ["T-0001"]
    assert [s.id for s in loaded.find(email="WANG.FICTIONAL@example.net")] == ["T-0003"]
    # International, national and spaced spellings of one number meet.
    for spelling in ("+84 912 345 678", "+84912345678", "0912 345 678", "0912-345-678"):
        assert [s.id for s in loaded.find(phone=spelling)] == ["T-0001"], spelling
    assert [s.id for s in loaded.find(phone="081 234 5678", region="TH")] == ["T-0002"]
    assert {s.id for s in loaded.find(site="SITE-003")} == {
        "SITE-003",
        "T-0001",
        "T-0005",
        "F-0001",
    }
    assert [s.id for s in loaded.find(site="SITE-003", employee_id="EMP-55001")] == ["T-0001"]
    assert loaded.find(employee_id="EMP-00000") == []
    with pytest.raises(UsageError):
        loaded.find()


def test_list_pages_are_stretches_of_the_whole_list(loaded: Vault) -> None:
    # A page is picked from the records first, then their newest versions: an
    # updated record keeps its place, and filters apply before the page is cut.
    record = loaded.get("T-0001")
    loaded.update("T-0001", record | {"channel": "hotline"})
    for kind, site in ((None, None), ("testimony", None), (None, "SITE-003"), ("site", None)):
        whole = [(s.id, s.version) for s in loaded.list(type=kind, site=site)]
        assert whole, (kind, site)
        for limit, offset in itertools.product((1, 2, 3, 100), (0, 1, 2, len(whole))):
            page = loaded.list(type=kind, site=site, limit=limit, offset=offset)
            assert [(s.id, s.version) for s in page] == whole[offset : offset + limit]
        assert [s.id for s in loaded.list(type=kind, site=site, offset=1)] == [
            i for i, _v in whole[1:]
        ]
    assert ("T-0001", 2) in [(s.id, s.version) for s in loaded.list()]


def test_list_filters(loaded: Vault) -> None:
    assert [s.id for s in loaded.list(type="site")] == [
        "SITE-001",
        "SITE-002",
        "SITE-003",
        "SITE-004",
    ]
    assert {s.id for s in loaded.list(site="SITE-002")} == {"SITE-002", "T-0002", "F-0002"}
    summaries = {s.id: s for s in loaded.list()}
    assert summaries["T-0001"].date == "2026-03-14"
    assert summaries["F-0002"].site_id == "SITE-002"
    # A summary carries no identity, narrative or special value.
    text = json.dumps([s.to_dict() for s in summaries.values()], ensure_ascii=False)
    assert "Nguyễn" not in text
    assert "fictional)" not in text


def test_testimonies_of_one_worker_share_one_subject_key(vault: Vault) -> None:
    records = sample_records()
    vault.import_records(records)
    follow_up = copy.deepcopy(records[4])
    follow_up["id"] = "T-0001-b"
    vault.add(follow_up)
    other_site = copy.deepcopy(follow_up)
    other_site.update(id="T-0001-c", site_id="SITE-002")
    vault.add(other_site)
    from sqlalchemy import select

    from vault.store import Record

    with vault._ctx.engine.connect() as conn:
        subjects = dict(conn.execute(select(Record.ref, Record.subject_id)).all())
    ref = vault._ctx.codec.reference
    assert subjects[ref("T-0001")] == subjects[ref("T-0001-b")]
    # Same employee id at another site is another worker.
    assert subjects[ref("T-0001")] != subjects[ref("T-0001-c")]
    assert subjects[ref("T-0001")] != subjects[ref("T-0005")]


def test_duplicate_id_is_a_conflict(loaded: Vault) -> None:
    before = loaded.stats()
    with pytest.raises(ConflictError, match="SITE-001"):
        loaded.add(sample_records()[0])
    with pytest.raises(ConflictError, match="twice"):
        loaded.import_records([{**sample_records()[0], "id": "NEW"}] * 2)
    assert loaded.stats() == before


def test_forward_references_within_one_import(vault: Vault) -> None:
    records = sample_records()
    findings_first = [r for r in records if r["type"] == "finding"] + [
        r for r in records if r["type"] != "finding"
    ]
    assert vault.import_records(findings_first).count == len(records)


def test_wrong_passphrase(backend: Backend) -> None:
    backend.create().close()
    with pytest.raises(AuthenticationError, match="wrong passphrase") as err:
        backend.open("not the passphrase")
    assert "not the passphrase" not in str(err.value)


def test_unknown_custodian_looks_like_a_wrong_passphrase(backend: Backend) -> None:
    backend.create().close()
    with pytest.raises(AuthenticationError, match="wrong passphrase"):
        backend.open(custodian="nobody")


def test_change_passphrase(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        from conftest import fast_kdf

        v.change_passphrase(Passphrase("a brand new passphrase"), kdf=fast_kdf())
    with pytest.raises(AuthenticationError):
        backend.open(PASSPHRASE)
    with backend.open("a brand new passphrase") as v:
        assert v.get("T-0001", identity=True) == sample_records()[4]


def test_create_refuses_an_existing_vault(backend: Backend) -> None:
    backend.create().close()
    with pytest.raises(ConflictError):
        backend.create()


def test_open_without_a_vault(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        Vault.open(tmp_path / "none", Passphrase("x"))
    with pytest.raises(UsageError):
        Vault.open(None, Passphrase("x"))


def test_vault_and_its_parts_hide_keys_in_repr(loaded: Vault) -> None:
    text = repr(loaded) + repr(loaded._ctx.keys) + repr(loaded._ctx.codec) + str(loaded._ctx.keys)
    master = loaded._ctx.keys._roots["master"].expose()
    assert master.hex() not in text
    assert PASSPHRASE not in text
    assert "[secure]" in repr(loaded._ctx.keys)


def test_a_failed_create_leaves_nothing_a_second_try_would_trip_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "new"
    with pytest.raises(InvalidInputError, match="custodian name"):
        Vault.create(folder, Passphrase(PASSPHRASE), custodian="a b/c", kdf=fast_kdf())
    assert not folder.exists()
    # A failure inside the transaction (here the first audit entry) makes nothing
    # either: no tables, no file, and the folder the caller made stays as it was.
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise StorageError("the disk is full")

    monkeypatch.setattr("vault.unlock.audit.append", refuse)
    with pytest.raises(StorageError, match="the disk is full"):
        Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf())
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    monkeypatch.undo()
    with Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf()) as v:
        v.import_file(SAMPLES)
        assert v.stats()["testimony"] == 5
