"""Deleting or rolling back the audit log is caught by `audit verify` alone: the head
is also kept outside the database (beside an SQLite vault and in each user's own state
folder) and in every export's signed manifest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from exporting import new_identity, open_export
from sqlalchemy import create_engine, text

from conftest import SAMPLES, Backend
from vault import IntegrityError
from vault.policy import find_policy
from vault.store import sqlite_url


def _sql(backend: Backend, sql: str) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_a_wiped_log_is_caught_without_a_checkpoint(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.audit_verify()
    _sql(backend, "DELETE FROM audit_log")
    _sql(backend, "DELETE FROM meta WHERE key = 'audit_head'")
    with backend.open() as v, pytest.raises(IntegrityError, match="0 entries, fewer than"):
        v.audit_verify()


def test_a_rolled_back_vault_is_caught_even_with_its_folder(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
    # Someone keeps a copy of the whole folder (database and witness beside it) ...
    copy = tmp_path / "copy"
    shutil.copytree(backend.folder, copy)
    with backend.open() as v:
        v.get("T-0001")  # ... the log goes on ...
        v.erase_subject(testimony_id="T-0001")
        grown = v.audit_verify().size
    # ... and they put the old folder back: every entry since is gone, head and all.
    shutil.rmtree(backend.folder)
    shutil.copytree(copy, backend.folder)
    with backend.open() as v, pytest.raises(IntegrityError, match="rolled back"):
        v.audit_verify()
    state = Path(os.environ["EVAULT_STATE_DIR"])
    witness = json.loads(next(state.glob(f"{v.vault_id}.*")).read_text(encoding="utf-8"))
    assert witness["size"] >= grown


def test_an_altered_witness_is_refused(sqlite_backend: Backend) -> None:
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
    path = sqlite_backend.folder / "audit-witness.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["size"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with sqlite_backend.open() as v, pytest.raises(IntegrityError, match=r"witness .* altered"):
        v.audit_verify()


def test_the_witness_holds_no_record_value(sqlite_backend: Backend) -> None:
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
    data = json.loads((sqlite_backend.folder / "audit-witness.json").read_text(encoding="utf-8"))
    assert set(data) == {"format", "vault_id", "size", "head", "tag"}


def test_every_export_carries_the_head_under_its_signature(
    backend: Backend, tmp_path: Path
) -> None:
    identity, _key, public = new_identity(tmp_path)
    out = tmp_path / "union.age"
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        summary = v.export(find_policy("union"), "ituc", out)
        entries = v.audit_entries()
    members = open_export(out, identity)
    manifest = json.loads(members["manifest.json"])
    assert manifest["audit"] == summary["audit"]
    started = next(e for e in entries if e.action == "export-started")
    assert manifest["audit"]["size"] == started.seq


def test_a_rollback_is_not_laundered_by_later_work(sqlite_backend: Backend, tmp_path: Path) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
    copy = tmp_path / "copy"
    shutil.copytree(backend.folder, copy)
    with backend.open() as v:
        v.get("T-0001", identity=True)  # entries the rollback will lose
        v.erase_subject(testimony_id="T-0002")
    shutil.rmtree(backend.folder)
    shutil.copytree(copy, backend.folder)
    with backend.open() as v:
        for _ in range(12):  # ordinary work grows the forked log past the witness
            v.get("T-0003")
    with backend.open() as v, pytest.raises(IntegrityError, match="differs from the witness"):
        v.audit_verify()


def test_every_witness_is_compared(sqlite_backend: Backend) -> None:
    backend = sqlite_backend
    with backend.create() as v:
        v.import_file(SAMPLES)
    state = Path(os.environ["EVAULT_STATE_DIR"])
    folder_witness = backend.folder / "audit-witness.json"
    with backend.open() as v:
        mine = next(state.glob(f"{v.vault_id}.*"))
    # A witness of the same size but another head, planted first in the list, does
    # not hide the other one.
    data = json.loads(mine.read_text(encoding="utf-8"))
    planted = json.loads(folder_witness.read_text(encoding="utf-8"))
    assert planted["size"] == data["size"]
    planted["head"] = "00" * 32
    folder_witness.write_text(json.dumps(planted), encoding="utf-8")
    with backend.open() as v, pytest.raises(IntegrityError, match="witness"):
        v.audit_verify()
    # Another vault's witness where this vault keeps its own is refused too.
    planted["vault_id"] = "f" * 32
    folder_witness.write_text(json.dumps(planted), encoding="utf-8")
    with backend.open() as v, pytest.raises(IntegrityError, match="another vault"):
        v.audit_verify()
