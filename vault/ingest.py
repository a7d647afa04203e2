"""The import pipeline: validate, seal and store records, all or nothing.

Invariants:

* Every import (one record, a whole file, an update) is one database transaction:
  a fault anywhere leaves nothing written.
* Records are never overwritten: an update adds a version; earlier versions stay.
* An update drops nothing it is not told to: every field it is not given is carried
  over from the current version (identity fields sealed again under the worker's
  key, never returned), or the update is refused naming the fields it cannot carry;
  a field goes only when it is removed by name (see :mod:`vault.edits`).
* Concurrent updates of one record take turns on its row (``FOR NO KEY UPDATE``)
  before counting its versions: version numbers never collide, none is skipped, and
  every update is stored. Two imports creating one record id: one wins, the other
  is a :class:`~vault.errors.ConflictError` (exit 7, "changed concurrently, retry").
* References between records (``site_id``, ``evidence``) must resolve, within the
  vault or the same import, before the transaction commits.
* Testimonies of one worker (same employee id at the same site) share one subject
  key, so erasing a worker is destroying one key.
* Rows are inserted in batches of :data:`BATCH_SIZE` records with executemany; one
  timestamp per batch, since finer times would only add visible metadata.
* A file import that meets invalid input writes nothing, but reads on: the rest is
  checked as :mod:`vault.precheck` checks a file, and the first error's message
  (worded as ever) says how many lines are bad in all.
* Nothing here logs, prints or puts a record value in an exception message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, Final

from sqlalchemy import Connection, delete, select
from sqlalchemy import update as sql_update

from vault import attachments, crypto, edits, precheck
from vault.context import Context, ProgressCallback
from vault.crypto import SecretKey
from vault.errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from vault.filesource import AttachmentSource, open_media
from vault.keys import KeyClass
from vault.schema import RECORD_SPECS, flatten, shown_id, validate_record
from vault.sources import CsvOptions, Unreadable, open_records
from vault.store import (
    BlindIndexEntry,
    Record,
    RecordLink,
    RecordVersion,
    Subject,
    bulk_insert,
    latest_versions,
    sealed_columns,
    utcnow,
)

__all__ = ["BATCH_SIZE", "ImportResult", "import_file", "import_records", "patch", "update"]

BATCH_SIZE: Final = 2_000
# Concurrent writers of one record take turns on its row before they count its
# versions (PostgreSQL: FOR NO KEY UPDATE, which leaves other transactions free to
# insert rows that merely refer to it; SQLite renders no lock, its writers take
# turns for the whole database anyway).
_LOCK_RECORD: Final = select(*Record.__table__.c).with_for_update(key_share=True)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """How many records of each type one import added."""

    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.by_type.values())


@dataclass(slots=True)
class _Pending:
    """A reference to a record not yet seen in this import."""

    where: str
    field: str
    expected_type: str


class _ImportBatch:
    """Rows of up to BATCH_SIZE records, inserted together with executemany."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.subjects: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.indexes: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.refs: dict[str, str] = {}
        self.wanted: dict[str, list[_Pending]] = {}

    def __len__(self) -> int:
        return len(self.records)


def import_file(
    ctx: Context,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None,
    name: str | None,
    progress: ProgressCallback | None,
    files: str | os.PathLike[str] | None,
    read_progress: ProgressCallback | None,
    csv_options: CsvOptions | None = None,
) -> ImportResult:
    """Import a file or stream (see :func:`vault.sources.open_records`) in one
    transaction, with the evidence files it names from ``files``."""
    with contextlib.ExitStack() as stack:
        attached, csv_options = open_media(stack, files, csv_options)
        rows = stack.enter_context(
            open_records(
                source,
                fmt=fmt,
                name=name,
                read_progress=read_progress,
                recover=True,
                csv_options=csv_options,
            )
        )
        return import_records(ctx, rows, progress=progress, files=attached, count_bad=True)


