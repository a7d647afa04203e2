"""Storage: the SQLAlchemy models, the engine and the Alembic migrations.

Invariants:

* No column holds a plaintext value from a record except ``records.type``. Record
  ids are stored as keyed references (HMAC), exact-match lookups as keyed blind
  indexes, and every field value inside AEAD-sealed blobs.
* Visible metadata is limited to what these columns show: counts, record types,
  blob sizes, version numbers, key versions, timestamps, and which records share a
  site or a worker (by reference, not by value). SECURITY.md lists it.
* SQLite runs in WAL mode with foreign keys and ``secure_delete`` on; every
  transaction starts with an explicit ``BEGIN`` so that a write is all or nothing.
* The schema only changes through the migrations in ``vault/migrations``.
* A driver error leaves the storage layer as a vault error (``driver_error``),
  classified by SQLite result code or PostgreSQL SQLSTATE; no driver class name or
  driver message (which may quote a value) reaches the user. Beginning a write
  transaction on a locked SQLite database is retried a bounded number of times.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime as dt
import fcntl
import os
import re
import shutil
import sqlite3
import stat
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import TypeEngine

from vault.errors import (
    ConflictError,
    StorageBusyError,
    StorageCorruptError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
    VaultError,
)

__all__ = [
    "ApiToken",
    "Attachment",
    "AttachmentChunk",
    "AuditEntry",
    "Base",
    "BlindIndexEntry",
    "Custodian",
    "ExportRecord",
    "IdentityDecision",
    "IdentityRequest",
    "Meta",
    "Partner",
    "PartnerReceipt",
    "ReceivedRecord",
    "ReceivedVersion",
    "Recipient",
    "Record",
    "RecordLink",
    "RecordVersion",
    "Session",
    "Subject",
    "as_utc",
    "backend",
    "bulk_insert",
    "checkpoint_passive",
    "checkpoint_wal",
    "connect",
    "damaged_tables",
    "driver_error",
    "head_revision",
    "latest_versions",
    "migrate",
    "record_counts",
    "schema_revision",
    "sealed_columns",
    "single_writer",
    "sqlite_file",
    "sqlite_url",
    "utcnow",
    "write_transaction",
]

DB_FILENAME = "vault.db"
_T = TypeVar("_T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _column(
    kind: TypeEngine[_T] | type[TypeEngine[_T]],
    *args: SchemaItem,
    nullable: bool = False,
    **kwargs: Any,
) -> ColumnClause[_T]:
    """A column of a table class below: NOT NULL unless it says otherwise, and typed
    as a column expression (``Record.ref == ref``), which is all the vault uses it as."""
    return Column(kind, *args, nullable=nullable, **kwargs)


class Base:
    """A table of the vault, written as a class: its columns are class attributes
    (``Record.ref``), its :class:`~sqlalchemy.Table` is ``__table__``, and the class
    stands for the table in ``select``, ``insert`` and the like.

    Plain SQLAlchemy Core: the vault reads and writes rows through connections only,
    never as objects, and loading the ORM would cost every command a tenth of a
    second at start. A class is never instantiated.
    """

    metadata: ClassVar[MetaData] = MetaData()
    __tablename__: ClassVar[str]
    __table__: ClassVar[Table]
    __table_args__: ClassVar[tuple[Any, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns = []
        for name, value in vars(cls).items():
            if isinstance(value, Column):
                # Named by its attribute, as a declarative mapping names it.
                if value.name is not None and value.name != name:
                    raise TypeError(f"column {value.name!r} is set as {cls.__name__}.{name}")
                value.name = value.key = name
                columns.append(value)
        options: dict[str, Any] = {}
        args = list(cls.__table_args__)
        if args and isinstance(args[-1], dict):
            options = args.pop()
        cls.__table__ = Table(cls.__tablename__, Base.metadata, *columns, *args, **options)

    def __new__(cls, *args: Any, **kwargs: Any) -> Base:
        raise TypeError("a table class has no instances: rows are read as rows")

    @classmethod
    def __clause_element__(cls) -> Table:
        return cls.__table__


class Meta(Base):
    """Vault-wide settings that are not secret: vault id, current key versions."""

    __tablename__ = "meta"
    key = _column(String(64), primary_key=True)
    value = _column(Text)
    # Settings that decide who may see what are signed by the registry key.
    sig = _column(LargeBinary, nullable=True)


class Custodian(Base):
    """A person who can unlock the vault: KDF parameters and the sealed keyring."""

    __tablename__ = "custodians"
    id = _column(Integer, primary_key=True, autoincrement=True)
    name = _column(String(64), unique=True)
    role = _column(String(16))
    # Field classes and (for exporters) policies, comma-separated; also bound into
    # the sealed keyring, so an edit here makes the keyring fail to open.
    classes = _column(Text, server_default="")
    policies = _column(Text, server_default="")
    kdf = _column(Text)
    keyring = _column(LargeBinary)
    created_at = _column(DateTime(timezone=True))
    # The public key that checks this custodian's approvals, and the registry's
    # signature over name, role, grants and that key.
    approval_key = _column(String(64), nullable=True)
    sig = _column(LargeBinary, nullable=True)


class Subject(Base):
    """A worker (data subject): the key that seals their identity fields."""

    __tablename__ = "subjects"
    id = _column(String(32), primary_key=True)
    wrapped_key = _column(LargeBinary, nullable=True)
    kek_version = _column(Integer)
    created_at = _column(DateTime(timezone=True))
    erased_at = _column(DateTime(timezone=True), nullable=True)


class Record(Base):
    """One record; its content lives in :class:`RecordVersion` rows."""

    __tablename__ = "records"
    # Insertion order; other tables refer to the keyed reference, not to this.
    seq = _column(Integer, primary_key=True, autoincrement=True)
    ref = _column(String(32), unique=True)
    type = _column(String(16), index=True)
    site_ref = _column(String(32), nullable=True, index=True)
    subject_id = _column(String(32), ForeignKey("subjects.id"), nullable=True, index=True)
    created_at = _column(DateTime(timezone=True))


class RecordVersion(Base):
    """One immutable version of a record: per key class a wrapped data key and a blob.

    The identity blob has no data key of its own: it is sealed under the subject key.
    """

    __tablename__ = "record_versions"
    record_ref = _column(
        String(32), ForeignKey("records.ref", ondelete="CASCADE"), primary_key=True
    )
    version = _column(Integer, primary_key=True)
    created_at = _column(DateTime(timezone=True))
    # The KEK version that wraps this row's data keys (key rotation finds old rows).
    kek_version = _column(Integer, server_default="1", index=True)
    identity_data = _column(LargeBinary, nullable=True)
    special_key = _column(LargeBinary, nullable=True)
    special_data = _column(LargeBinary, nullable=True)
    narrative_key = _column(LargeBinary, nullable=True)
    narrative_data = _column(LargeBinary, nullable=True)
    operational_key = _column(LargeBinary)
    operational_data = _column(LargeBinary)


class BlindIndexEntry(Base):
    """Keyed HMAC of a normalized value (employee id, phone, e-mail) for exact match.

    Keyed by what a look-up asks (kind, mac) and, on SQLite, without a rowid: one
    B-tree holds the rows, and one more finds a record's entries."""

    __tablename__ = "blind_index"
    record_ref = _column(String(32), ForeignKey("records.ref", ondelete="CASCADE"))
    kind = _column(String(16))
    mac = _column(LargeBinary(32))
    __table_args__ = (
        PrimaryKeyConstraint("kind", "mac", "record_ref", name="blind_index_pkey"),
        Index("ix_blind_index_record_ref", "record_ref"),
        {"sqlite_with_rowid": False},
    )


