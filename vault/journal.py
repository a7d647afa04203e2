"""Reads recorded outside the audit log while the log cannot take them.

Invariants:

* Only reads are recorded here, and only once appending their entry to the log
  failed because the database is damaged, its disk full, or a long write holds it
  (``StorageCorruptError``, ``StorageFullError``, ``StorageBusyError``); writes never
  are: they fail closed.
* :func:`drain` moves the entries into the log (each with the time it was journaled)
  once the log takes writes again, then empties the file; a crash between the two
  leaves them in both (recorded twice, never lost).
* The journal is one file per vault in the user's state folder, beside the log's
  witness (owner-only); an entry is appended and flushed to disk before the read
  returns anything, and a read that cannot be recorded here is refused.
* Each line carries ``HMAC(audit key, mac of the line before || the line)``, as the
  log does, so an edited, removed or reordered line breaks the chain. Removing the
  last lines, or the whole file, is not detected by the file itself.
* A line holds what a log entry holds: who, what, when, keyed record references and
  non-sensitive details; never a value.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from vault import audit, crypto
from vault.context import Context
from vault.crypto import SecretKey
from vault.errors import IntegrityError, StorageError, from_os_error
from vault.store import no_wait, utcnow

__all__ = ["JOURNAL_FORMAT", "append", "drain", "journal_path", "verify"]

JOURNAL_FORMAT: Final = "evidence-vault-audit-journal/1"
_GENESIS: Final = bytes(32)
_LOCK = threading.Lock()  # threads of this process; other processes take a file lock


def journal_path(ctx: Context) -> Path | None:
    """Where this vault's journal is kept for this user, or None where a context
    keeps no witness (a snapshot being checked): it then records nothing."""
    if not ctx.witness.paths:
        return None
    # The last witness is the one in the user's own state folder.
    return ctx.witness.paths[-1].with_name(f"{ctx.vault_id}.audit-journal.jsonl")


def _body(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(key: SecretKey, previous: bytes, entry: dict[str, Any]) -> bytes:
    return crypto.hmac_sha256(key, previous + _body(entry))


def append(
    ctx: Context,
    action: str,
    *,
    refs: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> None:
    """Record a read in the journal, on disk, or raise StorageError."""
    path = journal_path(ctx)
    if path is None:
        raise StorageError(
            "the audit log cannot take this read and it cannot be recorded elsewhere"
        )
    key = ctx.keys.audit_key()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "r+b") as f:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                previous, count = _GENESIS, 0
                for line in f:
                    previous, count = bytes.fromhex(json.loads(line)["mac"]), count + 1
                entry = {
                    "format": JOURNAL_FORMAT,
                    "vault_id": ctx.vault_id,
                    "n": count + 1,
                    "at": utcnow().isoformat(timespec="microseconds"),
                    "actor": ctx.actor,
                    "action": action,
                    "refs": list(refs),
                    "details": details or {},
                }
                entry["mac"] = _mac(key, previous, entry).hex()
                f.write(_body(entry) + b"\n")
                f.flush()
                os.fsync(f.fileno())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"the audit log cannot take this read and it could not be recorded in {path}"
        known = from_os_error(exc, path) if isinstance(exc, OSError) else None
        if known is not None:
            raise type(known)(f"{message}: {known}") from None
        raise StorageError(message) from None


def verify(path: Path, key: SecretKey, vault_id: str) -> int:
    """How many reads the journal at ``path`` records (0 if there is none); an
    IntegrityError if a line was edited, removed or moved."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise IntegrityError(f"the audit journal {path} cannot be read ({exc.strerror})") from None
    previous, count = _GENESIS, 0
    for line in text.splitlines():
        count += 1
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            entry = json.loads(line)
            mac = bytes.fromhex(entry.pop("mac"))
            if (
                entry.get("format") == JOURNAL_FORMAT
                and entry.get("vault_id") == vault_id
                and entry.get("n") == count
                and crypto.constant_time_equal(mac, _mac(key, previous, entry))
            ):
                previous = mac
                continue
        raise IntegrityError(f"the audit journal {path} is broken at line {count}")
    return count


def drain(ctx: Context) -> int:
    """Move the journal's reads into the audit log, without waiting for another
    writer; returns how many. A journal that does not verify is left for
    ``evault check`` to report."""
    path = journal_path(ctx)
    if path is None or not path.exists():
        return 0
    key = ctx.keys.audit_key()
    with _LOCK:
        fd = os.open(path, os.O_RDWR)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            lines = f.read().splitlines()
            if not lines:
                return 0
            if verify(path, key, ctx.vault_id) != len(lines):
                return 0
            entries = [json.loads(line) for line in lines]
            with no_wait(), ctx.write() as conn:
                for e in entries:
                    audit.append(
                        conn,
                        key,
                        str(e["actor"]),
                        str(e["action"]),
                        refs=list(e["refs"]),
                        details={**e["details"], "journaled_at": e["at"]},
                    )
            f.seek(0)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
    return len(entries)
