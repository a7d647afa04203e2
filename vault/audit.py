"""The tamper-evident audit log: a keyed hash chain with signed checkpoints.

Invariants:

* Every entry is appended inside the transaction of the operation it records; if
  the entry cannot be written, the transaction — and so the operation — fails.
* Entry ``n`` carries ``mac_n = HMAC(audit key, mac_{n-1} || canonical(entry_n))``
  with ``mac_0`` all zeros. The head (size and last mac) is kept in ``meta`` with
  its own HMAC tag, so truncating the log, or editing, deleting, inserting or
  reordering an entry, breaks verification.
* A checkpoint is the head signed with the vault's Ed25519 key. Kept elsewhere, it
  detects even a rewrite of the whole log by someone who holds the audit key.
* Entries hold who, what, when, keyed record references and non-sensitive details
  (counts, policy hashes, recipient names); never a record value.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict, cast

from sqlalchemy import Connection, select

from vault import crypto
from vault.crypto import SecretKey, SigningKey
from vault.errors import IntegrityError, InvalidInputError, StorageError
from vault.partial import new_partial
from vault.store import AuditEntry, Base, driver_execute, driver_scan, one_snapshot, utcnow

__all__ = [
    "CHECKPOINT_FORMAT",
    "WITNESS_FORMAT",
    "AuditRecord",
    "AuditReport",
    "Checkpoint",
    "GroupCommit",
    "append",
    "appended_head",
    "checkpoint",
    "current_head",
    "entries",
    "mac_at",
    "read_witness",
    "verify",
    "write_witness",
]

CHECKPOINT_FORMAT: Final = "evidence-vault-audit-checkpoint/1"
_GENESIS: Final = bytes(32)
_HEAD_KEY: Final = "audit_head"


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def _timestamp(at: dt.datetime | int) -> str:
    if isinstance(at, int):
        at = _EPOCH + at * _MICROSECOND
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _micros(at: dt.datetime) -> int:
    # Exact integer microseconds since the epoch: the same on every database driver.
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return (aware - _EPOCH) // _MICROSECOND


def _canonical(seq: int, at: int, actor: str, action: str, refs: str, details: str) -> bytes:
    # Length-prefixed, so no field can run into the next.
    return (
        f"{seq}\n{at}\n{len(actor)}:{actor}{len(action)}:{action}"
        f"{len(refs)}:{refs}{len(details)}:{details}"
    ).encode()


def _mac(key: SecretKey, previous: bytes, body: bytes) -> bytes:
    return crypto.hmac_sha256(key, previous + body)


def _head_tag(key: SecretKey, size: int, mac: bytes) -> str:
    return crypto.hmac_sha256(key, b"head" + str(size).encode() + mac).hex()


# Statements run on the driver's cursor: appends happen inside every operation, so
# their cost is the cost of statement construction as much as of the database.
_META = Base.metadata.tables["meta"]
_HEAD_SELECT = select(_META.c.value).where(_META.c.key == _HEAD_KEY)
_HEAD_SELECT_LOCKED = _HEAD_SELECT.with_for_update()
_HEAD_INSERT: Final = 'INSERT INTO meta ("key", "value") VALUES (?, ?)'
_HEAD_UPDATE: Final = 'UPDATE meta SET "value" = ? WHERE "key" = ?'
_ENTRY_INSERT: Final = (
    "INSERT INTO audit_log (seq, at, actor, action, refs, details, mac) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ENTRY_SCAN: Final = "SELECT seq, at, actor, action, refs, details, mac FROM audit_log ORDER BY seq"


def _read_head(conn: Connection, key: SecretKey, *, lock: bool) -> tuple[int, bytes]:
    # Within one transaction the head this module last wrote is still the head:
    # skip reading it again (a rolled-back transaction is a different object).
    cached = conn.info.get(_HEAD_KEY)
    if lock and cached is not None and cached[0] is conn.get_transaction():
        return cached[1], cached[2]
    # Appends are serialized on the head row (SQLite writers are already serial, and
    # its dialect renders no FOR UPDATE).
    raw = conn.execute(_HEAD_SELECT_LOCKED if lock else _HEAD_SELECT).scalar_one_or_none()
    if raw is None:
        return 0, _GENESIS
    try:
        head = json.loads(raw)
        size, mac, tag = int(head["size"]), bytes.fromhex(head["mac"]), str(head["tag"])
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("integrity check failed for the audit log head") from None
    if not crypto.constant_time_equal(tag.encode(), _head_tag(key, size, mac).encode()):
        raise IntegrityError("integrity check failed for the audit log head")
    return size, mac


def append(
    conn: Connection,
    key: SecretKey,
    actor: str,
    action: str,
    *,
    refs: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's transaction; returns its sequence number."""
    size, previous = _read_head(conn, key, lock=True)
    seq = size + 1
    at = _micros(utcnow())
    refs_text = json.dumps(list(refs), separators=(",", ":"))
    details_text = json.dumps(details or {}, sort_keys=True, separators=(",", ":"))
    mac = _mac(key, previous, _canonical(seq, at, actor, action, refs_text, details_text))
    driver_execute(conn, _ENTRY_INSERT, (seq, at, actor, action, refs_text, details_text, mac))
    head = json.dumps({"size": seq, "mac": mac.hex(), "tag": _head_tag(key, seq, mac)})
    if size == 0:
        driver_execute(conn, _HEAD_INSERT, (_HEAD_KEY, head))
    else:
        driver_execute(conn, _HEAD_UPDATE, (head, _HEAD_KEY))
    conn.info[_HEAD_KEY] = (conn.get_transaction(), seq, mac)
    return seq


