"""Making a vault and opening one: with a passphrase, a session token or recovery shares.

Invariants:

* A new vault is one transaction: its settings, its first (admin) custodian with a
  keyring sealed under their passphrase, its sealed signing key and the first audit
  entry are written together or not at all. A folder's database file is created
  owner-only before SQLite opens it.
* Opening never trusts a row to say what a custodian holds: the keyring is sealed
  with the custodian's name, role and grants, so an edited row fails to open. An
  unknown custodian reads exactly like a wrong passphrase.
* An engine opened here is disposed of if opening fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, insert, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from vault import audit, crypto, custody, registry, uploads
from vault.context import Context, read_settings, write_setting
from vault.crypto import KdfParams, Passphrase, SigningKey
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    StorageError,
    TamperedRowError,
    UsageError,
)
from vault.keys import Grant, Keyring, open_keyring, seal_keyring
from vault.leftovers import remove_leftovers
from vault.schema import check_name, shown_name
from vault.store import (
    DB_FILENAME,
    WAITING_SUFFIX,
    Base,
    Custodian,
    Meta,
    connect,
    create_schema,
    driver_error,
    head_revision,
    migrate,
    schema_revision,
    sqlite_url,
    utcnow,
    write_transaction,
)
from vault.store import Session as SessionRow
from vault.strength import check_new_passphrase

__all__ = ["create", "describe", "open_with_passphrase", "open_with_session", "recover"]

FORMAT_VERSION: Final = "1"

Location = str | os.PathLike[str] | None


def _resolve_db_url(path: Path | None, db_url: str | None) -> str:
    if db_url:
        return db_url
    if path is None:
        raise UsageError("no vault given: pass --vault DIR (or set EVAULT_DIR) or --db-url")
    return sqlite_url(path)


def _existing(path: Location, db_url: str | None) -> tuple[Path | None, Engine]:
    """The folder and an engine for a vault that must already exist."""
    folder = Path(path) if path is not None else None
    url = _resolve_db_url(folder, db_url)
    if folder is not None and not db_url and not (folder / DB_FILENAME).is_file():
        raise NotFoundError(f"no vault in {folder} (create one with 'evault init')")
    return folder, connect(url)


def require_existing(path: Location, db_url: str | None) -> None:
    """NotFoundError, before anyone is asked for a passphrase, if an SQLite vault
    folder holds no vault (a database server is asked only when connecting)."""
    folder = Path(path) if path is not None else None
    if folder is not None and not db_url and not (folder / DB_FILENAME).is_file():
        raise NotFoundError(f"no vault in {folder} (create one with 'evault init')")


def describe(path: Location, db_url: str | None) -> str:
    """Where the vault is, for people: the file, or the URL without credentials."""
    if db_url:
        # Never echo credentials that may sit in the URL.
        scheme, _, rest = db_url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    assert path is not None
    return str(Path(path) / DB_FILENAME)


def _context(
    engine: Engine, keys: Keyring, name: str, grant: Grant, meta: Mapping[str, str]
) -> Context:
    return Context(
        engine,
        keys,
        name,
        grant,
        kek_version=int(meta["kek_version"]),
        min_kek_version=int(meta.get("min_kek_version", "1")),
        identity_approvals=int(meta.get("identity_approvals", "1")),
    )


def _meta(conn: Connection) -> dict[str, str]:
    return {str(k): str(v) for k, v in conn.execute(select(Meta.key, Meta.value)).all()}


def create(
    path: Location,
    passphrase: Passphrase,
    *,
    db_url: str | None,
    custodian: str,
    kdf: KdfParams | None,
    identity_approvals: int,
) -> Context:
    """A new vault (a folder with one SQLite file, or a database URL) and its admin."""
    if identity_approvals < 0:
        raise UsageError("identity_approvals cannot be negative")
    check_name(custodian)  # refused before anything is made
    check_new_passphrase(passphrase, names=[custodian])
    folder = Path(path) if path is not None else None
    url = _resolve_db_url(folder, db_url)
    made: list[Path] = []  # what this call made, removed again if it fails
    if folder is not None and not db_url:
        if (folder / DB_FILENAME).exists():
            raise ConflictError(f"a vault already exists in {folder}")
        if not folder.exists():
            made.append(folder)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file owner-only before SQLite does; its WAL and shared-memory
        # files take the same mode.
        os.close(os.open(folder / DB_FILENAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        made.append(folder / DB_FILENAME)
    try:
        return _create_in(url, passphrase, custodian, kdf, identity_approvals)
    except BaseException:
        # A vault is made whole or not at all: a failed create leaves no database
        # file behind that a second try would take for a vault.
        _remove_made(made)
        raise


def _remove_made(made: list[Path]) -> None:
    for path in reversed(made):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()  # only if empty: nothing of anyone else's goes
            else:
                for suffix in ("-wal", "-shm", WAITING_SUFFIX, ""):
                    path.with_name(path.name + suffix).unlink(missing_ok=True)


def _create_in(
    url: str,
    passphrase: Passphrase,
    custodian: str,
    kdf: KdfParams | None,
    identity_approvals: int,
) -> Context:
    engine = connect(url)
    with _disposed_on_failure(engine):
        if schema_revision(engine) is not None:
            raise ConflictError("the database already holds a vault")
        return _create_vault(engine, passphrase, custodian, kdf, identity_approvals)


def _create_vault(
    engine: Engine,
    passphrase: Passphrase,
    custodian: str,
    kdf: KdfParams | None,
    identity_approvals: int,
) -> Context:
    params = kdf or KdfParams()
    vault_id = crypto.random_token(16)
    keyring = Keyring.new(vault_id)
    admin = Grant("admin")
    signing = SigningKey.generate()
    sealed_signing = crypto.seal(
        keyring.export_wrap_key(), signing.seed(), ("signing-key", vault_id)
    )
    now = utcnow()
    meta = {
        "vault_id": vault_id,
        "format": FORMAT_VERSION,
        "kek_version": "1",
        "min_kek_version": "1",
        "identity_approvals": str(identity_approvals),
        "created_at": now.isoformat(),
        "signing_key": base64.b64encode(sealed_signing).decode(),
        "signing_public_key": signing.public_bytes().hex(),
    }
    meta["registry_anchor"] = _sealed_anchor(keyring)
    # Argon2id before the transaction, which then holds the write lock only briefly.
    sealed_keyring = seal_keyring(keyring, custodian, admin, passphrase, params)
    try:
        # Tables, stamp, settings, the admin and the first audit entry: one transaction.
        with write_transaction(engine) as conn:
            create_schema(conn)
            for key, value in meta.items():
                write_setting(conn, keyring, key, value)
            conn.execute(
                insert(Custodian).values(
                    **custody.signed_custodian(keyring, custodian, admin),
                    kdf=json.dumps(params.to_dict()),
                    keyring=sealed_keyring,
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
        raise driver_error(exc, "cannot create the vault", engine) from None
    return _context(engine, keyring, custodian, admin, meta)


@contextlib.contextmanager
def _disposed_on_failure(engine: Engine) -> Iterator[None]:
    """An engine opened to unlock a vault does not outlive a failure to unlock it."""
    try:
        yield
    except SQLAlchemyError as exc:
        engine.dispose()
        raise driver_error(exc, "cannot read the vault", engine) from None
    except BaseException:
        engine.dispose()
        raise


def open_with_passphrase(
    path: Location, passphrase: Passphrase, *, db_url: str | None, custodian: str | None
) -> Context:
    """Unlock an existing vault with a custodian's passphrase (migrating it if older)."""
    folder, engine = _existing(path, db_url)
    if folder is not None:
        # A killed backup or restore may have left a plaintext copy: it must not
        # outlive an erasure.
        remove_leftovers(folder)
    with _disposed_on_failure(engine):
        return _unlock(engine, passphrase, custodian)


