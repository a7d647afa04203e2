"""Backups: a consistent snapshot of an SQLite vault, age-encrypted to a recipient.

Invariants: the snapshot comes from SQLite's online backup API (a consistent copy
even while the vault is in use). Its plaintext copy lives only in a private (0700)
temporary folder outside the vault folder and is removed on every way out; the copy
of a killed backup is removed by the next open of the vault (:func:`remove_leftovers`).
At its destination a backup is only age ciphertext, and it takes its name only once
complete; a failed backup leaves no partial file there. Restoring refuses to
overwrite a vault: it decrypts to a temporary file in the target folder, checks it,
and only then renames it to the vault's name, so a killed restore leaves no vault
and nothing a re-run trips over. A write that fails (disk full) is a StorageError,
never a decryption failure. The snapshot holds what the vault holds: sealed fields
and wrapped keys — including the keys of workers erased after it was taken
(SECURITY.md says what that means for retention). A damaged vault is not backed up
unless forced: the backup runs the vault's check first (:mod:`vault.checking`), and
verifying a backup runs that check on its decrypted copy, opening every record
with a custodian's passphrase, in the same private temporary folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final, TypedDict, cast

from vault import age, checking
from vault.context import Context
from vault.crypto import Passphrase
from vault.errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    StorageCorruptError,
    StorageError,
    StorageFullError,
    UsageError,
    from_os_error,
)
from vault.leftovers import RESTORE_PREFIX, SNAPSHOT_PREFIX, remove_leftovers
from vault.partial import new_partial
from vault.progress import Progress, Stage, counting, size_of
from vault.sharing import list_recipients
from vault.store import DB_FILENAME, connect, damaged_tables, sqlite_file, sqlite_url

__all__ = [
    "BackupInfo",
    "BackupReport",
    "backup",
    "check_backup",
    "make_backup",
    "restore_backup",
    "verify_backup",
]

_PARTIAL_PREFIX = ".evault-partial-"
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_LISTED: Final = 1000  # findings a backup's report lists (it counts them all)


def backup(
    ctx: Context,
    out: str | os.PathLike[str],
    recipient: str,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> int:
    """An age-encrypted snapshot of an SQLite vault to a registered recipient's name or
    an age key; returns its size. ``progress`` hears of the check ("checking",
    records), the snapshot ("copying", pages) and the encryption ("encrypting",
    bytes).

    The vault is checked first, and a damaged one refused (IntegrityError naming
    what is damaged) unless ``force``. A forced backup goes ahead even when the audit
    log is what is damaged and cannot take its entry: it saves what the vault still
    holds, the log included.
    """
    ctx.require("admin")
    db_file = sqlite_file(ctx.engine)
    if db_file is None:
        raise UsageError("back up a PostgreSQL vault with pg_dump (see README)")
    key = recipient
    for row in list_recipients(ctx):
        if row["name"] == recipient:
            key = row["public_key"]
    if not force:
        try:
            run = _check_run(ctx, progress)
            run.verdict()
            if progress is not None:
                progress("checking", run.total or 0, run.total or 0)
        except IntegrityError as exc:
            raise IntegrityError(
                f"{exc}; nothing was written (run 'evault check' for every damage, or "
                "back up anyway with --force)"
            ) from None
    details: dict[str, Any] = {"recipient": recipient}
    if force:
        details["forced"] = True
    try:
        ctx.audit_now("backup", details=details)
    except (StorageCorruptError, IntegrityError):
        if not force:
            raise
    return make_backup(db_file, Path(out), key, progress)


def _write_failed(exc: OSError, where: Path) -> StorageError:
    """One line for a write that failed: a full disk says so."""
    known = from_os_error(exc, where)
    if known is not None and exc.errno in _FULL:
        # Full (or over a size limit): its own exit code, and the words people look for.
        return type(known)(f"{where}: the disk is full (free space and run it again)")
    if known is not None:
        return known
    return StorageError(f"{where}: cannot write ({exc.strerror or 'an operating-system error'})")


def _check_run(
    ctx: Context, progress: Progress | None, *, audited: bool = True
) -> checking.CheckRun:
    """:func:`vault.checking.check`, reporting a "checking" stage by records (the check
    knows how many once it starts); the stage ends when the run does."""
    stages: list[Stage] = []
    runs: list[checking.CheckRun] = []

    def advance(n: int) -> None:
        if not stages:
            stages.append(Stage(progress, "checking", (runs[0].total or 0) if runs else 0))
        stages[0].advance(n)

    run = checking.check(ctx, progress=advance if progress else None, audited=audited)
    runs.append(run)
    return run


def _findings(ctx: Context, progress: Progress | None) -> Iterator[checking.Finding]:
    """The findings of a check of a snapshot, its stage finished at the end."""
    run = _check_run(ctx, progress, audited=False)
    yield from run
    if progress is not None:
        total = run.total or 0
        progress("checking", total, total)


def make_backup(db_file: Path, out: Path, recipient: str, progress: Progress | None = None) -> int:
    """Write an age-encrypted snapshot of ``db_file`` to ``out``; returns its size."""
    to = age.parse_recipient(recipient)
    folder = out.resolve().parent
    if not folder.is_dir():
        raise InvalidInputError("no such folder", where=str(folder))
    # The pid in the name lets the next open tell a killed backup's folder from a
    # running one's.
    private = Path(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-"))
    tmp_out: str | None = None
    try:
        os.chmod(private, 0o700)
        snapshot = private / DB_FILENAME
        try:
            source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
            target = sqlite3.connect(snapshot)
            with contextlib.closing(source), contextlib.closing(target):
                pages = _Pages(progress)
                source.backup(target, pages=_PAGES, progress=pages)
                pages.finish()
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise StorageFullError(
                    f"{private.parent}: the disk is full (free space and run it again)"
                ) from None
            raise
        fd, tmp_out = new_partial(folder, _PARTIAL_PREFIX)
        try:
            with open(snapshot, "rb") as plain, os.fdopen(fd, "wb") as sink:
                stage = Stage(progress, "encrypting", size_of(plain))
                age.encrypt_stream(counting(plain, stage), sink, to)
                stage.finish()
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as exc:
            raise _write_failed(exc, folder) from None
        os.replace(tmp_out, out)
        tmp_out = None
    finally:
        shutil.rmtree(private, ignore_errors=True)
        if tmp_out is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_out)
    return out.stat().st_size


# Pages copied per step of SQLite's online backup (16 MiB a step with the 16 KiB
# pages of a new vault, 4 MiB with the 4 KiB pages of one made before).
_PAGES: Final = 1024


class _Pages:
    """SQLite's backup progress (pages left of a total), as a "copying" stage."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._total = 0

    def __call__(self, _status: int, remaining: int, total: int) -> None:
        if self._progress is not None:
            self._total = total
            self._progress("copying", total - remaining, total)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress("copying", self._total, self._total)


