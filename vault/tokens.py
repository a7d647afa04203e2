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

__all__ = ["PREFIX", "authenticate", "check_live", "create", "digest", "list_tokens", "revoke"]

PREFIX: Final = "evt1_"


_REFUSED: Final = "invalid, expired or revoked token"


def _digest(token: str) -> bytes:
    return crypto.sha256(token.encode("utf-8"))


def digest(token: str) -> bytes:
    """What the database keeps of a token; AuthenticationError if it cannot be one."""
    if not token.startswith(PREFIX) or len(token) > 128:
        raise AuthenticationError(_REFUSED)
    return _digest(token)


def check_live(conn: Connection, token_hash: bytes) -> None:
    """AuthenticationError unless the token exists, is not revoked and has not expired.

    Run inside the transaction of each operation a token's view performs, so that a
    revocation or expiry takes effect at once, even for a view already handed out.
    """
    _live_row(conn, token_hash)


def _live_row(conn: Connection, token_hash: bytes, *columns: Any) -> Any:
    # The liveness columns and any others the caller needs, in one query.
    row = conn.execute(
        select(ApiToken.token_hash, ApiToken.revoked_at, ApiToken.expires_at, *columns).where(
            ApiToken.token_hash == token_hash
        )
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError(_REFUSED)
    if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
        raise AuthenticationError(_REFUSED)
    if not crypto.constant_time_equal(row.token_hash, token_hash):
        raise AuthenticationError(_REFUSED)
    return row


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
    row = _live_row(
        conn, digest(token), ApiToken.name, ApiToken.role, ApiToken.classes, ApiToken.policies
    )
    return str(row.name), Grant.from_columns(row.role, row.classes, row.policies)