def import_records(
    ctx: Context,
    records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
    *,
    progress: ProgressCallback | None = None,
    files: AttachmentSource | None = None,
    count_bad: bool = False,
) -> ImportResult:
    """Validate, seal and store ``(where, record)`` pairs or bare records in one
    transaction, with the evidence files ``files`` holds (see Vault.import_records).

    With ``count_bad`` (a file import), invalid input does not end the reading: the
    rest is checked as :mod:`vault.precheck` checks a file, within the transaction
    (which sees what this import stored so far, and is then rolled back), and the
    first error's message says how many lines are bad in all."""
    ctx.require("admin", "custodian")
    counts: dict[str, int] = {}
    pending: dict[str, list[_Pending]] = {}
    bad: list[InvalidInputError] = []  # faults found beside the one raised
    pairs = _pairs(records)
    with ctx.write() as conn:
        ctx.refresh_key_version(conn)
        staged: list[tuple[str, dict[str, Any]]] = []
        wanted_files: list[tuple[str, str, list[str]]] = []
        try:
            for where, item in pairs:
                raw = item
                if isinstance(raw, Unreadable):
                    raise raw.error
                if files is not None and isinstance(raw, dict) and "attachments" in raw:
                    raw = dict(raw)
                    paths = raw.pop("attachments")
                    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                        raise InvalidInputError(
                            "field 'attachments' must list file paths", where=where
                        )
                    wanted_files.append((where, str(raw.get("id")), paths))
                record = validate_record(raw, where)
                staged.append((where, record))
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                if len(staged) >= BATCH_SIZE:
                    bad, staged = _import_batch(ctx, conn, staged, pending), []
                    _store_files(ctx, conn, files, wanted_files, bad, progress, BATCH_SIZE)
            if staged:
                done = len(staged)
                bad, staged = _import_batch(ctx, conn, staged, pending), []
                _store_files(ctx, conn, files, wanted_files, bad, progress, done)
            bad, pending = _check_pending(ctx, conn, pending), {}
            if bad:
                raise bad[0]
        except InvalidInputError as first:
            if not count_bad:
                raise
            rest = precheck.Checker(ctx, conn, files)
            for done_where, done_record in staged:
                rest.accept(done_where, done_record)
            for target, wants in pending.items():
                for want in wants:
                    rest.expect(target, want.where, want.field, want.expected_type)
            for later, item in pairs:
                rest.read(later, item)
            places = {_place(e.where or "") for e in (first, *bad)}
            places.update(_place(p.where) for p in rest.finish())
            raise _counted(first, len(places)) from None
        ctx.audit(conn, "import", details={"records": dict(sorted(counts.items()))})
    return ImportResult(counts)


def _pairs(
    records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
) -> Iterator[tuple[str, Any]]:
    for n, item in enumerate(records, start=1):
        yield item if isinstance(item, tuple) else (f"record {n}", item)


def _store_files(
    ctx: Context,
    conn: Connection,
    files: AttachmentSource | None,
    wanted: list[tuple[str, str, list[str]]],
    bad: list[InvalidInputError],
    progress: ProgressCallback | None,
    done: int,
) -> None:
    """After a batch: raise its first bad reference, else seal its files."""
    if bad:
        raise bad[0]
    _import_files(ctx, conn, files, wanted)
    if progress:
        progress(done)


def _place(where: str) -> str:
    """A reader's place (file and line, or JSON array item) in an error's ``where``."""
    return where.partition(", record ")[0]


def _counted(first: InvalidInputError, bad: int) -> InvalidInputError:
    """``first``, saying how many lines are bad in all and how to list them."""
    where = first.where
    message = str(first).removeprefix(f"{where}: ") if where else str(first)
    unit = "record" if where and ": record " in _place(where) else "line"
    return InvalidInputError(
        f"{message} ({bad} bad {unit}{'s' if bad != 1 else ''} in all, nothing imported; "
        "'evault import --check' lists every one)",
        where=where,
    )