class RecordLink(Base):
    """A reference from one record to another (a finding's evidence), by keyed reference."""

    __tablename__ = "record_links"
    record_ref = _column(
        String(32), ForeignKey("records.ref", ondelete="CASCADE"), primary_key=True
    )
    target_ref = _column(String(32), primary_key=True, index=True)


class Recipient(Base):
    """A registered export recipient: a name and an age public key (not secret)."""

    __tablename__ = "recipients"
    id = _column(Integer, primary_key=True, autoincrement=True)
    name = _column(String(64), unique=True)
    public_key = _column(Text)
    fingerprint = _column(String(64))
    created_at = _column(DateTime(timezone=True))
    sig = _column(LargeBinary, nullable=True)


class ExportRecord(Base):
    """One export that left the vault: who, when, under which policy, to whom, counts."""

    __tablename__ = "exports"
    id = _column(String(32), primary_key=True)
    created_at = _column(DateTime(timezone=True))
    custodian = _column(String(64))
    policy = _column(String(64))
    policy_sha256 = _column(String(64))
    recipient = _column(String(64))
    recipient_fingerprint = _column(String(64))
    counts = _column(Text)
    # Every recipient of a joint export, as a JSON list of names (``recipient`` is
    # the first); None for exports made before joint exports.
    recipients = _column(Text, nullable=True)


class Partner(Base):
    """A partner organisation whose exports this vault receives: the signing key
    pinned for it (not secret), signed by the registry."""

    __tablename__ = "partners"
    id = _column(Integer, primary_key=True, autoincrement=True)
    name = _column(String(64), unique=True)
    signing_key = _column(String(64))  # raw Ed25519 key, hex
    fingerprint = _column(String(64))
    created_at = _column(DateTime(timezone=True))
    sig = _column(LargeBinary, nullable=True)


class PartnerReceipt(Base):
    """One export received from a partner, as its signed manifest described it;
    signed by the registry. The newest one (by ``sequence``) is what a later export
    from that partner must be newer than."""

    __tablename__ = "partner_receipts"
    partner = _column(String(64), primary_key=True)
    export_id = _column(String(64), primary_key=True)
    sequence = _column(BigInteger)
    exported_at = _column(DateTime(timezone=True))
    received_at = _column(DateTime(timezone=True))
    custodian = _column(String(64))
    manifest_sha256 = _column(String(64))
    policy = _column(String(64))
    policy_sha256 = _column(String(64))
    terms = _column(Text)
    counts = _column(Text)
    sig = _column(LargeBinary, nullable=True)
    __table_args__ = (Index("ix_partner_receipts_sequence", "partner", "sequence"),)