class _Waiting:
    __slots__ = ("action", "actor", "details", "done", "error", "key", "refs")

    def __init__(
        self,
        key: SecretKey,
        actor: str,
        action: str,
        refs: Sequence[str],
        details: dict[str, Any] | None,
    ) -> None:
        self.key, self.actor, self.action, self.refs, self.details = (
            key,
            actor,
            action,
            refs,
            details,
        )
        self.done = threading.Event()
        self.error: BaseException | None = None


def _again(error: BaseException) -> BaseException:
    # Each waiting thread raises an error of its own (tracebacks are per raise).
    # Of the same class, so that each reader of a group that could not be written
    # (a busy, full or damaged database) can record its read elsewhere.
    if isinstance(error, IntegrityError | StorageError):
        return type(error)(str(error))
    return StorageError("the audit log could not be written")


class GroupCommit:
    """Appends from concurrent threads written together: one transaction, and one
    disk flush, for all entries that arrive while the previous group is written.

    Each caller returns only once its own entry is committed; if a group fails, every
    caller in it gets the error (fail closed). A caller alone writes its entry at
    once, as :func:`append` in a transaction of its own would. Call it outside any
    transaction of the same thread.
    """

    def __init__(
        self, transaction: Callable[[], contextlib.AbstractContextManager[Connection]]
    ) -> None:
        self._transaction = transaction
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._writing = False

    def append(
        self,
        key: SecretKey,
        actor: str,
        action: str,
        *,
        refs: Sequence[str] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        mine = _Waiting(key, actor, action, refs, details)
        with self._lock:
            self._queue.append(mine)
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_groups()
        mine.done.wait()
        if mine.error is not None:
            raise mine.error if lead else _again(mine.error)

    def _write_groups(self) -> None:
        while True:
            with self._lock:
                group, self._queue = self._queue, []
                if not group:
                    self._writing = False
                    return
            try:
                with self._transaction() as conn:
                    for w in group:
                        append(conn, w.key, w.actor, w.action, refs=w.refs, details=w.details)
            except BaseException as exc:  # every waiter must wake, whatever happened
                for w in group:
                    w.error = exc
            for w in group:
                w.done.set()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    action: str
    refs: list[str]
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def entries(
    conn: Connection, *, since: dt.datetime | None = None, ref: str | None = None
) -> Iterator[AuditRecord]:
    """Entries in order (not verified: run :func:`verify` for that)."""
    query = select(*AuditEntry.__table__.c).order_by(AuditEntry.seq)
    if since is not None:
        query = query.where(AuditEntry.at >= _micros(since))
    if ref is not None:
        query = query.where(AuditEntry.refs.contains(f'"{ref}"'))
    for row in conn.execute(query.execution_options(yield_per=1000)):
        yield AuditRecord(
            row.seq,
            _timestamp(row.at),
            row.actor,
            row.action,
            json.loads(row.refs),
            json.loads(row.details),
        )


@dataclass(frozen=True)
class AuditReport:
    """A verified log: its size and head; checked against a checkpoint or not."""

    size: int
    head: str
    checkpoint_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify(
    conn: Connection,
    key: SecretKey,
    *,
    checkpoint_file: Path | None = None,
    public_keys: Sequence[bytes] = (),
    vault_id: str | None = None,
    witnesses: Sequence[Path] = (),
) -> AuditReport:
    """Recompute the chain; raise IntegrityError on any edit, gap, reorder or truncation,
    or if the log is shorter than, or differs from, a checkpoint or a witness."""
    # Every checkpoint and witness is compared: two of one size may disagree.
    expected: dict[int, list[tuple[str, str]]] = {}
    checkpoint_size: int | None = None
    if checkpoint_file is not None:
        checkpoint_size, head = _read_checkpoint(checkpoint_file, public_keys, vault_id)
        expected.setdefault(checkpoint_size, []).append((head, "the checkpoint"))
    for path in witnesses:
        seen = read_witness(path, key, vault_id, other_vault_ok=False)
        if seen is not None:
            expected.setdefault(seen[0], []).append((seen[1], f"the witness {path}"))
    # The head and the entries from one snapshot: an append committed between reading
    # them is neither half-seen nor taken for an extension of the log.
    one_snapshot(conn)
    previous = _GENESIS
    seq = 0
    for row_seq, at, actor, action, refs, details, row_mac in driver_scan(conn, _ENTRY_SCAN):
        seq += 1
        if row_seq != seq:
            raise IntegrityError(f"the audit log is broken at entry {seq} (missing or moved)")
        mac = _mac(key, previous, _canonical(row_seq, at, actor, action, refs, details))
        if not crypto.constant_time_equal(mac, bytes(row_mac)):
            raise IntegrityError(f"the audit log is broken at entry {seq} (altered)")
        previous = mac
        for head, what in expected.get(seq, ()):
            if not crypto.constant_time_equal(mac.hex().encode(), head.encode()):
                raise IntegrityError(f"the audit log differs from {what} at entry {seq}")
    size, head_mac = _read_head(conn, key, lock=False)
    if size != seq or not crypto.constant_time_equal(head_mac, previous):
        raise IntegrityError(
            f"the audit log is truncated or extended: {seq} entries, the head says {size}"
        )
    for want, kept in sorted(expected.items()):
        what = kept[0][1]
        if want > seq:
            # Deleted or rolled back, head and all: only a copy kept elsewhere tells.
            raise IntegrityError(
                f"the audit log has {seq} entries, fewer than {what}'s {want} "
                "(entries were deleted or the vault was rolled back)"
            )
    return AuditReport(seq, previous.hex(), checkpoint_size)


# Witnesses: the head of the log, kept outside the database ------------------------------

WITNESS_FORMAT: Final = "evidence-vault-audit-witness/1"


def current_head(conn: Connection, key: SecretKey) -> tuple[int, bytes]:
    """The log's size and last mac, as its tagged head row says."""
    return _read_head(conn, key, lock=False)


def mac_at(conn: Connection, seq: int) -> bytes | None:
    """The mac the log holds at entry ``seq``, or None."""
    value = conn.execute(select(AuditEntry.mac).where(AuditEntry.seq == seq)).scalar_one_or_none()
    return None if value is None else bytes(value)


def appended_head(conn: Connection) -> tuple[int, bytes] | None:
    """The head this transaction's appends reached (call before it commits), or None."""
    cached = conn.info.get(_HEAD_KEY)
    if cached is None or cached[0] is not conn.get_transaction():
        return None
    return int(cached[1]), bytes(cached[2])


def _witness_tag(key: SecretKey, vault_id: str, size: int, head: str) -> str:
    body = f"{WITNESS_FORMAT}\x00{vault_id}\x00{size}\x00{head}".encode()
    return crypto.hmac_sha256(key, body).hex()


def write_witness(
    path: Path,
    key: SecretKey,
    vault_id: str,
    size: int,
    head: bytes,
    extends: Callable[[int, str], bool],
) -> None:
    """Keep the head at ``path`` (owner-only, replaced atomically). A witness only
    grows, and only along the log it saw: one whose head is not in the log any more
    (the log was rolled back, then grew again) is left as it is, so `verify` keeps
    saying so."""
    seen = read_witness(path, key, vault_id, strict=False)
    if seen is not None and (seen[0] >= size or not extends(*seen)):
        return
    data = {
        "format": WITNESS_FORMAT,
        "vault_id": vault_id,
        "size": size,
        "head": head.hex(),
        "tag": _witness_tag(key, vault_id, size, head.hex()),
    }
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = new_partial(path.parent, ".witness-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_witness(
    path: Path,
    key: SecretKey,
    vault_id: str | None,
    *,
    strict: bool = True,
    other_vault_ok: bool = True,
) -> tuple[int, str] | None:
    """The size and head a witness file keeps; None if there is none (or, not strict,
    if it cannot be read). An altered witness is an IntegrityError, and so, unless
    ``other_vault_ok``, is another vault's witness where this vault keeps its own."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        size, head, tag = int(data["size"]), str(data["head"]), str(data["tag"])
        wid = str(data["vault_id"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        if not strict:
            return None
        raise IntegrityError(f"the audit witness {path} cannot be read") from None
    if vault_id is not None and wid != vault_id:
        if other_vault_ok or not strict:
            return None
        raise IntegrityError(f"the audit witness {path} belongs to another vault")
    if data.get("format") != WITNESS_FORMAT or not crypto.constant_time_equal(
        tag.encode(), _witness_tag(key, wid, size, head).encode()
    ):
        if not strict:
            return None
        raise IntegrityError(f"the audit witness {path} was altered")
    return size, head


class Checkpoint(TypedDict):
    """A signed statement of the audit log's size and head, to keep elsewhere."""

    format: str
    vault_id: str
    size: int
    head: str
    created_at: str
    signer: str
    signature: str


def checkpoint(
    conn: Connection, key: SecretKey, signing_key: SigningKey, vault_id: str
) -> Checkpoint:
    """A signed statement of the log's current size and head."""
    size, head = _read_head(conn, key, lock=False)
    body = {
        "format": CHECKPOINT_FORMAT,
        "vault_id": vault_id,
        "size": size,
        "head": head.hex(),
        "created_at": _timestamp(utcnow()),
        "signer": crypto.public_key_fingerprint(signing_key.public_bytes()),
    }
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    signature = base64.b64encode(signing_key.sign(message)).decode()
    return cast(Checkpoint, {**body, "signature": signature})


def _read_checkpoint(
    path: Path, public_keys: Sequence[bytes], vault_id: str | None
) -> tuple[int, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        signature = base64.b64decode(data.pop("signature"), validate=True)
        size, head = int(data["size"]), str(data["head"])
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInputError("not an audit checkpoint", where=str(path)) from None
    if data.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInputError("not an audit checkpoint", where=str(path))
    message = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    signer = str(data.get("signer", ""))
    public = next((k for k in public_keys if crypto.public_key_fingerprint(k) == signer), None)
    if public is None:
        raise IntegrityError("the audit checkpoint is signed by a key this vault does not use")
    crypto.verify_signature(public, signature, message, what="the audit checkpoint")
    if vault_id is not None and data.get("vault_id") != vault_id:
        raise IntegrityError("the audit checkpoint belongs to another vault")
    return size, head
