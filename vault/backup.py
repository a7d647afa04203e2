"""Backups: a consistent snapshot of an SQLite vault, age-encrypted to a recipient.

Invariants: the snapshot comes from SQLite's online backup API (a consistent copy
even while the vault is in use); it is written to disk only inside the vault's own
folder permissions (0600) and only as age ciphertext at its destination; restoring
refuses to overwrite a vault. The snapshot holds what the vault holds: sealed fields
and wrapped keys — including the keys of workers erased after it was taken
(SECURITY.md says what that means for retention).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TypedDict

from vault import age
from vault.context import Context
from vault.errors import ConflictError, IntegrityError, InvalidInputError, UsageError
from vault.sharing import list_recipients
from vault.store import DB_FILENAME, sqlite_file

__all__ = ["BackupInfo", "backup", "make_backup", "restore_backup", "verify_backup"]


def backup(ctx: Context, out: str | os.PathLike[str], recipient: str) -> int:
    """An age-encrypted snapshot of an SQLite vault to a registered recipient's name or
    an age key; returns its size."""
    ctx.require("admin")
    db_file = sqlite_file(ctx.engine)
    if db_file is None:
        raise UsageError("back up a PostgreSQL vault with pg_dump (see README)")
    key = recipient
    for row in list_recipients(ctx):
        if row["name"] == recipient:
            key = row["public_key"]
    ctx.audit_now("backup", details={"recipient": recipient})
    return make_backup(db_file, Path(out), key)


def make_backup(db_file: Path, out: Path, recipient: str) -> int:
    """Write an age-encrypted snapshot of ``db_file`` to ``out``; returns its size."""
    to = age.parse_recipient(recipient)
    folder = out.resolve().parent
    if not folder.is_dir():
        raise InvalidInputError("no such folder", where=str(folder))
    fd, snapshot = tempfile.mkstemp(dir=db_file.parent, prefix=".evault-backup-")
    os.close(fd)
    try:
        source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        target = sqlite3.connect(snapshot)
        with contextlib.closing(source), contextlib.closing(target):
            source.backup(target)
        fd, tmp_out = tempfile.mkstemp(dir=folder, prefix=".evault-backup-")
        with open(snapshot, "rb") as plain, os.fdopen(fd, "wb") as sink:
            age.encrypt_stream(plain, sink, to)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp_out, out)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(snapshot)
    return out.stat().st_size


def _decrypt_to(backup: Path, identity: Path, dest: Path) -> None:
    identities = age.load_identities(identity)
    try:
        src = backup.open("rb")
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(backup)) from None
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with src:
        age.decrypt_stream(
            src,
            os.fdopen(fd, "wb"),
            identities,
            failure="cannot decrypt the backup (wrong identity, or it was altered)",
        )


class BackupInfo(TypedDict):
    """What a verified or restored backup holds."""

    vault_id: str
    records: int
    audit_entries: int


def _check(db: Path) -> BackupInfo:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        with contextlib.closing(conn):
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            records = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            audit = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    except sqlite3.DatabaseError:
        raise IntegrityError("the backup does not hold a vault database") from None
    if ok != "ok" or "vault_id" not in meta:
        raise IntegrityError("the backup's database fails its integrity check")
    return {"vault_id": str(meta["vault_id"]), "records": int(records), "audit_entries": int(audit)}


def verify_backup(backup: Path, identity: Path) -> BackupInfo:
    """Decrypt into a private temporary folder, check the database, remove it."""
    with tempfile.TemporaryDirectory(prefix="evault-verify-") as tmp:
        os.chmod(tmp, 0o700)
        db = Path(tmp) / DB_FILENAME
        _decrypt_to(backup, identity, db)
        return _check(db)


def restore_backup(backup: Path, identity: Path, folder: Path) -> BackupInfo:
    """Restore into a new vault folder (never over an existing vault)."""
    if (folder / DB_FILENAME).exists():
        raise ConflictError(f"a vault already exists in {folder}")
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = folder / DB_FILENAME
    try:
        _decrypt_to(backup, identity, db)
        return _check(db)
    except BaseException:
        with contextlib.suppress(OSError):
            db.unlink()
        raise