class ReceivedRecord(Base):
    """A record received from a partner; its content and provenance live sealed in
    :class:`ReceivedVersion` rows, whose associated data binds the partner and type."""

    __tablename__ = "received_records"
    seq = _column(Integer, primary_key=True, autoincrement=True)
    ref = _column(String(32), unique=True)
    partner = _column(String(64), index=True)
    type = _column(String(16))
    created_at = _column(DateTime(timezone=True))


class ReceivedVersion(Base):
    """One version of a received record: per key class a wrapped data key and a blob
    (never an identity class: received records carry none)."""

    __tablename__ = "received_versions"
    record_ref = _column(
        String(32), ForeignKey("received_records.ref", ondelete="CASCADE"), primary_key=True
    )
    version = _column(Integer, primary_key=True)
    export_id = _column(String(64))
    created_at = _column(DateTime(timezone=True))
    kek_version = _column(Integer, index=True)
    special_key = _column(LargeBinary, nullable=True)
    special_data = _column(LargeBinary, nullable=True)
    narrative_key = _column(LargeBinary, nullable=True)
    narrative_data = _column(LargeBinary, nullable=True)
    operational_key = _column(LargeBinary)
    operational_data = _column(LargeBinary)


class Session(Base):
    """An unlocked session: the keyring sealed under a key only the token holds."""

    __tablename__ = "sessions"
    id = _column(String(32), primary_key=True)
    custodian = _column(String(64))
    created_at = _column(DateTime(timezone=True))
    expires_at = _column(DateTime(timezone=True))
    keyring = _column(LargeBinary)


class AuditEntry(Base):
    """One entry of the tamper-evident audit log (a keyed hash chain)."""

    __tablename__ = "audit_log"
    seq = _column(Integer, primary_key=True, autoincrement=False)
    # Microseconds since 1970-01-01 UTC: exact and the same on every driver.
    at = _column(BigInteger)
    actor = _column(String(64))
    action = _column(String(32))
    refs = _column(Text)
    details = _column(Text)
    mac = _column(LargeBinary(32))


class IdentityRequest(Base):
    """A request to see one record's identity fields, with a sealed reason."""

    __tablename__ = "identity_requests"
    id = _column(String(32), primary_key=True)
    requester = _column(String(64))
    record_ref = _column(String(32), index=True)
    reason = _column(LargeBinary)
    created_at = _column(DateTime(timezone=True))
    expires_at = _column(DateTime(timezone=True))


class IdentityDecision(Base):
    """One custodian's approval or refusal of an identity request."""

    __tablename__ = "identity_decisions"
    request_id = _column(
        String(32), ForeignKey("identity_requests.id", ondelete="CASCADE"), primary_key=True
    )
    custodian = _column(String(64), primary_key=True)
    decision = _column(String(8))
    at = _column(DateTime(timezone=True))
    # Signed by the deciding custodian's approval key (see custodians.approval_key).
    sig = _column(LargeBinary, nullable=True)


class Review(Base):
    """A custodian's review of one free-text field of one record version for one
    audience. ``sealed`` holds the decision (spans as offsets, never text), sealed
    with the row's key columns as context, so a row moved to another record, version,
    audience or field does not open."""

    __tablename__ = "reviews"
    record_ref = _column(
        String(32), ForeignKey("records.ref", ondelete="CASCADE"), primary_key=True
    )
    version = _column(Integer, primary_key=True)
    audience = _column(String(16), primary_key=True)
    field = _column(String(64), primary_key=True)
    reviewer = _column(String(64))
    reviewed_at = _column(DateTime(timezone=True))
    sealed = _column(LargeBinary)


class Attachment(Base):
    """An evidence file: its data key and sealed description; chunks hold the bytes."""

    __tablename__ = "attachments"
    id = _column(String(32), primary_key=True)
    record_ref = _column(String(32), ForeignKey("records.ref", ondelete="CASCADE"), index=True)
    created_at = _column(DateTime(timezone=True))
    kek_version = _column(Integer)
    wrapped_key = _column(LargeBinary)
    sealed_meta = _column(LargeBinary)
    chunks = _column(Integer)


