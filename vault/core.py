"""The vault service: the operations the CLI, the HTTP API and other tools call.

Invariants:

* Every write (one record, a whole import file, an update, a passphrase change) is
  one database transaction: a fault anywhere leaves nothing written.
* Records are never overwritten: an update adds a version; earlier versions stay
  readable with ``get(id, version=n)``.
* References between records (``site_id``, ``evidence``) must resolve, within the
  vault or the same import, before the transaction commits.
* Nothing here logs, prints or puts a record value in an exception message.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import datetime as dt
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final, Self

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from vault import attachments as evidence
from vault import audit, crypto, custody, lifecycle, sharing, tokens
from vault import backup as backup_mod
from vault.crypto import KdfParams, Passphrase, SecretKey, SigningKey
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UsageError,
)
from vault.keys import Grant, Keyring, open_keyring, seal_keyring
from vault.policy import Policy, find_policy
from vault.records import (
    RecordCodec,
    normalize_email,
    normalize_employee_id,
    phone_key,
)
from vault.redaction import SiteInfo
from vault.schema import KeyClass, shown_id, validate_record
from vault.sources import open_records
from vault.store import (
    DB_FILENAME,
    BlindIndexEntry,
    Custodian,
    Meta,
    Record,
    RecordLink,
    RecordVersion,
    Subject,
    as_utc,
    bulk_insert,
    connect,
    head_revision,
    latest_versions,
    migrate,
    no_wait,
    schema_revision,
    single_writer,
    sqlite_url,
    utcnow,
    write_transaction,
)
from vault.store import Session as SessionRow

__all__ = ["ImportResult", "RecordSummary", "Vault", "VersionInfo"]

FORMAT_VERSION: Final = "1"
BATCH_SIZE: Final = 2_000
_OTHER_VERSION = aliased(RecordVersion)
_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DATE_FIELD: Final = {"testimony": "received_on", "finding": "audit_date"}
_MAX_VERSION: Final = 2**31 - 1
_TOKEN_VIEWS: Final = 1024  # grants of valid tokens kept in memory (see for_token)

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What ``list`` and ``find`` return: no identity, narrative or special values."""

    id: str
    type: str
    version: int
    site_id: str | None
    date: str | None
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "site_id": self.site_id,
            "date": self.date,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version of a record and when it was written."""

    version: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ImportResult:
    """How many records of each type one import added."""

    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.by_type.values())


@dataclass(slots=True)
class _Pending:
    """A reference to a record not yet seen in this import."""

    where: str
    field: str
    expected_type: str


class _ImportBatch:
    """Rows of up to BATCH_SIZE records, inserted together with executemany."""

    def __init__(self) -> None:
        # One timestamp per batch: finer times would only add visible metadata.
        self.now = utcnow()
        self.subjects: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.indexes: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.refs: dict[str, str] = {}
        self.wanted: dict[str, list[_Pending]] = {}

    def __len__(self) -> int:
        return len(self.records)


def _existing(
    path: str | os.PathLike[str] | None, db_url: str | None
) -> tuple[Path | None, Engine]:
    """The folder and an engine for a vault that must already exist."""
    folder = Path(path) if path is not None else None
    url = _resolve_db_url(folder, db_url)
    if folder is not None and not db_url and not (folder / DB_FILENAME).is_file():
        raise NotFoundError(f"no vault in {folder} (create one with 'evault init')")
    return folder, connect(url)


def _resolve_db_url(path: Path | None, db_url: str | None) -> str:
    if db_url:
        return db_url
    if path is None:
        raise UsageError("no vault given: pass --vault DIR (or set EVAULT_DIR) or --db-url")
    return sqlite_url(path)


class Vault:
    """An unlocked vault. Use :meth:`create` or :meth:`open`, ideally as a context manager.

    >>> with Vault.open(folder, passphrase) as v:      # doctest: +SKIP
    ...     v.get("T-0001")
    """

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        custodian: str,
        grant: Grant,
        meta: Mapping[str, str],
        location: str,
    ) -> None:
        self._engine = engine
        self._keys = keyring
        self._codec = RecordCodec(
            keyring, int(meta["kek_version"]), int(meta.get("min_kek_version", "1"))
        )
        self.custodian = custodian
        self.grant = grant
        self.role = grant.role
        self.location = location
        self.identity_approvals = int(meta.get("identity_approvals", "1"))
        self.min_kek_version = int(meta.get("min_kek_version", "1"))
        self._closed = False
        self._owns_engine = True
        # Audit entries of reads from concurrent threads, committed together.
        self._audit_group = audit.GroupCommit(self._write)
        # Token hash -> (name, grant, restricted keyring, checking engine): see for_token.
        self._token_views: dict[bytes, tuple[str, Grant, Keyring, Engine]] = {}
        self._site_country: dict[str, str | None] = {}
        self._site_refs: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Vault(vault_id={self.vault_id!r}, custodian={self.custodian!r})"

    @property
    def vault_id(self) -> str:
        return self._keys.vault_id

    @property
    def backend(self) -> str:
        """The database: ``sqlite`` or ``postgresql``."""
        return str(self._engine.dialect.name)

    @property
    def single_writer(self) -> bool:
        """Whether the database takes one writer at a time (SQLite): a server gains
        nothing from more than one thread of vault work."""
        return single_writer(self._engine)

    def no_wait(self) -> contextlib.AbstractContextManager[None]:
        """Within this block a write that would have to wait for another process's
        write fails at once with StorageError instead (SQLite): for callers that must
        not block, such as an event loop, and will do the work elsewhere."""
        return no_wait()

    # Lifecycle ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str] | None,
        passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str = "admin",
        kdf: KdfParams | None = None,
        identity_approvals: int = 1,
    ) -> Self:
        """Create a new vault (a folder with one SQLite file, or a database URL).

        ``identity_approvals`` is how many other custodians must approve before
        anyone sees a worker's identity fields (0 turns the requirement off).
        """
        if identity_approvals < 0:
            raise UsageError("identity_approvals cannot be negative")
        folder = Path(path) if path is not None else None
        url = _resolve_db_url(folder, db_url)
        if folder is not None and not db_url:
            if (folder / DB_FILENAME).exists():
                raise ConflictError(f"a vault already exists in {folder}")
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file owner-only before SQLite does; its WAL and shared-memory
            # files take the same mode.
            os.close(os.open(folder / DB_FILENAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = connect(url)
        if schema_revision(engine) is not None:
            engine.dispose()
            raise ConflictError("the database already holds a vault")
        migrate(engine)
        params = kdf or KdfParams()
        vault_id = crypto.random_token(16)
        keyring = Keyring.new(vault_id)
        admin = Grant("admin")
        signing = SigningKey.generate()
        sealed_signing = crypto.seal(
            keyring.signing_wrap_key(), signing.seed(), ("signing-key", vault_id)
        )
        now = utcnow()
        try:
            with write_transaction(engine) as conn:
                conn.execute(
                    insert(Meta),
                    [
                        {"key": "vault_id", "value": vault_id},
                        {"key": "format", "value": FORMAT_VERSION},
                        {"key": "kek_version", "value": "1"},
                        {"key": "min_kek_version", "value": "1"},
                        {"key": "identity_approvals", "value": str(identity_approvals)},
                        {"key": "created_at", "value": now.isoformat()},
                        {"key": "signing_key", "value": base64.b64encode(sealed_signing).decode()},
                        {"key": "signing_public_key", "value": signing.public_bytes().hex()},
                    ],
                )
                conn.execute(
                    insert(Custodian).values(
                        name=_check_name(custodian),
                        role="admin",
                        kdf=json.dumps(params.to_dict()),
                        keyring=seal_keyring(keyring, custodian, admin, passphrase, params),
                        created_at=now,
                    )
                )
                audit.append(
                    conn,
                    keyring.audit_key(),
                    custodian,
                    "vault-created",
                    details={"identity_approvals": identity_approvals},
                )
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StorageError(f"cannot create the vault: {type(exc).__name__}") from None
        meta = {"kek_version": "1", "identity_approvals": str(identity_approvals)}
        return cls(engine, keyring, custodian, admin, meta, _describe(folder, db_url))

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str | None = None,
    ) -> Self:
        """Unlock an existing vault with a custodian's passphrase."""
        folder, engine = _existing(path, db_url)
        try:
            return cls._unlock(engine, passphrase, custodian, _describe(folder, db_url))
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def _unlock(
        cls, engine: Engine, passphrase: Passphrase, custodian: str | None, location: str
    ) -> Self:
        revision = schema_revision(engine)
        if revision is None:
            raise StorageError("the database holds no vault")
        if revision != head_revision():
            migrate(engine)
        try:
            with engine.connect() as conn:
                meta = dict(conn.execute(select(Meta.key, Meta.value)).all())
                rows = conn.execute(select(*Custodian.__table__.c)).all()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the vault: {type(exc).__name__}") from None
        if meta.get("format") != FORMAT_VERSION or "vault_id" not in meta:
            raise StorageError("the database holds no vault of a supported format")
        chosen = _choose_custodian(rows, custodian)
        grant = _grant_of(chosen)
        keyring = open_keyring(
            meta["vault_id"],
            chosen.name,
            grant,
            chosen.keyring,
            passphrase=passphrase,
            params=KdfParams.from_dict(json.loads(chosen.kdf)),
        )
        return cls(engine, keyring, chosen.name, grant, meta, location)

    @classmethod
    def open_session(
        cls,
        path: str | os.PathLike[str] | None,
        token: str,
        *,
        db_url: str | None = None,
    ) -> Self:
        """Open a vault with an unlock-session token (no passphrase, no Argon2id)."""
        folder, engine = _existing(path, db_url)
        try:
            with engine.connect() as conn:
                meta = dict(conn.execute(select(Meta.key, Meta.value)).all())
                name, keyring = custody.open_session(conn, meta["vault_id"], token)
                row = conn.execute(
                    select(*Custodian.__table__.c).where(Custodian.name == name)
                ).one_or_none()
            if row is None:
                raise AuthenticationError("the session's custodian no longer exists")
            return cls(engine, keyring, name, _grant_of(row), meta, _describe(folder, db_url))
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StorageError(f"cannot read the vault: {type(exc).__name__}") from None
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        if not self._closed:
            if self._owns_engine:
                self._engine.dispose()
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def change_passphrase(self, new: Passphrase, *, kdf: KdfParams | None = None) -> None:
        """Rewrap this custodian's keyring under a new passphrase (fresh salt)."""
        params = (kdf or KdfParams()).with_new_salt() if kdf is None else kdf
        sealed = seal_keyring(self._keys, self.custodian, self.grant, new, params)
        with self._write() as conn:
            conn.execute(
                update(Custodian)
                .where(Custodian.name == self.custodian)
                .values(kdf=json.dumps(params.to_dict()), keyring=sealed)
            )
            # Sessions opened under the old passphrase end with it.
            conn.execute(delete(SessionRow).where(SessionRow.custodian == self.custodian))
            self._audit(conn, "passphrase-changed")
        self._checkpoint_wal()

    # Custodians, sessions, approvals, recovery -------------------------------------

    def add_custodian(
        self,
        name: str,
        passphrase: Passphrase,
        *,
        role: str,
        classes: Iterable[str] = (),
        policies: Iterable[Policy | str] = (),
        kdf: KdfParams | None = None,
    ) -> None:
        """Add a custodian with their own passphrase, role and field-class clearances.

        Custodians and exporters always hold the operational class (every record
        needs it); an auditor holds no record keys at all. An exporter is granted
        policies by their exact text: a policy (or a shipped policy's name) is
        recorded with its SHA-256, so a different file with the same name is refused.
        """
        self._require("admin")
        grant = _grant_for(role, classes, policies)
        with self._write() as conn:
            custody.add_custodian(
                conn, self._keys, _check_name(name), grant, passphrase, kdf or KdfParams()
            )
            self._audit(conn, "custodian-added", details={"name": name, **grant.to_dict()})

    def remove_custodian(self, name: str) -> None:
        """Remove a custodian: their sealed keys are deleted; their passphrase opens nothing."""
        self._require("admin")
        with self._write() as conn:
            custody.remove_custodian(conn, name, self.custodian)
            self._audit(conn, "custodian-removed", details={"name": name})
        self._checkpoint_wal()

    def custodians(self) -> builtins.list[dict[str, Any]]:
        """Custodians with their roles and clearances."""
        with self._write() as conn:
            self._audit(conn, "custodians-listed")
            return custody.list_custodians(conn)

    def unlock(self, ttl: dt.timedelta = dt.timedelta(minutes=15)) -> tuple[str, dt.datetime]:
        """Start a session; returns the token (for EVAULT_SESSION) and its expiry."""
        if not dt.timedelta(seconds=1) <= ttl <= dt.timedelta(hours=12):
            raise UsageError("a session lasts between 1 second and 12 hours")
        with self._write() as conn:
            token, expires = custody.start_session(
                conn, self._keys, self.custodian, self.grant, ttl
            )
            self._audit(conn, "session-started", details={"expires_at": expires.isoformat()})
        return token, expires

    def lock(self, token: str) -> None:
        """End a session (its sealed keys are deleted)."""
        with self._write() as conn:
            custody.end_session(conn, token)
            self._audit(conn, "session-ended")

    def request_identity(self, record_id: str, reason: str) -> str:
        """Ask to see a worker's identity fields; returns the request id."""
        self._require("admin", "custodian")
        if not self._keys.holds_class(KeyClass.IDENTITY):
            raise PermissionDeniedError(
                f"custodian {self.custodian!r} has no clearance for identity fields"
            )
        ref = self._codec.reference(record_id)
        with self._write() as conn:
            if conn.execute(select(Record.ref).where(Record.ref == ref)).first() is None:
                raise NotFoundError(f"no record {shown_id(record_id)}")
            request_id = custody.request_identity(conn, self._keys, self.custodian, ref, reason)
            self._audit(conn, "identity-requested", refs=[ref], details={"request": request_id})
        return request_id

    def decide_identity(self, request_id: str, *, approve: bool) -> None:
        """Approve or refuse another custodian's identity request."""
        self._require("admin", "custodian")
        with self._write() as conn:
            ref = custody.decide_identity(conn, request_id, self.custodian, approve)
            self._audit(
                conn,
                "identity-approved" if approve else "identity-refused",
                refs=[ref],
                details={"request": request_id},
            )

    def identity_requests(self) -> builtins.list[dict[str, Any]]:
        """Identity requests with their reasons and decisions."""
        self._require("admin", "custodian")
        with self._write() as conn:
            self._audit(conn, "identity-requests-listed")
            return custody.requests(conn, self._keys)

    def recovery_split(self, shares: int, threshold: int) -> builtins.list[str]:
        """Create ``shares`` SLIP-39 recovery shares, any ``threshold`` of which restore."""
        self._require("admin")
        with self._write() as conn:
            out = custody.recovery_split(conn, self._keys, shares, threshold)
            self._audit(conn, "recovery-split", details={"shares": shares, "threshold": threshold})
        return out

    @classmethod
    def recover(
        cls,
        path: str | os.PathLike[str] | None,
        shares: Iterable[str],
        new_passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str = "admin",
        kdf: KdfParams | None = None,
    ) -> Self:
        """Restore access with recovery shares: set a new passphrase for an admin."""
        folder, engine = _existing(path, db_url)
        try:
            with engine.connect() as conn:
                meta = dict(conn.execute(select(Meta.key, Meta.value)).all())
                keyring = custody.recovery_restore(conn, meta["vault_id"], shares)
            if not keyring.is_master:
                raise IntegrityError("integrity check failed for the recovery key record")
            params = kdf or KdfParams()
            admin = Grant("admin")
            vault = cls(engine, keyring, custodian, admin, meta, _describe(folder, db_url))
            with vault._write() as conn:
                sealed = seal_keyring(keyring, custodian, admin, new_passphrase, params)
                row = conn.execute(
                    select(Custodian.role).where(Custodian.name == custodian)
                ).one_or_none()
                if row is None:
                    conn.execute(
                        insert(Custodian).values(
                            name=_check_name(custodian),
                            role="admin",
                            kdf=json.dumps(params.to_dict()),
                            keyring=sealed,
                            created_at=utcnow(),
                        )
                    )
                elif row.role != "admin":
                    raise UsageError(f"custodian {custodian!r} is not an admin")
                else:
                    conn.execute(
                        update(Custodian)
                        .where(Custodian.name == custodian)
                        .values(kdf=json.dumps(params.to_dict()), keyring=sealed)
                    )
                conn.execute(delete(SessionRow).where(SessionRow.custodian == custodian))
                vault._audit(conn, "recovery-restored", details={"custodian": custodian})
            return vault
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StorageError(f"cannot read the vault: {type(exc).__name__}") from None
        except BaseException:
            engine.dispose()
            raise

    # Evidence files ------------------------------------------------------------------

    def attach(
        self,
        record_id: str,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        description: str | None = None,
        name: str | None = None,
    ) -> evidence.AttachmentInfo:
        """Seal a file (a path, or a binary stream with ``name``) to a record, streamed,
        in one transaction.

        The intake SHA-256, size, detected media type, custodian and time go into the
        audit log: the chain of custody.
        """
        self._require("admin", "custodian")
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                stream: IO[bytes] = path.open("rb")
            except OSError as exc:
                raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(path)) from None
            label = name or path.name
        else:
            stream, label = source, name or "upload"
        ref = self._codec.reference(record_id)
        with stream, self._write() as conn:
            self._refresh_key_version(conn)
            if conn.execute(select(Record.ref).where(Record.ref == ref)).first() is None:
                raise NotFoundError(f"no record {shown_id(record_id)}")
            return self._store_attachment(conn, ref, record_id, stream, label, description)

    def _store_attachment(
        self,
        conn: Connection,
        ref: str,
        record_id: str,
        stream: IO[bytes],
        name: str,
        description: str | None,
    ) -> evidence.AttachmentInfo:
        """Seal one file into the caller's transaction and log its chain of custody."""
        info = evidence.store(
            conn, self._keys, self._codec.kek_version, ref, record_id, stream, name, description
        )
        self._audit(
            conn,
            "attachment-added",
            refs=[ref],
            details={
                "attachment": info.id,
                "sha256": info.sha256,
                "size": info.size,
                "media_type": info.media_type,
            },
        )
        return info

    def attachments(self, record_id: str) -> builtins.list[evidence.AttachmentInfo]:
        """The evidence files of a record (name, description, type, size, SHA-256)."""
        self._require("admin", "custodian")
        ref = self._codec.reference(record_id)
        with self._write() as conn:
            self._audit(conn, "attachments-listed", refs=[ref])
            return evidence.list_for(conn, self._keys, ref)

    def extract(self, attachment_id: str, out: str | os.PathLike[str]) -> evidence.AttachmentInfo:
        """Write the original file, byte for byte, after verifying every chunk."""
        self._require("admin", "custodian")
        with self._write() as conn:
            ref, _info = evidence.info_of(conn, self._keys, attachment_id)
            self._audit(
                conn, "attachment-extracted", refs=[ref], details={"attachment": attachment_id}
            )
        with self._read() as conn:
            return evidence.extract_to(conn, self._keys, attachment_id, Path(out))

    def verify_attachment(self, attachment_id: str) -> evidence.AttachmentInfo:
        """Re-hash the decrypted file against its intake SHA-256; raises on mismatch."""
        self._require("admin", "custodian", "auditor")
        with self._read() as conn:
            info = evidence.verify(conn, self._keys, attachment_id)
        self._audit_now(
            "attachment-verified", details={"attachment": attachment_id, "sha256": info.sha256}
        )
        return info

    # API tokens ----------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        *,
        role: str,
        classes: Iterable[str] = (),
        policies: Iterable[Policy | str] = (),
        expires: dt.timedelta | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """A bearer token for the HTTP API; returned once, stored only as a hash."""
        self._require("admin")
        grant = _grant_for(role, classes, policies)
        with self._write() as conn:
            token, row = tokens.create(conn, _check_name(name), grant, expires)
            self._audit(conn, "token-created", details={"name": name, **grant.to_dict()})
        return token, row

    def tokens(self) -> builtins.list[dict[str, Any]]:
        """API tokens (never the token itself)."""
        self._require("admin")
        with self._read() as conn:
            return tokens.list_tokens(conn)

    def revoke_token(self, name: str) -> None:
        """Revoke an API token at once."""
        self._require("admin")
        with self._write() as conn:
            tokens.revoke(conn, name)
            self._audit(conn, "token-revoked", details={"name": name})

    def for_token(self, token: str) -> Vault:
        """A view of this (admin-unlocked) vault restricted to a token's grant: the
        library's role checks and the keys themselves then bound what it can do.

        Every transaction the view opens first checks, inside that transaction, that
        the token is still live, so a revocation or expiry ends even a view already
        handed out. What a valid token was granted is kept in memory (grants never
        change), so a request costs no extra round trip to the database.
        """
        self._require("admin")
        token_hash = tokens.digest(token)
        known = self._token_views.get(token_hash)
        if known is None:
            with self._read() as conn:
                name, grant = tokens.authenticate(conn, token)
            engine: Engine = self._engine.execution_options(
                evault_on_begin=functools.partial(self._check_live, token_hash)
            )
            if len(self._token_views) >= _TOKEN_VIEWS:
                self._token_views.clear()
            known = self._token_views[token_hash] = (
                name,
                grant,
                self._keys.restricted(grant),
                engine,
            )
        return self._token_view(*known)

    def known_token_view(self, token: str) -> Vault | None:
        """:meth:`for_token` for a token this vault has already authenticated, without
        touching the database (the view's transactions still check the token), or
        None. Cheap enough to call where blocking is not allowed."""
        self._require("admin")
        try:
            known = self._token_views.get(tokens.digest(token))
        except AuthenticationError:
            return None
        return None if known is None else self._token_view(*known)

    def _token_view(self, name: str, grant: Grant, keys: Keyring, engine: Engine) -> Vault:
        view = type(self).__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._engine = engine
        view._keys = keys
        view._codec = RecordCodec(keys, self._codec.kek_version, self._codec.min_version)
        view.custodian = f"token:{name}"
        view.grant = grant
        view.role = grant.role
        view._owns_engine = False
        view._closed = False
        return view

    def check_token(self, token: str) -> None:
        """AuthenticationError unless ``token`` exists, is not revoked and has not
        expired (the check every transaction of a token's view makes)."""
        token_hash = tokens.digest(token)
        with self._read() as conn:
            self._check_live(token_hash, conn)

    def _check_live(self, token_hash: bytes, conn: Connection) -> None:
        # A token found dead is forgotten: from then on it is authenticated (and
        # throttled) afresh, like any unknown token.
        try:
            tokens.check_live(conn, token_hash)
        except AuthenticationError:
            self._token_views.pop(token_hash, None)
            raise

    # Backups -------------------------------------------------------------------------

    def backup(self, out: str | os.PathLike[str], recipient: str) -> int:
        """An age-encrypted, consistent snapshot of an SQLite vault (for PostgreSQL,
        use pg_dump). ``recipient`` is a registered recipient's name or an age key."""
        self._require("admin")
        if self._engine.dialect.name != "sqlite":
            raise UsageError("back up a PostgreSQL vault with pg_dump (see README)")
        key = recipient
        for row in self.recipients():
            if row["name"] == recipient:
                key = row["public_key"]
        self._audit_now("backup", details={"recipient": recipient})
        db_file = Path(self._engine.url.database or "")
        return backup_mod.make_backup(db_file, Path(out), key)

    # Rotation, erasure, retention -------------------------------------------------

    def rotate_keys(
        self,
        *,
        reencrypt: bool = False,
        batch: int = lifecycle.BATCH,
        progress: ProgressCallback | None = None,
    ) -> lifecycle.RotationReport:
        """New KEK version; rewrap every data and subject key (resumable, in batches)."""
        self._require("admin")
        report = lifecycle.rotate(
            self._write,
            self._keys,
            self._audit,
            reencrypt=reencrypt,
            batch=batch,
            progress=progress,
        )
        self._codec = RecordCodec(self._keys, report.target, self._codec.min_version)
        return report

    def retire_keys(self, below: int) -> None:
        """Refuse to open anything wrapped under a KEK version below ``below``."""
        self._require("admin")
        lifecycle.retire(self._write, below, self._audit)
        self._codec.min_version = below

    def erase_subject(
        self,
        *,
        testimony_id: str | None = None,
        employee_id: str | None = None,
        phone: str | None = None,
        region: str | None = None,
    ) -> int:
        """Destroy a worker's identity key(s): found by testimony id or blind index.

        Their identity fields can never be opened again from this vault; the rest of
        their testimonies stays. Returns the number of keys destroyed.
        """
        self._require("admin")
        index: list[tuple[str, bytes]] = []
        if employee_id is not None:
            index.append(
                (
                    "employee_id",
                    self._codec.index_mac("employee_id", normalize_employee_id(employee_id)),
                )
            )
        if phone is not None and (key := phone_key(phone, region)):
            index.append(("phone", self._codec.index_mac("phone", key)))
        refs = [self._codec.reference(testimony_id)] if testimony_id is not None else []
        if not refs and not index:
            raise UsageError("erase-subject needs --testimony, --employee-id or --phone")
        with self._write() as conn:
            subjects = lifecycle.subjects_for(conn, self._codec, record_refs=refs, index=index)
            if not subjects:
                raise NotFoundError("no worker matches")
            erased = lifecycle.erase_subjects(conn, subjects, self._audit)
        self._checkpoint_wal()
        return erased

    def set_retention(self, days_after_remediation: int | None) -> None:
        """Erase identities this many days after a citing finding is remediated."""
        self._require("admin")
        with self._write() as conn:
            conn.execute(delete(Meta).where(Meta.key == "retention_days"))
            if days_after_remediation is not None:
                if days_after_remediation < 0:
                    raise UsageError("retention days cannot be negative")
                conn.execute(
                    insert(Meta).values(key="retention_days", value=str(days_after_remediation))
                )
            self._audit(conn, "retention-set", details={"days": days_after_remediation})

    def run_retention(self, *, dry_run: bool = False) -> dict[str, Any]:
        """Apply the retention setting: erase identities that are due."""
        self._require("admin")
        with self._read() as conn:
            days = conn.execute(
                select(Meta.value).where(Meta.key == "retention_days")
            ).scalar_one_or_none()
        if days is None:
            raise UsageError("no retention is set ('evault retention set --days N')")

        def open_finding(row: Any) -> dict[str, Any]:
            return self._codec.open(
                _columns(row),
                "finding",
                row.ref,
                row.version,
                None,
                f"record ref {row.ref[:12]}",
                classes=(KeyClass.OPERATIONAL,),
            )

        due = lifecycle.retention_candidates(self._engine, open_finding, int(days))
        refs = sorted({self._codec.reference(t) for t in due})
        with self._write() as conn:
            subjects = lifecycle.subjects_for(conn, self._codec, record_refs=refs)
            alive = set(
                conn.execute(
                    select(Subject.id).where(
                        Subject.id.in_(sorted(subjects)), Subject.wrapped_key.is_not(None)
                    )
                ).scalars()
            )
            erased = 0
            if not dry_run:
                erased = lifecycle.erase_subjects(conn, alive, self._audit)
            self._audit(
                conn,
                "retention-run",
                details={"dry_run": dry_run, "due": len(alive), "erased": erased},
            )
        if erased:
            self._checkpoint_wal()
        return {"days": int(days), "due": len(alive), "erased": erased, "dry_run": dry_run}

    # Audit log ----------------------------------------------------------------------

    def audit_entries(
        self, *, since: dt.datetime | None = None, record_id: str | None = None
    ) -> builtins.list[audit.AuditRecord]:
        """Audit entries (oldest first), optionally since a time or for one record."""
        self._require("admin", "auditor")
        ref = self._codec.reference(record_id) if record_id else None
        self._audit_now("audit-read")
        with self._read() as conn:
            return builtins.list(audit.entries(conn, since=since, ref=ref))

    def audit_verify(self, against: str | os.PathLike[str] | None = None) -> audit.AuditReport:
        """Verify the whole chain (and against a checkpoint file); raises on tampering."""
        self._require("admin", "auditor")
        with self._read() as conn:
            public = bytes.fromhex(
                conn.execute(
                    select(Meta.value).where(Meta.key == "signing_public_key")
                ).scalar_one()
            )
            report = audit.verify(
                conn,
                self._keys.audit_key(),
                checkpoint_file=Path(against) if against is not None else None,
                public_key=public,
                vault_id=self.vault_id,
            )
        self._audit_now("audit-verified", details={"size": report.size})
        return report

    def audit_checkpoint(self) -> dict[str, Any]:
        """A signed checkpoint (size and head) to keep outside the vault."""
        self._require("admin", "auditor")
        with self._write() as conn:
            self._audit(conn, "audit-checkpoint")
        with self._read() as conn:
            sealed = conn.execute(select(Meta.value).where(Meta.key == "signing_key")).scalar_one()
            seed = crypto.open_sealed(
                self._signing_wrap(),
                base64.b64decode(sealed),
                ("signing-key", self.vault_id),
                what="the vault's signing key",
            )
            return audit.checkpoint(
                conn, self._keys.audit_key(), SigningKey.from_seed(seed), self.vault_id
            )

    def _signing_wrap(self) -> SecretKey:
        return self._keys.signing_wrap_key()

    def _checkpoint_wal(self) -> None:
        """Fold the write-ahead log into the database file and empty it (SQLite), so
        that deleted key bytes do not linger in the WAL. Another process reading the
        vault can hold the checkpoint up: then this says so rather than pass silently."""
        if self._engine.dialect.name != "sqlite":
            return
        for _attempt in range(50):
            with self._engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy is not None and busy[0] == 0:
                return
            time.sleep(0.1)
        raise StorageError(
            "done, but another process is reading the vault, so the old key bytes may "
            "remain in the write-ahead log until it closes; run the command again then"
        )

    # Permissions and audit ------------------------------------------------------

    def _require(self, *roles: str) -> None:
        # An admin is one who holds the master key: a row that merely says "admin"
        # (written by someone with database access) is not enough.
        if self.role == "admin" and not self._keys.is_master:
            raise PermissionDeniedError(
                f"custodian {self.custodian!r} is recorded as admin but holds no master key"
            )
        if self.role not in roles:
            raise PermissionDeniedError(
                f"custodian {self.custodian!r} ({self.role}) may not do this; "
                f"it needs the role {' or '.join(roles)}"
            )

    def _audit(
        self,
        conn: Connection,
        action: str,
        *,
        refs: Sequence[str] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        audit.append(
            conn, self._keys.audit_key(), self.custodian, action, refs=refs, details=details
        )

    def _refresh_key_version(self, conn: Connection) -> None:
        # A rotation may have happened since this vault was opened: new data must be
        # wrapped under the version that is current now, never a retired one.
        versions = dict(
            conn.execute(
                select(Meta.key, Meta.value).where(Meta.key.in_(("kek_version", "min_kek_version")))
            ).all()
        )
        current = int(versions.get("kek_version", "1"))
        minimum = int(versions.get("min_kek_version", "1"))
        if (current, minimum) != (self._codec.kek_version, self._codec.min_version):
            self._codec = RecordCodec(self._keys, current, minimum)

    def _audit_now(self, action: str, **kw: Any) -> None:
        """An entry in a transaction of its own, written before any data is returned."""
        with self._write() as conn:
            self._audit(conn, action, **kw)

    def public_signing_key_pem(self) -> bytes:
        """The vault's Ed25519 public key (SubjectPublicKeyInfo PEM)."""
        return crypto.public_key_pem(self._signing_key().public_bytes())

    def _signing_key(self) -> SigningKey:
        with self._read() as conn:
            sealed = conn.execute(select(Meta.value).where(Meta.key == "signing_key")).scalar_one()
        seed = crypto.open_sealed(
            self._keys.signing_wrap_key(),
            base64.b64decode(sealed),
            ("signing-key", self.vault_id),
            what="the vault's signing key",
        )
        return SigningKey.from_seed(seed)

    # Writes -------------------------------------------------------------------

    def add(self, record: Mapping[str, Any], *, where: str = "record") -> RecordSummary:
        """Validate and store one new record."""
        self.import_records([(where, record)])
        return self._summary_of(str(record["id"]))

    def import_file(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        fmt: str | None = None,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        files: str | os.PathLike[str] | None = None,
        read_progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import a JSONL, JSON-array or CSV file in one transaction (with the
        evidence files it names from a folder or zip, if ``files`` is given).

        ``source`` is a path (format from its suffix) or a binary stream (named
        ``name``, JSON Lines unless ``fmt`` or the name's suffix says otherwise).
        ``progress`` is called with the records of each stored batch,
        ``read_progress`` with the bytes of each read.
        """
        with contextlib.ExitStack() as stack:
            attached = stack.enter_context(evidence.AttachmentSource(files)) if files else None
            rows = stack.enter_context(
                open_records(source, fmt=fmt, name=name, read_progress=read_progress)
            )
            return self.import_records(rows, progress=progress, files=attached)

    def import_records(
        self,
        records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
        *,
        progress: ProgressCallback | None = None,
        files: evidence.AttachmentSource | None = None,
    ) -> ImportResult:
        """Validate, seal and store records in one transaction; all or nothing.

        ``records`` yields ``(where, record)`` pairs, or bare records (then named by
        their position). Forward references within the same import are allowed.
        With ``files`` (a folder or zip), a record may list ``attachments`` by
        relative path: they are sealed to it in the same transaction (and are not
        part of the stored record).
        """
        self._require("admin", "custodian")
        counts: dict[str, int] = {}
        pending: dict[str, list[_Pending]] = {}
        with self._write() as conn:
            self._refresh_key_version(conn)
            staged: list[tuple[str, dict[str, Any]]] = []
            wanted_files: list[tuple[str, str, list[str]]] = []
            for n, item in enumerate(records, start=1):
                where, raw = item if isinstance(item, tuple) else (f"record {n}", item)
                if files is not None and isinstance(raw, dict) and "attachments" in raw:
                    raw = dict(raw)
                    paths = raw.pop("attachments")
                    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                        raise InvalidInputError(
                            "field 'attachments' must list file paths", where=where
                        )
                    wanted_files.append((where, str(raw.get("id")), paths))
                record = validate_record(raw, where)
                staged.append((where, record))
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                if len(staged) >= BATCH_SIZE:
                    self._import_batch(conn, staged, pending)
                    self._import_files(conn, files, wanted_files)
                    if progress:
                        progress(len(staged))
                    staged = []
            if staged:
                self._import_batch(conn, staged, pending)
                self._import_files(conn, files, wanted_files)
                if progress:
                    progress(len(staged))
            self._check_pending(conn, pending)
            self._audit(conn, "import", details={"records": dict(sorted(counts.items()))})
        return ImportResult(counts)

    def _import_files(
        self,
        conn: Connection,
        files: evidence.AttachmentSource | None,
        wanted: builtins.list[tuple[str, str, builtins.list[str]]],
    ) -> None:
        while wanted and files is not None:
            where, record_id, paths = wanted.pop(0)
            ref = self._codec.reference(record_id)
            for relative in paths:
                with files.open(relative, where) as stream:
                    self._store_attachment(
                        conn, ref, record_id, stream, PurePosixPath(relative).name, None
                    )

    def update(self, record_id: str, record: Mapping[str, Any], *, where: str = "record") -> int:
        """Store ``record`` as a new version of ``record_id``; returns the version number."""
        self._require("admin", "custodian")
        with self._write() as conn:
            self._refresh_key_version(conn)
            ref = self._codec.reference(record_id)
            row = conn.execute(select(*Record.__table__.c).where(Record.ref == ref)).one_or_none()
            if row is None:
                raise NotFoundError(f"no record {shown_id(record_id)}")
            validated = validate_record(record, where, expect_type=row.type)
            if validated["id"] != record_id:
                raise InvalidInputError(
                    f"field 'id' must stay {record_id!r} in an update", where=where
                )
            version = (
                1
                + conn.execute(
                    select(func.max(RecordVersion.version)).where(RecordVersion.record_ref == ref)
                ).scalar_one()
            )
            subject = self._subject(conn, row.subject_id, record_id) if row.subject_id else None
            batch = _ImportBatch()
            site_ref = self._site_ref(validated, ref)
            if site_ref != row.site_ref:
                conn.execute(update(Record).where(Record.ref == ref).values(site_ref=site_ref))
            self._stage_version(
                conn,
                batch,
                validated,
                where,
                ref,
                site_ref,
                version,
                subject,
                self._subject_mac(validated),
            )
            conn.execute(delete(BlindIndexEntry).where(BlindIndexEntry.record_ref == ref))
            conn.execute(delete(RecordLink).where(RecordLink.record_ref == ref))
            pending: dict[str, list[_Pending]] = {}
            self._flush(conn, batch, pending)
            self._check_pending(conn, pending)
            self._audit(conn, "update", refs=[ref], details={"version": version})
        return version

    def _write(self) -> _Transaction:
        return _Transaction(self._engine)

    def _read(self) -> _Transaction:
        return _Transaction(self._engine, write=False)

    def _site_ref(self, record: Mapping[str, Any], ref: str) -> str:
        if record["type"] == "site":
            return ref
        return self._site_reference(record["site_id"])

    def _import_batch(
        self,
        conn: Connection,
        staged: list[tuple[str, dict[str, Any]]],
        pending: dict[str, list[_Pending]],
    ) -> None:
        batch = _ImportBatch()
        # One query finds earlier testimonies of the same workers (same employee id
        # at the same site): they share one subject key, so erasure is one key.
        macs = [self._subject_mac(record) for _where, record in staged]
        matches: dict[bytes, str] = dict.fromkeys((m for m in macs if m is not None), "")
        if matches:
            found = conn.execute(
                select(BlindIndexEntry.mac, Record.subject_id)
                .join(Record, Record.ref == BlindIndexEntry.record_ref)
                .where(BlindIndexEntry.kind == "subject", BlindIndexEntry.mac.in_(list(matches)))
            ).all()
            for found_mac, subject_id in found:
                if subject_id:
                    matches[found_mac] = subject_id
        subjects: dict[str, tuple[str, SecretKey] | None] = {}
        for (where, record), mac in zip(staged, macs, strict=True):
            self._stage(conn, batch, record, where, mac, matches, subjects)
        self._flush(conn, batch, pending)

    def _subject_mac(self, record: Mapping[str, Any]) -> bytes | None:
        worker = record.get("worker")
        if record["type"] != "testimony" or not isinstance(worker, dict):
            return None
        eid = worker.get("employee_id")
        if not isinstance(eid, str):
            return None
        return self._codec.subject_match(self._site_reference(record["site_id"]), eid)

    def _site_reference(self, site_id: str) -> str:
        # Sites are few and referenced by every record: remember their references.
        ref = self._site_refs.get(site_id)
        if ref is None:
            ref = self._codec.reference(site_id)
            if len(self._site_refs) < 100_000:
                self._site_refs[site_id] = ref
        return ref

    def _region(self, conn: Connection, site_ref: str, record: Mapping[str, Any]) -> str | None:
        """The site's country, to read national-format phone numbers; cached."""
        if site_ref not in self._site_country:
            country = None
            row = conn.execute(
                self._latest_query([site_ref]).where(Record.type == "site")
            ).one_or_none()
            if row is not None:
                _order, fields = self._codec.open_operational(
                    _columns(row), "site", site_ref, row.version, "a site record"
                )
                country = fields.get("country")
            if len(self._site_country) < 100_000:
                self._site_country[site_ref] = country if isinstance(country, str) else None
            else:
                return country if isinstance(country, str) else None
        region = self._site_country[site_ref]
        worker = record.get("worker")
        if region is None and isinstance(worker, dict):
            nationality = worker.get("nationality")
            return nationality if isinstance(nationality, str) else None
        return region

    def _stage(
        self,
        conn: Connection,
        batch: _ImportBatch,
        record: dict[str, Any],
        where: str,
        mac: bytes | None,
        matches: dict[bytes, str],
        subjects: dict[str, tuple[str, SecretKey] | None],
    ) -> None:
        rid = record["id"]
        ref = self._codec.reference(rid)
        if ref in batch.refs:
            raise ConflictError(f"{where}: record id {rid} appears twice in this import")
        rtype = record["type"]
        site_ref = self._site_ref(record, ref)
        if rtype == "site":
            self._site_country[ref] = record["country"]
        subject = None
        if rtype == "testimony":
            known = matches.get(mac, "") if mac is not None else ""
            if known:
                if known not in subjects:
                    subjects[known] = self._subject(conn, known, f"record {rid}")
                subject = subjects[known]
            if subject is None:
                subject = self._new_subject(batch)
                if mac is not None:
                    matches[mac] = subject[0]
                    subjects[subject[0]] = subject
        batch.records.append(
            {
                "ref": ref,
                "type": rtype,
                "site_ref": site_ref,
                "subject_id": subject[0] if subject else None,
                "created_at": batch.now,
            }
        )
        batch.refs[ref] = rid
        self._stage_version(conn, batch, record, where, ref, site_ref, 1, subject, mac)

    def _new_subject(self, batch: _ImportBatch) -> tuple[str, SecretKey]:
        subject_id = crypto.random_token(16)
        key, wrapped = self._codec.new_subject_key(subject_id)
        batch.subjects.append(
            {
                "id": subject_id,
                "wrapped_key": wrapped,
                "kek_version": self._codec.kek_version,
                "created_at": batch.now,
            }
        )
        return subject_id, key

    def _stage_version(
        self,
        conn: Connection,
        batch: _ImportBatch,
        record: dict[str, Any],
        where: str,
        ref: str,
        site_ref: str,
        version: int,
        subject: tuple[str, SecretKey] | None,
        subject_mac: bytes | None,
    ) -> None:
        rtype = record["type"]
        sealed = self._codec.seal(record, rtype, ref, version, subject)
        batch.versions.append(
            {
                "record_ref": ref,
                "version": version,
                "created_at": batch.now,
                "kek_version": self._codec.kek_version,
                **sealed.columns(),
            }
        )
        if rtype == "testimony":
            region = self._region(conn, site_ref, record)
            for kind, mac in set(self._codec.index_entries(record, region)):
                batch.indexes.append({"record_ref": ref, "kind": kind, "mac": mac})
            if subject_mac is not None:
                batch.indexes.append({"record_ref": ref, "kind": "subject", "mac": subject_mac})
        if rtype != "site":
            batch.wanted.setdefault(site_ref, []).append(_Pending(where, "site_id", "site"))
        if rtype == "finding":
            for target in dict.fromkeys(record.get("evidence") or ()):
                target_ref = self._codec.reference(target)
                batch.links.append({"record_ref": ref, "target_ref": target_ref})
                batch.wanted.setdefault(target_ref, []).append(
                    _Pending(where, "evidence", "testimony")
                )

    def _flush(
        self, conn: Connection, batch: _ImportBatch, pending: dict[str, list[_Pending]]
    ) -> None:
        if batch.records:
            clash = (
                conn.execute(select(Record.ref).where(Record.ref.in_(list(batch.refs))))
                .scalars()
                .first()
            )
            if clash is not None:
                raise ConflictError(
                    f"record {batch.refs[clash]} already exists (use 'evault update')"
                )
        for model, rows in (
            (Subject, batch.subjects),
            (Record, batch.records),
            (RecordVersion, batch.versions),
            (BlindIndexEntry, batch.indexes),
            (RecordLink, batch.links),
        ):
            bulk_insert(conn, model, rows)
        if batch.wanted:
            found = dict(
                conn.execute(
                    select(Record.ref, Record.type).where(Record.ref.in_(list(batch.wanted)))
                ).all()
            )
            for target, wants in batch.wanted.items():
                for want in wants:
                    if target not in found:
                        pending.setdefault(target, []).append(want)
                    elif found[target] != want.expected_type:
                        raise InvalidInputError(
                            f"field {want.field!r} must refer to a {want.expected_type}",
                            where=want.where,
                        )

    def _check_pending(self, conn: Connection, pending: dict[str, list[_Pending]]) -> None:
        targets = list(pending)
        found: dict[str, str] = {}
        for i in range(0, len(targets), 500):
            chunk = targets[i : i + 500]
            found.update(
                conn.execute(select(Record.ref, Record.type).where(Record.ref.in_(chunk))).all()
            )
        for target, wants in pending.items():
            for want in wants:
                if target not in found:
                    raise InvalidInputError(
                        f"field {want.field!r} refers to a {want.expected_type} that is not "
                        "in the vault or this import",
                        where=want.where,
                    )
                if found[target] != want.expected_type:
                    raise InvalidInputError(
                        f"field {want.field!r} must refer to a {want.expected_type}",
                        where=want.where,
                    )

    # Reads ------------------------------------------------------------------

    def _subject(
        self, conn: Connection, subject_id: str, what: str
    ) -> tuple[str, SecretKey] | None:
        wrapped = conn.execute(
            select(Subject.wrapped_key).where(Subject.id == subject_id)
        ).scalar_one_or_none()
        if wrapped is None:
            return None
        return subject_id, self._codec.open_subject_key(subject_id, wrapped)

    def get(
        self, record_id: str, *, version: int | None = None, identity: bool = False
    ) -> dict[str, Any]:
        """The record as imported (latest version unless ``version`` is given).

        Only the field classes this custodian's keys open are included. A worker's
        identity fields are included only with ``identity=True``, which needs an
        approved identity request (see :meth:`request_identity`) unless the vault
        requires no approvals; that access is audited.
        """
        self._require("admin", "custodian")
        ref = self._codec.reference(record_id)
        what = f"record {shown_id(record_id)}"
        if identity:
            # Approval, subject key and audit entry in one write transaction.
            with self._write() as conn:
                row, ver = self._load(conn, ref, record_id, version)
                if not self._keys.holds_class(KeyClass.IDENTITY):
                    raise PermissionDeniedError(
                        f"custodian {self.custodian!r} has no clearance for identity fields"
                    )
                request = custody.approved_request(
                    conn, self.custodian, ref, self.identity_approvals
                )
                subject = self._subject(conn, row.subject_id, what) if row.subject_id else None
                self._audit(
                    conn,
                    "identity-access",
                    refs=[ref],
                    details={"request": request, "version": ver.version},
                )
                self._audit(conn, "read", refs=[ref], details={"version": ver.version})
            classes = [kc for kc in KeyClass if self._keys.holds_class(kc)]
            record = self._codec.open(
                _columns(ver), row.type, ref, ver.version, subject, what, classes=classes
            )
        else:
            with self._read() as conn:
                row, ver = self._load(conn, ref, record_id, version)
            classes = [
                kc for kc in KeyClass if kc is not KeyClass.IDENTITY and self._keys.holds_class(kc)
            ]
            record = self._codec.open(
                _columns(ver), row.type, ref, ver.version, None, what, classes=classes
            )
            # Committed before the record is returned; concurrent reads share a commit.
            self._audit_group.append(
                self._keys.audit_key(),
                self.custodian,
                "read",
                refs=[ref],
                details={"version": ver.version},
            )
        if record.get("id") != record_id:
            raise IntegrityError(f"integrity check failed for {what}")
        return record

    def _load(
        self, conn: Connection, ref: str, record_id: str, version: int | None
    ) -> tuple[Any, Any]:
        if version is not None and not 1 <= version <= _MAX_VERSION:
            raise NotFoundError(f"record {shown_id(record_id)} has no version {version}")
        row = conn.execute(select(*Record.__table__.c).where(Record.ref == ref)).one_or_none()
        if row is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        query = select(*RecordVersion.__table__.c).where(RecordVersion.record_ref == ref)
        if version is None:
            query = query.order_by(RecordVersion.version.desc()).limit(1)
        else:
            query = query.where(RecordVersion.version == version)
        ver = conn.execute(query).one_or_none()
        if ver is None:
            raise NotFoundError(f"record {shown_id(record_id)} has no version {version}")
        return row, ver

    def versions(self, record_id: str) -> list[VersionInfo]:
        """Every stored version of a record, oldest first."""
        self._require("admin", "custodian")
        ref = self._codec.reference(record_id)
        with self._write() as conn:
            self._audit(conn, "versions", refs=[ref])
            rows = conn.execute(
                select(RecordVersion.version, RecordVersion.created_at)
                .where(RecordVersion.record_ref == ref)
                .order_by(RecordVersion.version)
            ).all()
        if not rows:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        return [VersionInfo(v, as_utc(c)) for v, c in rows]

    def list(self, *, type: str | None = None, site: str | None = None) -> Iterator[RecordSummary]:
        """Summaries of the latest version of every record, optionally filtered."""
        self._require("admin", "custodian")
        self._audit_now("list", details={"type": type, "site_filter": site is not None})
        query = latest_versions().order_by(Record.seq)
        if type is not None:
            query = query.where(Record.type == type)
        if site is not None:
            query = query.where(Record.site_ref == self._codec.reference(site))
        yield from self._summaries(query)

    def _summaries(self, query: Any) -> Iterator[RecordSummary]:
        with self._read() as conn:
            result = conn.execute(query.execution_options(yield_per=500))
            # Closed explicitly: a server-side cursor must not outlive an error.
            with result:
                for ver in result:
                    ref, rtype = ver.ref, ver.type
                    what = f"record ref {ref[:12]}"
                    order, fields = self._codec.open_operational(
                        _columns(ver), rtype, ref, ver.version, what
                    )
                    del order
                    rid = fields.get("id")
                    if not isinstance(rid, str) or self._codec.reference(rid) != ref:
                        raise IntegrityError(f"integrity check failed for {what}")
                    date_field = _DATE_FIELD.get(rtype)
                    yield RecordSummary(
                        id=rid,
                        type=rtype,
                        version=ver.version,
                        site_id=fields.get("site_id") if rtype != "site" else rid,
                        date=fields.get(date_field) if date_field else None,
                        updated_at=as_utc(ver.created_at),
                    )

    def _summary_of(self, record_id: str) -> RecordSummary:
        ref = self._codec.reference(record_id)
        for summary in self._summaries(self._latest_query([ref])):
            return summary
        raise NotFoundError(f"no record {shown_id(record_id)}")

    def _latest_query(self, refs: builtins.list[str]) -> Any:
        return latest_versions(refs).order_by(Record.seq)

    def find(
        self,
        *,
        employee_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        site: str | None = None,
        region: str | None = None,
    ) -> builtins.list[RecordSummary]:
        """Exact-match lookup through blind indexes (and the keyed site reference).

        With several criteria, records must match all of them.
        """
        self._require("admin", "custodian")
        sets: list[set[str]] = []
        with self._read() as conn:
            if employee_id is not None:
                sets.append(self._lookup(conn, "employee_id", {normalize_employee_id(employee_id)}))
            if phone is not None:
                key = phone_key(phone, region)
                sets.append(self._lookup(conn, "phone", {key} if key else set()))
            if email is not None:
                sets.append(self._lookup(conn, "email", {normalize_email(email)}))
            if site is not None:
                sets.append(
                    set(
                        conn.execute(
                            select(Record.ref).where(Record.site_ref == self._codec.reference(site))
                        ).scalars()
                    )
                )
        if not sets:
            raise UsageError("find needs --employee-id, --phone, --email or --site")
        by = [
            k
            for k, v in (
                ("employee_id", employee_id),
                ("phone", phone),
                ("email", email),
                ("site", site),
            )
            if v is not None
        ]
        self._audit_now("find", details={"by": by})
        refs = set.intersection(*sets)
        if not refs:
            return []
        return list(self._summaries(self._latest_query(sorted(refs))))

    def _lookup(self, conn: Connection, kind: str, values: set[str]) -> set[str]:
        macs = [self._codec.index_mac(kind, v) for v in values]
        if not macs:
            return set()
        return set(
            conn.execute(
                select(BlindIndexEntry.record_ref).where(
                    BlindIndexEntry.kind == kind, BlindIndexEntry.mac.in_(macs)
                )
            ).scalars()
        )

    def stats(self) -> dict[str, int]:
        """Record counts by type (visible metadata, no decryption)."""
        self._require("admin", "custodian", "exporter", "auditor")
        with self._read() as conn:
            return dict(conn.execute(select(Record.type, func.count()).group_by(Record.type)).all())

    # Exports ----------------------------------------------------------------

    def _export_counts(self) -> dict[str, int]:
        return self.stats()

    def _export_sites(self) -> dict[str, SiteInfo]:
        """Site reference -> id, country, region, for filters and generalization."""
        out: dict[str, SiteInfo] = {}
        for site_ref, _subject, record in self._export_records(
            frozenset({"site"}), classes=frozenset({"operational"})
        ):
            assert record is not None
            out[site_ref] = SiteInfo(record["id"], record["country"], record.get("region"))
        return out

    def _export_records(
        self, types: frozenset[str], *, classes: frozenset[str], site_ref: str | None = None
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
        """``(site_ref, subject, record)`` for the latest versions, by site then
        insertion order, with the key classes asked for.

        ``subject`` is the worker's subject id while their identity key exists, else
        None. With ``identity`` asked for, such a testimony comes as None.
        """
        # The latest version through a correlated look-up on the primary key, so a
        # query for one site costs that site's records, not the whole table.
        newest = (
            select(func.max(_OTHER_VERSION.version))
            .where(_OTHER_VERSION.record_ref == Record.ref)
            .scalar_subquery()
        )
        query = (
            select(
                Record.ref,
                Record.type,
                Record.site_ref,
                Record.subject_id,
                Subject.wrapped_key,
                *RecordVersion.__table__.c,
            )
            .select_from(Record)
            .join(
                RecordVersion,
                (RecordVersion.record_ref == Record.ref) & (RecordVersion.version == newest),
            )
            .outerjoin(Subject, Subject.id == Record.subject_id)
            .where(Record.type.in_(sorted(types)))
            .order_by(Record.site_ref, Record.seq)
        )
        if site_ref is not None:
            query = query.where(Record.site_ref == site_ref)
        identity = "identity" in classes
        wanted = tuple(KeyClass(c) for c in sorted(classes))
        with self._read() as conn:
            result = conn.execute(query.execution_options(yield_per=500))
            with result:
                for row in result:
                    what = f"record ref {row.ref[:12]}"
                    subject = None
                    alive = row.subject_id if row.wrapped_key is not None else None
                    if row.type == "testimony" and identity:
                        if alive is None:
                            yield row.site_ref, None, None
                            continue
                        subject = (
                            row.subject_id,
                            self._codec.open_subject_key(row.subject_id, row.wrapped_key),
                        )
                    record = self._codec.open(
                        _columns(row),
                        row.type,
                        row.ref,
                        row.version,
                        subject,
                        what,
                        classes=wanted,
                    )
                    yield row.site_ref, alive, record

    def add_recipient(self, name: str, public_key: str) -> str:
        """Register an export recipient by age public key; returns its fingerprint."""
        self._require("admin")
        return sharing.add_recipient(self._engine, _check_name(name), public_key, self._audit)

    def recipients(self) -> builtins.list[dict[str, Any]]:
        """Registered recipients: name, public key, fingerprint, when added."""
        self._require("admin", "exporter")
        return sharing.list_recipients(self._engine)

    def remove_recipient(self, name: str) -> None:
        """Remove a recipient; past exports stay recorded."""
        self._require("admin")
        sharing.remove_recipient(self._engine, name, self._audit)

    def export(self, policy: Policy, recipient: str, out: str | os.PathLike[str]) -> dict[str, Any]:
        """Write a signed, age-encrypted export for a registered recipient.

        Returns the manifest (without the per-line hashes). Recorded in the vault.
        """
        self._may_export(policy)
        return sharing.export(
            _ExportSource(self),
            self._engine,
            self._keys,
            policy,
            recipient,
            Path(out),
            self._audit,
        )

    def preview(self, policy: Policy, *, limit: int | None = None) -> sharing.Preview:
        """What an export under ``policy`` would contain; nothing is written."""
        self._may_export(policy)
        self._audit_now(
            "export-preview", details={"policy": policy.name, "policy_sha256": policy.sha256}
        )
        return sharing.preview(_ExportSource(self), self._keys, policy, limit=limit)

    def _may_export(self, policy: Policy) -> None:
        self._require("admin", "exporter")
        if self.role == "exporter" and f"{policy.name}:{policy.sha256}" not in self.grant.policies:
            raise PermissionDeniedError(
                f"custodian {self.custodian!r} is not granted the policy {policy.name!r} "
                "(with this exact text)"
            )

    def exports(self) -> builtins.list[dict[str, Any]]:
        """Past exports: id, time, custodian, policy and hash, recipient, counts."""
        self._require("admin", "exporter", "auditor")
        return sharing.list_exports(self._engine)

    def release_export(self, export_id: str) -> dict[str, Any]:
        """Record that an export file is handed out, and return its entry.

        Only the custodian (or token) that made it, or an admin, may have it; the
        hand-over is audited. The file is encrypted to its recipient either way: this
        keeps who fetched which file on the record.
        """
        self._require("admin", "exporter")
        for row in self.exports():
            if row["export_id"] == export_id and (
                self.role == "admin" or row["custodian"] == self.custodian
            ):
                self._audit_now("export-released", details={"export_id": export_id})
                return row
        raise NotFoundError(f"no export {export_id} for {self.custodian!r}")


class _ExportSource:
    """What an export may read of a vault, handed only to the export service."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self.custodian = vault.custodian

    @property
    def vault_id(self) -> str:
        return self._vault.vault_id

    def export_counts(self) -> dict[str, int]:
        return self._vault._export_counts()

    def export_sites(self) -> dict[str, SiteInfo]:
        return self._vault._export_sites()

    def export_records(
        self, types: frozenset[str], *, classes: frozenset[str], site_ref: str | None = None
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
        return self._vault._export_records(types, classes=classes, site_ref=site_ref)

    def signing_key(self) -> SigningKey:
        return self._vault._signing_key()

    def export_attachments(self, record_id: str) -> builtins.list[evidence.AttachmentInfo]:
        ref = self._vault._codec.reference(record_id)
        with self._vault._read() as conn:
            return evidence.list_for(conn, self._vault._keys, ref)

    def attachment_chunks(self, attachment_id: str) -> Iterator[bytes]:
        with self._vault._read() as conn:
            yield from evidence.iter_plaintext(conn, self._vault._keys, attachment_id)


class _Transaction:
    """One database transaction that turns driver errors into StorageError."""

    def __init__(self, engine: Engine, *, write: bool = True) -> None:
        self._engine = engine
        self._write = write
        self._cm: Any = None

    def __enter__(self) -> Connection:
        try:
            self._cm = write_transaction(self._engine) if self._write else self._engine.connect()
            conn: Connection = self._cm.__enter__()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {type(exc).__name__}") from None
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise StorageError(f"database error: {type(err).__name__}") from None
        if isinstance(exc, SQLAlchemyError):
            raise StorageError(f"database error: {type(exc).__name__}") from None


def _columns(ver: Any) -> dict[str, Any]:
    return {
        "identity_data": ver.identity_data,
        "special_key": ver.special_key,
        "special_data": ver.special_data,
        "narrative_key": ver.narrative_key,
        "narrative_data": ver.narrative_data,
        "operational_key": ver.operational_key,
        "operational_data": ver.operational_data,
    }


def _check_name(name: str) -> str:
    if (
        not name
        or len(name) > 64
        or not name.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise InvalidInputError("a custodian name uses letters, digits, '-', '_' and '.'")
    return name


def _grant_for(role: str, classes: Iterable[str], policies: Iterable[Policy | str]) -> Grant:
    """What a new custodian or token of ``role`` holds: custodians and exporters always
    get the operational class, admins and auditors no class keys of their own, and
    exporters their policies bound to the exact text (name and SHA-256)."""
    wanted = set(classes)
    if role in ("custodian", "exporter"):
        wanted.add("operational")
    elif role in ("admin", "auditor"):
        wanted = set()
    granted = set()
    for p in policies:
        policy = p if isinstance(p, Policy) else find_policy(p)
        granted.add(f"{policy.name}:{policy.sha256}")
    return Grant(role, frozenset(wanted), frozenset(granted if role == "exporter" else ()))


def _grant_of(row: Any) -> Grant:
    return Grant.from_columns(row.role, row.classes, row.policies)


def _choose_custodian(rows: Iterable[Any], name: str | None) -> Any:
    rows = list(rows)
    if name is None:
        if len(rows) == 1:
            return rows[0]
        raise UsageError("this vault has several custodians: pass --custodian NAME")
    for row in rows:
        if row.name == name:
            return row
    # Same message and exit code as a wrong passphrase: do not confirm who exists.
    raise AuthenticationError(
        f"wrong passphrase for custodian {name!r} (or the key record was altered)"
    )


def _describe(folder: Path | None, db_url: str | None) -> str:
    if db_url:
        # Never echo credentials that may sit in the URL.
        scheme, _, rest = db_url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    assert folder is not None
    return str(folder / DB_FILENAME)
