"""Reading records: one record (any version), its versions, summaries, look-ups, counts.

Invariants:

* Only the field classes the context's keys open are returned. Identity fields need
  ``identity=True``, an approved request (unless the vault requires none) and the
  identity key; that access is audited in the same transaction as the approval
  check.
* Every read is in the audit log before anything is returned (fail closed). Where
  the log cannot take the entry because the database is damaged, its disk is full
  or a long write holds it for more than a few seconds, the read is recorded in the
  user's audit journal instead (:mod:`vault.journal`, drained into the log when the
  vault closes), or refused;
  a read of identity fields is never recorded anywhere but the log.
* Summaries (``list``, ``find``) open only the operational class: no identity,
  narrative or special value is in them.
* A record read back must carry the id it was asked for; a sealed blob moved to
  another record fails here even if it opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, select

from vault import custody, journal
from vault.context import Context
from vault.errors import (
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StorageBusyError,
    StorageCorruptError,
    StorageFullError,
    TamperedRowError,
    UsageError,
)
from vault.keys import KeyClass
from vault.records import index_entry, normalize_email, normalize_employee_id, phone_key
from vault.schema import DATE_FIELDS, shown_id
from vault.store import (
    BlindIndexEntry,
    Record,
    RecordVersion,
    as_utc,
    latest_versions,
    latest_versions_in,
    may_wait,
    record_counts,
    sealed_columns,
    wait_at_most,
)

__all__ = [
    "RecordSummary",
    "VersionInfo",
    "find",
    "get",
    "get_with_version",
    "list_records",
    "stats",
    "summary_of",
    "versions",
]

_MAX_VERSION: Final = 2**31 - 1
_READ_AUDIT_WAIT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What ``list`` and ``find`` return: no identity, narrative or special values."""

    id: str
    type: str
    version: int
    site_id: str | None
    date: str | None
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "site_id": self.site_id,
            "date": self.date,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version of a record, when it was written and by whom (a custodian,
    or ``token:NAME``; None for a version stored before the vault sealed its author)."""

    version: int
    created_at: dt.datetime
    stored_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "stored_by": self.stored_by,
        }


def get(ctx: Context, record_id: str, *, version: int | None, identity: bool) -> dict[str, Any]:
    return get_with_version(ctx, record_id, version=version, identity=identity)[0]


def get_with_version(
    ctx: Context, record_id: str, *, version: int | None, identity: bool
) -> tuple[dict[str, Any], int]:
    """The record and the number of the version read (the latest unless ``version``)."""
    ctx.require("admin", "custodian")
    ref = ctx.codec.reference(record_id)
    what = f"record {shown_id(record_id)}"
    if identity:
        # Approval, subject key and audit entry in one write transaction.
        with ctx.write() as conn:
            row, ver = _load(conn, ref, record_id, version)
            if not ctx.keys.holds_class(KeyClass.IDENTITY):
                raise PermissionDeniedError(
                    f"custodian {ctx.actor!r} has no clearance for identity fields"
                )
            request = custody.approved_request(ctx, conn, ref)
            subject = ctx.subject_key(conn, row.subject_id) if row.subject_id else None
            ctx.audit(
                conn,
                "identity-access",
                refs=[ref],
                details={"request": request, "version": ver.version},
            )
            ctx.audit(conn, "read", refs=[ref], details={"version": ver.version})
        classes = [kc for kc in KeyClass if ctx.keys.holds_class(kc)]
    else:
        with ctx.read() as conn:
            row, ver = _load(conn, ref, record_id, version)
        subject = None
        classes = [
            kc for kc in KeyClass if kc is not KeyClass.IDENTITY and ctx.keys.holds_class(kc)
        ]
    record = ctx.codec.open(
        sealed_columns(ver),
        row.type,
        ref,
        ver.version,
        subject,
        what,
        classes=classes,
        subject_id=row.subject_id,
    )
    if not identity:
        # Committed before the record is returned; concurrent reads share a commit.
        _log_read(ctx, "read", refs=[ref], details={"version": ver.version}, grouped=True)
    if record.get("id") != record_id:
        raise IntegrityError(f"integrity check failed for {what}")
    return record, int(ver.version)


def _log_read(
    ctx: Context,
    action: str,
    *,
    refs: Sequence[str] = (),
    details: dict[str, Any] | None = None,
    grouped: bool = False,
) -> None:
    """Log a read before it returns: in the audit log, or, when the database is too
    damaged or its disk too full to take the entry, in the journal (see :mod:`vault.journal`). Of
    concurrent reads that shared a failed commit, only the first learns why it
    failed; the others are refused, as they would be for any other failure."""
    try:
        # A reader does not queue behind a long write (an import, a large file):
        # after a short wait its entry goes to the journal, and into the log later.
        with wait_at_most(_READ_AUDIT_WAIT_S):
            if grouped:
                ctx.audit_read(action, refs=refs, details=details)
            else:
                ctx.audit_now(action, refs=refs, details=details)
    except (StorageCorruptError, StorageFullError):
        journal.append(ctx, action, refs=refs, details=details)
    except StorageBusyError:
        if not may_wait():
            raise  # the caller tries again where it may wait (the API's threads)
        journal.append(ctx, action, refs=refs, details=details)


def _load(conn: Connection, ref: str, record_id: str, version: int | None) -> tuple[Any, Any]:
    if version is not None and not 1 <= version <= _MAX_VERSION:
        raise NotFoundError(f"record {shown_id(record_id)} has no version {version}")
    row = conn.execute(select(*Record.__table__.c).where(Record.ref == ref)).one_or_none()
    if row is None:
        raise NotFoundError(f"no record {shown_id(record_id)}")
    query = select(*RecordVersion.__table__.c).where(RecordVersion.record_ref == ref)
    if version is None:
        query = query.order_by(RecordVersion.version.desc()).limit(1)
    else:
        query = query.where(RecordVersion.version == version)
    ver = conn.execute(query).one_or_none()
    if ver is None:
        raise NotFoundError(f"record {shown_id(record_id)} has no version {version}")
    return row, ver


def versions(ctx: Context, record_id: str) -> list[VersionInfo]:
    """Every version, oldest first; its time and author as sealed with it (so an
    edited column does not change them), the column's time for versions sealed
    before the vault sealed it."""
    ctx.require("admin", "custodian")
    ref = ctx.codec.reference(record_id)
    _log_read(ctx, "versions", refs=[ref])
    out: list[VersionInfo] = []
    with ctx.read() as conn:
        rtype = conn.execute(select(Record.type).where(Record.ref == ref)).scalar_one_or_none()
        if rtype is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        rows = conn.execute(
            select(*RecordVersion.__table__.c)
            .where(RecordVersion.record_ref == ref)
            .order_by(RecordVersion.version)
        ).all()
        for row in rows:
            what = f"record {shown_id(record_id)} version {row.version}"
            sealed = ctx.codec.sealed_extras(sealed_columns(row), rtype, ref, row.version, what)
            at = as_utc(sealed.stored_at or row.created_at)
            out.append(VersionInfo(row.version, at, sealed.stored_by))
    if not out:  # a record row whose versions were deleted
        raise IntegrityError(f"integrity check failed for record {shown_id(record_id)}")
    return out


def list_records(
    ctx: Context,
    *,
    record_type: str | None,
    site: str | None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[RecordSummary]:
    ctx.require("admin", "custodian")
    if (limit is not None and limit < 1) or offset < 0:
        raise UsageError("limit must be 1 or more and offset 0 or more")
    _log_read(ctx, "list", details={"type": record_type, "site_filter": site is not None})
    # In the order records came in; a page is a stretch of that order, picked from
    # the records before any version is looked at (a page costs the same at any size).
    filters = []
    if record_type is not None:
        filters.append(Record.type == record_type)
    if site is not None:
        filters.append(Record.site_ref == ctx.codec.reference(site))
    if limit is None and offset == 0:
        query = latest_versions().where(*filters)
    else:
        page = select(Record.ref).where(*filters).order_by(Record.seq).offset(offset)
        if limit is not None:
            page = page.limit(limit)
        query = latest_versions_in(page)
    yield from _summaries(ctx, query.order_by(Record.seq))


def _summaries(
    ctx: Context, query: Any, entries: Sequence[set[str]] = ()
) -> Iterator[RecordSummary]:
    damaged: list[str] = []
    with ctx.read() as conn:
        result = conn.execute(query.execution_options(yield_per=500))
        # Closed explicitly: a server-side cursor must not outlive an error.
        with result:
            for ver in result:
                ref, rtype = ver.ref, ver.type
                what = f"record ref {ref[:12]}"
                try:
                    _order, fields = ctx.codec.open_operational(
                        sealed_columns(ver),
                        rtype,
                        ref,
                        ver.version,
                        what,
                        subject_id=ver.subject_id,
                    )
                except IntegrityError:
                    # One damaged record does not hide the others; it is named at
                    # the end, and the listing fails then.
                    damaged.append(ref[:12])
                    continue
                if entries:
                    _check_found(ctx, ver, rtype, entries, what)
                rid = fields.get("id")
                if not isinstance(rid, str) or ctx.codec.reference(rid) != ref:
                    raise IntegrityError(f"integrity check failed for {what}")
                ctx.check_site_ref(ref, rtype, ver.site_ref, fields)
                date_field = DATE_FIELDS.get(rtype)
                yield RecordSummary(
                    id=rid,
                    type=rtype,
                    version=ver.version,
                    site_id=fields.get("site_id") if rtype != "site" else rid,
                    date=fields.get(date_field) if date_field else None,
                    updated_at=as_utc(ver.created_at),
                )
    if damaged:
        shown = ", ".join(damaged[:5]) + (", …" if len(damaged) > 5 else "")
        raise IntegrityError(
            f"integrity check failed for {len(damaged)} record(s) left out of this list "
            f"(record ref {shown}); `evault check` names them"
        )


def _check_found(
    ctx: Context, ver: Any, rtype: str, entries: Sequence[set[str]], what: str
) -> None:
    """A record found through index rows must have been sealed with what was looked
    for: an index row copied onto another worker's testimony finds nothing."""
    sealed = ctx.codec.sealed_extras(sealed_columns(ver), rtype, ver.ref, ver.version, what)
    if sealed.index is None:
        return  # sealed before index entries were: its rows are all there is
    if not all(sealed.index & wanted for wanted in entries):
        raise TamperedRowError(
            f"integrity check failed for {what} (its index entries)", table="blind_index"
        )