class AttachmentChunk(Base):
    """One sealed chunk of an attachment (STREAM construction)."""

    __tablename__ = "attachment_chunks"
    attachment_id = _column(
        String(32), ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    idx = _column(Integer, primary_key=True)
    data = _column(LargeBinary)


class ApiToken(Base):
    """A bearer token for the HTTP API: only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id = _column(String(32), primary_key=True)
    name = _column(String(64), unique=True)
    role = _column(String(16))
    classes = _column(Text, server_default="")
    policies = _column(Text, server_default="")
    token_hash = _column(LargeBinary(32), unique=True)
    created_at = _column(DateTime(timezone=True))
    expires_at = _column(DateTime(timezone=True), nullable=True)
    revoked_at = _column(DateTime(timezone=True), nullable=True)
    sig = _column(LargeBinary, nullable=True)


def _latest(some: Any) -> Any:
    grouped = select(RecordVersion.record_ref, func.max(RecordVersion.version).label("v"))
    if some is not None:
        # Filter before grouping: a look-up of a few records stays a few index reads.
        grouped = grouped.where(RecordVersion.record_ref.in_(some))
    newest = grouped.group_by(RecordVersion.record_ref).subquery()
    return (
        select(
            Record.ref, Record.type, Record.site_ref, Record.subject_id, *RecordVersion.__table__.c
        )
        .join(newest, newest.c.record_ref == Record.ref)
        .join(
            RecordVersion,
            (RecordVersion.record_ref == Record.ref) & (RecordVersion.version == newest.c.v),
        )
    )


# Built once: a subquery's columns cost more to set up than a look-up costs to run.
_LATEST_ALL: Final = _latest(None)
_LATEST_SOME: Final = _latest(bindparam("refs", expanding=True))


def latest_versions(refs: list[str] | None = None) -> Any:
    """``SELECT`` of the newest version of every record (or of ``refs`` only): record
    ref, type, site reference and subject pointer, then the version row's columns.
    Callers add filters and order."""
    if refs is None:
        return _LATEST_ALL
    return _LATEST_SOME.params(refs=list(refs))


def latest_versions_in(refs: Any) -> Any:
    """:func:`latest_versions` of the records a ``SELECT`` of refs picks (a page)."""
    return _latest(refs)


_SEALED_COLUMNS: Final = (
    "identity_data",
    "special_key",
    "special_data",
    "narrative_key",
    "narrative_data",
    "operational_key",
    "operational_data",
)


def sealed_columns(row: Any) -> dict[str, Any]:
    """The sealed columns of a version row, as the record codec opens them."""
    return {name: getattr(row, name) for name in _SEALED_COLUMNS}


def record_counts(conn: Connection) -> dict[str, int]:
    """How many records of each type (visible metadata: no decryption)."""
    rows = conn.execute(select(Record.type, func.count()).group_by(Record.type)).all()
    return {str(rtype): int(n) for rtype, n in rows}


def bulk_insert(conn: Connection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert many rows of one shape with the driver's executemany.

    Import speed is bounded by per-row statement processing, so values go to the
    driver as they are: bytes, str and int need no conversion on any supported
    driver, and a datetime (the same for a whole batch) is converted once.
    """
    if not rows:
        return
    table = Base.metadata.tables[str(model.__tablename__)]
    dialect = conn.dialect
    if dialect.paramstyle == "qmark":
        mark = "?"
    elif dialect.paramstyle in ("format", "pyformat"):
        mark = "%s"
    else:  # pragma: no cover - every supported driver is one of the above
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    converted: dict[int, Any] = {}
    for i, name in enumerate(columns):
        value = rows[0][name]
        if isinstance(value, dt.datetime):
            process = table.c[name].type.bind_processor(dialect)
            converted[i] = process(value) if process else value
    quote = dialect.identifier_preparer.quote
    # Names come from the models (never from input) and are quoted by the dialect.
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    params = []
    for row in rows:
        values = [row[c] for c in columns]
        for i, value in converted.items():
            if row[columns[i]] is not rows[0][columns[i]]:
                raise ValueError("bulk_insert needs one timestamp per batch")
            values[i] = value
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def _mark(conn: Connection) -> str:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise StorageError(f"unsupported database driver parameter style {style!r}")


def driver_execute(conn: Connection, sql: str, params: Sequence[Any]) -> None:
    """Run one fixed statement (``?`` marks the parameters) on the driver's own cursor,
    inside ``conn``'s transaction: for statements run once per operation, where
    building them through SQLAlchemy costs more than running them. Driver errors
    come out as SQLAlchemy's, so every caller's error mapping applies."""
    mark = _mark(conn)
    if mark != "?":
        sql = sql.replace("?", mark)
    dbapi = conn.dialect.loaded_dbapi
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, tuple(params))
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error) from None
    finally:
        cur.close()


def one_snapshot(conn: Connection) -> None:
    """Let every statement of ``conn``'s next transaction read one snapshot (PostgreSQL
    reads each statement's own by default; SQLite's read transaction already holds
    one): a check that reads a table and then its summary must not see a write
    committed between them."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn.execution_options(isolation_level="REPEATABLE READ")


def driver_scan(conn: Connection, sql: str, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
    """The rows of one fixed query, fetched ``batch`` at a time on the driver's own
    cursor (server-side on PostgreSQL, so memory stays flat in the table's size)."""
    dbapi = conn.dialect.loaded_dbapi
    raw = conn.connection.driver_connection
    # A named cursor is a server-side one on psycopg.
    cur = raw.cursor(name="evault_scan") if conn.dialect.name == "postgresql" else raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(batch):
            yield from rows
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, (), exc, dbapi.Error) from None
    finally:
        cur.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / DB_FILENAME}"


_BUSY_TIMEOUT_MS: Final = 10_000
# A new database's page size (one already made keeps its own: in WAL mode the page
# size cannot change). Versions of 1-2 KB left a fifth of each 4 KiB page empty,
# and 64 KiB evidence chunks spanned 17 pages; 16 KiB measured best for both
# (bench/README.md), without the fixed cost of 64 KiB pages in a small vault.
PAGE_SIZE: Final = 16384


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions start (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before the first table is made
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cur.close()


ON_BEGIN: Final = "evault_on_begin"


def _on_begin(conn: Any) -> None:
    # A check that must hold in every transaction of an engine made with
    # execution_options(evault_on_begin=check): it runs first, inside the transaction.
    check = conn.get_execution_options().get(ON_BEGIN)
    if check is not None:
        check(conn)


# How long (ms) an SQLite write transaction may wait for another writer within a
# wait_at_most() or no_wait() block; None: the busy timeout and its retries.
_WAIT_MS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "evault_wait_ms", default=None
)


