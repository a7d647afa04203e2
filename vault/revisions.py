"""New versions of stored records: updates, and imports that meet a record again.

Invariants:

* Records are never overwritten: an update adds a version; earlier versions stay.
* An update drops nothing it is not told to: every field it is not given is carried
  over from the current version (identity fields sealed again under the worker's
  key, never returned), or the update is refused naming the fields it cannot carry;
  a field goes only when it is removed by name (see :mod:`vault.edits`). An import
  that makes a new version of a record (``--on-conflict new-version``) follows the
  same rule, removing nothing.
* What an import gives *changes* a record only if laid over its current version as
  an update would lay it the result differs: a record given again as it is stored,
  or with fewer fields than the vault holds, changes nothing. A version holding a
  class this custodian cannot open is never found unchanged, since it cannot be
  compared.
* Concurrent writers of one record take turns on its row (``FOR NO KEY UPDATE``,
  rows locked in the order of their keyed references so that two writers never wait
  for each other) before counting its versions: version numbers never collide,
  none is skipped, and every update is stored.
* Nothing here logs, prints or puts a record value in an exception message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, delete, select
from sqlalchemy import update as sql_update

from vault import edits
from vault.context import Context
from vault.crypto import SecretKey
from vault.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from vault.keys import KeyClass
from vault.schema import RECORD_SPECS, flatten, shown_id, validate_record
from vault.staging import (
    LOCK_RECORD,
    Batch,
    Pending,
    resolve_pending,
    site_ref,
    stage_version,
    subject_mac,
)
from vault.store import (
    BlindIndexEntry,
    Record,
    RecordLink,
    Subject,
    latest_versions,
    sealed_columns,
)

__all__ = ["Current", "Stored", "changes", "open_current", "patch", "stage_revision", "update"]

_LOOKUP: Final = 500
_SEALED_APART: Final = (KeyClass.SPECIAL, KeyClass.NARRATIVE)  # besides operational


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored record's row, its latest version's row, and its worker's wrapped
    subject key (None once erased, or for a record without a worker)."""

    row: Any
    latest: Any
    wrapped_subject: bytes | None = None


@dataclass(frozen=True, slots=True)
class Current:
    """The version an edit starts from, as this custodian reads it."""

    record: dict[str, Any]
    unreadable: dict[str, str]  # field -> class this custodian cannot open
    subject: tuple[str, SecretKey] | None  # the worker's key, if opened
    erased: bool  # the worker's key was destroyed

    def __repr__(self) -> str:
        return "Current(...)"


def stored(
    conn: Connection,
    refs: Iterable[str],
    *,
    lock: bool,
    names: Mapping[str, str] | None = None,
) -> dict[str, Stored]:
    """The records among ``refs`` the vault holds, with their latest versions; with
    ``lock``, each record's row is locked first (in the order of the references).
    ``names`` gives the ids that messages may name them by."""
    wanted = sorted(set(refs))
    out: dict[str, Stored] = {}
    for i in range(0, len(wanted), _LOOKUP):
        chunk = wanted[i : i + _LOOKUP]
        query = LOCK_RECORD if lock else select(*Record.__table__.c)
        locked = conn.execute(query.where(Record.ref.in_(chunk)).order_by(Record.ref))
        rows = {r.ref: r for r in locked}
        if not rows:
            continue
        newest = {v.ref: v for v in conn.execute(latest_versions(list(rows)))}
        workers = sorted({r.subject_id for r in rows.values() if r.subject_id})
        wrapped: dict[str, bytes | None] = {
            str(sid): key
            for sid, key in conn.execute(
                select(Subject.id, Subject.wrapped_key).where(Subject.id.in_(workers))
            )
        }
        for ref, row in rows.items():
            latest = newest.get(ref)
            if latest is None:  # a record row whose versions were deleted
                name = (names or {}).get(ref)
                what = f"record {shown_id(name)}" if name else f"record ref {ref[:12]}"
                raise IntegrityError(f"integrity check failed for {what}")
            out[ref] = Stored(row, latest, wrapped.get(row.subject_id))
    return out


def open_current(ctx: Context, held: Stored, record_id: str | None) -> Current:
    """Open the latest version with every class this custodian holds, the worker's
    identity included (no approval: nothing opened here is returned). With
    ``record_id``, the version must carry that id."""
    row, ver = held.row, held.latest
    what = f"record {shown_id(record_id)}" if record_id else f"record ref {row.ref[:12]}"
    columns = sealed_columns(ver)
    subject = None
    erased = bool(row.subject_id) and held.wrapped_subject is None
    if row.subject_id and not erased and ctx.keys.holds_class(KeyClass.IDENTITY):
        assert held.wrapped_subject is not None
        key = ctx.codec.open_subject_key(row.subject_id, held.wrapped_subject)
        subject = (str(row.subject_id), key)
    opened = {kc for kc in KeyClass if ctx.keys.holds_class(kc)}
    if subject is None:
        opened.discard(KeyClass.IDENTITY)
    record = ctx.codec.open(
        columns,
        row.type,
        row.ref,
        ver.version,
        subject,
        what,
        classes=opened,
        subject_id=row.subject_id,
    )
    if ctx.codec.reference(str(record.get("id"))) != row.ref or (
        record_id is not None and record.get("id") != record_id
    ):
        raise IntegrityError(f"integrity check failed for {what}")
    names = {kc.value for kc in opened}
    # An erased worker's identity is gone for everyone: not carried, not refused.
    present = {kc.value for kc in _SEALED_APART if columns[f"{kc.value}_data"] is not None}
    if columns["identity_data"] is not None and not erased:
        present.add(KeyClass.IDENTITY.value)
    unreadable = {}
    if not present <= names:  # only then is the field order needed
        order, _fields = ctx.codec.open_operational(
            columns, row.type, row.ref, ver.version, what, subject_id=row.subject_id
        )
        class_of = RECORD_SPECS[row.type].key_class_names
        for path in order:
            name = class_of.get(path, KeyClass.OPERATIONAL.value)
            if name not in names and not (erased and name == KeyClass.IDENTITY.value):
                unreadable[path] = name
    return Current(record, unreadable, subject, erased)


