"""Rows of new records and new versions, sealed and inserted in batches.

Imports and updates both stage their rows here; what to stage (a new record, a new
version, nothing) is decided by :mod:`vault.ingest` and :mod:`vault.revisions`.

Invariants:

* Rows are inserted with executemany, one timestamp per batch: finer times would
  only add visible metadata.
* A new testimony shares the subject key of the vault's or the batch's earlier
  testimonies of the same worker (same employee id at the same site), so erasing a
  worker is destroying one key.
* Every version is sealed with its blind-index entries (kind and keyed value), its
  source key's index among them, so a deleted index row cannot hide a record.
* A reference (``site_id``, ``evidence``) that neither the vault nor the rows
  inserted so far answer is kept as pending, never dropped: the caller resolves it
  before it commits, or refuses.
* Nothing here logs, prints or puts a record value in an exception message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, select

from vault import crypto
from vault.context import Context
from vault.crypto import SecretKey
from vault.errors import ConflictError, IntegrityError, InvalidInputError, TamperedRowError
from vault.keys import KeyClass
from vault.records import SOURCE_INDEX, index_entry
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

__all__ = [
    "LOCK_RECORD",
    "Batch",
    "Pending",
    "chosen_subjects",
    "resolve_pending",
    "site_ref",
    "source_match",
    "stage_new",
    "stage_version",
    "subject_mac",
    "subject_matches",
    "subject_sets",
]

# Concurrent writers of one record take turns on its row before they count its
# versions (PostgreSQL: FOR NO KEY UPDATE, which leaves other transactions free to
# insert rows that merely refer to it; SQLite renders no lock, its writers take
# turns for the whole database anyway).
LOCK_RECORD: Final = select(*Record.__table__.c).with_for_update(key_share=True)
_LOOKUP: Final = 500  # keyed references per look-up


@dataclass(slots=True)
class Pending:
    """A reference to a record not yet seen in this import."""

    where: str
    field: str
    expected_type: str


class Batch:
    """Rows of a batch of records, inserted together with executemany.

    ``ids_looked_up``: the caller looked every new record's id up in this
    transaction and found none, so one found stored at insert time was stored by
    another writer since (a concurrent change); otherwise it was there already.
    """

    def __init__(self, *, ids_looked_up: bool = False) -> None:
        self.ids_looked_up = ids_looked_up
        self.now = utcnow()
        self.subjects: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.indexes: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.refs: dict[str, str] = {}  # new records' keyed references -> ids
        self.wanted: dict[str, list[Pending]] = {}

    def __len__(self) -> int:
        return len(self.versions)

    def flush(self, conn: Connection, pending: dict[str, list[Pending]]) -> list[InvalidInputError]:
        """Insert the rows; references not yet resolved go to ``pending``, and those
        to a record of the wrong type are returned."""
        bad: list[InvalidInputError] = []
        if self.records:
            clash = (
                conn.execute(select(Record.ref).where(Record.ref.in_(list(self.refs))))
                .scalars()
                .first()
            )
            if clash is not None and self.ids_looked_up:
                raise ConflictError(
                    f"record {self.refs[clash]} was stored by another writer meanwhile: "
                    "changed concurrently, retry"
                )
            if clash is not None:
                raise ConflictError(
                    f"record {self.refs[clash]} already exists (use 'evault update')"
                )
        for model, rows in (
            (Subject, self.subjects),
            (Record, self.records),
            (RecordVersion, self.versions),
            (BlindIndexEntry, self.indexes),
            (RecordLink, self.links),
        ):
            bulk_insert(conn, model, rows)
        if self.wanted:
            found = dict(
                conn.execute(
                    select(Record.ref, Record.type).where(Record.ref.in_(list(self.wanted)))
                ).all()
            )
            for target, wants in self.wanted.items():
                for want in wants:
                    if target not in found:
                        pending.setdefault(target, []).append(want)
                    elif found[target] != want.expected_type:
                        bad.append(_wrong_type(want))
        return bad


def _wrong_type(want: Pending) -> InvalidInputError:
    return InvalidInputError(
        f"field {want.field!r} must refer to a {want.expected_type}", where=want.where
    )


def resolve_pending(
    conn: Connection, pending: dict[str, list[Pending]], *, final: bool
) -> list[InvalidInputError]:
    """Answer the pending references the vault now holds (they leave ``pending``);
    returns those to a record of the wrong type, and with ``final`` those still
    unanswered too."""
    bad: list[InvalidInputError] = []
    targets = list(pending)
    found: dict[str, str] = {}
    for i in range(0, len(targets), _LOOKUP):
        chunk = targets[i : i + _LOOKUP]
        found.update(
            conn.execute(select(Record.ref, Record.type).where(Record.ref.in_(chunk))).all()
        )
    for target in targets:
        if target not in found:
            if final:
                bad.extend(
                    InvalidInputError(
                        f"field {want.field!r} refers to a {want.expected_type} that is not "
                        "in the vault or this import",
                        where=want.where,
                    )
                    for want in pending[target]
                )
            continue
        bad.extend(_wrong_type(w) for w in pending.pop(target) if found[target] != w.expected_type)
    return bad


def subject_mac(ctx: Context, record: Mapping[str, Any]) -> bytes | None:
    """The keyed match of a testimony's worker (employee id at the site), if any."""
    worker = record.get("worker")
    if record["type"] != "testimony" or not isinstance(worker, dict):
        return None
    eid = worker.get("employee_id")
    if not isinstance(eid, str):
        return None
    return ctx.codec.subject_match(_site_reference(ctx, record["site_id"]), eid)