@contextlib.contextmanager
def no_wait() -> Iterator[None]:
    """Within this block an SQLite write transaction that would have to wait for
    another writer fails at once (StorageError) instead: for callers that must not
    block, and will do the work elsewhere instead."""
    with wait_at_most(0):
        yield


def may_wait() -> bool:
    """False within a no_wait() block: the caller will do the work elsewhere."""
    return _WAIT_MS.get() != 0


@contextlib.contextmanager
def wait_at_most(seconds: float) -> Iterator[None]:
    """Within this block an SQLite write transaction waits at most ``seconds`` for
    another writer, once, then fails (StorageBusyError): for a read's audit entry,
    which has somewhere else to go rather than keep a reader waiting."""
    # Never longer than an enclosing block allows (no_wait() stays no wait).
    wait = int(seconds * 1000)
    outer = _WAIT_MS.get()
    token = _WAIT_MS.set(wait if outer is None else min(wait, outer))
    try:
        yield
    finally:
        _WAIT_MS.reset(token)


def _sqlite_begin(conn: Any) -> None:
    # A write transaction takes the write lock at once (IMMEDIATE), so it never
    # fails half-way because another writer got there first; reads stay deferred
    # so that several may run at once.
    if not conn.get_execution_options().get("evault_write"):
        conn.exec_driver_sql("BEGIN")
        return
    # On the driver's connection: settings, run before every write (reads' audit
    # entries too). First without waiting: only a writer that must wait says so
    # (see writers_waiting), so an uncontended write costs two settings, no file.
    wait = _WAIT_MS.get()
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        began = _began(raw)
        if began != "began":
            limit = _BUSY_TIMEOUT_MS if wait is None else max(0, int(wait))
            raw.execute(f"PRAGMA busy_timeout={limit}")
            # A writer that waits says so; one that may not wait fails at once.
            waits = began == "busy" and limit > 0
            with _waiting(sqlite_file(conn.engine) if waits else None):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


def _began(raw: Any) -> str:
    """``BEGIN IMMEDIATE`` on the driver's connection if the lock is free at once:
    ``"began"``, else ``"busy"`` (it must wait) or ``"error"``, which the caller's own
    ``BEGIN IMMEDIATE`` meets again and reports as SQLAlchemy does."""
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", 0)
        return "busy" if code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED) else "error"
    return "began"


# A writer waiting for SQLite's write lock holds a shared lock (flock) on this file
# beside the database; a long write pauses between its chunks only while someone
# does (see vault.pacing). The file is empty and is made on the first wait.
WAITING_SUFFIX: Final = "-writers"
_WAITING_FLAGS: Final = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def _waiting_file(db: Path | None) -> Path | None:
    if db is None or not db.name or db.name == ":memory:":
        return None
    return db.with_name(db.name + WAITING_SUFFIX)


def _open_waiting(path: Path, flags: int) -> int:
    """The waiting file, opened without following a link or blocking (a FIFO): -1
    unless it is a regular file of this user's."""
    fd = os.open(path, flags | _WAITING_FLAGS, 0o600)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        return -1
    return fd


@contextlib.contextmanager
def _waiting(db: Path | None) -> Iterator[None]:
    """Say, for as long as this block runs, that a writer waits for the write lock.
    Best effort, and never a wait of its own: where the file cannot be made or
    locked at once, the writer waits unannounced (and the long write it waits for
    yields anyway, see :func:`writers_waiting`)."""
    path = _waiting_file(db)
    fd = -1
    if path is not None:
        with contextlib.suppress(OSError):
            fd = _open_waiting(path, os.O_RDWR | os.O_CREAT)
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    try:
        yield
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)  # and with it the lock


def writers_waiting(engine: Engine) -> bool:
    """Whether another writer (a thread or a process) waits for the write lock of
    this SQLite vault; True where that cannot be told (a waiting file that cannot be
    made, opened or is not this user's plain file), so a long write yields."""
    path = _waiting_file(sqlite_file(engine))
    if path is None:
        return False
    try:
        fd = _open_waiting(path, os.O_RDONLY)
    except FileNotFoundError:
        # No writer has waited yet, or none could make the file to say so.
        return not os.access(path.parent, os.W_OK)
    except OSError:
        return True
    if fd < 0:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


