"""Custodians, unlock sessions, identity approvals and recovery shares.

Invariants:

* Each custodian's keyring is sealed under their own passphrase and bound to their
  role and grants; removing a custodian deletes that sealed keyring (with SQLite's
  ``secure_delete`` the bytes are overwritten), so the old passphrase opens nothing.
* A session token is ``<id>.<key>``: the database holds the keyring sealed under
  ``key`` and an expiry; the key exists only in the token. Ending a session deletes
  the row. An unknown, ended or expired token is an error, never a re-prompt.
* Identity fields open only for a request with a reason (sealed at rest) that
  ``approvals`` custodians other than the requester approved and nobody refused,
  for that record, before it expires.
* Recovery: the master key sealed under a random recovery key, which is split into
  SLIP-39 mnemonic shares (``shamir-mnemonic``; each share carries a checksum that
  catches typos). Fewer shares than the threshold reveal nothing about the key.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypedDict

import shamir_mnemonic
from sqlalchemy import Connection, delete, insert, select, update

from vault import crypto, registry
from vault.context import Context
from vault.crypto import KdfParams, Passphrase, SecretKey
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from vault.keys import (
    ROLES,
    Grant,
    KeyClass,
    Keyring,
    Role,
    is_role,
    open_keyring,
    seal_keyring,
    seal_keyring_with_key,
)
from vault.lazy import lazy_module
from vault.schema import check_name, shown_id, shown_name
from vault.store import (
    Custodian,
    IdentityDecision,
    IdentityRequest,
    Meta,
    Record,
    Session,
    as_utc,
    utcnow,
)
from vault.strength import check_new_passphrase

if TYPE_CHECKING:
    from vault import policy as policy_module
    from vault.policy import Policy
else:
    # Policies (and their YAML reader) load only when a grant names one: unlocking
    # a vault to read a record does not need them.
    policy_module = lazy_module("vault.policy")

__all__ = [
    "CustodianInfo",
    "IdentityRequestInfo",
    "add_custodian",
    "approved_request",
    "change_passphrase",
    "custodian_grant",
    "custodians",
    "decide_identity",
    "end_session",
    "grant_for",
    "identity_requests",
    "open_session",
    "recovery_restore",
    "recovery_split",
    "remove_custodian",
    "request_identity",
    "resolve_policies",
    "signed_custodian",
    "start_session",
]

TOKEN_PREFIX: Final = "evs1_"  # noqa: S105 - a format prefix, not a secret
REQUEST_TTL: Final = dt.timedelta(hours=24)
_RECOVERY: Final = "recovery"


# Custodians ---------------------------------------------------------------------


class CustodianInfo(TypedDict):
    """A custodian as :func:`custodians` lists them (never their keys)."""

    name: str
    role: str
    classes: list[str]
    policies: list[str]
    created_at: str


def signed_custodian(keys: Keyring, name: str, grant: Grant) -> dict[str, Any]:
    """A custodian row's columns that decide what they may do, signed by the registry
    (so only an admin can write one), with the public key of their approvals."""
    approval = keys.approval_signing_key(name)
    assert approval is not None  # an admin's keyring derives every custodian's
    values: dict[str, Any] = {
        "name": name,
        "role": grant.role,
        "classes": ",".join(sorted(grant.classes)),
        "policies": ",".join(sorted(grant.policies)),
        "approval_key": approval.public_bytes().hex(),
    }
    values["sig"] = registry.sign(keys, "custodians", registry.custodian_fields(_Columns(values)))
    return values


class _Columns:
    """Column values read by attribute, as a row's are."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def custodian_grant(row: Any) -> Grant:
    """A custodian row's grant. An edited row reads like any altered key record (the
    keyring is bound to the grant and would not open either), whoever asks."""
    try:
        # Rows of a vault made before grants had columns of their own hold none.
        return Grant.from_columns(
            row.role, getattr(row, "classes", ""), getattr(row, "policies", "")
        )
    except IntegrityError:
        raise AuthenticationError(
            f"wrong passphrase for custodian {row.name!r} (or the key record was altered)"
        ) from None