class _Sink:
    """A file pyrage writes into that remembers why a write failed, so that a full
    disk is not taken for a damaged backup."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._write_all(data)
        except OSError as exc:
            self.error = exc
            raise

    def _write_all(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            view = view[n or 0 :]
        return len(data)

    def flush(self) -> None:
        pass

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.fsync(self._file.fileno())
        except OSError as err:
            self.error = self.error or err
            raise
        finally:
            self._file.close()


def _decrypt_to(backup: Path, identity: Path, dest: Path, progress: Progress | None = None) -> None:
    identities = age.load_identities(identity)
    try:
        src = backup.open("rb")
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(backup)) from None
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    sink = _Sink(fd)
    stage = Stage(progress, "decrypting", size_of(src))
    with src:
        try:
            age.decrypt_stream(
                counting(src, stage),
                cast(IO[bytes], sink),
                identities,
                failure="cannot decrypt the backup (wrong identity, or it was altered)",
            )
        except IntegrityError:
            if sink.error is not None:
                raise _write_failed(sink.error, dest.parent) from None
            raise
    stage.finish()


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


class BackupReport(TypedDict):
    """What checking a backup found: the vault it holds, its counts (None where
    its damage hides them), whether its records were opened, and the damage (the
    first findings, as :meth:`vault.checking.Finding.to_dict` gives them, and how many
    there were in all)."""

    vault_id: str
    records: int | None
    audit_entries: int | None
    records_opened: bool
    findings: list[dict[str, Any]]
    damaged: int


def check_backup(
    backup: Path,
    identity: Path,
    passphrase: Passphrase | None = None,
    *,
    custodian: str | None = None,
    progress: Progress | None = None,
) -> BackupReport:
    """Decrypt a backup into a private temporary folder (outside any vault folder),
    check it and remove it, on every way out. ``progress`` hears of the decryption
    ("decrypting", bytes) and of the check ("checking", records).

    Without a passphrase only the database is checked (its pages, and that it holds
    a vault). With a custodian's passphrase the whole check of :mod:`vault.checking`
    runs on the copy, opening every record the custodian may open; the copy writes
    no audit entry and no witness.
    """
    with tempfile.TemporaryDirectory(prefix="evault-verify-") as tmp:
        os.chmod(tmp, 0o700)
        db = Path(tmp) / DB_FILENAME
        _decrypt_to(backup, identity, db, progress)
        vault_id, records, entries = _identify(db)
        findings: list[dict[str, Any]] = []
        damaged = 0
        if passphrase is None:
            engine = connect(sqlite_url(db.parent))
            try:
                for table, problem in damaged_tables(engine):
                    damaged += 1
                    if len(findings) < _LISTED:
                        findings.append(checking.Finding(table, "the table", problem).to_dict())
            finally:
                engine.dispose()
        else:
            ctx = checking.open_snapshot(db, passphrase, custodian)
            try:
                for finding in _findings(ctx, progress):
                    damaged += 1
                    if len(findings) < _LISTED:
                        findings.append(finding.to_dict())
            finally:
                ctx.engine.dispose()
    return {
        "vault_id": vault_id,
        "records": records,
        "audit_entries": entries,
        "records_opened": passphrase is not None,
        "findings": findings,
        "damaged": damaged,
    }


def _identify(db: Path) -> tuple[str, int | None, int | None]:
    """The vault id a decrypted backup holds, and its counts where they can be read."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        raise IntegrityError("the backup does not hold a vault database") from None
    with contextlib.closing(conn):
        try:
            vault_id = conn.execute("SELECT value FROM meta WHERE key = 'vault_id'").fetchone()
        except sqlite3.DatabaseError:
            vault_id = None
        if vault_id is None:
            raise IntegrityError("the backup does not hold a vault database")
        counts: list[int | None] = []
        for table in ("records", "audit_log"):
            count = f"SELECT COUNT(*) FROM {table}"  # noqa: S608 - a fixed table name
            try:
                counts.append(int(conn.execute(count).fetchone()[0]))
            except sqlite3.DatabaseError:
                counts.append(None)
    return str(vault_id[0]), counts[0], counts[1]