def _latest(refs: list[str]) -> Any:
    return latest_versions(refs).order_by(Record.seq)


def summary_of(ctx: Context, record_id: str) -> RecordSummary:
    ref = ctx.codec.reference(record_id)
    for summary in _summaries(ctx, _latest([ref])):
        return summary
    raise NotFoundError(f"no record {shown_id(record_id)}")


def find(
    ctx: Context,
    *,
    employee_id: str | None,
    phone: str | None,
    email: str | None,
    site: str | None,
    region: str | None,
) -> list[RecordSummary]:
    ctx.require("admin", "custodian")
    sets: list[set[str]] = []
    entries: list[set[str]] = []
    with ctx.read() as conn:
        for kind, values in (
            ("employee_id", None if employee_id is None else {normalize_employee_id(employee_id)}),
            ("phone", None if phone is None else {k for k in [phone_key(phone, region)] if k}),
            ("email", None if email is None else {normalize_email(email)}),
        ):
            if values is not None:
                macs = [ctx.codec.index_mac(kind, v) for v in values]
                entries.append({index_entry(kind, mac) for mac in macs})
                sets.append(_lookup(conn, kind, macs))
        if site is not None:
            sets.append(
                set(
                    conn.execute(
                        select(Record.ref).where(Record.site_ref == ctx.codec.reference(site))
                    ).scalars()
                )
            )
    if not sets:
        raise UsageError("find needs --employee-id, --phone, --email or --site")
    criteria = (("employee_id", employee_id), ("phone", phone), ("email", email), ("site", site))
    _log_read(ctx, "find", details={"by": [k for k, v in criteria if v is not None]})
    refs = set.intersection(*sets)
    if not refs:
        return []
    return list(_summaries(ctx, _latest(sorted(refs)), entries))


def _lookup(conn: Connection, kind: str, macs: list[bytes]) -> set[str]:
    if not macs:
        return set()
    return set(
        conn.execute(
            select(BlindIndexEntry.record_ref).where(
                BlindIndexEntry.kind == kind, BlindIndexEntry.mac.in_(macs)
            )
        ).scalars()
    )


def stats(ctx: Context) -> dict[str, int]:
    """Record counts by type (visible metadata, no decryption)."""
    ctx.require("admin", "custodian", "exporter", "auditor")
    with ctx.read() as conn:
        return record_counts(conn)