def _import_files(
    ctx: Context,
    conn: Connection,
    files: AttachmentSource | None,
    wanted: list[tuple[str, str, list[str]]],
) -> None:
    while wanted and files is not None:
        where, record_id, paths = wanted.pop(0)
        ref = ctx.codec.reference(record_id)
        for item, relative in enumerate(paths, start=1):
            with files.open(relative, where, item) as stream:
                attachments.store_logged(
                    ctx, conn, ref, record_id, stream, PurePosixPath(relative).name, None
                )


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
        row = conn.execute(_LOCK_RECORD.where(Record.ref == ref)).one_or_none()
        if row is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        latest = conn.execute(
            select(*RecordVersion.__table__.c)
            .where(RecordVersion.record_ref == ref)
            .order_by(RecordVersion.version.desc())
            .limit(1)
        ).one_or_none()
        if latest is None:  # a record row whose versions were deleted
            raise IntegrityError(f"integrity check failed for record {shown_id(record_id)}")
        if expect_version is not None and latest.version != expect_version:
            raise StaleVersionError(
                f"record {shown_id(record_id)} is at version {latest.version}, "
                f"not {expect_version}: read it again and redo the change"
            )
        current = _current(ctx, conn, row, latest, record_id)
        revised = edits.revise(current.record, current.unreadable, record, removals, where=where)
        validated = validate_record(revised, where, expect_type=row.type)
        if validated["id"] != record_id:
            raise InvalidInputError(f"field 'id' must stay {record_id!r} in an update", where=where)
        version = int(latest.version) + 1
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
        batch = _ImportBatch()
        site_ref = _site_ref(ctx, validated, ref)
        if site_ref != row.site_ref:
            conn.execute(sql_update(Record).where(Record.ref == ref).values(site_ref=site_ref))
        _stage_version(
            ctx,
            conn,
            batch,
            validated,
            where,
            ref,
            site_ref,
            version,
            subject,
            _subject_mac(ctx, validated),
            subject_id=row.subject_id,
        )
        conn.execute(delete(BlindIndexEntry).where(BlindIndexEntry.record_ref == ref))
        conn.execute(delete(RecordLink).where(RecordLink.record_ref == ref))
        pending: dict[str, list[_Pending]] = {}
        bad = _flush(ctx, conn, batch, pending) + _check_pending(ctx, conn, pending)
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


@dataclass(frozen=True, slots=True)
class _Current:
    """The version an update starts from, as this custodian reads it."""

    record: dict[str, Any]
    unreadable: dict[str, str]  # field -> class this custodian cannot open
    subject: tuple[str, SecretKey] | None  # the worker's key, if opened
    erased: bool  # the worker's key was destroyed

    def __repr__(self) -> str:
        return "_Current(...)"


def _current(ctx: Context, conn: Connection, row: Any, ver: Any, record_id: str) -> _Current:
    """Open the latest version with every class this custodian holds, the worker's
    identity included (no approval: nothing opened here is returned)."""
    what = f"record {shown_id(record_id)}"
    columns = sealed_columns(ver)
    order, _fields = ctx.codec.open_operational(
        columns, row.type, row.ref, ver.version, what, subject_id=row.subject_id
    )
    subject = None
    erased = False
    if row.subject_id:
        if ctx.keys.holds_class(KeyClass.IDENTITY):
            subject = ctx.subject_key(conn, row.subject_id)
            erased = subject is None
        else:
            erased = (
                conn.execute(
                    select(Subject.wrapped_key).where(Subject.id == row.subject_id)
                ).scalar_one_or_none()
                is None
            )
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
    if record.get("id") != record_id:
        raise IntegrityError(f"integrity check failed for {what}")
    class_of = RECORD_SPECS[row.type].key_class_names
    names = {kc.value for kc in opened}
    unreadable = {}
    for path in order:
        name = class_of.get(path, KeyClass.OPERATIONAL.value)
        # An erased worker's identity is gone for everyone: not carried, not refused.
        if name not in names and not (erased and name == KeyClass.IDENTITY.value):
            unreadable[path] = name
    return _Current(record, unreadable, subject, erased)


def _holds_identity(record: Mapping[str, Any]) -> bool:
    class_of = RECORD_SPECS[record["type"]].key_class_names
    return any(class_of.get(path) == KeyClass.IDENTITY.value for path, _v in flatten(record))


def _site_ref(ctx: Context, record: Mapping[str, Any], ref: str) -> str:
    if record["type"] == "site":
        return ref
    return _site_reference(ctx, record["site_id"])