_FIRST_SIGNED: Final = "0006"  # the revision from which rows are signed


def _unlock(engine: Engine, passphrase: Passphrase, custodian: str | None) -> Context:
    revision = schema_revision(engine)
    if revision is None:
        raise StorageError("the database holds no vault")
    legacy = revision < _FIRST_SIGNED
    try:
        with engine.connect() as conn:
            meta = _meta(conn)
            columns = {c["name"] for c in inspect(conn).get_columns("custodians")}
            wanted = [c for c in Custodian.__table__.c if c.name in columns]
            rows = conn.execute(select(*wanted)).all()
    except SQLAlchemyError as exc:
        raise driver_error(exc, "cannot read the vault", engine) from None
    if meta.get("format") != FORMAT_VERSION or "vault_id" not in meta:
        raise StorageError("the database holds no vault of a supported format")
    chosen = _choose_custodian(rows, custodian)
    grant = custody.custodian_grant(chosen)
    params = KdfParams.from_dict(json.loads(chosen.kdf))
    keyring = open_keyring(
        meta["vault_id"], chosen.name, grant, chosen.keyring, passphrase=passphrase, params=params
    )
    if legacy and not keyring.is_master:
        # Signing the rows of a vault made before they were signed is an admin's
        # first unlock, and only in the unlock that upgrades the schema.
        raise UsageError("this vault was made by an older version: an admin must open it first")
    if revision != head_revision():
        migrate(engine)
    if legacy:
        _upgrade_legacy(engine, keyring, chosen.name)
    elif not keyring.is_master and keyring.registry_public() is None:
        keyring = _add_anchor(engine, keyring, chosen.name, grant, passphrase, params)
    return _checked_context(engine, keyring, chosen.name, grant)


