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
import functools
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, TypedDict

from sqlalchemy import Connection, Engine, insert, select, update

from vault import crypto, registry
from vault.context import Context
from vault.custody import grant_for
from vault.errors import AuthenticationError, ConflictError, NotFoundError, TamperedRowError
from vault.keys import Grant, Keyring
from vault.schema import check_name, shown_name
from vault.store import ApiToken, as_utc, utcnow

if TYPE_CHECKING:
    from vault.policy import Policy

__all__ = [
    "PREFIX",
    "NewToken",
    "TokenInfo",
    "TokenViews",
    "authenticate",
    "check_live",
    "create",
    "digest",
    "list_tokens",
    "revoke",
]

PREFIX: Final = "evt1_"
_TOKEN_VIEWS: Final = 1024  # grants of valid tokens kept in memory (see TokenViews)


class NewToken(TypedDict):
    """A token's row as created (the token itself is returned once, beside it)."""

    id: str
    name: str
    role: str
    classes: str
    policies: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


class TokenInfo(TypedDict):
    """A token as :func:`list_tokens` shows it: never the token or its hash."""

    name: str
    role: str
    classes: list[str]
    policies: list[str]
    created_at: str
    expires_at: str | None
    revoked: bool


_REFUSED: Final = "invalid, expired or revoked token"


def _digest(token: str) -> bytes:
    return crypto.sha256(token.encode("utf-8"))


def digest(token: str) -> bytes:
    """What the database keeps of a token; AuthenticationError if it cannot be one."""
    if not token.startswith(PREFIX) or len(token) > 128:
        raise AuthenticationError(_REFUSED)
    return _digest(token)


class RowCheck:
    """Checks token rows against the registry's signature, remembering rows already
    found good (the check runs in every transaction of a token's view)."""

    def __init__(self, keys: Keyring) -> None:
        self._keys = keys
        self._good: dict[bytes, str] = {}

    def __call__(self, row: Any) -> None:
        fields = registry.token_fields(row)
        text = json.dumps(fields, sort_keys=True)
        sig = bytes(row.sig or b"")
        if self._good.get(sig) == text:
            return
        registry.verify(self._keys, "api_tokens", fields, sig, f"token {row.name!r}")
        if len(self._good) >= _TOKEN_VIEWS:
            self._good.clear()
        self._good[sig] = text


def check_live(conn: Connection, token_hash: bytes, check: RowCheck) -> None:
    """AuthenticationError unless the token exists, is not revoked and has not expired;
    TamperedRowError if its row is not as an admin signed it.

    Run inside the transaction of each operation a token's view performs, so that a
    revocation or expiry takes effect at once, even for a view already handed out.
    """
    _live_row(conn, token_hash, check)


