"""What every service works with: one :class:`Context` per unlocked vault (or view).

A context holds the engine, the keyring, the record codec, the acting custodian (or
``token:NAME``) with their grant, and the audit log. Services take a context and
follow one transaction convention:

* ``ctx.write()`` is one write transaction: committed on success, rolled back on any
  error, every driver error turned into a :class:`~vault.errors.StorageError`
  subclass saying what happened and what to do (a unique-key or serialization
  conflict into :class:`~vault.errors.ConflictError`), see ``store.driver_error``;
* ``ctx.read()`` is a read-only connection with the same error handling;
* an operation's audit entry is appended in its own write transaction
  (``ctx.audit(conn, ...)``), so a write that cannot be logged does not happen;
  reads log before they return (``ctx.audit_now``, or ``ctx.audit_group`` for
  concurrent reads that share one commit).

Role checks (``ctx.require``) are the first line; the keys a context holds are the
second: a custodian without a class's key cannot open it, whatever the role says.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from vault import audit, crypto, registry
from vault.crypto import SecretKey, SigningKey
from vault.errors import PermissionDeniedError, TamperedRowError, VaultError
from vault.keys import Grant, Keyring, Role
from vault.records import RecordCodec
from vault.store import (
    Meta,
    Subject,
    checkpoint_wal,
    driver_error,
    sqlite_file,
    write_transaction,
)

__all__ = [
    "Context",
    "ProgressCallback",
    "SiteCache",
    "Transaction",
    "read_settings",
    "write_setting",
]

ProgressCallback = Callable[[int], None]
_SITE_CACHE = 100_000  # sites are few; this only bounds a hostile import


class Transaction:
    """One database transaction that turns driver errors into vault errors
    (``store.driver_error``).

    A stored row refused as tampered (:class:`TamperedRowError`) is recorded in the
    audit log once the outermost transaction of the thread has ended, where the log
    is writable; the error is raised either way.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        write: bool = True,
        ctx: Context | None = None,
        synced: bool = True,
    ) -> None:
        self._engine = engine
        self._write = write
        self._synced = synced
        self._ctx = ctx
        self._cm: Any = None

    def __enter__(self) -> Connection:
        try:
            self._cm = (
                write_transaction(self._engine, synced=self._synced)
                if self._write
                else self._engine.connect()
            )
            conn: Connection = self._cm.__enter__()
        except SQLAlchemyError as exc:
            raise driver_error(exc, engine=self._engine) from None
        _DEPTH.n = getattr(_DEPTH, "n", 0) + 1
        self._conn = conn
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _DEPTH.n -= 1
        head = None
        if exc is None and self._write and self._ctx is not None:
            head = audit.appended_head(self._conn)
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise driver_error(err, engine=self._engine) from None
        if head is not None and self._ctx is not None:
            self._ctx.witness.note(*head)
        if isinstance(exc, SQLAlchemyError):
            raise driver_error(exc, engine=self._engine) from None
        if isinstance(exc, (ValueError, TypeError)) and _from_the_driver(exc):
            # A cell that does not parse as its column's type was written by someone
            # else: refused like any other tampered row, never a crash.
            exc = TamperedRowError(
                "integrity check failed for a stored value (not of its column's type)",
                table="unknown",
            )
            if self._ctx is not None and _DEPTH.n == 0:
                self._ctx.log_refusal(exc)
            raise exc from None
        if isinstance(exc, TamperedRowError) and self._ctx is not None and _DEPTH.n == 0:
            self._ctx.log_refusal(exc)


_DEPTH = threading.local()  # open transactions of this thread (see Transaction)


