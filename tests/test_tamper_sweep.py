"""Someone holding the database moves, copies, deletes or empties the plain rows that
say which worker, site and record a row belongs to: `check` names every such change
(the sealed values are covered by tests/test_tamper.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend, fast_kdf, sample_records
from vault import Passphrase, Vault
from vault.store import sqlite_url

# Testimonies of three workers at one site and of one at another: moves stay plausible.
_A, _B, _C = "T-0001", "T-0002", "T-0003"

Change = Callable[[Connection, dict[str, str]], None]


def _sql(sql: str) -> Change:
    def run(conn: Connection, refs: dict[str, str]) -> None:
        assert conn.execute(text(sql), refs).rowcount >= 1, sql

    return run


CHANGES: dict[str, Change] = {
    # records: who a testimony belongs to, where, and what it is
    "pointer moved": _sql(
        "UPDATE records SET subject_id = (SELECT subject_id FROM records WHERE ref = :b) "
        "WHERE ref = :a"
    ),
    "pointer emptied": _sql("UPDATE records SET subject_id = NULL WHERE ref = :a"),
    "pointers swapped": _sql(
        "UPDATE records SET subject_id = CASE ref "
        "WHEN :a THEN (SELECT subject_id FROM records WHERE ref = :b) "
        "ELSE (SELECT subject_id FROM records WHERE ref = :a) END WHERE ref IN (:a, :b)"
    ),
    "site moved": _sql(
        "UPDATE records SET site_ref = (SELECT site_ref FROM records WHERE ref = :s) WHERE ref = :a"
    ),
    "type changed": _sql("UPDATE records SET type = 'finding' WHERE ref = :a"),
    # blind_index: what finds a worker, a record, a survey's submission
    "employee id row moved": _sql(
        "UPDATE blind_index SET record_ref = :b WHERE record_ref = :a AND kind = 'employee_id'"
    ),
    "worker row moved": _sql(
        "UPDATE blind_index SET record_ref = :b WHERE record_ref = :a AND kind = 'subject'"
    ),
    "worker row copied": _sql(
        "INSERT INTO blind_index (record_ref, kind, mac) SELECT :c, kind, mac "
        "FROM blind_index WHERE record_ref = :a AND kind = 'subject'"
    ),
    "worker row deleted": _sql(
        "DELETE FROM blind_index WHERE record_ref = :a AND kind = 'subject'"
    ),
    "source row moved": _sql(
        "UPDATE blind_index SET record_ref = :a WHERE record_ref = :k AND kind = 'source'"
    ),
    "source row deleted": _sql("DELETE FROM blind_index WHERE record_ref = :k AND kind = 'source'"),
    "phone row deleted": _sql("DELETE FROM blind_index WHERE record_ref = :a AND kind = 'phone'"),
    "row kind changed": _sql(
        "UPDATE blind_index SET kind = 'phone' WHERE record_ref = :a AND kind = 'employee_id'"
    ),
    "values swapped": _sql(
        "UPDATE blind_index SET mac = CASE record_ref "
        "WHEN :a THEN (SELECT mac FROM blind_index WHERE record_ref = :b AND kind = 'name') "
        "ELSE (SELECT mac FROM blind_index WHERE record_ref = :a AND kind = 'name') END "
        "WHERE record_ref IN (:a, :b) AND kind = 'name'"
    ),
    # subjects: the workers' keys
    "keys swapped": _sql(
        "UPDATE subjects SET wrapped_key = CASE id "
        "WHEN (SELECT subject_id FROM records WHERE ref = :a) "
        "THEN (SELECT wrapped_key FROM subjects WHERE id = "
        "(SELECT subject_id FROM records WHERE ref = :b)) "
        "ELSE (SELECT wrapped_key FROM subjects WHERE id = "
        "(SELECT subject_id FROM records WHERE ref = :a)) END "
        "WHERE id IN ((SELECT subject_id FROM records WHERE ref = :a), "
        "(SELECT subject_id FROM records WHERE ref = :b))"
    ),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("sweep") / "vault"
    with Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0) as v:
        v.import_file(SAMPLES)
        # A second version: the checks read the newest.
        v.update(_B, next(r for r in sample_records() if r["id"] == _B) | {"narrative": "Later."})
        # A survey's submission, found again by its source key.
        v.add(
            next(r for r in sample_records() if r["id"] == _C) | {"id": "K-1", "source_key": "u-1"}
        )
        refs = {
            "a": v._ctx.codec.reference(_A),
            "b": v._ctx.codec.reference(_B),
            "c": v._ctx.codec.reference(_C),
            "s": v._ctx.codec.reference("SITE-004"),
            "k": v._ctx.codec.reference("K-1"),
        }
        assert list(v.check()) == []
    return folder, refs


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_to_the_plain_rows_is_named_by_check(
    prepared: tuple[Path, dict[str, str]], tmp_path: Path, change: str
) -> None:
    source, refs = prepared
    folder = tmp_path / "vault"
    shutil.copytree(source, folder)
    engine = create_engine(sqlite_url(folder))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            CHANGES[change](conn, refs)
    finally:
        engine.dispose()
    backend = Backend("sqlite", folder, None)
    with backend.open() as v:
        found = list(v.check())
    assert found, f"{change}: check found nothing"
