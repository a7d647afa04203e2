"""Backups and restores under faults: kills and full disks leave nothing behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import IO, Any

import pytest
from exporting import new_identity

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import Passphrase, StorageError, Vault, age
from vault.backup import restore_backup

# Run in a child so that it can be killed, or limited, without touching the tests.
_CHILD = """
import os, resource, signal, sys
from pathlib import Path
from vault import Passphrase, Vault, age, backup
mode, folder, out, key = sys.argv[1:5]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "kill-backup":
    age.encrypt_stream = die
    with Vault.open(Path(folder), Passphrase(os.environ["PASSPHRASE"])) as v:
        v.backup(Path(out), key)
elif mode == "kill-restore":
    backup._check = die
    backup.restore_backup(Path(out), Path(key), Path(folder))
elif mode == "full-restore":
    # A file-size limit stands in for a small disk: writes past it fail with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = os.path.getsize(out) // 2
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from vault.cli import main
    sys.argv = ["evault", "--vault", folder, "restore", out, "--identity", key]
    main()
"""


def _child(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSPHRASE": PASSPHRASE, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _backed_up(backend: Backend, tmp_path: Path) -> tuple[Path, Path, str]:
    _identity, key, public = new_identity(tmp_path)
    with backend.create() as v:
        v.import_file(SAMPLES)
        out = tmp_path / "b.age"
        v.backup(out, public)
    return out, key, public


def test_a_killed_backup_leaves_no_snapshot_past_the_next_open(
    sqlite_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _out, _key, public = _backed_up(sqlite_backend, tmp_path)
    private = tmp_path / "tmp"
    private.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    folder = sqlite_backend.folder
    r = _child(private, "kill-backup", str(folder), str(dest / "b.age"), public)
    assert r.returncode == -9, r.stderr
    # The plaintext snapshot never lived in the vault folder ...
    assert not [p for p in folder.iterdir() if p.name.startswith(".evault-")]
    # (The destination may hold a partial file, but only ever ciphertext.)
    assert all(b"SQLite" not in p.read_bytes() for p in dest.iterdir())
    # ... and the killed backup's private copy goes with the next open, as does the
    # copy an older version left in the vault folder.
    assert list(private.iterdir())
    (folder / ".evault-backup-old").write_bytes(b"SQLite format 3\0")
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    with Vault.open(folder, Passphrase(PASSPHRASE)):
        pass
    assert not list(private.iterdir())
    assert not (folder / ".evault-backup-old").exists()


def test_a_backup_into_a_full_folder_says_so_and_leaves_nothing(
    sqlite_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _out, _key, public = _backed_up(sqlite_backend, tmp_path)
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    dest = tmp_path / "dest"
    dest.mkdir()

    def full(plain: IO[bytes], sink: IO[bytes], recipient: Any) -> None:
        sink.write(b"age-encryption.org/v1\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(age, "encrypt_stream", full)
    with (
        Vault.open(sqlite_backend.folder, Passphrase(PASSPHRASE)) as v,
        pytest.raises(StorageError, match="disk is full"),
    ):
        v.backup(dest / "b.age", public)
    assert not list(dest.iterdir())
    assert not list(private.iterdir())
    assert not [p for p in sqlite_backend.folder.iterdir() if p.name.startswith(".evault-")]


def test_a_killed_restore_is_run_again(sqlite_backend: Backend, tmp_path: Path) -> None:
    out, key, _public = _backed_up(sqlite_backend, tmp_path)
    target = tmp_path / "restored"
    r = _child(tmp_path, "kill-restore", str(target), str(out), str(key))
    assert r.returncode == -9, r.stderr
    # No vault (complete or truncated) under the vault's name ...
    assert not (target / "vault.db").exists()
    # ... and the re-run is not refused.
    info = restore_backup(out, key, target)
    assert info["records"] == 11
    assert sorted(p.name for p in target.iterdir()) == ["vault.db"]
    with Vault.open(target, Passphrase(PASSPHRASE)) as v:
        assert v.get("T-0001")


def test_a_restore_onto_a_full_disk_says_the_disk_is_full(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    out, key, _public = _backed_up(sqlite_backend, tmp_path)
    target = tmp_path / "restored"
    r = _child(tmp_path, "full-restore", str(target), str(out), str(key))
    assert r.returncode == 10, r.stdout + r.stderr  # StorageFullError
    assert "disk is full" in r.stderr
    assert "decrypt" not in r.stderr
    assert not target.exists() or not list(target.iterdir())
