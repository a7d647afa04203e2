"""Backups: consistent, encrypted snapshots that restore and verify; nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import ConflictError, IntegrityError, Passphrase, Vault
from vault.backup import restore_backup, verify_backup
from vault.cli import cli


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
    r = runner.invoke(cli, ["verify-backup", str(out), "--identity", str(key), "--json"])
    assert r.exit_code == 0, r.output
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
