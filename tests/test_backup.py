"""Backups: consistent, encrypted snapshots that restore and verify; nothing overwritten."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity
from sqlalchemy import create_engine
from test_check import damage_page, flip_version
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import ConflictError, IntegrityError, Passphrase, Vault
from vault.backup import restore_backup, verify_backup
from vault.cli import cli
from vault.store import sqlite_url


def test_backup_restores_a_working_vault(
    sqlite_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("offsite", public)
        out = tmp_path / "vault.backup.age"
        v.backup(out, "offsite")
        v.add(sample_records()[0] | {"id": "AFTER-BACKUP"})
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    assert b"SQLite format 3" not in data
    report = verify_backup(out, key)
    assert report["records"] == 11
    restored = tmp_path / "restored"
    restore_backup(out, key, restored)
    from vault import Passphrase, Vault

    with Vault.open(restored, Passphrase(PASSPHRASE)) as r:
        assert r.get("T-0001", identity=True) == sample_records()[4]
        # On this machine the vault went on after the backup: its witness says the
        # restored copy is a rollback, as it is.
        with pytest.raises(IntegrityError, match="witness"):
            r.audit_verify()
        from vault import NotFoundError

        with pytest.raises(NotFoundError):
            r.get("AFTER-BACKUP")
    # Elsewhere (a machine that never saw the later entries) the restored log verifies.
    monkeypatch.setenv("EVAULT_STATE_DIR", str(tmp_path / "elsewhere"))
    with Vault.open(restored, Passphrase(PASSPHRASE)) as r:
        r.audit_verify()
    with pytest.raises(ConflictError):
        restore_backup(out, key, restored)


def test_damaged_or_foreign_backups_are_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    _identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        out = tmp_path / "b.age"
        v.backup(out, public)
    damaged = tmp_path / "damaged.age"
    raw = bytearray(out.read_bytes())
    raw[len(raw) // 2] ^= 1
    damaged.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        verify_backup(damaged, key)
    _other, other_key, _pub = new_identity(tmp_path, "other.txt")
    with pytest.raises(IntegrityError):
        verify_backup(out, other_key)


def test_backup_cli(sqlite_backend: Backend, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    _identity, key, public = new_identity(tmp_path)
    out = tmp_path / "b.age"
    r = runner.invoke(cli, ["backup", "--out", str(out), "--to", public], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key), "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["records_opened"] is True
    r = runner.invoke(
        cli, ["--vault", str(tmp_path / "new"), "restore", str(out), "--identity", str(key)]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, ["--vault", str(tmp_path / "new"), "restore", str(out), "--identity", str(key)]
    )
    assert r.exit_code == 7
    assert "already exists" in r.output  # refused before a byte of the vault is touched
    with Vault.open(tmp_path / "new", Passphrase(PASSPHRASE)) as restored:
        restored.audit_verify()


def _tamper(folder: Path, record_id: str) -> None:
    """Flip a bit of a record's narrative, with SQL."""
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        ref = v._ctx.codec.reference(record_id)
    engine = create_engine(sqlite_url(folder))
    try:
        flip_version(engine, ref, 1, "narrative_data")
    finally:
        engine.dispose()


def test_a_damaged_vault_is_backed_up_only_when_forced_and_its_backup_says_so(
    sqlite_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    _identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("offsite", public)
    _tamper(sqlite_backend.folder, "F-0001")
    out = tmp_path / "b.age"
    damaged = r"record_versions: record F-0001 version 1"
    with (
        Vault.open(sqlite_backend.folder, Passphrase(PASSPHRASE)) as v,
        pytest.raises(IntegrityError, match=damaged),
    ):
        v.backup(out, "offsite")
    assert not out.exists()

    runner = CliRunner()
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    r = runner.invoke(cli, ["backup", "--out", str(out), "--to", "offsite"], env=env)
    assert r.exit_code == 4
    assert r.stderr.count("\n") == 1
    assert "the vault is damaged: record_versions: record F-0001 version 1" in r.stderr
    assert "--force" in r.stderr
    assert not out.exists()
    r = runner.invoke(cli, ["backup", "--out", str(out), "--to", "offsite", "--force"], env=env)
    assert r.exit_code == 0, r.output
    with Vault.open(sqlite_backend.folder, Passphrase(PASSPHRASE)) as v:
        assert [e.details for e in v.audit_entries() if e.action == "backup"] == [
            {"recipient": "offsite", "forced": True}
        ]
    witness = sorted(Path(os.environ["EVAULT_STATE_DIR"]).glob("*.audit-witness.json"))
    kept = {w: w.read_bytes() for w in witness}

    # The database alone is sound: only opening the records shows the damage.
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key), "--database-only"])
    assert r.exit_code == 0, r.output
    assert "(records not opened)" in r.stdout
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key)], env=env)
    assert r.exit_code == 4, r.output
    assert r.stdout.splitlines()[0] == (
        "damaged: record_versions: record F-0001 version 1: integrity check failed"
    )
    assert "1 damaged: vault" in r.stdout
    assert r.stderr == "evault: error: the backup is damaged: 1 finding (listed above)\n"
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key), "--json"], env=env)
    assert r.exit_code == 4
    report = json.loads(r.stdout)
    assert (report["valid"], report["records_opened"], report["damaged"]) == (False, True, 1)
    assert report["findings"][0]["record_id"] == "F-0001"
    with pytest.raises(IntegrityError, match="record F-0001 version 1"):
        verify_backup(out, key, Passphrase(PASSPHRASE))
    r = runner.invoke(
        cli, ["verify-backup", str(out), "--identity", str(key)], env={"EVAULT_PASSPHRASE": "no"}
    )
    assert r.exit_code == 3  # the backed-up vault's own passphrase opens it, nothing else

    # The decrypted copies are gone, and checking them moved no witness of the vault.
    assert list(private.iterdir()) == []
    assert {w: w.read_bytes() for w in witness} == kept
    with Vault.open(sqlite_backend.folder, Passphrase(PASSPHRASE)) as v:
        v.audit_verify()


def test_a_vault_whose_audit_log_is_damaged_can_still_be_saved(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    _identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        for _ in range(300):
            v.versions("SITE-001")  # the log spans many pages
    damage_page(sqlite_backend.folder, "audit_log", "internal")
    out = tmp_path / "b.age"
    with Vault.open(sqlite_backend.folder, Passphrase(PASSPHRASE)) as v:
        with pytest.raises(IntegrityError, match="audit_log: the table: its pages are damaged"):
            v.backup(out, public)
        # The log cannot take the backup's entry: a forced backup goes ahead regardless.
        assert v.backup(out, public, force=True) > 0
    with pytest.raises(IntegrityError, match="audit_log"):
        verify_backup(out, key)
    runner = CliRunner()
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key), "--database-only"])
    assert r.exit_code == 4
    assert r.stdout.startswith("damaged: audit_log: the table: its pages are damaged")
    r = runner.invoke(
        cli,
        ["verify-backup", str(out), "--identity", str(key)],
        env={"EVAULT_PASSPHRASE": PASSPHRASE},
    )
    assert r.exit_code == 4
    assert "damaged: audit_log: the chain: cannot be verified past its damaged pages" in r.stdout
    assert "11 records" in r.stdout