def changes(current: Current, given: Mapping[str, Any], where: str) -> bool:
    """Whether ``given``, laid over the current version as an update lays it, would
    change it. Refusals (a null over a held value, say) count as changes: the import
    that makes the version says what is wrong."""
    if current.unreadable:
        return True
    try:
        revised = edits.revise(current.record, {}, given, (), where=where)
    except (InvalidInputError, PermissionDeniedError):
        return True
    return revised != current.record


def revise(
    ctx: Context,
    held: Stored,
    current: Current,
    given: Mapping[str, Any],
    removals: list[str],
    where: str,
) -> tuple[dict[str, Any], tuple[str, SecretKey] | None]:
    """The next version of a held record, validated, and the worker's key to seal it
    with; refused as an update is refused (see :func:`update`)."""
    row = held.row
    revised = edits.revise(current.record, current.unreadable, given, removals, where=where)
    validated = validate_record(revised, where, expect_type=row.type)
    record_id = current.record["id"]
    if validated["id"] != record_id:
        raise InvalidInputError(f"field 'id' must stay {record_id!r} in an update", where=where)
    subject = current.subject
    if subject is None and row.subject_id and _holds_identity(validated):
        if current.erased:
            raise InvalidInputError(
                f"the worker of record {shown_id(record_id)} was erased: "
                "identity fields cannot be stored for them again",
                where=where,
            )
        if not ctx.keys.holds_class(KeyClass.IDENTITY):
            raise PermissionDeniedError(
                f"custodian {ctx.actor!r} has no clearance for identity fields"
            )
    return validated, subject


def stage_revision(
    ctx: Context,
    conn: Connection,
    batch: Batch,
    held: Stored,
    validated: dict[str, Any],
    subject: tuple[str, SecretKey] | None,
    where: str,
) -> int:
    """Stage the next version of a held (and locked) record; returns its number.
    Its index entries and links are replaced by the new version's."""
    row = held.row
    ref = row.ref
    version = int(held.latest.version) + 1
    site = site_ref(ctx, validated, ref)
    if site != row.site_ref:
        conn.execute(sql_update(Record).where(Record.ref == ref).values(site_ref=site))
    conn.execute(delete(BlindIndexEntry).where(BlindIndexEntry.record_ref == ref))
    conn.execute(delete(RecordLink).where(RecordLink.record_ref == ref))
    stage_version(
        ctx,
        conn,
        batch,
        validated,
        where,
        ref,
        site,
        version,
        subject,
        subject_mac(ctx, validated),
        subject_id=row.subject_id,
    )
    return version


def update(
    ctx: Context,
    record_id: str,
    record: Mapping[str, Any],
    *,
    remove: Iterable[str] = (),
    where: str = "record",
    expect_version: int | None = None,
) -> int:
    """Store a new version of ``record_id``: the fields ``record`` gives over those of
    the current version, without the fields ``remove`` names (see :mod:`vault.edits`);
    returns the version number. With ``expect_version``, only if that is still the
    latest version (checked inside the write transaction), else StaleVersionError.

    Fields ``record`` leaves out are carried over, identity fields too: they are
    opened and sealed again inside this transaction under the worker's key, and
    never returned, so carrying them needs the identity class but no approval. A
    field under a class this custodian cannot open cannot be carried over: the
    update is refused, naming it, unless ``remove`` names it. An erased worker's
    identity fields are gone already and stay gone; none can be stored again.
    """
    ctx.require("admin", "custodian")
    removals = [remove] if isinstance(remove, str) else list(remove)
    with ctx.write() as conn:
        ctx.refresh_key_version(conn)
        ref = ctx.codec.reference(record_id)
        held = stored(conn, [ref], lock=True, names={ref: record_id}).get(ref)
        if held is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        if expect_version is not None and held.latest.version != expect_version:
            raise StaleVersionError(
                f"record {shown_id(record_id)} is at version {held.latest.version}, "
                f"not {expect_version}: read it again and redo the change"
            )
        current = open_current(ctx, held, record_id)
        validated, subject = revise(ctx, held, current, record, removals, where)
        batch = Batch()
        version = stage_revision(ctx, conn, batch, held, validated, subject, where)
        pending: dict[str, list[Pending]] = {}
        bad = batch.flush(conn, pending) + resolve_pending(conn, pending, final=True)
        if bad:
            raise bad[0]
        details: dict[str, Any] = {"version": version}
        if removals:
            details["removed"] = sorted(set(removals))
        ctx.audit(conn, "update", refs=[ref], details=details)
    return version


def patch(
    ctx: Context,
    record_id: str,
    changes: Any,
    *,
    where: str = "merge patch",
    expect_version: int | None = None,
) -> int:
    """Apply a JSON merge patch (RFC 7396) to ``record_id`` as a new version: given
    members are set (groups merge field by field), null members remove their field,
    and everything else is carried over as :func:`update` carries it."""
    given, removed = edits.merge_patch(changes, where)
    return update(ctx, record_id, given, remove=removed, where=where, expect_version=expect_version)


def _holds_identity(record: Mapping[str, Any]) -> bool:
    class_of = RECORD_SPECS[record["type"]].key_class_names
    return any(class_of.get(path) == KeyClass.IDENTITY.value for path, _v in flatten(record))