def source_match(ctx: Context, record: Mapping[str, Any]) -> bytes | None:
    """The keyed index of a record's source key, if it has one."""
    source = record.get("source_key")
    if not isinstance(source, str):
        return None
    return ctx.codec.source_match(record["type"], source)


def _site_reference(ctx: Context, site_id: str) -> str:
    # Sites are few and referenced by every record: remember their references.
    ref = ctx.sites.refs.get(site_id)
    if ref is None:
        ref = ctx.codec.reference(site_id)
        ctx.sites.remember_ref(site_id, ref)
    return ref


def site_ref(ctx: Context, record: Mapping[str, Any], ref: str) -> str:
    """The keyed reference of a record's site (a site's own reference for a site)."""
    if record["type"] == "site":
        return ref
    return _site_reference(ctx, record["site_id"])


def _region(ctx: Context, conn: Connection, site: str, record: Mapping[str, Any]) -> str | None:
    """The site's country (cached), else the worker's nationality: the region in
    which national-format phone numbers are read."""
    if site in ctx.sites.country:
        region = ctx.sites.country[site]
    else:
        region = None
        row = conn.execute(latest_versions([site]).where(Record.type == "site")).one_or_none()
        if row is not None:
            _order, fields = ctx.codec.open_operational(
                sealed_columns(row), "site", site, row.version, "a site record"
            )
            country = fields.get("country")
            region = country if isinstance(country, str) else None
        ctx.sites.remember_country(site, region)
    worker = record.get("worker")
    if region is None and isinstance(worker, dict):
        nationality = worker.get("nationality")
        return nationality if isinstance(nationality, str) else None
    return region


def subject_sets(
    ctx: Context, conn: Connection, macs: Iterable[bytes | None]
) -> dict[bytes, frozenset[str]]:
    """The live subjects (identity keys not erased) of the vault's testimonies whose
    workers these macs match; a worker the vault does not know maps to an empty set.

    What is found must be what the testimonies were sealed with: an index row
    copied onto another worker's testimony, or a pointer moved to another worker (or
    to none), would seal this worker's new testimony under someone else's key, or
    give them a second one, and erasure would then miss or overreach. One testimony
    is proven for each worker and key found, however many share them."""
    sets: dict[bytes, set[str]] = {m: set() for m in macs if m is not None}
    if not sets:
        return {}
    found = conn.execute(
        select(BlindIndexEntry.mac, Record.ref, Record.subject_id, Subject.wrapped_key.is_not(None))
        .join(Record, Record.ref == BlindIndexEntry.record_ref)
        .outerjoin(Subject, Subject.id == Record.subject_id)
        .where(BlindIndexEntry.kind == "subject", BlindIndexEntry.mac.in_(list(sets)))
    ).all()
    pairs: dict[tuple[bytes, str | None], tuple[str, bool]] = {}
    for found_mac, ref, subject_id, alive in found:
        pair = (bytes(found_mac), None if subject_id is None else str(subject_id))
        if pair not in pairs or str(ref) < pairs[pair][0]:
            pairs[pair] = (str(ref), bool(alive))
    if not pairs:
        return {mac: frozenset() for mac in sets}
    proven = {ref for ref, _alive in pairs.values()}
    versions = {str(v.ref): v for v in conn.execute(latest_versions(sorted(proven)))}
    for (mac, sid), (ref, alive) in sorted(pairs.items(), key=lambda p: p[1][0]):
        ver = versions.get(ref)
        if ver is None or not _sealed_with(ctx, conn, ver, mac, sid, alive):
            raise TamperedRowError(
                f"integrity check failed for record ref {ref[:12]} (its worker's index "
                "entry or pointer); `evault check` names what was changed",
                table="blind_index",
            )
        if sid is not None and alive:
            sets[mac].add(sid)
    return {mac: frozenset(ids) for mac, ids in sets.items()}