def _import_batch(
    ctx: Context,
    conn: Connection,
    staged: list[tuple[str, dict[str, Any]]],
    pending: dict[str, list[_Pending]],
) -> list[InvalidInputError]:
    """Store a batch; returns its references to records of the wrong type."""
    batch = _ImportBatch()
    # One query finds earlier testimonies of the same workers (same employee id
    # at the same site): they share one subject key, so erasure is one key.
    macs = [_subject_mac(ctx, record) for _where, record in staged]
    matches: dict[bytes, str] = dict.fromkeys((m for m in macs if m is not None), "")
    if matches:
        found = conn.execute(
            select(BlindIndexEntry.mac, Record.subject_id)
            .join(Record, Record.ref == BlindIndexEntry.record_ref)
            .where(BlindIndexEntry.kind == "subject", BlindIndexEntry.mac.in_(list(matches)))
        ).all()
        for found_mac, subject_id in found:
            if subject_id:
                matches[found_mac] = subject_id
    subjects: dict[str, tuple[str, SecretKey] | None] = {}
    for (where, record), mac in zip(staged, macs, strict=True):
        _stage(ctx, conn, batch, record, where, mac, matches, subjects)
    return _flush(ctx, conn, batch, pending)


def _subject_mac(ctx: Context, record: Mapping[str, Any]) -> bytes | None:
    worker = record.get("worker")
    if record["type"] != "testimony" or not isinstance(worker, dict):
        return None
    eid = worker.get("employee_id")
    if not isinstance(eid, str):
        return None
    return ctx.codec.subject_match(_site_reference(ctx, record["site_id"]), eid)


def _site_reference(ctx: Context, site_id: str) -> str:
    # Sites are few and referenced by every record: remember their references.
    ref = ctx.sites.refs.get(site_id)
    if ref is None:
        ref = ctx.codec.reference(site_id)
        ctx.sites.remember_ref(site_id, ref)
    return ref


def _region(ctx: Context, conn: Connection, site_ref: str, record: Mapping[str, Any]) -> str | None:
    """The site's country (cached), else the worker's nationality: the region in
    which national-format phone numbers are read."""
    if site_ref in ctx.sites.country:
        region = ctx.sites.country[site_ref]
    else:
        region = None
        row = conn.execute(latest_versions([site_ref]).where(Record.type == "site")).one_or_none()
        if row is not None:
            _order, fields = ctx.codec.open_operational(
                sealed_columns(row), "site", site_ref, row.version, "a site record"
            )
            country = fields.get("country")
            region = country if isinstance(country, str) else None
        ctx.sites.remember_country(site_ref, region)
    worker = record.get("worker")
    if region is None and isinstance(worker, dict):
        nationality = worker.get("nationality")
        return nationality if isinstance(nationality, str) else None
    return region


def _stage(
    ctx: Context,
    conn: Connection,
    batch: _ImportBatch,
    record: dict[str, Any],
    where: str,
    mac: bytes | None,
    matches: dict[bytes, str],
    subjects: dict[str, tuple[str, SecretKey] | None],
) -> None:
    rid = record["id"]
    ref = ctx.codec.reference(rid)
    if ref in batch.refs:
        raise ConflictError(f"{where}: record id {rid} appears twice in this import")
    rtype = record["type"]
    site_ref = _site_ref(ctx, record, ref)
    if rtype == "site":
        ctx.sites.remember_country(ref, record["country"])
    subject = None
    if rtype == "testimony":
        known = matches.get(mac, "") if mac is not None else ""
        if known:
            if known not in subjects:
                subjects[known] = ctx.subject_key(conn, known)
            subject = subjects[known]
        if subject is None:
            subject = _new_subject(ctx, batch)
            if mac is not None:
                matches[mac] = subject[0]
                subjects[subject[0]] = subject
    batch.records.append(
        {
            "ref": ref,
            "type": rtype,
            "site_ref": site_ref,
            "subject_id": subject[0] if subject else None,
            "created_at": batch.now,
        }
    )
    batch.refs[ref] = rid
    _stage_version(
        ctx,
        conn,
        batch,
        record,
        where,
        ref,
        site_ref,
        1,
        subject,
        mac,
        subject_id=subject[0] if subject else None,
    )


def _new_subject(ctx: Context, batch: _ImportBatch) -> tuple[str, SecretKey]:
    subject_id = crypto.random_token(16)
    key, wrapped = ctx.codec.new_subject_key(subject_id)
    batch.subjects.append(
        {
            "id": subject_id,
            "wrapped_key": wrapped,
            "kek_version": ctx.codec.kek_version,
            "created_at": batch.now,
        }
    )
    return subject_id, key


