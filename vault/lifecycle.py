"""Key rotation, erasure of a worker's identity, and retention.

Invariants:

* Rotation never leaves a record unreadable: the new KEK version becomes current
  first (in one transaction), then rows are rewrapped in batches, each batch one
  transaction. Every row is at all times wrapped under a version whose KEK the
  vault can derive, so killing the process at any point loses nothing and a rerun
  carries on. Old versions are retired (refused on read) only once no row uses them.
* Erasure destroys a worker's subject key and their blind-index entries in one
  transaction; the identity blobs that remain can never be opened again. On SQLite
  the write-ahead log is then checkpointed and truncated, and ``secure_delete``
  has already overwritten the key's bytes in the database file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from sqlalchemy import Connection, bindparam, delete, func, select, update

from vault import attachments, receiving
from vault.context import Context, read_settings, write_setting
from vault.errors import IntegrityError, NotFoundError, UsageError
from vault.keys import KeyClass, Keyring
from vault.pacing import REWRAP_BATCH
from vault.progress import Progress, Stage
from vault.records import (
    SOURCE_INDEX,
    RecordCodec,
    index_entry,
    normalize_employee_id,
    phone_key,
)
from vault.scrub import Scrubber, SiteTerms
from vault.store import (
    Base,
    BlindIndexEntry,
    Meta,
    Record,
    RecordVersion,
    Subject,
    as_utc,
    latest_versions,
    sealed_columns,
    utcnow,
)

__all__ = [
    "RetentionReport",
    "RotationReport",
    "erase_subject",
    "retire",
    "rotate",
    "run_retention",
    "set_retention",
]

BATCH: Final = REWRAP_BATCH
_SEALED: Final = ("special", "narrative", "operational")

_VERSIONS = Base.metadata.tables["record_versions"]
_SUBJECTS = Base.metadata.tables["subjects"]
_REWRAPPED: Final = tuple(f"{c}_{p}" for c in _SEALED for p in ("key", "data"))
# One statement for a whole batch (executemany): rotation rewrites every row.
_UPDATE_VERSION = (
    update(_VERSIONS)
    .where(
        _VERSIONS.c.record_ref == bindparam("b_ref"), _VERSIONS.c.version == bindparam("b_version")
    )
    .values({c: bindparam(c) for c in (*_REWRAPPED, "kek_version")})
)
_UPDATE_SUBJECT = (
    update(_SUBJECTS)
    .where(_SUBJECTS.c.id == bindparam("b_id"))
    .values(wrapped_key=bindparam("wrapped_key"), kek_version=bindparam("kek_version"))
)


@dataclass
class RotationReport:
    target: int
    records: int = 0
    subjects: int = 0
    attachments: int = 0
    received: int = 0
    reencrypted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _meta(conn: Connection, keys: Keyring, key: str) -> str | None:
    # Key versions and the rotation's target are signed settings: read only as signed.
    value = read_settings(conn, keys, (key,)).get(key)
    return None if value is None else str(value)


def rotate(
    ctx: Context,
    *,
    reencrypt: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> RotationReport:
    """Make a new KEK version current and rewrap every data key under it: record
    data keys, subject keys and evidence-file keys. ``progress`` hears of the keys
    rewrapped ("rotating", of those still under an older version when it starts).

    Resumable: if a rotation was interrupted, this carries it on instead of starting
    another (``rotation_target`` in meta). ``reencrypt`` seals record data afresh
    under new data keys; evidence files keep their file keys and chunks, and only
    the wrapping of the file key changes.
    """
    ctx.require("admin")
    write, keys, audit = ctx.write, ctx.keys, ctx.audit
    with write() as conn:
        current = int(_meta(conn, keys, "kek_version") or "1")
        target_text = _meta(conn, keys, "rotation_target")
        if target_text is None:
            target = current + 1
            write_setting(conn, keys, "rotation_target", str(target))
            write_setting(conn, keys, "kek_version", str(target))
            audit(conn, "rotation-started", details={"target": target, "reencrypt": reencrypt})
        else:
            target = int(target_text)
    codec = RecordCodec(keys, target)
    report = RotationReport(target, reencrypted=reencrypt)
    stage = Stage(progress, "rotating", _keys_below(ctx, target) if progress else 0)
    while True:
        with write() as conn:
            rows = conn.execute(
                select(Record.ref, Record.type, *RecordVersion.__table__.c)
                .join(Record, Record.ref == RecordVersion.record_ref)
                .where(RecordVersion.kek_version < target)
                .limit(batch)
            ).all()
            params = []
            for row in rows:
                columns = sealed_columns(row)
                columns.update(
                    codec.rewrap(columns, row.type, row.ref, row.version, reencrypt=reencrypt)
                )
                params.append(
                    {
                        "b_ref": row.ref,
                        "b_version": row.version,
                        **{c: columns[c] for c in _REWRAPPED},
                        "kek_version": target,
                    }
                )
            if params:
                conn.execute(_UPDATE_VERSION, params)
            if rows:
                audit(conn, "rotation-batch", details={"target": target, "records": len(rows)})
        report.records += len(rows)
        stage.advance(len(rows))
        if len(rows) < batch:
            break
    while True:
        with write() as conn:
            subjects: list[tuple[str, bytes]] = [
                (sid, wrapped)
                for sid, wrapped in conn.execute(
                    select(Subject.id, Subject.wrapped_key)
                    .where(Subject.kek_version < target, Subject.wrapped_key.is_not(None))
                    .limit(batch)
                )
                if wrapped is not None
            ]
            if subjects:
                conn.execute(
                    _UPDATE_SUBJECT,
                    [
                        {
                            "b_id": sid,
                            "wrapped_key": codec.wrap_subject_key(
                                sid, codec.open_subject_key(sid, wrapped)
                            ),
                            "kek_version": target,
                        }
                        for sid, wrapped in subjects
                    ],
                )
            if subjects:
                audit(conn, "rotation-batch", details={"target": target, "subjects": len(subjects)})
        report.subjects += len(subjects)
        stage.advance(len(subjects))
        if len(subjects) < batch:
            break
    report.attachments = _rotate_files(ctx, target, batch, stage)
    report.received = _rotate_received(ctx, target, batch)
    with write() as conn:
        conn.execute(delete(Meta).where(Meta.key == "rotation_target"))
        audit(conn, "rotation-finished", details=report.to_dict())
    ctx.codec = RecordCodec(keys, report.target, ctx.codec.min_version)
    stage.finish()
    return report


def _keys_below(ctx: Context, version: int) -> int:
    with ctx.read() as conn:
        return _count_keys_below(conn, version)


def _count_keys_below(conn: Connection, version: int) -> int:
    """Record versions, worker keys and file keys still wrapped below ``version``."""
    versions = select(func.count()).select_from(RecordVersion)
    left = conn.execute(versions.where(RecordVersion.kek_version < version)).scalar_one()
    left += conn.execute(
        select(func.count())
        .select_from(Subject)
        .where(Subject.kek_version < version, Subject.wrapped_key.is_not(None))
    ).scalar_one()
    left += receiving.keys_below(conn, version)
    return int(left) + attachments.keys_below(conn, version)


def _rotate_files(ctx: Context, target: int, batch: int, stage: Stage) -> int:
    """Rewrap evidence-file keys under ``target`` in batches, each one transaction."""
    done = 0
    while True:
        with ctx.write() as conn:
            files = attachments.rewrap_keys(conn, ctx.keys, target, batch)
            if files:
                ctx.audit(conn, "rotation-batch", details={"target": target, "attachments": files})
        done += files
        stage.advance(files)
        if files < batch:
            return done


def _rotate_received(ctx: Context, target: int, batch: int) -> int:
    """Rewrap records received from partners under ``target``, in batches."""
    done = 0
    while True:
        with ctx.write() as conn:
            rows = receiving.rewrap_keys(ctx, conn, target, batch)
            if rows:
                ctx.audit(conn, "rotation-batch", details={"target": target, "received": rows})
        done += rows
        if rows < batch:
            return done


def retire(ctx: Context, below: int) -> None:
    """Refuse KEK versions below ``below`` from now on; only once nothing uses them."""
    ctx.require("admin")
    with ctx.write() as conn:
        current = int(_meta(conn, ctx.keys, "kek_version") or "1")
        if below > current:
            raise UsageError(f"cannot retire the current key version {current}")
        if _meta(conn, ctx.keys, "rotation_target") is not None:
            raise UsageError("a rotation is unfinished: run 'evault rotate-keys' again first")
        left = _count_keys_below(conn, below)
        if left:
            raise UsageError(f"{left} keys still use a version below {below}; rotate first")
        write_setting(conn, ctx.keys, "min_kek_version", str(below))
        ctx.audit(conn, "keys-retired", details={"below": below})
    ctx.codec.min_version = below


def erase_subject(
    ctx: Context,
    *,
    testimony_id: str | None,
    employee_id: str | None,
    phone: str | None,
    region: str | None,
) -> int:
    """Destroy a worker's identity key(s), found by testimony id or blind index.

    Returns how many keys this call destroyed: 0 when the testimony's worker was
    erased already (running it again is safe). NotFoundError when no worker matches,
    which is also what an erased worker's employee id or phone finds.
    """
    ctx.require("admin")
    codec = ctx.codec
    index: list[tuple[str, bytes]] = []
    if employee_id is not None:
        index.append(
            ("employee_id", codec.index_mac("employee_id", normalize_employee_id(employee_id)))
        )
    if phone is not None and (key := phone_key(phone, region)):
        index.append(("phone", codec.index_mac("phone", key)))
    refs = [codec.reference(testimony_id)] if testimony_id is not None else []
    if not refs and not index:
        raise UsageError("erase-subject needs --testimony, --employee-id or --phone")
    with ctx.write() as conn:
        # The entries sealed with each version find the worker even where index rows
        # were deleted, and only those: an index row copied onto another worker's
        # testimony widens nothing. Rows are believed only for versions sealed before
        # their entries were.
        sealed, unsealed = _sealed_matches(ctx, conn, index)
        listed = _index_rows(conn, index) & unsealed
        refs = sorted({*refs, *sealed, *listed})
        subjects = _alive(conn, _subjects_for(ctx, conn, refs))
        if subjects:
            erased = _erase_subjects(ctx, conn, subjects)
        elif testimony_id is not None and _subjects_for(ctx, conn, [codec.reference(testimony_id)]):
            # The testimony's worker has no key left (a re-run after a kill, say):
            # the job is done, and this call destroyed nothing.
            erased = 0
        else:
            # By employee id or phone an erased worker stays unfindable, as in find:
            # "already erased" would confirm that the identity was in the vault.
            raise NotFoundError("no worker matches")
    # Also on a re-run: a killed erase may have left the key's bytes in the WAL.
    ctx.checkpoint_wal()
    return erased


def _alive(conn: Connection, subjects: set[str]) -> set[str]:
    """Those of ``subjects`` whose identity key still exists."""
    return set(
        conn.execute(
            select(Subject.id).where(
                Subject.id.in_(sorted(subjects)), Subject.wrapped_key.is_not(None)
            )
        ).scalars()
    )


def _sealed_matches(
    ctx: Context, conn: Connection, index: list[tuple[str, bytes]]
) -> tuple[set[str], set[str]]:
    """Testimonies any of whose versions was sealed with one of these index entries,
    and testimonies with a version sealed before entries were."""
    wanted = {index_entry(kind, mac) for kind, mac in index}
    found: set[str] = set()
    unsealed: set[str] = set()
    if not wanted:
        return found, unsealed
    rows = conn.execute(
        select(Record.ref, Record.type, *RecordVersion.__table__.c)
        .join(RecordVersion, RecordVersion.record_ref == Record.ref)
        .where(Record.type == "testimony")
        .execution_options(yield_per=500)
    )
    with rows:
        for row in rows:
            extras = ctx.codec.sealed_extras(
                sealed_columns(row), "testimony", row.ref, row.version, f"record ref {row.ref[:12]}"
            )
            if extras.index is None:
                unsealed.add(row.ref)
            elif extras.index & wanted:
                found.add(row.ref)
    return found, unsealed


def _index_rows(conn: Connection, index: list[tuple[str, bytes]]) -> set[str]:
    refs: set[str] = set()
    for kind, mac in index:
        refs |= set(
            conn.execute(
                select(BlindIndexEntry.record_ref).where(
                    BlindIndexEntry.kind == kind, BlindIndexEntry.mac == mac
                )
            ).scalars()
        )
    return refs


def set_retention(ctx: Context, days_after_remediation: int | None) -> None:
    """Erase identities this many days after a citing finding is remediated."""
    ctx.require("admin")
    if days_after_remediation is not None and days_after_remediation < 0:
        raise UsageError("retention days cannot be negative")
    with ctx.write() as conn:
        days = None if days_after_remediation is None else str(days_after_remediation)
        write_setting(conn, ctx.keys, "retention_days", days)
        ctx.audit(conn, "retention-set", details={"days": days_after_remediation})


class RetentionReport(TypedDict):
    """What a retention run found due and erased."""

    days: int
    due: int
    erased: int
    dry_run: bool


def run_retention(ctx: Context, *, dry_run: bool) -> RetentionReport:
    """Apply the retention setting: erase identities that are due."""
    ctx.require("admin")
    with ctx.read() as conn:
        days = read_settings(conn, ctx.keys, ("retention_days",)).get("retention_days")
    if days is None:
        raise UsageError("no retention is set ('evault retention set --days-after-remediation N')")
    due = _retention_candidates(ctx, int(days))
    refs = sorted({ctx.codec.reference(t) for t in due})
    with ctx.write() as conn:
        alive = _alive(conn, _subjects_for(ctx, conn, refs))
        erased = 0
        if not dry_run:
            erased = _erase_subjects(ctx, conn, alive)
        ctx.audit(
            conn,
            "retention-run",
            details={"dry_run": dry_run, "due": len(alive), "erased": erased},
        )
    if erased:
        ctx.checkpoint_wal()
    return {"days": int(days), "due": len(alive), "erased": erased, "dry_run": dry_run}


def _subjects_for(ctx: Context, conn: Connection, refs: Iterable[str]) -> set[str]:
    """Subject ids of these testimonies, each checked against the worker its newest
    version was sealed with: a moved subject pointer would erase someone else."""
    found: set[str] = set()
    wanted = sorted(set(refs))
    for i in range(0, len(wanted), 500):
        query = latest_versions(wanted[i : i + 500]).where(Record.type == "testimony")
        for row in conn.execute(query).all():
            what = f"record ref {row.ref[:12]}"
            extras = ctx.codec.sealed_extras(
                sealed_columns(row),
                "testimony",
                row.ref,
                row.version,
                what,
                subject_id=row.subject_id,
            )
            if not extras.has_subject and row.subject_id:
                _prove_old_pointer(ctx, conn, row, what)
            # A worker's testimonies at one site share one subject key: erasing it
            # covers all of them.
            if row.subject_id:
                found.add(str(row.subject_id))
    return found


def _prove_old_pointer(ctx: Context, conn: Connection, row: Any, what: str) -> None:
    """The subject pointer of a version sealed before its worker was sealed with it.
    Its identity opens only under its own worker's key; a testimony without identity
    never shares its key (only an employee id finds a worker again); and erasure
    takes a worker's index rows with their key, so a pointer to an erased key beside
    such rows was moved there."""
    sid = str(row.subject_id)
    moved = IntegrityError(f"integrity check failed for {what} (its worker)")
    key = ctx.subject_key(conn, sid)
    if key is None:
        left = conn.execute(
            select(func.count())
            .select_from(BlindIndexEntry)
            .where(BlindIndexEntry.record_ref == row.ref, BlindIndexEntry.kind != SOURCE_INDEX)
        ).scalar_one()
        if left:
            raise moved
    elif row.identity_data is not None:
        ctx.codec.open(
            sealed_columns(row),
            "testimony",
            row.ref,
            row.version,
            key,
            what,
            classes=(KeyClass.IDENTITY,),
        )
    elif conn.execute(
        select(func.count())
        .select_from(Record)
        .where(Record.subject_id == sid, Record.ref != row.ref)
    ).scalar_one():
        raise moved


def _erase_subjects(ctx: Context, conn: Connection, subject_ids: set[str]) -> int:
    """Destroy the subject keys and the blind-index entries of their records (all but
    their source keys', which are no identity)."""
    if not subject_ids:
        return 0
    ids = sorted(subject_ids)
    refs = list(conn.execute(select(Record.ref).where(Record.subject_id.in_(ids))).scalars())
    scrubbed = _scrub_erased(ctx, conn, ids)
    # A record's source key is not the worker's: its index stays, so that a later
    # download of the same survey finds the record instead of storing the worker again.
    conn.execute(
        delete(BlindIndexEntry).where(
            BlindIndexEntry.record_ref.in_(refs), BlindIndexEntry.kind != SOURCE_INDEX
        )
    )
    erased = conn.execute(
        update(Subject)
        .where(Subject.id.in_(ids), Subject.wrapped_key.is_not(None))
        .values(wrapped_key=None, erased_at=utcnow())
    ).rowcount
    ctx.audit(
        conn,
        "subject-erased",
        refs=refs,
        details={"subjects": len(ids), "keys": erased, "texts_scrubbed": scrubbed},
    )
    return int(erased)


_TEXT_PATHS: Final = frozenset({"narrative", "summary", "details", "remediation.plan"})


def _scrub_erased(ctx: Context, conn: Connection, subject_ids: list[str]) -> int:
    """Before their keys go, take the erased workers' names and identifiers out of
    every free text at their sites, in every version: once the key is gone the
    exporter's scrubber can no longer learn them, and a co-worker's narrative would
    carry them in clear. Returns how many sealed texts were rewritten."""
    terms: dict[str, SiteTerms] = {}
    identity = conn.execute(
        select(Record.ref, Record.site_ref, Record.subject_id, Subject.wrapped_key)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.subject_id.in_(subject_ids), Subject.wrapped_key.is_not(None))
    ).all()
    for ref, site_ref, sid, wrapped in identity:
        if sid is None or wrapped is None:
            continue
        key = ctx.codec.open_subject_key(sid, wrapped)
        versions = conn.execute(
            select(*RecordVersion.__table__.c).where(RecordVersion.record_ref == ref)
        ).all()
        site = terms.setdefault(str(site_ref), SiteTerms())
        for ver in versions:
            record = ctx.codec.open(
                sealed_columns(ver),
                "testimony",
                ref,
                ver.version,
                (sid, key),
                f"record ref {ref[:12]}",
                classes=(KeyClass.IDENTITY, KeyClass.OPERATIONAL),
                subject_id=sid,
            )
            worker = record.get("worker")
            if isinstance(worker, dict):
                # The worker's own name and identifiers, not the people they named:
                # those are other people, still known to the scrubber.
                site.add_worker(worker, "ERASED")
    rewritten = 0
    for site_ref, site in terms.items():
        scrubber = Scrubber()
        scrubber.load_site(site)

        def change(fields: dict[str, Any], scrubber: Scrubber = scrubber) -> dict[str, Any] | None:
            out = {
                p: scrubber.replace_terms(v) if p in _TEXT_PATHS and isinstance(v, str) else v
                for p, v in fields.items()
            }
            return out if out != fields else None

        # The site's records are locked first, as an update locks its record: a
        # version written meanwhile would hold the names this rewrite misses.
        conn.execute(
            select(Record.ref)
            .where(Record.site_ref == site_ref)
            .order_by(Record.ref)
            .with_for_update(key_share=True)
        ).all()
        rows = conn.execute(
            select(Record.ref, Record.type, *RecordVersion.__table__.c)
            .join(RecordVersion, RecordVersion.record_ref == Record.ref)
            .where(Record.site_ref == site_ref, RecordVersion.narrative_data.is_not(None))
        ).all()
        for row in rows:
            new = ctx.codec.replace_class(
                sealed_columns(row),
                row.type,
                row.ref,
                row.version,
                KeyClass.NARRATIVE,
                change,
                f"record ref {row.ref[:12]}",
            )
            if new is not None:
                conn.execute(
                    update(RecordVersion)
                    .where(
                        RecordVersion.record_ref == row.ref, RecordVersion.version == row.version
                    )
                    .values(**new)
                )
                rewritten += 1
    return rewritten