def verify_backup(
    backup: Path,
    identity: Path,
    passphrase: Passphrase | None = None,
    *,
    custodian: str | None = None,
) -> BackupInfo:
    """Check a backup (see :func:`check_backup`); IntegrityError naming the damage,
    if any."""
    report = check_backup(backup, identity, passphrase, custodian=custodian)
    if report["damaged"]:
        first = "; ".join(
            f"{f['table']}: {f['where']}: {f['problem']}" for f in report["findings"][:3]
        )
        more = f"; and {report['damaged'] - 3} more" if report["damaged"] > 3 else ""
        raise IntegrityError(f"the backup is damaged: {first}{more}")
    return {
        "vault_id": report["vault_id"],
        "records": report["records"] or 0,
        "audit_entries": report["audit_entries"] or 0,
    }


def restore_backup(
    backup: Path, identity: Path, folder: Path, progress: Progress | None = None
) -> BackupInfo:
    """Restore into a new vault folder (never over an existing vault); ``progress``
    hears of the decryption ("decrypting", bytes).

    The backup is decrypted to a temporary file in ``folder``, checked, and then
    given the vault's name; what an earlier, killed restore left is removed first.
    """
    db = folder / DB_FILENAME
    if db.exists():
        raise ConflictError(f"a vault already exists in {folder}")
    if folder.exists():
        remove_leftovers(folder)
        if any(folder.iterdir()):
            raise UsageError(f"{folder} is not empty")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=RESTORE_PREFIX)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()
        _decrypt_to(backup, identity, tmp, progress)
        info = _check(tmp)
        # A link, unlike a rename, never replaces a vault that appeared meanwhile.
        try:
            os.link(tmp, db)
        except FileExistsError:
            raise ConflictError(f"a vault already exists in {folder}") from None
        _sync_folder(folder)
        return info
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the new name durable before saying the restore is done."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