def _checked_context(engine: Engine, keyring: Keyring, name: str, grant: Grant) -> Context:
    """The context of a custodian whose own row and the vault's settings verify."""
    with engine.connect() as conn:
        row = conn.execute(select(*Custodian.__table__.c).where(Custodian.name == name)).one()
        meta = read_settings(conn, keyring)
    try:
        registry.verify(
            keyring, "custodians", registry.custodian_fields(row), row.sig, f"custodian {name!r}"
        )
    except TamperedRowError as exc:
        _context(engine, keyring, name, grant, meta).log_refusal(exc)
        raise
    # Files a killed writer left half-written (invisible to reads) go now, if no one
    # else is writing.
    uploads.sweep(engine)
    return _context(engine, keyring, name, grant, meta)


def _sealed_anchor(keyring: Keyring) -> str:
    """The registry's public key sealed under the reference key, which every role holds
    and no one without a key can forge: how a keyring made before rows were signed
    learns it (see :func:`_add_anchor`)."""
    public = keyring.registry_public()
    assert public is not None  # an admin's keyring derives it
    sealed = crypto.seal(keyring.reference_key(), public, ("registry-anchor", keyring.vault_id))
    return base64.b64encode(sealed).decode()


def _upgrade_legacy(engine: Engine, keyring: Keyring, actor: str) -> None:
    """Sign, once, what a vault made before rows were signed holds (trust on first use
    by the admin whose unlock upgrades it), and give it a new export key that only the
    roles that sign can open. Audited as registry-signed, with counts."""
    with engine.connect() as conn:
        meta = _meta(conn)
    ctx = _context(engine, keyring, actor, Grant("admin"), meta)
    signed: dict[str, int] = {}
    signing = SigningKey.generate()
    sealed_signing = crypto.seal(
        keyring.export_wrap_key(), signing.seed(), ("signing-key", keyring.vault_id)
    )
    with ctx.write() as conn:
        for key, value in meta.items():
            if key in registry.SIGNED_SETTINGS:
                write_setting(conn, keyring, key, value)
                signed["meta"] = signed.get("meta", 0) + 1
        write_setting(conn, keyring, "signing_key", base64.b64encode(sealed_signing).decode())
        write_setting(conn, keyring, "signing_public_key", signing.public_bytes().hex())
        write_setting(conn, keyring, "registry_anchor", _sealed_anchor(keyring))
        for row in conn.execute(select(*Custodian.__table__.c)).all():
            values = custody.signed_custodian(keyring, row.name, custody.custodian_grant(row))
            conn.execute(update(Custodian).where(Custodian.id == row.id).values(**values))
            signed["custodians"] = signed.get("custodians", 0) + 1
        for table, fields, label in (
            (Base.metadata.tables["api_tokens"], registry.token_fields, "tokens"),
            (Base.metadata.tables["recipients"], registry.recipient_fields, "recipients"),
        ):
            for row in conn.execute(select(*table.c)).all():
                sig = registry.sign(keyring, table.name, fields(row))
                conn.execute(update(table).where(table.c.id == row.id).values(sig=sig))
                signed[label] = signed.get(label, 0) + 1
        ctx.audit(conn, "registry-signed", details=signed)