# SQLite has one writer at a time; threads of one process that wait in its busy
# handler sleep in growing steps (up to 100 ms), so they queue on a lock instead.
# Other processes still wait in the busy handler.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_LOCK = threading.Lock()


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of an SQLite vault; None for a database server."""
    if engine.dialect.name != "sqlite":
        return None
    return Path(engine.url.database or "")


def checkpoint_wal(engine: Engine) -> None:
    """Fold the write-ahead log into the database file and empty it (SQLite), so
    that deleted key bytes do not linger in the WAL. Another process reading the
    vault can hold the checkpoint up: then this says so rather than pass silently."""
    if engine.dialect.name != "sqlite":
        return
    for _attempt in range(50):
        with engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy is not None and busy[0] == 0:
            return
        time.sleep(0.1)
    raise StorageError(
        "done, but another process is reading the vault, so the old key bytes may "
        "remain in the write-ahead log until it closes; run the command again then"
    )


def checkpoint_passive(engine: Engine) -> None:
    """Fold what the write-ahead log holds into the database file as far as readers
    allow, waiting for no one (SQLite): between the chunks of a long write, so that
    the log does not grow with the whole write. Best effort: a failure changes
    nothing that was committed."""
    if engine.dialect.name != "sqlite":
        return
    with contextlib.suppress(SQLAlchemyError), engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


_PAGE = re.compile(r"\bpage (\d+)", re.IGNORECASE)
_LISTED_PAGES: Final = 5


def damaged_tables(engine: Engine) -> Iterator[tuple[str, str]]:
    """``(table, what is wrong)`` for each table the database itself finds damaged.

    SQLite checks its pages (``PRAGMA integrity_check``, then table by table to say
    which); a server is asked for every row of every table, each table in its own
    transaction. The description names pages, never what a page holds. ``table`` is
    ``database`` for damage no single table owns.
    """
    names = [*Base.metadata.tables, "alembic_version"]
    if engine.dialect.name != "sqlite":
        for name in names:
            try:
                with engine.connect() as conn:
                    quoted = conn.dialect.identifier_preparer.quote(name)
                    streamed = conn.execution_options(stream_results=True, yield_per=1000)
                    with streamed.exec_driver_sql(f"SELECT * FROM {quoted}") as rows:  # noqa: S608
                        for _row in rows:
                            pass
            except (SQLAlchemyError, ValueError, TypeError):
                yield name, "its rows cannot all be read (the server reports damaged data)"
        return
    whole = _sqlite_integrity(engine, None)
    if whole == []:
        return
    found = False
    for name in names:
        problems = _sqlite_integrity(engine, name)
        if problems != []:
            found = True
            yield name, _pages_text(problems)
    if not found:
        yield "database", _pages_text(whole)


def _sqlite_integrity(engine: Engine, table: str | None) -> list[str] | None:
    """SQLite's integrity check (of one table and its indexes): [] when it is fine,
    the problems it lists otherwise, None when the check itself fails."""
    # Table names come from the models, never from input.
    pragma = "PRAGMA integrity_check" if table is None else f"PRAGMA integrity_check({table})"
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql(pragma).all()]
    except SQLAlchemyError:
        return None
    return [] if rows == ["ok"] else rows


def _pages_text(problems: list[str] | None) -> str:
    if problems is None:
        return "its pages are damaged (so badly that the integrity check stops)"
    pages = sorted({int(p) for line in problems for p in _PAGE.findall(line)})
    shown = ", ".join(str(p) for p in pages[:_LISTED_PAGES])
    more = f" and {len(pages) - _LISTED_PAGES} more" if len(pages) > _LISTED_PAGES else ""
    where = f" (page{'s' if len(pages) > 1 else ''} {shown}{more})" if pages else ""
    return f"its pages are damaged{where}"


def backend(engine: Engine) -> str:
    """The database's kind: ``sqlite`` or ``postgresql``."""
    return str(engine.dialect.name)


def single_writer(engine: Engine) -> bool:
    """Whether the database takes one writer at a time (SQLite): more threads of one
    process would only take turns for its write lock."""
    return bool(engine.dialect.name == "sqlite")


_RLOCK_TYPE: Final = type(threading.RLock())


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _SQLITE_WRITERS_LOCK:
        # Keyed by the pool, which engines made with execution_options() share.
        return _SQLITE_WRITERS.setdefault(engine.pool, threading.RLock())


# A write transaction that finds the SQLite database locked for the whole busy
# timeout is begun again after a pause that doubles each time: at most
# _BUSY_RETRIES more attempts, so a writer gives up after about
# (_BUSY_RETRIES + 1) x busy timeout + 0.25 + 0.5 + 1 s (about 42 s) and says so.
_BUSY_RETRIES: Final = 3
_BUSY_BACKOFF_S: Final = 0.25


