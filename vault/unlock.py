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

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from vault import audit, crypto, custody, registry
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
from vault.schema import check_name, shown_name
from vault.store import (
    DB_FILENAME,
    Base,
    Custodian,
    Meta,
    connect,
    head_revision,
    migrate,
    schema_revision,
    sqlite_url,
    utcnow,
    write_transaction,
)
from vault.store import Session as SessionRow

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
    meta["registry_public_key"] = _registry_public(keyring).hex()
    try:
        with write_transaction(engine) as conn:
            for key, value in meta.items():
                write_setting(conn, keyring, key, value)
            conn.execute(
                insert(Custodian).values(
                    **custody.signed_custodian(keyring, check_name(custodian), admin),
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
    return _context(engine, keyring, custodian, admin, meta)


@contextlib.contextmanager
def _disposed_on_failure(engine: Engine) -> Iterator[None]:
    """An engine opened to unlock a vault does not outlive a failure to unlock it."""
    try:
        yield
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot read the vault: {type(exc).__name__}") from None
    except BaseException:
        engine.dispose()
        raise


def open_with_passphrase(
    path: Location, passphrase: Passphrase, *, db_url: str | None, custodian: str | None
) -> Context:
    """Unlock an existing vault with a custodian's passphrase (migrating it if older)."""
    _folder, engine = _existing(path, db_url)
    with _disposed_on_failure(engine):
        return _unlock(engine, passphrase, custodian)


def _unlock(engine: Engine, passphrase: Passphrase, custodian: str | None) -> Context:
    revision = schema_revision(engine)
    if revision is None:
        raise StorageError("the database holds no vault")
    if revision != head_revision():
        migrate(engine)
    try:
        with engine.connect() as conn:
            meta = _meta(conn)
            rows = conn.execute(select(*Custodian.__table__.c)).all()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the vault: {type(exc).__name__}") from None
    if meta.get("format") != FORMAT_VERSION or "vault_id" not in meta:
        raise StorageError("the database holds no vault of a supported format")
    chosen = _choose_custodian(rows, custodian)
    grant = custody.custodian_grant(chosen)
    params = KdfParams.from_dict(json.loads(chosen.kdf))
    keyring = open_keyring(
        meta["vault_id"], chosen.name, grant, chosen.keyring, passphrase=passphrase, params=params
    )
    if keyring.is_master:
        _sign_unsigned_rows(engine, keyring, chosen.name)
    elif keyring.registry_public() is None:
        keyring = _add_anchor(engine, keyring, chosen.name, grant, passphrase, params, meta)
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
    return _context(engine, keyring, name, grant, meta)


def _registry_public(keyring: Keyring) -> bytes:
    public = keyring.registry_public()
    assert public is not None  # an admin's keyring derives it
    return public


def _sign_unsigned_rows(engine: Engine, keyring: Keyring, actor: str) -> None:
    """Sign, once, what a vault made before rows were signed holds (trust on first
    use by an admin, audited as registry-signed)."""
    signed: dict[str, int] = {}
    with write_transaction(engine) as conn:
        # Only a registry never signed is signed on trust: once any custodian row
        # carries a signature, an unsigned row is one somebody else put there.
        if conn.execute(select(Custodian.id).where(Custodian.sig.is_not(None))).first():
            return
        for key, value in conn.execute(
            select(Meta.key, Meta.value).where(Meta.sig.is_(None))
        ).all():
            if key in registry.SIGNED_SETTINGS:
                write_setting(conn, keyring, key, value)
                signed["meta"] = signed.get("meta", 0) + 1
        if conn.execute(select(Meta.key).where(Meta.key == "registry_public_key")).first() is None:
            write_setting(conn, keyring, "registry_public_key", _registry_public(keyring).hex())
        for row in conn.execute(
            select(*Custodian.__table__.c).where(Custodian.sig.is_(None))
        ).all():
            grant = custody.custodian_grant(row)
            values = custody.signed_custodian(keyring, row.name, grant)
            conn.execute(update(Custodian).where(Custodian.id == row.id).values(**values))
            signed["custodians"] = signed.get("custodians", 0) + 1
        for table, fields, label in (
            (Base.metadata.tables["api_tokens"], registry.token_fields, "tokens"),
            (Base.metadata.tables["recipients"], registry.recipient_fields, "recipients"),
        ):
            for row in conn.execute(select(*table.c).where(table.c.sig.is_(None))).all():
                sig = registry.sign(keyring, table.name, fields(row))
                conn.execute(update(table).where(table.c.id == row.id).values(sig=sig))
                signed[label] = signed.get(label, 0) + 1
        if signed:
            audit.append(conn, keyring.audit_key(), actor, "registry-signed", details=signed)


def _add_anchor(
    engine: Engine,
    keyring: Keyring,
    name: str,
    grant: Grant,
    passphrase: Passphrase,
    params: KdfParams,
    meta: Mapping[str, str],
) -> Keyring:
    """A keyring made before rows were signed learns the registry's public key once
    (trust on first use, audited) and is sealed again with it."""
    public = meta.get("registry_public_key")
    if public is None:
        raise IntegrityError(
            "this vault's rows are not signed yet: an admin must open it once first"
        )
    upgraded = keyring.with_anchor(bytes.fromhex(public))
    with write_transaction(engine) as conn:
        conn.execute(
            update(Custodian)
            .where(Custodian.name == name)
            .values(keyring=seal_keyring(upgraded, name, grant, passphrase, params))
        )
        audit.append(conn, keyring.audit_key(), name, "keyring-upgraded")
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
    with _disposed_on_failure(engine):
        with engine.connect() as conn:
            meta = _meta(conn)
            keyring = custody.recovery_restore(conn, meta["vault_id"], shares)
        if not keyring.is_master:
            raise IntegrityError("integrity check failed for the recovery key record")
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