def _from_the_driver(exc: BaseException) -> bool:
    """Whether an error was raised while SQLAlchemy or a driver read a row."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(("sqlalchemy", "psycopg")):
            return True
        tb = tb.tb_next
    return False


_WITNESS_SECONDS: Final = 1.0  # how often a busy vault writes its witnesses


def witness_paths(engine: Engine, vault_id: str) -> list[Path]:
    """Where the head of the audit log is kept outside the database: beside an SQLite
    vault, and in this user's own state folder (``EVAULT_STATE_DIR``, else
    ``$XDG_STATE_HOME/evidence-vault``, else ``~/.local/state/evidence-vault``), which
    someone who can write only the database or the vault folder cannot roll back."""
    paths = []
    db_file = sqlite_file(engine)
    if db_file is not None:
        paths.append(db_file.parent / "audit-witness.json")
    state = os.environ.get("EVAULT_STATE_DIR")
    if state:
        folder = Path(state)
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        folder = Path(base) / "evidence-vault"
    paths.append(folder / f"{vault_id}.audit-witness.json")
    return paths


class Witnesses:
    """Keeps the newest audit head this process committed in the witness files: at
    most once a second while busy, and when the vault closes. A witness that cannot
    be written (a read-only folder) is skipped: it is a second line, not the log."""

    def __init__(
        self,
        key: SecretKey,
        vault_id: str,
        paths: list[Path],
        extends: Callable[[int, str], bool],
    ) -> None:
        self.paths = paths
        self._extends = extends
        self._key = key
        self._vault_id = vault_id
        self._lock = threading.Lock()
        self._head: tuple[int, bytes] | None = None
        self._written = 0
        self._last = 0.0

    def note(self, size: int, head: bytes) -> None:
        with self._lock:
            if self._head is None or size > self._head[0]:
                self._head = (size, head)
            due = time.monotonic() - self._last >= _WITNESS_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._head is None or self._head[0] <= self._written:
                return
            size, head = self._head
            for path in self.paths:
                with contextlib.suppress(OSError, VaultError):
                    audit.write_witness(path, self._key, self._vault_id, size, head, self._extends)
            self._written = size
            self._last = time.monotonic()


class SiteCache:
    """Keyed references and countries of sites, which every record refers to.

    Shared by a vault and the token views made from it; bounded, so a hostile
    import of many sites costs look-ups, not memory.
    """

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.country: dict[str, str | None] = {}

    def remember_ref(self, site_id: str, ref: str) -> None:
        if len(self.refs) < _SITE_CACHE:
            self.refs[site_id] = ref

    def remember_country(self, site_ref: str, country: str | None) -> bool:
        """Keep a site's country; False when the cache is full (nothing kept)."""
        if len(self.country) >= _SITE_CACHE and site_ref not in self.country:
            return False
        self.country[site_ref] = country
        return True


_REQUIRED_SETTINGS: Final = (
    "kek_version",
    "min_kek_version",
    "identity_approvals",
    "signing_public_key",
)


def read_settings(
    conn: Connection, keys: Keyring, names: Sequence[str] | None = None
) -> dict[str, str]:
    """Vault settings (all, or ``names``), each signed one checked against the registry.

    A setting every vault has that is missing was deleted: refused like an edit, since
    its absence would read as a default (a retired key version opened again, say).
    """
    query = select(Meta.key, Meta.value, Meta.sig)
    if names is not None:
        query = query.where(Meta.key.in_(list(names)))
    out: dict[str, str] = {}
    for key, value, sig in conn.execute(query).all():
        if key in registry.SIGNED_SETTINGS:
            registry.verify(
                keys, "meta", registry.setting_fields(key, value), sig, f"the setting {key!r}"
            )
        out[str(key)] = str(value)
    for key in _REQUIRED_SETTINGS:
        if key not in out and (names is None or key in names):
            raise TamperedRowError(f"integrity check failed for the setting {key!r}", table="meta")
    return out


def write_setting(conn: Connection, keys: Keyring, key: str, value: str | None) -> None:
    """Set (or with None, remove) a setting; a signed one is signed by the registry."""
    conn.execute(delete(Meta).where(Meta.key == key))
    if value is None:
        return
    sig = None
    if key in registry.SIGNED_SETTINGS:
        sig = registry.sign(keys, "meta", registry.setting_fields(key, value))
    conn.execute(insert(Meta).values(key=key, value=value, sig=sig))