def _live_row(conn: Connection, token_hash: bytes, check: RowCheck) -> Any:
    row = conn.execute(
        select(*ApiToken.__table__.c).where(ApiToken.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        raise AuthenticationError(_REFUSED)
    # A row is believed only as signed: an inserted admin token, a raised role or an
    # un-revoked token fails here, before anything else is read from it.
    check(row)
    if row.revoked_at is not None:
        raise AuthenticationError(_REFUSED)
    if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
        raise AuthenticationError(_REFUSED)
    if not crypto.constant_time_equal(row.token_hash, token_hash):
        raise AuthenticationError(_REFUSED)
    return row


def create(
    ctx: Context,
    name: str,
    *,
    role: str,
    classes: Iterable[str],
    policies: Iterable[Policy | str],
    expires: dt.timedelta | None,
) -> tuple[str, NewToken]:
    """A bearer token for the HTTP API; returned once, stored only as a hash."""
    ctx.require("admin")
    check_name(name, "token")
    grant = grant_for(role, classes, policies)
    token = PREFIX + base64.urlsafe_b64encode(crypto.random_key().expose()).decode().rstrip("=")
    with ctx.write() as conn:
        if conn.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
            raise ConflictError(f"a token named {name!r} exists already")
        now = utcnow()
        row: NewToken = {
            "id": crypto.random_token(8),
            "name": name,
            "role": grant.role,
            "classes": ",".join(sorted(grant.classes)),
            "policies": ",".join(sorted(grant.policies)),
            "created_at": now,
            "expires_at": now + expires if expires else None,
        }
        values = {**row, "token_hash": _digest(token), "revoked_at": None}
        sig = registry.sign(ctx.keys, "api_tokens", registry.token_fields(_Row(values)))
        conn.execute(insert(ApiToken).values(**values, sig=sig))
        ctx.audit(conn, "token-created", details={"name": name, **grant.to_dict()})
    return token, row


def list_tokens(ctx: Context) -> list[TokenInfo]:
    ctx.require("admin")
    with ctx.read() as conn:
        rows = conn.execute(select(*ApiToken.__table__.c).order_by(ApiToken.name)).all()
    out: list[TokenInfo] = []
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


def revoke(ctx: Context, name: str) -> None:
    ctx.require("admin")
    with ctx.write() as conn:
        row = conn.execute(
            select(*ApiToken.__table__.c).where(
                ApiToken.name == name, ApiToken.revoked_at.is_(None)
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no live token named {shown_name(name)}")
        values = {**row._asdict(), "revoked_at": utcnow()}
        sig = registry.sign(ctx.keys, "api_tokens", registry.token_fields(_Row(values)))
        conn.execute(
            update(ApiToken)
            .where(ApiToken.id == row.id)
            .values(revoked_at=values["revoked_at"], sig=sig)
        )
        ctx.audit(conn, "token-revoked", details={"name": name})


def authenticate(conn: Connection, token: str, check: RowCheck) -> tuple[str, Grant]:
    """The token's name and grant, or AuthenticationError (one message for all causes)."""
    row = _live_row(conn, digest(token), check)
    return str(row.name), Grant.from_columns(row.role, row.classes, row.policies)


class _Row:
    """Column values read by attribute, as a row's are."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


class TokenViews:
    """Contexts restricted to tokens' grants, made from an admin's context.

    Every transaction a view opens first checks, inside that transaction, that the
    token is still live, so a revocation or expiry ends even a view already handed
    out. What a valid token was granted is kept in memory (grants never change), so a
    request costs no extra round trip; a token found dead is forgotten, and from then
    on is authenticated (and throttled) afresh, like any unknown token.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._rows = RowCheck(ctx.keys)
        # Token hash -> (name, grant, restricted keyring, checking engine).
        self._known: dict[bytes, tuple[str, Grant, Keyring, Engine]] = {}

    def view(self, token: str) -> Context:
        self._ctx.require("admin")
        token_hash = digest(token)
        known = self._known.get(token_hash)
        if known is None:
            with self._ctx.read() as conn:
                name, grant = authenticate(conn, token, self._rows)
            engine: Engine = self._ctx.engine.execution_options(
                evault_on_begin=functools.partial(self._check_live, token_hash)
            )
            if len(self._known) >= _TOKEN_VIEWS:
                self._known.clear()
            known = self._known[token_hash] = (
                name,
                grant,
                self._ctx.keys.restricted(grant),
                engine,
            )
        return self._derive(*known)

    def known_view(self, token: str) -> Context | None:
        """A view for a token already authenticated, without touching the database."""
        self._ctx.require("admin")
        try:
            known = self._known.get(digest(token))
        except AuthenticationError:
            return None
        return None if known is None else self._derive(*known)

    def check(self, token: str) -> None:
        token_hash = digest(token)
        with self._ctx.read() as conn:
            self._check_live(token_hash, conn)

    def _derive(self, name: str, grant: Grant, keys: Keyring, engine: Engine) -> Context:
        return self._ctx.derive(engine, keys, f"token:{name}", grant)

    def _check_live(self, token_hash: bytes, conn: Connection) -> None:
        try:
            check_live(conn, token_hash, self._rows)
        except (AuthenticationError, TamperedRowError):
            self._known.pop(token_hash, None)
            raise