def _add_anchor(
    engine: Engine,
    keyring: Keyring,
    name: str,
    grant: Grant,
    passphrase: Passphrase,
    params: KdfParams,
) -> Keyring:
    """A keyring made before rows were signed learns the registry's public key once,
    from the copy an admin sealed under the reference key, and is sealed again with it
    (audited as keyring-upgraded)."""
    with engine.connect() as conn:
        meta = _meta(conn)
    anchor = meta.get("registry_anchor")
    if anchor is None:
        raise IntegrityError("integrity check failed for the registry anchor")
    public = crypto.open_sealed(
        keyring.reference_key(),
        base64.b64decode(anchor),
        ("registry-anchor", keyring.vault_id),
        what="the registry anchor",
    )
    upgraded = keyring.with_anchor(public)
    ctx = _context(engine, upgraded, name, grant, meta)
    with ctx.write() as conn:
        conn.execute(
            update(Custodian)
            .where(Custodian.name == name)
            .values(keyring=seal_keyring(upgraded, name, grant, passphrase, params))
        )
        ctx.audit(conn, "keyring-upgraded")
    return upgraded


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
        f"wrong passphrase for custodian {shown_name(name)} (or the key record was altered)"
    )


def open_with_session(path: Location, token: str, *, db_url: str | None) -> Context:
    """Open a vault with an unlock-session token (no passphrase, no Argon2id)."""
    _folder, engine = _existing(path, db_url)
    with _disposed_on_failure(engine):
        with engine.connect() as conn:
            meta = _meta(conn)
            name, keyring = custody.open_session(conn, meta["vault_id"], token)
            row = conn.execute(
                select(*Custodian.__table__.c).where(Custodian.name == name)
            ).one_or_none()
        if row is None:
            raise AuthenticationError("the session's custodian no longer exists")
        return _checked_context(engine, keyring, name, custody.custodian_grant(row))


def recover(
    path: Location,
    shares: Iterable[str],
    new_passphrase: Passphrase,
    *,
    db_url: str | None,
    custodian: str,
    kdf: KdfParams | None,
) -> Context:
    """Restore access with recovery shares: set a new passphrase for an admin."""
    _folder, engine = _existing(path, db_url)
    check_new_passphrase(new_passphrase, names=[custodian])
    with _disposed_on_failure(engine):
        revision = schema_revision(engine)
        if revision is None:
            raise StorageError("the database holds no vault")
        with engine.connect() as conn:
            vault_id = _meta(conn)["vault_id"]
            keyring = custody.recovery_restore(conn, vault_id, shares)
        if not keyring.is_master:
            raise IntegrityError("integrity check failed for the recovery key record")
        if revision != head_revision():
            migrate(engine)
        if revision < _FIRST_SIGNED:
            _upgrade_legacy(engine, keyring, custodian)
        with engine.connect() as conn:
            meta = read_settings(conn, keyring)  # checked like any other unlock's
        params = kdf or KdfParams()
        admin = Grant("admin")
        ctx = _context(engine, keyring, custodian, admin, meta)
        with ctx.write() as conn:
            sealed = seal_keyring(keyring, custodian, admin, new_passphrase, params)
            row = conn.execute(
                select(Custodian.role).where(Custodian.name == custodian)
            ).one_or_none()
            if row is None:
                conn.execute(
                    insert(Custodian).values(
                        **custody.signed_custodian(keyring, check_name(custodian), admin),
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
                    .values(
                        **custody.signed_custodian(keyring, custodian, admin),
                        kdf=json.dumps(params.to_dict()),
                        keyring=sealed,
                    )
                )
            conn.execute(delete(SessionRow).where(SessionRow.custodian == custodian))
            ctx.audit(conn, "recovery-restored", details={"custodian": custodian})
        return ctx
