"""Signed rows: the stored rows that decide who may see what, or where data goes.

Invariants:

* Custodians and their grants, API tokens and theirs, recipients, pinned partners
  and the exports received from them, and the settings
  that steer access (approval threshold, retention, key versions) are signed with the
  registry key, an Ed25519 key derived from the master key: only an admin can sign.
  A signature covers the vault id, the table and every column that matters, so a row
  edited, inserted, moved to another vault or given another's signature fails.
* Everyone checks with the registry's public key: an admin derives it, any other
  custodian carries it sealed in their keyring, so a database writer cannot swap it.
* A custodian's approval of an identity request is signed with that custodian's own
  approval key, whose public half is in their signed row.
* What a database writer can still do — delete rows, or put back a row exactly as it
  was once signed (a replay) — SECURITY.md says.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final

from vault import crypto
from vault.crypto import SigningKey
from vault.errors import IntegrityError, TamperedRowError
from vault.keys import Keyring

__all__ = [
    "SIGNED_SETTINGS",
    "custodian_fields",
    "decision_fields",
    "partner_fields",
    "receipt_fields",
    "recipient_fields",
    "setting_fields",
    "sign",
    "sign_with",
    "token_fields",
    "verify",
    "verify_with",
]

# Settings whose value changes who may see what, or which keys protect data.
SIGNED_SETTINGS: Final = frozenset(
    {
        "identity_approvals",
        "retention_days",
        "kek_version",
        "min_kek_version",
        "rotation_target",
        "signing_public_key",  # the key recipients pin to check exports
        "signing_key",  # and its sealed private half: no older one put back
    }
)

Fields = Mapping[str, str | int | None]


def _when(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _message(vault_id: str, table: str, fields: Fields) -> bytes:
    body = {"vault": vault_id, "table": table, "row": dict(fields)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(keys: Keyring, table: str, fields: Fields) -> bytes:
    """The registry's signature of a row (admins only)."""
    return keys.registry_signing_key().sign(_message(keys.vault_id, table, fields))


def sign_with(key: SigningKey, vault_id: str, table: str, fields: Fields) -> bytes:
    return key.sign(_message(vault_id, table, fields))


def verify(keys: Keyring, table: str, fields: Fields, sig: bytes | None, what: str) -> None:
    """IntegrityError unless the registry signed exactly this row."""
    public = keys.registry_public()
    if public is None:
        raise TamperedRowError(
            f"integrity check failed for {what} (this key record holds no registry key)",
            table=table,
        )
    verify_with(public, keys.vault_id, table, fields, sig, what)


def verify_with(
    public: bytes, vault_id: str, table: str, fields: Fields, sig: bytes | None, what: str
) -> None:
    """TamperedRowError unless ``public``'s key signed exactly this row."""
    if not sig:
        raise TamperedRowError(f"integrity check failed for {what} (not signed)", table=table)
    try:
        crypto.verify_signature(public, bytes(sig), _message(vault_id, table, fields), what=what)
    except IntegrityError:
        raise TamperedRowError(f"integrity check failed for {what}", table=table) from None


# What each signed table's signature covers ------------------------------------------


def custodian_fields(row: Any) -> Fields:
    return {
        "name": row.name,
        "role": row.role,
        "classes": row.classes,
        "policies": row.policies,
        "approval_key": row.approval_key,
    }


def token_fields(row: Any) -> Fields:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "classes": row.classes,
        "policies": row.policies,
        "token_hash": bytes(row.token_hash).hex(),
        "expires_at": _when(row.expires_at),
        "revoked_at": _when(row.revoked_at),
    }


def recipient_fields(row: Any) -> Fields:
    return {"name": row.name, "public_key": row.public_key, "fingerprint": row.fingerprint}


def partner_fields(row: Any) -> Fields:
    """A partner's pinned signing key: where received evidence may come from."""
    return {"name": row.name, "signing_key": row.signing_key, "fingerprint": row.fingerprint}


def receipt_fields(row: Any) -> Fields:
    """An export received from a partner: what later exports must be newer than."""
    return {
        "partner": row.partner,
        "export_id": row.export_id,
        "sequence": row.sequence,
        "exported_at": _when(row.exported_at),
        "received_at": _when(row.received_at),
        "custodian": row.custodian,
        "manifest_sha256": row.manifest_sha256,
        "policy": row.policy,
        "policy_sha256": row.policy_sha256,
        "terms": row.terms,
        "counts": row.counts,
    }


def setting_fields(key: str, value: str) -> Fields:
    return {"key": key, "value": value}


def decision_fields(request: Any, custodian: str, decision: str) -> Fields:
    """An approval or refusal, bound to the request's requester, record and expiry."""
    return {
        "request": request.id,
        "requester": request.requester,
        "record_ref": request.record_ref,
        "expires_at": _when(request.expires_at),
        "custodian": custodian,
        "decision": decision,
    }