def resolve_policies(policies: Iterable[Policy | str]) -> list[Policy]:
    """Policies given as themselves or by a shipped policy's name (the facade has
    looked names up in the vault's own folder already)."""
    if isinstance(policies, str | policy_module.Policy):
        raise UsageError("policies are a list of policies or policy names")
    return [
        p if isinstance(p, policy_module.Policy) else policy_module.find_policy(p) for p in policies
    ]


def grant_for(role: str, classes: Iterable[str], policies: Iterable[Policy | str]) -> Grant:
    """What a new custodian or token of ``role`` holds: custodians and exporters always
    get the operational class, admins and auditors no class keys of their own, and
    exporters their policies, each bound to its exact text by name and SHA-256 (a
    different file with the same name is refused when it is used).

    A grant that could never work is refused (UsageError): a class that does not
    exist, policies for a role that does not export, or an exporter without a class
    some granted policy needs (:meth:`~vault.policy.Policy.key_classes`).
    """
    if not is_role(role):
        raise InvalidInputError(f"unknown role {shown_name(role)}; use {', '.join(ROLES)}")
    checked: Role = role
    if isinstance(classes, str):
        raise UsageError("classes are a list of class names")
    wanted = set(classes)
    known = {k.value for k in KeyClass}
    for c in sorted(wanted, key=str):
        if c not in known:
            raise InvalidInputError(
                f"unknown field class {shown_name(c)}; use {', '.join(sorted(known))}"
            )
    if checked in ("custodian", "exporter"):
        wanted.add("operational")
    elif checked in ("admin", "auditor"):
        wanted = set()
    granted = resolve_policies(policies)
    if granted and checked != "exporter":
        raise UsageError(f"only exporters are granted policies, not the role {checked!r}")
    for policy in granted:
        needed = policy.key_classes()
        if not needed <= wanted:
            raise UsageError(
                f"policy {policy.name!r} needs classes: {', '.join(sorted(needed))} "
                f"(missing: {', '.join(sorted(needed - wanted))})"
            )
    return Grant(
        checked,
        frozenset(wanted),
        frozenset(f"{p.name}:{p.sha256}" for p in granted),
    )


def add_custodian(
    ctx: Context,
    name: str,
    passphrase: Passphrase,
    *,
    role: str,
    classes: Iterable[str],
    policies: Iterable[Policy | str],
    kdf: KdfParams | None,
) -> None:
    ctx.require("admin")
    check_name(name)
    grant = grant_for(role, classes, policies)
    check_new_passphrase(passphrase, names=[name])
    params = kdf or KdfParams()
    with ctx.write() as conn:
        if conn.execute(select(Custodian.id).where(Custodian.name == name)).first():
            raise ConflictError(f"a custodian named {name!r} exists already")
        conn.execute(
            insert(Custodian).values(
                **signed_custodian(ctx.keys, name, grant),
                kdf=json.dumps(params.to_dict()),
                keyring=seal_keyring(
                    ctx.keys.restricted(grant, name), name, grant, passphrase, params
                ),
                created_at=utcnow(),
            )
        )
        ctx.audit(conn, "custodian-added", details={"name": name, **grant.to_dict()})


def remove_custodian(ctx: Context, name: str) -> None:
    ctx.require("admin")
    with ctx.write() as conn:
        if name == ctx.actor:
            raise UsageError("a custodian cannot remove themselves")
        rows = conn.execute(select(*Custodian.__table__.c)).all()
        for row in rows:
            _check_custodian(ctx, row)
        if name not in {r.name for r in rows}:
            raise NotFoundError(f"no custodian {shown_name(name)}")
        admins = [r.name for r in rows if r.role == "admin"]
        if admins == [name]:
            raise UsageError("the last admin cannot be removed")
        conn.execute(delete(Session).where(Session.custodian == name))
        conn.execute(delete(Custodian).where(Custodian.name == name))
        ctx.audit(conn, "custodian-removed", details={"name": name})
    ctx.checkpoint_wal()


def custodians(ctx: Context) -> list[CustodianInfo]:
    with ctx.write() as conn:
        ctx.audit(conn, "custodians-listed")
        rows = conn.execute(select(*Custodian.__table__.c).order_by(Custodian.name)).all()
        for row in rows:
            _check_custodian(ctx, row)
    return [
        {
            "name": r.name,
            "role": r.role,
            "classes": ["all"] if r.role == "admin" else [c for c in r.classes.split(",") if c],
            "policies": [p for p in r.policies.split(",") if p],
            "created_at": as_utc(r.created_at).isoformat(),
        }
        for r in rows
    ]


