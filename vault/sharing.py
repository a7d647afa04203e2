"""Recipients and exports: the service layer between the vault and :mod:`vault.export`.

Invariants: an export file appears under its name only if its record in the vault
was written in the same step (the rename happens inside the transaction); a preview
writes nothing. Pseudonym keys: per recipient, derived from the vault's pseudonym
root and the recipient's key fingerprint; per export, random and forgotten.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.exc import SQLAlchemyError

from vault import crypto
from vault.crypto import SigningKey
from vault.errors import ConflictError, NotFoundError, StorageError
from vault.export import (
    EXPORT_FORMAT,
    ExportResult,
    FileSpool,
    RecordSource,
    parse_recipient,
    plan_records,
    write_archive,
)
from vault.keys import Keyring
from vault.policy import Policy
from vault.redaction import Redactor
from vault.schema import shown_name as _shown
from vault.scrub import Scrubber
from vault.store import ExportRecord, Recipient, as_utc, utcnow, write_transaction

__all__ = ["Preview", "add_recipient", "export", "list_exports", "list_recipients", "preview"]


class SigningSource(RecordSource, Protocol):
    """A record source that can also sign (the vault)."""

    custodian: str

    @property
    def vault_id(self) -> str: ...

    def signing_key(self) -> SigningKey: ...


Auditor = Callable[..., None]


def add_recipient(engine: Engine, name: str, public_key: str, audit: Auditor) -> str:
    parse_recipient(public_key)
    key = public_key.strip()
    fingerprint = crypto.public_key_fingerprint(key)
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(Recipient).values(
                    name=name, public_key=key, fingerprint=fingerprint, created_at=utcnow()
                )
            )
            audit(conn, "recipient-added", details={"name": name, "fingerprint": fingerprint})
    except DBIntegrityError:
        raise ConflictError(f"a recipient named {name!r} exists already") from None
    except SQLAlchemyError as exc:
        raise StorageError(f"database error: {type(exc).__name__}") from None
    return fingerprint


def list_recipients(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(*Recipient.__table__.c).order_by(Recipient.name)).all()
    return [
        {
            "name": r.name,
            "public_key": r.public_key,
            "fingerprint": r.fingerprint,
            "created_at": as_utc(r.created_at).isoformat(),
        }
        for r in rows
    ]


def remove_recipient(engine: Engine, name: str, audit: Auditor) -> None:
    with write_transaction(engine) as conn:
        if conn.execute(delete(Recipient).where(Recipient.name == name)).rowcount == 0:
            raise NotFoundError(f"no recipient {_shown(name)}")
        audit(conn, "recipient-removed", details={"name": name})


def _recipient(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(
            select(*Recipient.__table__.c).where(Recipient.name == name)
        ).one_or_none()
    if row is None:
        raise NotFoundError(f"no recipient {_shown(name)} (add one with 'evault recipient add')")
    return row


def _redactor(keys: Keyring, policy: Policy, recipient_fingerprint: str | None) -> Redactor:
    export_key = crypto.random_key()
    recipient_key = (
        crypto.derive_subkey(keys.pseudonym_root(), f"pseudonym/recipient/{recipient_fingerprint}")
        if recipient_fingerprint
        else crypto.random_key()
    )
    return Redactor(policy, recipient_key, Scrubber(policy.scrub_tokens), export_key=export_key)


def export(
    source: SigningSource,
    engine: Engine,
    keys: Keyring,
    policy: Policy,
    recipient_name: str,
    out: Path,
    audit: Auditor,
) -> dict[str, Any]:
    row = _recipient(engine, recipient_name)
    recipient = parse_recipient(row.public_key)
    # Recorded before anything is produced: no export exists without a trace.
    with write_transaction(engine) as conn:
        audit(
            conn,
            "export-started",
            details={"policy": policy.name, "policy_sha256": policy.sha256, "recipient": row.name},
        )
    signing = source.signing_key()
    redactor = _redactor(keys, policy, row.fingerprint)
    result = ExportResult()
    result.files = FileSpool(out.resolve().parent)
    now = utcnow().replace(microsecond=0)
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "export_id": crypto.random_token(16),
        "vault_id": source.vault_id,
        "created_at": now.isoformat(),
        "custodian": source.custodian,
        "policy": {"name": policy.name, "sha256": policy.sha256, "audience": policy.audience},
        "recipient": {
            "name": row.name,
            "age_recipient": row.public_key,
            "fingerprint": row.fingerprint,
        },
        "signer": {
            "algorithm": "ed25519",
            "fingerprint": crypto.public_key_fingerprint(signing.public_bytes()),
        },
    }

    def finish(m: dict[str, Any]) -> None:
        m["counts"] = result.to_dict()
        if result.evidence_links_removed:
            m["evidence_links_removed"] = True
        if policy.k_anonymity is not None:
            m["k_anonymity"] = {
                "k": policy.k_anonymity.k,
                "quasi_identifiers": list(policy.k_anonymity.quasi_identifiers),
                "generalization_level": result.level,
            }

    try:
        tmp = write_archive(
            out,
            plan_records(source, policy, redactor, result),
            recipient=recipient,
            signing_key=signing,
            manifest=manifest,
            finish=finish,
            files=result.files,
        )
    finally:
        result.files.close()
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(ExportRecord).values(
                    id=manifest["export_id"],
                    created_at=now,
                    custodian=source.custodian,
                    policy=policy.name,
                    policy_sha256=policy.sha256,
                    recipient=row.name,
                    recipient_fingerprint=row.fingerprint,
                    counts=json.dumps(manifest["counts"]),
                )
            )
            audit(
                conn,
                "export",
                details={
                    "export_id": manifest["export_id"],
                    "policy": policy.name,
                    "policy_sha256": policy.sha256,
                    "recipient": row.name,
                    "counts": manifest["counts"],
                },
            )
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The file takes its name only once its record and audit entry are committed.
    os.replace(tmp, out)
    summary = {k: v for k, v in manifest.items() if k != "records"}
    summary["records"] = {k: v for k, v in manifest["records"].items() if k != "sha256"}
    summary.pop("files", None)
    return summary


@dataclass
class Preview:
    """The records an export would contain, and its counts once iterated."""

    records: Iterator[dict[str, Any]]
    result: ExportResult = field(default_factory=ExportResult)


def preview(
    source: RecordSource, keys: Keyring, policy: Policy, *, limit: int | None = None
) -> Preview:
    result = ExportResult()
    redactor = _redactor(keys, policy, None)
    records = plan_records(source, policy, redactor, result)

    def limited() -> Iterator[dict[str, Any]]:
        for n, record in enumerate(records):
            if limit is not None and n >= limit:
                # Keep counting what the full export would hold.
                for _ in records:
                    pass
                return
            yield record

    return Preview(limited(), result)


def list_exports(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(*ExportRecord.__table__.c).order_by(ExportRecord.created_at)
        ).all()
    return [
        {
            "export_id": r.id,
            "created_at": as_utc(r.created_at).isoformat(),
            "custodian": r.custodian,
            "policy": r.policy,
            "policy_sha256": r.policy_sha256,
            "recipient": r.recipient,
            "recipient_fingerprint": r.recipient_fingerprint,
            "counts": json.loads(r.counts),
        }
        for r in rows
    ]