@contextlib.contextmanager
def write_transaction(engine: Engine, *, synced: bool = True) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error.

    Beginning it is retried with backoff while the database is locked by another
    process (see _BUSY_RETRIES); the body runs once, never again.

    ``synced=False`` (reads' audit entries, on SQLite): the commit reaches the
    operating system before this returns, so a crash of the process loses nothing,
    and the disk within :data:`SYNC_WINDOW_S` (see :class:`_LateSync`), instead of a
    disk flush per read."""
    lock = _writer_lock(engine)
    late = None if synced else _late_sync(engine)
    if not isinstance(lock, _RLOCK_TYPE):
        with lock:
            yield from _in_write(engine, late)
        return
    wait = _WAIT_MS.get()
    acquired = lock.acquire(blocking=False)
    if not acquired:
        # Another thread of this process is writing: wait (no longer than allowed,
        # within a wait_at_most() block), and say so.
        with _waiting(sqlite_file(engine)):
            acquired = lock.acquire(timeout=-1 if wait is None else wait / 1000)
    if not acquired:
        assert wait is not None  # only a bounded wait gives up
        raise StorageBusyError(
            f"the database is busy with a long write; this waited {wait / 1000:g} s and gave up"
        )
    try:
        yield from _in_write(engine, late)
    finally:
        lock.release()


def _in_write(engine: Engine, late: _LateSync | None) -> Iterator[Connection]:
    conn, tx = _begin_write(engine, relaxed=late is not None)
    try:
        with tx:
            yield conn
        if late is not None:
            late.note()
    finally:
        if late is not None:
            _restore_sync(conn)
        conn.close()


def _begin_write(engine: Engine, *, relaxed: bool = False) -> tuple[Connection, Any]:
    attempt = 0
    while True:
        conn = None
        try:
            conn = engine.connect().execution_options(evault_write=True)
            if relaxed:
                # On the driver's connection: set between transactions, never in one.
                conn.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
            return conn, conn.begin()
        except SQLAlchemyError as exc:
            if conn is not None:
                conn.close()
            if _WAIT_MS.get() is not None or attempt >= _BUSY_RETRIES or not _is_busy(exc):
                raise
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise DBAPIError.instance("PRAGMA synchronous", (), exc, sqlite3.Error) from None
        time.sleep(_BUSY_BACKOFF_S * 2**attempt)
        attempt += 1


def _restore_sync(conn: Connection) -> None:
    try:
        conn.connection.driver_connection.execute("PRAGMA synchronous=FULL")  # type: ignore[union-attr]
    except sqlite3.Error:
        # A pooled connection must not keep the relaxed setting: drop it instead.
        conn.invalidate()


SYNC_WINDOW_S: Final = 0.1
"""At most this long between a read's audit entry reaching the operating system and
reaching the disk (SQLite; a database server flushes on its own terms)."""


class _LateSync:
    """The disk flush of an SQLite write-ahead log, at most SYNC_WINDOW_S after a
    commit that skipped its own; also when the engine is disposed and at exit. A
    synced commit (every write of data) flushes the whole log, these entries too."""

    def __init__(self, wal: Path) -> None:
        self._wal = wal
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def note(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(SYNC_WINDOW_S, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is None:
            return
        timer.cancel()
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except OSError:
            return  # no log file: the last connection folded it into the database
        try:
            os.fsync(fd)
        except OSError:
            # The next synced commit flushes the same log and fails with the error.
            pass
        finally:
            os.close(fd)


_LATE_SYNCS: weakref.WeakKeyDictionary[Any, _LateSync] = weakref.WeakKeyDictionary()
_LATE_SYNCS_LOCK: Final = threading.Lock()


def _late_sync(engine: Engine) -> _LateSync | None:
    if engine.dialect.name != "sqlite":
        return None
    with _LATE_SYNCS_LOCK:
        late = _LATE_SYNCS.get(engine.pool)
        if late is None:
            late = _LATE_SYNCS[engine.pool] = _LateSync(Path(f"{engine.url.database}-wal"))
            event.listen(engine, "engine_disposed", lambda _engine: late.flush())
        return late


@atexit.register
def _flush_late_syncs() -> None:
    for late in list(_LATE_SYNCS.values()):
        late.flush()


# SQLite primary result codes (the low byte of the extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_CONSTRAINT = 11, 13, 14, 19
_SQLITE_NOTADB = 26
_SQLITE_UNIQUE = (1555, 2067)  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def _is_busy(exc: BaseException) -> bool:
    code = _sqlite_code(exc)
    return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


def driver_error(
    exc: SQLAlchemyError, doing: str = "database error", engine: Engine | None = None
) -> VaultError:
    """The vault error for a driver error: one line saying what happened and what to
    do, with its own exit code. It names no driver class and repeats no driver
    message (which may quote a value); with the ``engine``, an SQLite vault's folder
    is named where the disk is the matter."""
    orig = getattr(exc, "orig", None)
    code = _sqlite_code(exc)
    if code is not None:
        folder = None
        if engine is not None and (db := sqlite_file(engine)) is not None:
            folder = db.resolve().parent
        return _sqlite_error(code & 0xFF, code, doing, folder)
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        return _sqlstate_error(state, doing)
    if orig is not None and type(orig).__module__.startswith("psycopg"):
        text = str(orig)
        # A failed connection carries no SQLSTATE; the server's refusal is in its text.
        if "does not exist" in text and "database" in text:
            return _unknown_database(doing)
        if getattr(exc, "connection_invalidated", False) or type(orig).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return _unreachable(doing)
    return StorageError(f"{doing}: the database refused the operation; run it again")


def _unknown_database(doing: str) -> StorageError:
    return StorageUnavailableError(
        f"{doing}: the database named in the URL does not exist; check the URL or create it"
    )


def _unreachable(doing: str) -> StorageError:
    return StorageUnavailableError(
        f"{doing}: the database server cannot be reached or the connection was lost; "
        "check that it is running and reachable, then run it again"
    )


# Less room than this left where the database lives, and a disk I/O error is a full
# disk (SQLite cannot create its -shm or write-ahead log files there).
_NEARLY_FULL: Final = 1 << 20


def _sqlite_error(primary: int, code: int, doing: str, folder: Path | None = None) -> VaultError:
    where = f" ({folder})" if folder is not None else ""
    if primary == _SQLITE_IOERR and folder is not None:
        with contextlib.suppress(OSError):
            if shutil.disk_usage(folder).free < _NEARLY_FULL:
                primary = _SQLITE_FULL
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageBusyError(
            f"{doing}: the database is locked by another process (gave up after "
            f"{_BUSY_RETRIES + 1} tries); wait for it to finish and run it again"
        )
    if primary == _SQLITE_FULL:
        return StorageFullError(
            f"{doing}: the disk holding the database{where} is full; free space and run it again"
        )
    if primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
        return StorageReadOnlyError(
            f"{doing}: the database file or its folder cannot be written (read-only); "
            "make them writable by this user and run it again"
        )
    if primary == _SQLITE_IOERR:
        return StorageUnavailableError(
            f"{doing}: disk I/O error on the database; check the disk (and free space), "
            "then run it again"
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StorageCorruptError(
            f"{doing}: the database file is damaged or is not a vault database; "
            "restore it from a backup"
        )
    if code in _SQLITE_UNIQUE:
        return ConflictError(f"{doing}: changed concurrently, retry")
    return StorageError(f"{doing}: the database refused the operation (SQLite code {code})")


def _sqlstate_error(state: str, doing: str) -> VaultError:
    if state in ("53100", "53400"):
        return StorageFullError(
            f"{doing}: the database server is out of disk space; free space and run it again"
        )
    if state in ("23505", "40001", "40P01"):
        return ConflictError(f"{doing}: changed concurrently, retry")
    if state in ("55P03",):
        return StorageBusyError(f"{doing}: a row is locked by another writer; run it again")
    if state == "3D000":
        return _unknown_database(doing)
    if state == "25006":
        return StorageReadOnlyError(
            f"{doing}: the database server accepts only reads; use a writable server"
        )
    if state.startswith(("08", "57P")):
        return _unreachable(doing)
    if state.startswith("XX") or state == "58030":
        return StorageCorruptError(
            f"{doing}: the database server reports damaged data or a disk error; "
            "check the server and restore from a backup if needed"
        )
    return StorageError(f"{doing}: the database refused the operation (SQLSTATE {state})")


def connect(url: str) -> Engine:
    """An engine for ``url`` with the vault's connection settings."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "begin", _on_begin)
    except (SQLAlchemyError, ImportError, ValueError):
        raise StorageError(
            "cannot use the database URL: check its form (sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB) and that the driver is installed"
        ) from None
    return engine


_MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION_FILE: Final = re.compile(r"(\d{4})_\w+\.py")


# Alembic (with Mako and its script loader) loads only when the schema must move:
# opening a vault whose stored revision is the code's own needs none of it.
def _alembic_config() -> Any:
    from alembic.config import Config  # noqa: PLC0415 - loaded only to migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest revision the code knows: revision ids are the files' number prefixes
    (tests/test_migrations.py checks that Alembic agrees)."""
    found = [
        m[1]
        for f in (_MIGRATIONS / "versions").iterdir()
        if (m := _REVISION_FILE.fullmatch(f.name))
    ]
    return max(found)


def schema_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return schema_revision_of(conn)
    except SQLAlchemyError as exc:
        raise driver_error(exc, "cannot read the database", engine) from None


def create_schema(conn: Connection) -> None:
    """Build the current schema in an empty database, stamped with the head revision,
    inside the caller's transaction (the one that also writes the new vault's keys,
    so that a vault is made whole or not at all).

    The models are the head schema (tests/test_migrations.py checks that the
    migrations build exactly them), so a new vault is made from them rather than by
    replaying every migration; the stamp is the row Alembic keeps, so later
    migrations run on it as on a migrated vault.
    """
    # Not checkfirst: a table of that name already there is an error, not reused.
    Base.metadata.create_all(conn, checkfirst=False)
    conn.execute(
        text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
        {"v": head_revision()},
    )


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade (or with a revision, move) the schema inside one transaction."""
    from alembic import command  # noqa: PLC0415 - see _alembic_config
    from alembic.util.exc import CommandError  # noqa: PLC0415

    cfg = _alembic_config()
    try:
        with write_transaction(engine) as conn:
            cfg.attributes["connection"] = conn
            if revision == "base" or (
                revision != "head" and _is_older(revision, schema_revision_of(conn))
            ):
                command.downgrade(cfg, revision)
            else:
                command.upgrade(cfg, revision)
    except CommandError:
        raise StorageError(
            "the database schema has a revision this version does not know "
            "(written by a newer Evidence Vault?)"
        ) from None
    except SQLAlchemyError as exc:
        raise driver_error(exc, "schema migration failed", engine) from None


def schema_revision_of(conn: Any) -> str | None:
    """The stored revision, read as Alembic keeps it (one row of ``alembic_version``)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) != 1:
        raise StorageError("the database schema has no single revision (a damaged vault?)")
    return str(rows[0])


def _is_older(target: str, current: str | None) -> bool:
    if current is None:
        return False
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    return any(rev.revision == target for rev in script.iterate_revisions(current, "base"))
