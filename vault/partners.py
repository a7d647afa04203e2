"""Partner organisations: the signing keys pinned for them, and what was received.

Invariants: a partner row (name, pinned key, fingerprint) is written only by an
admin and signed by the registry, and is believed only as signed: a key swapped or
a partner inserted by a database writer is refused (and the refusal logged), so no
export is received from a source an admin did not pin. One key is pinned for at
most one partner. Each export received is a receipt row, signed the same way;
the newest receipt of a partner (by the sending vault's signed sequence) is what
a later export from it must be newer than. Removing a partner ends what may be
received from it; what was received, and its receipts, stay.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from sqlalchemy import Connection, delete, insert, select

from vault import crypto, registry
from vault.context import Context
from vault.errors import ConflictError, InvalidInputError, NotFoundError, UsageError
from vault.schema import check_name, shown_name
from vault.store import Partner, PartnerReceipt, as_utc, utcnow

__all__ = [
    "PartnerInfo",
    "add_partner",
    "last_receipt",
    "list_partners",
    "pinned",
    "remove_partner",
]


class PartnerInfo(TypedDict):
    """A pinned partner, and the last export received from it (if any)."""

    name: str
    fingerprint: str
    signing_key_pem: str
    created_at: str
    last_export: dict[str, Any] | None


def add_partner(ctx: Context, name: str, signing_key_pem: bytes) -> str:
    """Pin a partner's vault signing key (PEM, as ``evault signing-key`` writes it);
    returns its fingerprint. Admins only."""
    ctx.require("admin")
    check_name(name, "partner")
    try:
        raw = crypto.public_key_from_pem(signing_key_pem)
    except ValueError:
        raise InvalidInputError(
            "not an Ed25519 public key (PEM, from 'evault signing-key')"
        ) from None
    if crypto.constant_time_equal(raw, ctx.export_public_key()):
        raise UsageError("that is this vault's own signing key, not a partner's")
    fingerprint = crypto.public_key_fingerprint(raw)
    values = {"name": name, "signing_key": raw.hex(), "fingerprint": fingerprint}
    sig = registry.sign(ctx.keys, "partners", values)
    with ctx.write() as conn:
        for row in pinned(ctx, conn):
            if row.name == name:
                raise ConflictError(f"a partner named {name!r} exists already")
            if crypto.constant_time_equal(bytes.fromhex(row.signing_key), raw):
                raise ConflictError(f"that key is pinned already, for partner {row.name!r}")
        conn.execute(insert(Partner).values(**values, sig=sig, created_at=utcnow()))
        ctx.audit(conn, "partner-added", details={"name": name, "fingerprint": fingerprint})
    return fingerprint


def pinned(ctx: Context, conn: Connection) -> list[Any]:
    """Every partner row, each checked against the registry's signature."""
    rows = conn.execute(select(*Partner.__table__.c).order_by(Partner.name)).all()
    for row in rows:
        registry.verify(
            ctx.keys, "partners", registry.partner_fields(row), row.sig, f"partner {row.name!r}"
        )
    return list(rows)


def last_receipt(ctx: Context, conn: Connection, partner: str) -> Any | None:
    """The newest export received from ``partner`` (by its signed sequence), checked."""
    row = conn.execute(
        select(*PartnerReceipt.__table__.c)
        .where(PartnerReceipt.partner == partner)
        .order_by(PartnerReceipt.sequence.desc())
        .limit(1)
    ).one_or_none()
    if row is not None:
        registry.verify(
            ctx.keys,
            "partner_receipts",
            registry.receipt_fields(row),
            row.sig,
            f"the receipt of export {row.export_id} from partner {row.partner!r}",
        )
    return row


def list_partners(ctx: Context) -> list[PartnerInfo]:
    ctx.require("admin", "custodian", "exporter", "auditor")
    out: list[PartnerInfo] = []
    with ctx.read() as conn:
        for row in pinned(ctx, conn):
            last = last_receipt(ctx, conn, row.name)
            out.append(
                {
                    "name": row.name,
                    "fingerprint": row.fingerprint,
                    "signing_key_pem": crypto.public_key_pem(bytes.fromhex(row.signing_key))
                    .decode("ascii")
                    .strip(),
                    "created_at": as_utc(row.created_at).isoformat(),
                    "last_export": None
                    if last is None
                    else {
                        "export_id": last.export_id,
                        "sequence": last.sequence,
                        "exported_at": as_utc(last.exported_at).isoformat(),
                        "received_at": as_utc(last.received_at).isoformat(),
                        "policy": last.policy,
                        "terms": json.loads(last.terms),
                    },
                }
            )
    return out


def remove_partner(ctx: Context, name: str) -> None:
    """Unpin a partner: nothing more is received from it; what was received stays."""
    ctx.require("admin")
    with ctx.write() as conn:
        if conn.execute(delete(Partner).where(Partner.name == name)).rowcount == 0:
            raise NotFoundError(f"no partner {shown_name(name)}")
        ctx.audit(conn, "partner-removed", details={"name": name})