class Context:
    """The shared state of one unlocked vault, or of a view restricted to a token."""

    def __init__(
        self,
        engine: Engine,
        keys: Keyring,
        actor: str,
        grant: Grant,
        *,
        kek_version: int,
        min_kek_version: int,
        identity_approvals: int,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.codec = RecordCodec(keys, kek_version, min_kek_version)
        self.actor = actor
        self.grant = grant
        self.identity_approvals = identity_approvals
        self.sites = SiteCache()
        # Audit entries of reads from concurrent threads, committed together, each
        # commit on disk within store.SYNC_WINDOW_S rather than flushed on its own.
        self.audit_group = audit.GroupCommit(self._read_log)
        self.witness = Witnesses(
            keys.audit_key(), keys.vault_id, witness_paths(engine, keys.vault_id), self._log_has
        )

    def _log_has(self, size: int, head: str) -> bool:
        """Whether the log still holds, at entry ``size``, the mac ``head``."""
        with self.read() as conn:
            mac = audit.mac_at(conn, size)
        return mac is not None and crypto.constant_time_equal(mac.hex().encode(), head.encode())

    def __repr__(self) -> str:
        return f"Context(vault_id={self.vault_id!r}, actor={self.actor!r})"

    @property
    def vault_id(self) -> str:
        return self.keys.vault_id

    @property
    def role(self) -> Role:
        return self.grant.role

    def derive(self, engine: Engine, keys: Keyring, actor: str, grant: Grant) -> Context:
        """A context for a view of this vault with other keys (a token's): it shares
        the site cache and the group commit of reads."""
        view = Context.__new__(Context)
        view.__dict__.update(self.__dict__)
        view.engine = engine
        view.keys = keys
        view.codec = RecordCodec(keys, self.codec.kek_version, self.codec.min_version)
        view.actor = actor
        view.grant = grant
        return view

    # Transactions ------------------------------------------------------------------

    def write(self) -> Transaction:
        return Transaction(self.engine, ctx=self)

    def read(self) -> Transaction:
        return Transaction(self.engine, write=False, ctx=self)

    def _read_log(self) -> Transaction:
        return Transaction(self.engine, ctx=self, synced=False)

    def log_refusal(self, error: TamperedRowError) -> None:
        """Record once that a stored row was refused; a log that cannot be written
        (it may be what was tampered with) does not hide the refusal itself."""
        if error.logged:
            return
        error.logged = True
        with contextlib.suppress(VaultError):
            self.audit_now("row-refused", details={"table": error.table})

    def checkpoint_wal(self) -> None:
        """Let no deleted key bytes linger in a write-ahead log (see store)."""
        checkpoint_wal(self.engine)

    def refresh_key_version(self, conn: Connection) -> None:
        """A rotation may have happened since this vault was opened: new data must be
        wrapped under the version that is current now, never a retired one."""
        versions = read_settings(conn, self.keys, ("kek_version", "min_kek_version"))
        current = int(versions["kek_version"])
        minimum = int(versions["min_kek_version"])
        if (current, minimum) != (self.codec.kek_version, self.codec.min_version):
            self.codec = RecordCodec(self.keys, current, minimum)

    # Permissions and audit -----------------------------------------------------------

    def require(self, *roles: Role) -> None:
        # An admin is one who holds the master key: a row that merely says "admin"
        # (written by someone with database access) is not enough.
        if self.role == "admin" and not self.keys.is_master:
            raise PermissionDeniedError(
                f"custodian {self.actor!r} is recorded as admin but holds no master key"
            )
        if self.role not in roles:
            raise PermissionDeniedError(
                f"custodian {self.actor!r} ({self.role}) may not do this; "
                f"it needs the role {' or '.join(roles)}"
            )

    def audit(
        self,
        conn: Connection,
        action: str,
        *,
        refs: Sequence[str] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        """An entry in the caller's transaction: it commits with the operation or not
        at all."""
        audit.append(conn, self.keys.audit_key(), self.actor, action, refs=refs, details=details)

    def audit_now(
        self, action: str, *, refs: Sequence[str] = (), details: dict[str, Any] | None = None
    ) -> None:
        """An entry in a transaction of its own, written before any data is returned."""
        with self.write() as conn:
            self.audit(conn, action, refs=refs, details=details)

    def audit_read(
        self, action: str, *, refs: Sequence[str] = (), details: dict[str, Any] | None = None
    ) -> None:
        """An entry committed before a read returns; concurrent reads share a commit."""
        self.audit_group.append(
            self.keys.audit_key(), self.actor, action, refs=refs, details=details
        )

    # Keys held in the database ---------------------------------------------------------

    def signing_key(self) -> SigningKey:
        """The vault's export signing key: admins and exporters only, by role and by key."""
        self.require("admin", "exporter")
        with self.read() as conn:
            sealed = read_settings(conn, self.keys, ("signing_key",))["signing_key"]
        seed = crypto.open_sealed(
            self.keys.export_wrap_key(),
            base64.b64decode(sealed),
            ("signing-key", self.vault_id),
            what="the vault's signing key",
        )
        return SigningKey.from_seed(seed)

    def export_public_key(self) -> bytes:
        """The public half of the export key, as the registry signed it (any role)."""
        with self.read() as conn:
            value = read_settings(conn, self.keys, ("signing_public_key",))["signing_public_key"]
        return bytes.fromhex(value)

    def check_site_ref(self, ref: str, rtype: str, site_ref: str | None, fields: Any) -> None:
        """A record's stored site reference must be the one its sealed fields give: a
        moved ``site_ref`` would route it past site filters and co-workers' names."""
        site_id = fields.get("id") if rtype == "site" else fields.get("site_id")
        if not isinstance(site_id, str) or site_ref != self.codec.reference(site_id):
            raise TamperedRowError(
                f"integrity check failed for record ref {ref[:12]} (its site)", table="records"
            )

    def subject_key(self, conn: Connection, subject_id: str) -> tuple[str, SecretKey] | None:
        """A worker's identity key, or None once it was erased."""
        wrapped = conn.execute(
            select(Subject.wrapped_key).where(Subject.id == subject_id)
        ).scalar_one_or_none()
        if wrapped is None:
            return None
        return subject_id, self.codec.open_subject_key(subject_id, wrapped)
