"""The audit log as admins and auditors use it: read it, verify it, checkpoint it.

The chain itself (appending, verifying, signing a head) is :mod:`vault.audit`; this
module adds the role checks and records each use of the log in the log.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from vault import audit
from vault.context import Context
from vault.errors import PermissionDeniedError

__all__ = ["checkpoint", "entries", "verify"]


def entries(
    ctx: Context, *, since: dt.datetime | None, record_id: str | None
) -> list[audit.AuditRecord]:
    ctx.require("admin", "auditor")
    ref = ctx.codec.reference(record_id) if record_id else None
    ctx.audit_now("audit-read")
    with ctx.read() as conn:
        return list(audit.entries(conn, since=since, ref=ref))


def verify(ctx: Context, against: str | os.PathLike[str] | None) -> audit.AuditReport:
    ctx.require("admin", "auditor")
    ctx.witness.flush()
    # A checkpoint is signed with the checkpoint key, which only admins and auditors
    # hold: its public half comes from this keyring, never from a column.
    publics: list[bytes] = []
    if against is not None:
        try:
            publics.append(ctx.keys.checkpoint_signing_key().public_bytes())
        except PermissionDeniedError:
            raise PermissionDeniedError(
                f"custodian {ctx.actor!r} holds no checkpoint key (their key record "
                "predates it): an admin must add them again"
            ) from None
    with ctx.read() as conn:
        report = audit.verify(
            conn,
            ctx.keys.audit_key(),
            checkpoint_file=Path(against) if against is not None else None,
            public_keys=publics,
            vault_id=ctx.vault_id,
            witnesses=ctx.witness.paths,
        )
    ctx.audit_now("audit-verified", details={"size": report.size})
    return report


def checkpoint(ctx: Context) -> audit.Checkpoint:
    ctx.require("admin", "auditor")
    ctx.audit_now("audit-checkpoint")
    signing = ctx.keys.checkpoint_signing_key()
    with ctx.read() as conn:
        return audit.checkpoint(conn, ctx.keys.audit_key(), signing, ctx.vault_id)