def change_passphrase(ctx: Context, new: Passphrase, kdf: KdfParams | None) -> None:
    """Rewrap this custodian's keyring under a new passphrase (fresh salt)."""
    check_new_passphrase(new, names=[ctx.actor])
    params = (kdf or KdfParams()).with_new_salt() if kdf is None else kdf
    sealed = seal_keyring(ctx.keys, ctx.actor, ctx.grant, new, params)
    with ctx.write() as conn:
        conn.execute(
            update(Custodian)
            .where(Custodian.name == ctx.actor)
            .values(kdf=json.dumps(params.to_dict()), keyring=sealed)
        )
        # Sessions opened under the old passphrase end with it.
        conn.execute(delete(Session).where(Session.custodian == ctx.actor))
        ctx.audit(conn, "passphrase-changed")
    ctx.checkpoint_wal()


# Sessions -------------------------------------------------------------------------


def start_session(ctx: Context, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
    """A session token (for EVAULT_SESSION) and its expiry."""
    if not dt.timedelta(seconds=1) <= ttl <= dt.timedelta(hours=12):
        raise UsageError("a session lasts between 1 second and 12 hours")
    session_id = crypto.random_token(16)
    key = crypto.random_key()
    now = utcnow()
    expires = now + ttl
    with ctx.write() as conn:
        conn.execute(
            insert(Session).values(
                id=session_id,
                custodian=ctx.actor,
                created_at=now,
                expires_at=expires,
                keyring=seal_keyring_with_key(
                    ctx.keys, key, _session_label(session_id, ctx.actor, expires), ctx.grant
                ),
            )
        )
        ctx.audit(conn, "session-started", details={"expires_at": expires.isoformat()})
    token = TOKEN_PREFIX + session_id + "." + base64.urlsafe_b64encode(key.expose()).decode()
    return token, expires


def _session_label(session_id: str, custodian: str, expires: dt.datetime) -> tuple[str, ...]:
    # The expiry is bound into the sealed keyring: moving it in the database (or
    # restoring an old row) makes the keyring fail to open.
    return ("session", session_id, custodian, str(int(as_utc(expires).timestamp())))


def _parse_token(token: str) -> tuple[str, SecretKey]:
    try:
        if not token.startswith(TOKEN_PREFIX):
            raise ValueError
        session_id, _, raw = token[len(TOKEN_PREFIX) :].partition(".")
        key = SecretKey(base64.urlsafe_b64decode(raw.encode()))
        bytes.fromhex(session_id)
    except ValueError:
        raise AuthenticationError("EVAULT_SESSION is not a session token") from None
    return session_id, key


def open_session(conn: Connection, vault_id: str, token: str) -> tuple[str, Keyring]:
    session_id, key = _parse_token(token)
    row = conn.execute(select(*Session.__table__.c).where(Session.id == session_id)).one_or_none()
    if row is None:
        raise AuthenticationError("the session has ended or never existed; unlock again")
    if as_utc(row.expires_at) <= utcnow():
        raise AuthenticationError("the session has expired; unlock again")
    custodian = conn.execute(
        select(*Custodian.__table__.c).where(Custodian.name == row.custodian)
    ).one_or_none()
    if custodian is None:
        raise AuthenticationError("the session's custodian no longer exists")
    grant = custodian_grant(custodian)
    keyring = open_keyring(
        vault_id,
        row.custodian,
        grant,
        row.keyring,
        key=key,
        label=_session_label(session_id, row.custodian, row.expires_at),
    )
    return row.custodian, keyring


def end_session(ctx: Context, token: str) -> None:
    """End a session: its sealed keys are deleted."""
    session_id, _key = _parse_token(token)
    with ctx.write() as conn:
        if conn.execute(delete(Session).where(Session.id == session_id)).rowcount == 0:
            raise AuthenticationError("the session has ended or never existed")
        ctx.audit(conn, "session-ended")


# Identity approvals ----------------------------------------------------------------


class IdentityRequestInfo(TypedDict):
    """An identity request with its reason and decisions."""

    id: str
    requester: str
    record_ref: str
    reason: str
    created_at: str
    expires_at: str
    decisions: dict[str, str]


def request_identity(ctx: Context, record_id: str, reason: str) -> str:
    ctx.require("admin", "custodian")
    if not ctx.keys.holds_class(KeyClass.IDENTITY):
        raise PermissionDeniedError(f"custodian {ctx.actor!r} has no clearance for identity fields")
    ref = ctx.codec.reference(record_id)
    with ctx.write() as conn:
        if conn.execute(select(Record.ref).where(Record.ref == ref)).first() is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        if len(reason.strip()) < 10:
            raise InvalidInputError("state a reason of at least 10 characters")
        request_id = crypto.random_token(8)
        now = utcnow()
        sealed = crypto.seal(
            ctx.keys.reference_key(),
            reason.encode("utf-8"),
            ("identity-request", ctx.vault_id, request_id),
        )
        conn.execute(
            insert(IdentityRequest).values(
                id=request_id,
                requester=ctx.actor,
                record_ref=ref,
                reason=sealed,
                created_at=now,
                expires_at=now + REQUEST_TTL,
            )
        )
        ctx.audit(conn, "identity-requested", refs=[ref], details={"request": request_id})
    return request_id


def identity_requests(ctx: Context) -> list[IdentityRequestInfo]:
    ctx.require("admin", "custodian")
    out: list[IdentityRequestInfo] = []
    with ctx.write() as conn:
        ctx.audit(conn, "identity-requests-listed")
        for row in conn.execute(
            select(*IdentityRequest.__table__.c).order_by(IdentityRequest.created_at)
        ).all():
            reason = crypto.open_sealed(
                ctx.keys.reference_key(),
                row.reason,
                ("identity-request", ctx.vault_id, row.id),
                what="an identity request",
            ).decode("utf-8")
            decisions = conn.execute(
                select(IdentityDecision.custodian, IdentityDecision.decision).where(
                    IdentityDecision.request_id == row.id
                )
            ).all()
            out.append(
                {
                    "id": row.id,
                    "requester": row.requester,
                    "record_ref": row.record_ref,
                    "reason": reason,
                    "created_at": as_utc(row.created_at).isoformat(),
                    "expires_at": as_utc(row.expires_at).isoformat(),
                    "decisions": {d.custodian: d.decision for d in decisions},
                }
            )
    return out


def decide_identity(ctx: Context, request_id: str, *, approve: bool) -> None:
    ctx.require("admin", "custodian")
    custodian = ctx.actor
    with ctx.write() as conn:
        row = conn.execute(
            select(*IdentityRequest.__table__.c).where(IdentityRequest.id == request_id)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no identity request {request_id}")
        if row.requester == custodian:
            raise PermissionDeniedError("a custodian cannot decide on their own request")
        if as_utc(row.expires_at) <= utcnow():
            raise PermissionDeniedError(f"identity request {request_id} has expired")
        if conn.execute(
            select(IdentityDecision.decision).where(
                IdentityDecision.request_id == request_id, IdentityDecision.custodian == custodian
            )
        ).first():
            raise ConflictError(f"custodian {custodian!r} has already decided on {request_id}")
        decision = "approve" if approve else "refuse"
        key = ctx.keys.approval_signing_key(custodian)
        if key is None:
            raise PermissionDeniedError(
                f"custodian {custodian!r} holds no approval key (their key record predates "
                "signed approvals): an admin must add them again"
            )
        sig = registry.sign_with(
            key,
            ctx.vault_id,
            "identity_decisions",
            registry.decision_fields(row, custodian, decision),
        )
        conn.execute(
            insert(IdentityDecision).values(
                request_id=request_id, custodian=custodian, decision=decision, at=utcnow(), sig=sig
            )
        )
        ctx.audit(
            conn,
            "identity-approved" if approve else "identity-refused",
            refs=[str(row.record_ref)],
            details={"request": request_id},
        )


def approved_request(ctx: Context, conn: Connection, ref: str) -> str | None:
    """The id of a live request by this custodian for ``ref`` that enough others
    approved and nobody refused, or raise. Only decisions signed by a custodian's own
    approval key (itself in their registry-signed row) count."""
    approvals = ctx.identity_approvals
    if approvals == 0:
        return None
    now = utcnow()
    deciders = _approval_keys(ctx, conn)
    for row in conn.execute(
        select(*IdentityRequest.__table__.c).where(
            IdentityRequest.requester == ctx.actor, IdentityRequest.record_ref == ref
        )
    ).all():
        if as_utc(row.expires_at) <= now:
            continue
        decisions = []
        for d in conn.execute(
            select(*IdentityDecision.__table__.c).where(IdentityDecision.request_id == row.id)
        ).all():
            public = deciders.get(d.custodian)
            if public is None or d.custodian == row.requester:
                continue  # a decider who is gone (or the requester) decides nothing
            registry.verify_with(
                public,
                ctx.vault_id,
                "identity_decisions",
                registry.decision_fields(row, d.custodian, d.decision),
                d.sig,
                f"a decision on identity request {row.id}",
            )
            decisions.append(d.decision)
        if "refuse" not in decisions and decisions.count("approve") >= approvals:
            return str(row.id)
    raise PermissionDeniedError(
        "identity fields need an approved request: 'evault identity request' and the "
        f"approval of {approvals} other custodian(s)"
    )


def _approval_keys(ctx: Context, conn: Connection) -> dict[str, bytes]:
    """Each custodian's approval public key, from rows the registry signed."""
    out: dict[str, bytes] = {}
    for row in conn.execute(select(*Custodian.__table__.c)).all():
        _check_custodian(ctx, row)
        if row.approval_key:
            out[str(row.name)] = bytes.fromhex(row.approval_key)
    return out


def _check_custodian(ctx: Context, row: Any) -> None:
    registry.verify(
        ctx.keys, "custodians", registry.custodian_fields(row), row.sig, f"custodian {row.name!r}"
    )


# Recovery ------------------------------------------------------------------------------


def recovery_split(
    ctx: Context,
    shares: int,
    threshold: int,
    stage: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """``shares`` SLIP-39 recovery shares, any ``threshold`` of which restore.

    ``stage`` is given the shares before the vault keeps their key: a caller that
    writes them somewhere does it there, and if that fails nothing changes (the
    trustees' old shares still open)."""
    ctx.require("admin")
    keyring = ctx.keys
    if not keyring.is_master:
        raise PermissionDeniedError("only an admin can create recovery shares")
    if not 1 <= threshold <= shares <= 16 or (threshold == 1 and shares > 1):
        raise UsageError("use 2 <= threshold <= shares <= 16 (or 1 of 1)")
    secret = crypto.random_key()
    sealed = seal_keyring_with_key(keyring, secret, (_RECOVERY,), Grant("admin"))
    value = json.dumps(
        {"sealed": base64.b64encode(sealed).decode(), "shares": shares, "threshold": threshold}
    )
    # The shares exist before the old ones are replaced: no failure leaves trustees
    # holding shares of a key the vault no longer keeps.
    groups = shamir_mnemonic.generate_mnemonics(
        1, [(threshold, shares)], secret.expose(), b"", extendable=False
    )
    if stage is not None:
        stage(list(groups[0]))
    with ctx.write() as conn:
        conn.execute(delete(Meta).where(Meta.key == _RECOVERY))
        conn.execute(insert(Meta).values(key=_RECOVERY, value=value))
        ctx.audit(conn, "recovery-split", details={"shares": shares, "threshold": threshold})
    return list(groups[0])


def recovery_restore(conn: Connection, vault_id: str, mnemonics: Iterable[str]) -> Keyring:
    raw = conn.execute(select(Meta.value).where(Meta.key == _RECOVERY)).scalar_one_or_none()
    if raw is None:
        raise NotFoundError("this vault has no recovery shares ('evault recovery split')")
    try:
        secret = shamir_mnemonic.combine_mnemonics([" ".join(m.split()) for m in mnemonics])
    except shamir_mnemonic.MnemonicError as exc:
        # The library says which check failed (checksum, count, mismatch): no secret.
        raise InvalidInputError(f"recovery shares refused: {exc}") from None
    sealed = base64.b64decode(json.loads(raw)["sealed"])
    return open_keyring(
        vault_id, "admin", Grant("admin"), sealed, key=SecretKey(secret), label=(_RECOVERY,)
    )