def _stage_version(
    ctx: Context,
    conn: Connection,
    batch: _ImportBatch,
    record: dict[str, Any],
    where: str,
    ref: str,
    site_ref: str,
    version: int,
    subject: tuple[str, SecretKey] | None,
    subject_mac: bytes | None,
    *,
    subject_id: str | None,
) -> None:
    rtype = record["type"]
    index: list[tuple[str, bytes]] = []
    if rtype == "testimony":
        region = _region(ctx, conn, site_ref, record)
        index = sorted(set(ctx.codec.index_entries(record, region)))
        if subject_mac is not None:
            index.append(("subject", subject_mac))
    # The index entries are sealed with the version too: a deleted index row cannot
    # hide a worker from erasure (see lifecycle.erase_subject).
    sealed = ctx.codec.seal(
        record,
        rtype,
        ref,
        version,
        subject,
        index=index,
        stored_at=batch.now,
        stored_by=ctx.actor,
        subject_id=subject_id,
    )
    batch.versions.append(
        {
            "record_ref": ref,
            "version": version,
            "created_at": batch.now,
            "kek_version": ctx.codec.kek_version,
            **sealed.columns(),
        }
    )
    for kind, mac in index:
        batch.indexes.append({"record_ref": ref, "kind": kind, "mac": mac})
    if rtype != "site":
        batch.wanted.setdefault(site_ref, []).append(_Pending(where, "site_id", "site"))
    if rtype == "finding":
        for target in dict.fromkeys(record.get("evidence") or ()):
            target_ref = ctx.codec.reference(target)
            batch.links.append({"record_ref": ref, "target_ref": target_ref})
            batch.wanted.setdefault(target_ref, []).append(_Pending(where, "evidence", "testimony"))


def _flush(
    ctx: Context, conn: Connection, batch: _ImportBatch, pending: dict[str, list[_Pending]]
) -> list[InvalidInputError]:
    """Insert a batch's rows; references not yet resolved go to ``pending``, and
    those to a record of the wrong type are returned."""
    bad: list[InvalidInputError] = []
    if batch.records:
        clash = (
            conn.execute(select(Record.ref).where(Record.ref.in_(list(batch.refs))))
            .scalars()
            .first()
        )
        if clash is not None:
            raise ConflictError(f"record {batch.refs[clash]} already exists (use 'evault update')")
    for model, rows in (
        (Subject, batch.subjects),
        (Record, batch.records),
        (RecordVersion, batch.versions),
        (BlindIndexEntry, batch.indexes),
        (RecordLink, batch.links),
    ):
        bulk_insert(conn, model, rows)
    if batch.wanted:
        found = dict(
            conn.execute(
                select(Record.ref, Record.type).where(Record.ref.in_(list(batch.wanted)))
            ).all()
        )
        for target, wants in batch.wanted.items():
            for want in wants:
                if target not in found:
                    pending.setdefault(target, []).append(want)
                elif found[target] != want.expected_type:
                    bad.append(_wrong_type(want))
    return bad


def _wrong_type(want: _Pending) -> InvalidInputError:
    return InvalidInputError(
        f"field {want.field!r} must refer to a {want.expected_type}", where=want.where
    )


def _check_pending(
    ctx: Context, conn: Connection, pending: dict[str, list[_Pending]]
) -> list[InvalidInputError]:
    """The references still open that the vault does not resolve either."""
    bad: list[InvalidInputError] = []
    targets = list(pending)
    found: dict[str, str] = {}
    for i in range(0, len(targets), 500):
        chunk = targets[i : i + 500]
        found.update(
            conn.execute(select(Record.ref, Record.type).where(Record.ref.in_(chunk))).all()
        )
    for target, wants in pending.items():
        for want in wants:
            if target not in found:
                bad.append(
                    InvalidInputError(
                        f"field {want.field!r} refers to a {want.expected_type} that is not "
                        "in the vault or this import",
                        where=want.where,
                    )
                )
            elif found[target] != want.expected_type:
                bad.append(_wrong_type(want))
    return bad