def _retention_candidates(ctx: Context, days: int, now: dt.datetime | None = None) -> list[str]:
    """Ids of testimonies whose identity should go: cited as evidence by a finding at
    the same site, about a time after they were given, that has been remediated for
    more than ``days`` days.

    "Remediated for" is measured from when this vault stored the finding's current
    version, not only from the date a custodian typed in: a finding cannot be marked
    remediated long ago, nor point at testimonies of other sites, to have workers
    erased at once.
    """
    cutoff = now or utcnow()
    due: list[str] = []
    with ctx.read() as conn:
        for row in conn.execute(latest_versions().where(Record.type == "finding")):
            finding = _operational(ctx, row, "finding")
            if finding.get("status") != "remediated":
                continue
            updated = (finding.get("remediation") or {}).get("updated")
            sealed_at = ctx.codec.sealed_extras(
                sealed_columns(row), "finding", row.ref, row.version, f"record ref {row.ref[:12]}"
            ).stored_at
            # Versions sealed before the vault sealed their time fall back to the column.
            stored = as_utc(sealed_at or row.created_at)
            if not updated or cutoff - stored < dt.timedelta(days=days):
                continue
            if dt.date.fromisoformat(updated) > (cutoff - dt.timedelta(days=days)).date():
                continue
            cited = [ctx.codec.reference(t) for t in dict.fromkeys(finding.get("evidence") or ())]
            for ver in conn.execute(latest_versions(cited).where(Record.type == "testimony")):
                testimony = _operational(ctx, ver, "testimony")
                if testimony.get("site_id") != finding.get("site_id"):
                    continue
                if str(testimony.get("received_on", "")) > str(finding.get("audit_date", "")):
                    continue
                due.append(str(testimony["id"]))
    return due


def _operational(ctx: Context, row: Any, rtype: str) -> dict[str, Any]:
    record = ctx.codec.open(
        sealed_columns(row),
        rtype,
        row.ref,
        row.version,
        None,
        f"record ref {row.ref[:12]}",
        classes=(KeyClass.OPERATIONAL,),
        subject_id=row.subject_id,
    )
    ctx.check_site_ref(row.ref, rtype, row.site_ref, record)
    return record
