"""Bearer tokens for the HTTP API.

Invariants: a token is shown once; the database keeps only its SHA-256. A token
carries a role, field classes and (for exporters) policy grants no wider than what
the admin who made it chose; every request is authorised by the library against a
view of the vault restricted to exactly that grant. An unknown, revoked or expired
token authenticates nothing, and says nothing about which of the three it was.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from vault import crypto
from vault.errors import AuthenticationError, ConflictError, NotFoundError
from vault.keys import Grant
from vault.store import ApiToken, as_utc, utcnow

__all__ = ["PREFIX", "authenticate", "create", "list_tokens", "revoke"]

PREFIX: Final = "evt1_"


def _digest(token: str) -> bytes:
    return crypto.sha256(token.encode("utf-8"))


def create(
    conn: Connection, name: str, grant: Grant, expires: dt.timedelta | None
) -> tuple[str, dict[str, Any]]:
    if conn.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
        raise ConflictError(f"a token named {name!r} exists already")
    token = PREFIX + base64.urlsafe_b64encode(crypto.random_key().expose()).decode().rstrip("=")
    now = utcnow()
    row = {
        "id": crypto.random_token(8),
        "name": name,
        "role": grant.role,
        "classes": ",".join(sorted(grant.classes)),
        "policies": ",".join(sorted(grant.policies)),
        "token_hash": _digest(token),
        "created_at": now,
        "expires_at": now + expires if expires else None,
    }
    conn.execute(insert(ApiToken).values(**row))
    return token, {k: v for k, v in row.items() if k != "token_hash"}


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(*ApiToken.__table__.c).order_by(ApiToken.name)).all()
    out = []
    for r in rows:
        expires = as_utc(r.expires_at) if r.expires_at else None
        out.append(
            {
                "name": r.name,
                "role": r.role,
                "classes": [c for c in r.classes.split(",") if c],
                "policies": [p.split(":")[0] for p in r.policies.split(",") if p],
                "created_at": as_utc(r.created_at).isoformat(),
                "expires_at": expires.isoformat() if expires else None,
                "revoked": r.revoked_at is not None,
            }
        )
    return out


def revoke(conn: Connection, name: str) -> None:
    done = conn.execute(
        update(ApiToken)
        .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if not done:
        raise NotFoundError(f"no live token named {name!r}")


def authenticate(conn: Connection, token: str) -> tuple[str, Grant]:
    """The token's name and grant, or AuthenticationError (one message for all causes)."""
    refused = AuthenticationError("invalid, expired or revoked token")
    if not token.startswith(PREFIX) or len(token) > 128:
        raise refused
    row = conn.execute(
        select(*ApiToken.__table__.c).where(ApiToken.token_hash == _digest(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise refused
    expires = as_utc(row.expires_at) if row.expires_at else None
    if expires is not None and expires <= utcnow():
        raise refused
    if not crypto.constant_time_equal(row.token_hash, _digest(token)):
        raise refused
    grant = Grant.from_columns(row.role, row.classes, row.policies)
    return str(row.name), grant