def _sealed_with(
    ctx: Context, conn: Connection, ver: Any, mac: bytes, subject_id: str | None, alive: bool
) -> bool:
    """Whether testimony version ``ver`` was sealed with worker match ``mac`` and
    under ``subject_id``, a live key. A version sealed before both were sealed with
    it is proven by its identity: it opens under that worker's key and gives that
    match."""
    if ver.type != "testimony" or subject_id is None or not alive:
        # A worker's testimony always has a key, and erasure removes the worker's
        # rows with it: a row beside no key, or an erased one, was put there.
        return False
    what = f"record ref {ver.ref[:12]}"
    sealed = ctx.codec.sealed_extras(sealed_columns(ver), ver.type, ver.ref, ver.version, what)
    if sealed.has_subject and sealed.subject_id != subject_id:
        return False
    if sealed.index is not None and index_entry("subject", mac) not in sealed.index:
        return False
    if sealed.has_subject and sealed.index is not None:
        return True
    key = ctx.subject_key(conn, subject_id)
    if key is None:
        return False
    try:
        record = ctx.codec.open(
            sealed_columns(ver),
            ver.type,
            ver.ref,
            ver.version,
            key,
            what,
            classes=(KeyClass.IDENTITY, KeyClass.OPERATIONAL),
            subject_id=subject_id,
        )
    except IntegrityError:
        return False
    return subject_mac(ctx, record) == mac


def chosen_subjects(sets: Mapping[bytes, frozenset[str]]) -> dict[bytes, str]:
    """The subject each worker's new testimony is sealed under, of those the vault
    holds (:func:`subject_sets`): of several, the same one every time; '' for none."""
    return {mac: max(ids, default="") for mac, ids in sets.items()}


def subject_matches(ctx: Context, conn: Connection, macs: list[bytes | None]) -> dict[bytes, str]:
    """The subject of the vault's testimonies whose workers these macs match (one
    query; see :func:`chosen_subjects`)."""
    return chosen_subjects(subject_sets(ctx, conn, macs))


def stage_new(
    ctx: Context,
    conn: Connection,
    batch: Batch,
    record: dict[str, Any],
    where: str,
    mac: bytes | None,
    matches: dict[bytes, str],
    subjects: dict[str, tuple[str, SecretKey] | None],
) -> None:
    """Stage a new record (version 1), with its worker's subject key: the one of an
    earlier testimony of the same worker, else a new one."""
    rid = record["id"]
    ref = ctx.codec.reference(rid)
    if ref in batch.refs:
        raise ConflictError(f"{where}: record id {rid} appears twice in this import")
    rtype = record["type"]
    site = site_ref(ctx, record, ref)
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
            "site_ref": site,
            "subject_id": subject[0] if subject else None,
            "created_at": batch.now,
        }
    )
    batch.refs[ref] = rid
    stage_version(
        ctx,
        conn,
        batch,
        record,
        where,
        ref,
        site,
        1,
        subject,
        mac,
        subject_id=subject[0] if subject else None,
    )


def _new_subject(ctx: Context, batch: Batch) -> tuple[str, SecretKey]:
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


def stage_version(
    ctx: Context,
    conn: Connection,
    batch: Batch,
    record: dict[str, Any],
    where: str,
    ref: str,
    site: str,
    version: int,
    subject: tuple[str, SecretKey] | None,
    mac: bytes | None,
    *,
    subject_id: str | None,
) -> None:
    """Seal and stage one version of ``ref``, its index entries and references."""
    rtype = record["type"]
    index: list[tuple[str, bytes]] = []
    if rtype == "testimony":
        region = _region(ctx, conn, site, record)
        index = sorted(set(ctx.codec.index_entries(record, region)))
        if mac is not None:
            index.append(("subject", mac))
    source = source_match(ctx, record)
    if source is not None:
        index.append((SOURCE_INDEX, source))
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
    for kind, value in index:
        batch.indexes.append({"record_ref": ref, "kind": kind, "mac": value})
    if rtype != "site":
        batch.wanted.setdefault(site, []).append(Pending(where, "site_id", "site"))
    if rtype == "finding":
        for target in dict.fromkeys(record.get("evidence") or ()):
            target_ref = ctx.codec.reference(target)
            batch.links.append({"record_ref": ref, "target_ref": target_ref})
            batch.wanted.setdefault(target_ref, []).append(Pending(where, "evidence", "testimony"))
