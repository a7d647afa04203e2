"""`evault check`: every damaged table and record is named, and the walk goes on past it.

Damage is made for real: a byte of a sealed value flipped with SQL (on SQLite and
PostgreSQL), and whole pages of the SQLite file overwritten (found with ``dbstat``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from exporting import new_identity
from sqlalchemy import Engine, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend, fast_kdf, passphrase_of, sample_records
from vault import IntegrityError, Passphrase, Vault
from vault.checking import Finding
from vault.cli import cli
from vault.store import DB_FILENAME, sqlite_url

# A fixed pattern, so that a damaged page is damaged the same way on every run.
GARBAGE = bytes((i * 37 + 11) % 256 for i in range(4000))


@pytest.fixture
def sample(backend: Backend) -> Iterator[tuple[Backend, Engine]]:
    with backend.create() as v:
        v.import_file(SAMPLES)
        # A second version of T-0002, so that a damaged first version can be named.
        v.update("T-0002", sample_records()[5] | {"narrative": "A corrected account."})
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    yield backend, engine
    engine.dispose()


def ref_of(backend: Backend, record_id: str) -> str:
    with backend.open(custodian="admin") as v:
        return v._ctx.codec.reference(record_id)


def flip(engine: Engine, table: str, column: str, where: str, **params: object) -> None:
    """Flip one bit in the middle of a stored value, with SQL."""
    with engine.begin() as conn:
        blob = bytearray(
            conn.execute(text(f"SELECT {column} FROM {table} WHERE {where}"), params).scalar_one()
        )
        blob[len(blob) // 2] ^= 0x01
        conn.execute(
            text(f"UPDATE {table} SET {column} = :blob WHERE {where}"),
            {**params, "blob": bytes(blob)},
        )


def flip_version(engine: Engine, ref: str, version: int, column: str) -> None:
    flip(engine, "record_versions", column, "record_ref = :r AND version = :v", r=ref, v=version)


def damage_page(folder: Path, table: str, kind: str = "leaf") -> int:
    """Overwrite one page of ``table`` in the SQLite file (a middle one of ``kind``:
    ``leaf`` or ``internal``); returns its number."""
    db = folder / DB_FILENAME
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            p
            for (p,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno",
                (table, kind),
            )
        ]
    finally:
        conn.close()
    assert pages, f"{table} has no {kind} page"
    page = pages[len(pages) // 2]
    with db.open("r+b") as f:
        # Past the page header's type byte, so SQLite still takes it for a b-tree page.
        f.seek((page - 1) * size + 8)
        f.write(GARBAGE[: size - 16])
    return int(page)


def findings(backend: Backend) -> list[Finding]:
    with backend.open(custodian="admin") as v:
        return list(v.check())


def cli_check(backend: Backend, *args: str) -> Any:
    env = {"EVAULT_PASSPHRASE": PASSPHRASE, "EVAULT_CUSTODIAN": "admin"}
    return CliRunner().invoke(cli, [*backend.cli_args(), "check", *args], env=env)


def test_a_clean_vault_checks_clean_and_the_check_is_audited(
    sample: tuple[Backend, Engine],
) -> None:
    backend, _engine = sample
    with backend.open() as v:
        seen: list[int] = []
        run = v.check(progress=seen.append)
        assert list(run) == []
        run.verdict()
        assert run.total == 11
        assert sum(seen) == 11
        summary = run.summary
        assert (summary.records, summary.versions, summary.worker_keys) == (11, 12, 5)
        assert summary.classes == ["identity", "special", "narrative", "operational"]
        assert summary.audited
        assert summary.audit_entries > 0
        actions = [e.action for e in v.audit_entries()]
    assert actions[-3:-1] == ["check", "check-finished"]
    result = cli_check(backend)
    assert result.exit_code == 0, result.output
    assert "no damage found." in result.output
    result = cli_check(backend, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["clean"] is True
    assert report["findings"] == []
    assert report["summary"]["records"] == 11


def test_flipped_values_are_named_and_the_check_carries_on(
    sample: tuple[Backend, Engine],
) -> None:
    backend, engine = sample
    t1, t2, f1 = (ref_of(backend, r) for r in ("T-0001", "T-0002", "F-0001"))
    flip_version(engine, t1, 1, "operational_data")  # nothing of T-0001 opens any more
    flip_version(engine, t2, 1, "narrative_data")  # its version 2 still opens
    flip_version(engine, f1, 1, "narrative_data")  # its operational class still opens
    found = findings(backend)
    assert [str(f) for f in found] == [
        f"record_versions: record ref {t1[:12]} version 1 (testimony): integrity check failed",
        "record_versions: record T-0002 version 1: integrity check failed",
        "record_versions: record F-0001 version 1: integrity check failed",
    ]
    assert (found[0].record_id, found[0].ref, found[0].version) == (None, t1, 1)
    assert (found[1].record_id, found[1].ref, found[1].version) == ("T-0002", t2, 1)
    with backend.open() as v:
        run = v.check()
        with pytest.raises(IntegrityError, match="record T-0002 version 1"):
            run.verdict()
        assert run.summary.records == 11  # every record was walked
        assert [e.details for e in v.audit_entries() if e.action == "check-finished"][-1][
            "findings"
        ] == 3

    result = cli_check(backend)
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    assert lines[0] == f"damaged: {found[0]}"
    assert lines[2] == "damaged: record_versions: record F-0001 version 1: integrity check failed"
    assert "3 damaged." in lines[-1]
    assert result.stderr == "evault: error: the vault is damaged: 3 findings (listed above)\n"

    result = cli_check(backend, "--json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["clean"] is False
    assert report["summary"]["findings"] == 3
    assert report["findings"][1] == {
        "table": "record_versions",
        "where": "record T-0002 version 1",
        "problem": "integrity check failed",
        "record_id": "T-0002",
        "ref": t2,
        "version": 1,
    }


def test_a_custodian_checks_only_the_classes_they_hold(sample: tuple[Backend, Engine]) -> None:
    backend, engine = sample
    with backend.open() as v:
        v.add_custodian("ops", Passphrase(passphrase_of("ops")), role="custodian", kdf=fast_kdf())
        v.add_custodian("aud", Passphrase(passphrase_of("aud")), role="auditor", kdf=fast_kdf())
    flip_version(engine, ref_of(backend, "F-0001"), 1, "narrative_data")
    ops = backend.open(passphrase_of("ops"), custodian="ops")
    with ops:
        run = ops.check()
        assert list(run) == []  # the narrative class is not theirs to open
        assert run.summary.classes == ["operational"]
        assert run.summary.worker_keys == 0
    aud = backend.open(passphrase_of("aud"), custodian="aud")
    with aud:
        run = aud.check()
        assert list(run) == []
        assert (run.summary.classes, run.summary.records) == ([], 0)
        assert run.summary.audit_entries > 0
    assert [str(f) for f in findings(backend)] == [
        "record_versions: record F-0001 version 1: integrity check failed"
    ]


def test_moved_routing_and_index_rows_and_broken_keys_are_found(
    sample: tuple[Backend, Engine],
) -> None:
    backend, engine = sample
    t1, t3 = ref_of(backend, "T-0001"), ref_of(backend, "T-0003")
    elsewhere = ref_of(backend, "SITE-004")  # a site's own reference is its site's
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE records SET site_ref = :s WHERE ref = :r"), {"s": elsewhere, "r": t1}
        )
        conn.execute(
            text(
                "INSERT INTO blind_index (record_ref, kind, mac) "
                "SELECT :t, kind, mac FROM blind_index WHERE record_ref = :f AND kind = 'phone'"
            ),
            {"t": t3, "f": t1},
        )
        subject = conn.execute(
            text("SELECT subject_id FROM records WHERE ref = :r"), {"r": ref_of(backend, "T-0004")}
        ).scalar_one()
    flip(engine, "subjects", "wrapped_key", "id = :s", s=subject)
    found = [str(f) for f in findings(backend)]
    assert found == [
        f"subjects: worker key {subject[:12]}: integrity check failed",
        "records: record T-0001 version 1: integrity check failed (its site)",
        "blind_index: record T-0003 version 1: rows not sealed with the record",
    ]


def test_an_index_row_changed_in_its_last_bits_is_found(sample: tuple[Backend, Engine]) -> None:
    backend, engine = sample
    t1 = ref_of(backend, "T-0001")
    with engine.begin() as conn:
        mac = conn.execute(
            text("SELECT mac FROM blind_index WHERE record_ref = :r AND kind = 'employee_id'"),
            {"r": t1},
        ).scalar_one()
        conn.execute(
            text("UPDATE blind_index SET mac = :n WHERE record_ref = :r AND kind = 'employee_id'"),
            {"n": bytes(mac[:16]) + bytes(16), "r": t1},
        )
    with backend.open() as v:
        assert v.find(employee_id="EMP-55001") == []
    assert [str(f) for f in findings(backend)] == [
        "blind_index: record T-0001 version 1: rows not sealed with the record"
    ]


@pytest.mark.parametrize("kind", ["subject", "employee_id", "source"])
def test_a_deleted_index_row_is_found_and_an_erasure_is_not(
    sample: tuple[Backend, Engine], tmp_path: Path, kind: str
) -> None:
    # A deleted `subject` row would give a returning worker a second key; a deleted
    # employee-id row hides a testimony from a search; a deleted source row lets a
    # survey's record be stored twice. Erasure removes all but the source key's.
    backend, engine = sample
    survey = {**sample_records()[4], "id": "T-SURVEY", "source_key": "uuid-1"}
    survey["worker"] = survey["worker"] | {"employee_id": "EMP-77001"}
    with backend.open() as v:
        v.add(survey)
        assert v.erase_subject(testimony_id="T-0003") == 1
        erased_survey = {**survey, "id": "T-GONE", "source_key": "uuid-2"}
        erased_survey["worker"] = survey["worker"] | {"employee_id": "EMP-77002"}
        v.add(erased_survey)
        assert v.erase_subject(testimony_id="T-GONE") == 1
    assert findings(backend) == []
    with engine.begin() as conn:
        gone = conn.execute(
            text("DELETE FROM blind_index WHERE record_ref = :r AND kind = :k"),
            {"r": ref_of(backend, "T-SURVEY"), "k": kind},
        )
        assert gone.rowcount == 1
    assert [str(f) for f in findings(backend)] == [
        "blind_index: record T-SURVEY version 1: rows it was sealed with are missing"
    ]


def test_signed_rows_that_were_edited_are_found(
    sample: tuple[Backend, Engine], tmp_path: Path
) -> None:
    backend, engine = sample
    with backend.open() as v:
        v.add_recipient("union", new_identity(tmp_path)[2])
        v.add_custodian("ana", Passphrase(passphrase_of("ana")), role="custodian", kdf=fast_kdf())
    with engine.begin() as conn:
        conn.execute(text("UPDATE recipients SET fingerprint = 'swapped'"))
        conn.execute(text("UPDATE custodians SET classes = 'narrative' WHERE name = 'ana'"))
    assert [str(f) for f in findings(backend)] == [
        "custodians: custodian 'ana': integrity check failed",
        "recipients: recipient 'union': integrity check failed",
    ]


def test_a_damaged_file_is_named_with_its_record(backend: Backend, tmp_path: Path) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        info = v.attach("T-0001", io.BytesIO(b"%PDF-1.4 payslip " * 9000), name="payslip.pdf")
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    try:
        flip(engine, "attachment_chunks", "data", "attachment_id = :a AND idx = 1", a=info.id)
    finally:
        engine.dispose()
    found = findings(backend)
    assert [str(f) for f in found] == [
        f"attachment_chunks: file {info.id} of record T-0001: "
        "does not open or does not match its intake hash"
    ]
    assert found[0].record_id == "T-0001"


def test_damaged_pages_are_named_by_table_and_record(sqlite_backend: Backend) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.import_records(
            {**r, "id": f"{r['id']}-{n}"}
            for n in range(40)
            for r in sample_records()
            if r["type"] == "testimony"
        )
    page = damage_page(backend.folder, "record_versions")
    with backend.open() as v:
        run = v.check()
        found = list(run)
        assert run.summary.records == 211  # every record row was walked
    # One damaged page or more, each named by its number.
    assert str(found[0]).startswith("record_versions: the table: its pages are damaged (page")
    assert str(page) in str(found[0])
    rest = found[1:]
    assert rest, "the records on the damaged page are named"
    for finding in rest:
        assert finding.table == "record_versions"
        assert finding.where.endswith("(testimony)")
        assert finding.problem == "its versions cannot be read (damaged pages)"
        assert finding.ref is not None
    assert run.summary.versions == 211 - len(rest)


def test_a_damaged_stretch_of_the_records_table_is_stepped_over(sqlite_backend: Backend) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.import_records(
            {**r, "id": f"{r['id']}-{n}"}
            for n in range(60)
            for r in sample_records()
            if r["type"] == "testimony"
        )
    damage_page(backend.folder, "records")
    with backend.open() as v:
        run = v.check()
        found = [f for f in run if f.table == "records"]
    assert found[0].where == "the table"
    gap = found[1]
    assert gap.where.startswith("the rows after record number ")
    assert " and before record number " in gap.where
    assert 0 < run.summary.records < 311  # the rows past the damaged page were walked too
    assert run.summary.versions >= run.summary.records


def test_a_damaged_audit_page_and_a_damaged_record_are_both_found(
    sqlite_backend: Backend,
) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
        for _ in range(300):
            v.versions("SITE-001")  # each is an audit entry: the log spans many pages
        t1 = v._ctx.codec.reference("T-0001")
    engine = create_engine(sqlite_url(backend.folder))
    try:
        flip_version(engine, t1, 1, "special_data")
    finally:
        engine.dispose()
    damage_page(backend.folder, "audit_log", "internal")
    with backend.open() as v:
        run = v.check()
        found = [str(f) for f in run]
        assert not run.summary.audited  # the log cannot take the check's entry
    assert found == [
        "audit_log: the table: its pages are damaged (so badly that the integrity check stops)",
        "record_versions: record T-0001 version 1: integrity check failed",
        "audit_log: the chain: cannot be verified past its damaged pages",
    ]
    result = cli_check(backend)
    assert result.exit_code == 4, result.output
    assert "(the audit log could not record this check)" in result.stdout


def test_a_check_needs_a_role_that_may_read(backend: Backend) -> None:
    from vault import PermissionDeniedError

    with backend.create() as v:
        v.add_custodian(
            "exp",
            Passphrase(passphrase_of("exp")),
            role="exporter",
            policies=["public"],
            kdf=fast_kdf(),
        )
    with (
        backend.open(passphrase_of("exp"), custodian="exp") as v,
        pytest.raises(PermissionDeniedError),
    ):
        v.check()


def test_a_check_runs_once(loaded: Vault) -> None:
    from vault import UsageError

    run = loaded.check()
    list(run)
    with pytest.raises(UsageError):
        list(run)


def test_reads_of_intact_records_go_on_while_the_audit_log_is_damaged(
    sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vault import journal

    monkeypatch.setenv("EVAULT_STATE_DIR", str(tmp_path / "state"))
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
        for _ in range(300):
            v.versions("SITE-001")
        vault_id, key = v.vault_id, v._ctx.keys.audit_key()
    damage_page(backend.folder, "audit_log", "internal")
    runner = CliRunner()
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    base = backend.cli_args()
    result = runner.invoke(cli, [*base, "show", "T-0002", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "T-0002"
    result = runner.invoke(cli, [*base, "show", "F-0001"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*base, "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 11
    # Writes, and reads of identity fields, still fail closed.
    for args in (["update", "F-0001", "-"], ["show", "T-0002", "--identity"]):
        result = runner.invoke(cli, [*base, *args], env=env, input=json.dumps(sample_records()[9]))
        assert result.exit_code == 14, result.output
    with backend.open() as v:
        assert [x.version for x in v.versions("F-0001")] == [1]

    path = tmp_path / "state" / f"{vault_id}.audit-journal.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["action"] for e in lines] == ["read", "read", "versions", "list", "versions"]
    assert all(e["actor"] == "admin" and e["vault_id"] == vault_id for e in lines)
    assert "T-0002" not in path.read_text()  # keyed references only
    assert journal.verify(path, key, vault_id) == 5
    result = cli_check(backend)
    assert result.exit_code == 4
    assert f"5 reads were recorded in {path}" in result.stdout.splitlines()[-1]

    edited = path.read_text().replace('"list"', '"find"')
    path.write_text(edited)
    with pytest.raises(IntegrityError, match="broken at line 4"):
        journal.verify(path, key, vault_id)
    with backend.open() as v:
        found = [str(f) for f in v.check()]
    assert f"audit_log: the journal {path}: the audit journal {path} is broken at line 4" in found


def test_reads_go_on_when_the_vaults_disk_is_full(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import subprocess

    from vault import journal

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs is not permitted here")
    try:
        monkeypatch.setenv("EVAULT_STATE_DIR", str(tmp_path / "state"))
        backend = Backend("sqlite", disk / "vault", None)
        with backend.create() as v:
            v.import_file(SAMPLES)
            vault_id, key = v.vault_id, v._ctx.keys.audit_key()
        # Fill the disk to the last byte.
        # The disk fills while the vault is in use (another process holds it open,
        # its write-ahead log in place).
        holder = backend.open()
        holder.list()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            for size in (65536, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)
        runner = CliRunner()
        env = {"EVAULT_PASSPHRASE": PASSPHRASE}
        base = backend.cli_args()
        shown = runner.invoke(cli, [*base, "show", "T-0002", "--json"], env=env)
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["id"] == "T-0002"
        # A write fails closed with the disk-full error.
        update = runner.invoke(
            cli, [*base, "update", "F-0001", "-"], env=env, input=json.dumps(sample_records()[9])
        )
        assert update.exit_code == 10, update.output
        path = tmp_path / "state" / f"{vault_id}.audit-journal.jsonl"
        assert [e["action"] for e in map(json.loads, path.read_text().splitlines())] == ["read"]
        assert journal.verify(path, key, vault_id) == 1
        holder.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_damaged_record_is_named_and_the_others_still_listed(sqlite_backend: Backend) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
        ref = v._ctx.codec.reference("T-0001")
    conn = sqlite3.connect(backend.folder / DB_FILENAME)
    try:
        blob = bytearray(
            conn.execute(
                "SELECT operational_data FROM record_versions WHERE record_ref = ?", (ref,)
            ).fetchone()[0]
        )
        blob[len(blob) // 2] ^= 1
        conn.execute(
            "UPDATE record_versions SET operational_data = ? WHERE record_ref = ?",
            (bytes(blob), ref),
        )
        conn.commit()
    finally:
        conn.close()
    result = CliRunner().invoke(
        cli, [*backend.cli_args(), "list", "--json"], env={"EVAULT_PASSPHRASE": PASSPHRASE}
    )
    assert result.exit_code == 4, result.output
    listed = json.loads(result.stdout)
    assert len(listed) == 10
    assert "T-0001" not in {r["id"] for r in listed}
    assert f"record ref {ref[:12]}" in result.stderr
    assert "evault check" in result.stderr
