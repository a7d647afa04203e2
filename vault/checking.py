"""Checking a whole vault (``evault check``): the database's own pages or rows, the
signed settings and rows, every worker key, every version of every record in each
class the custodian's keys open, every record received from a partner and its
receipt, every evidence file, and the audit chain.

Invariants:

* Every damage found is one :class:`Finding`, and the walk goes on past it. A
  finding names the table and, for a record, its id when any version of it opens
  (the id is stored only under a keyed reference, so only an opened version can
  give it back), else its keyed reference, version and type. It never holds a value.
* Memory does not grow with the vault: records and files are walked in batches,
  each read in a transaction of its own. A batch that meets a damaged page is read
  again record by record, and a damaged stretch of the records table is stepped
  over (and reported), so one bad page costs only the rows on it.
* Only the classes the custodian holds are opened (the summary lists them); an
  identity blob is opened to check it, never returned.
* A check of the live vault is audited before anything is reported (``check``) and
  its outcome after (``check-finished``), where the log can be written: a vault
  whose log is damaged is still checked, and says so in its summary, as it says
  how many reads the user's journal holds (:mod:`vault.journal`).
* A snapshot (a backup being verified) is opened by :func:`open_snapshot`, which
  writes no audit entry and no witness: the copy is thrown away, and its log must
  not move the live vault's witnesses.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from vault import attachments, audit, crypto, custody, journal, receiving, registry
from vault.context import Context, ProgressCallback, read_settings
from vault.crypto import KdfParams, Passphrase, SecretKey, SigningKey
from vault.errors import (
    AuthenticationError,
    IntegrityError,
    PermissionDeniedError,
    StorageError,
    TamperedRowError,
    UsageError,
    VaultError,
)
from vault.keys import KeyClass, Keyring, open_keyring
from vault.records import SOURCE_INDEX, index_entry
from vault.schema import shown_id, shown_name
from vault.store import (
    ApiToken,
    Attachment,
    BlindIndexEntry,
    Custodian,
    IdentityDecision,
    IdentityRequest,
    Meta,
    Partner,
    PartnerReceipt,
    ReceivedRecord,
    ReceivedVersion,
    Recipient,
    Record,
    RecordVersion,
    Subject,
    backend,
    connect,
    damaged_tables,
    driver_error,
    head_revision,
    migrate,
    schema_revision,
    sealed_columns,
    sqlite_url,
)

__all__ = ["CheckRun", "CheckSummary", "Finding", "check", "open_snapshot"]

T = TypeVar("T")
P = ParamSpec("P")

_BATCH: Final = 200  # records per read transaction
_FILE_BATCH: Final = 100
_FIRST_SIGNED: Final = "0006"  # the first schema revision whose rows are signed
_REASON = re.compile(r"\(([a-z' ]+)\)$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One damaged table, row, record version, key or file.

    ``where`` says which in words (``record T-0001 version 2``, ``record ref
    3fa9c0e1d2b4 version 1 (testimony)``, ``custodian 'ana'``, ``the table``);
    ``record_id``, ``ref`` and ``version`` are set for a record.
    """

    table: str
    where: str
    problem: str
    record_id: str | None = None
    ref: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.table}: {self.where}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "where": self.where,
            "problem": self.problem,
            "record_id": self.record_id,
            "ref": self.ref,
            "version": self.version,
        }


@dataclass
class CheckSummary:
    """What a check went through, and how much of it was damaged."""

    database: str = ""
    records: int = 0
    versions: int = 0
    worker_keys: int = 0
    files: int = 0
    signed_rows: int = 0
    audit_entries: int = 0
    received: int = 0  # versions of records received from partners
    classes: list[str] = field(default_factory=list)
    findings: int = 0
    audited: bool = False
    # Reads recorded outside the log while it could not take them (vault.journal).
    journal: str | None = None
    journal_entries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Failed:
    """A read that met a damaged page (or a server's damaged data)."""

    __slots__ = ("error",)

    def __init__(self, error: VaultError) -> None:
        self.error = error


def _attempt(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T | IntegrityError:
    """``fn(...)``, or the integrity error it raised (returned, so that no transaction
    sees it as a refused row: the check reports it instead)."""
    try:
        return fn(*args, **kwargs)
    except IntegrityError as exc:
        return exc
    except (ValueError, TypeError, KeyError):
        # A stored value malformed past what the crypto layer names.
        return IntegrityError("integrity check failed")


def _guarded(
    conn: Connection,
    fn: Callable[Concatenate[Connection, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | IntegrityError:
    """``fn(conn, ...)`` with its integrity error returned (see :func:`_attempt`)."""
    return _attempt(fn, conn, *args, **kwargs)


def _reason(exc: BaseException) -> str:
    """The problem an integrity error names, without the where (which a finding says)."""
    found = _REASON.search(str(exc))
    return f"integrity check failed ({found.group(1)})" if found else "integrity check failed"


def check(
    ctx: Context, *, progress: ProgressCallback | None = None, audited: bool = True
) -> CheckRun:
    """A check of the vault, run as it is iterated (see :class:`CheckRun`).

    ``audited=False`` is for a snapshot's context (see :func:`open_snapshot`): its
    log is thrown away with it.
    """
    ctx.require("admin", "custodian", "auditor")
    return CheckRun(ctx, progress=progress, logged=audited)


class CheckRun:
    """One check of a vault: iterate it for the findings, as they are found; then
    :attr:`summary` holds the totals, and :meth:`verdict` raises if anything was
    damaged. ``total`` (records to walk) is set before the first progress call."""

    def __init__(self, ctx: Context, *, progress: ProgressCallback | None, logged: bool) -> None:
        self._ctx = ctx
        self._progress = progress
        self._logged = logged
        self._started = False
        self._done = False
        self._first: list[Finding] = []
        self._damaged: set[str] = set()
        self.total: int | None = None
        self.summary = CheckSummary()

    def __iter__(self) -> Iterator[Finding]:
        if self._started:
            raise UsageError("a check runs once; start another")
        self._started = True
        return self._run()

    def verdict(self, what: str = "the vault") -> None:
        """Finish the check; IntegrityError naming the first damages if there were any."""
        if not self._started:
            for _finding in self:
                pass
        elif not self._done:
            raise UsageError("the check has not finished")
        n = self.summary.findings
        if n:
            listed = "; ".join(str(f) for f in self._first)
            more = f"; and {n - len(self._first)} more" if n > len(self._first) else ""
            raise IntegrityError(f"{what} is damaged: {listed}{more}")

    # The walk ------------------------------------------------------------------------

    def _run(self) -> Iterator[Finding]:
        ctx = self._ctx
        held = [kc for kc in KeyClass if ctx.keys.holds_class(kc)]
        self.summary.classes = [kc.value for kc in held]
        self.summary.database = backend(ctx.engine)
        self.summary.audited = self._log("check", {"classes": self.summary.classes})
        for part in (
            self._tables(),
            self._settings(),
            self._signed_rows(),
            self._worker_keys(),
            self._records(held),
            self._received(held),
            self._files(),
            self._audit_chain(),
        ):
            for finding in part:
                self.summary.findings += 1
                if len(self._first) < 3:
                    self._first.append(finding)
                yield finding
        if self.summary.audited:
            self._log(
                "check-finished",
                {"findings": self.summary.findings, "records": self.summary.records},
            )
        self._done = True

    def _log(self, action: str, details: dict[str, Any]) -> bool:
        if not self._logged:
            return False
        try:
            self._ctx.audit_now(action, details=details)
        except VaultError:
            return False  # the log may be what is damaged: the check goes on
        return True

    def _read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T | _Failed:
        """``fn(conn, ...)`` in a read transaction of its own; a driver error (a
        damaged page) is returned, never raised."""
        try:
            with self._ctx.read() as conn:
                return fn(conn, *args, **kwargs)
        except (StorageError, TamperedRowError) as exc:
            # TamperedRowError here is a cell the driver could not parse.
            return _Failed(exc)

    def _tables(self) -> Iterator[Finding]:
        for table, problem in damaged_tables(self._ctx.engine):
            self._damaged.add(table)
            yield Finding(table, "the table", problem)

    def _settings(self) -> Iterator[Finding]:
        keys = self._ctx.keys
        result = self._read(self._check_settings, keys)
        if isinstance(result, _Failed):
            if "meta" not in self._damaged:
                yield Finding("meta", "the table", "its rows cannot be read")
            return
        yield from result

    def _check_settings(self, conn: Connection, keys: Keyring) -> list[Finding]:
        found: list[Finding] = []
        for name in sorted(registry.SIGNED_SETTINGS):
            what = f"the setting {name!r}"
            got = _attempt(read_settings, conn, keys, (name,))
            if isinstance(got, IntegrityError) or name in got:
                self.summary.signed_rows += 1
            if isinstance(got, IntegrityError):
                found.append(Finding("meta", what, _reason(got)))
            elif name == "signing_key" and name in got:
                bad = _attempt(_open_signing_key, conn, keys, got[name])
                if isinstance(bad, IntegrityError):
                    found.append(Finding("meta", what, "integrity check failed"))
        anchor = conn.execute(
            select(Meta.value).where(Meta.key == "registry_anchor")
        ).scalar_one_or_none()
        if anchor is not None:
            opened = _attempt(_open_anchor, keys, anchor)
            public = keys.registry_public()
            if isinstance(opened, IntegrityError) or (
                public is not None and not crypto.constant_time_equal(opened, public)
            ):
                found.append(
                    Finding("meta", "the setting 'registry_anchor'", "integrity check failed")
                )
        return found

    def _signed_rows(self) -> Iterator[Finding]:
        keys = self._ctx.keys
        if keys.registry_public() is None:
            return  # unlocking gives every keyring the registry key before this runs
        tables: tuple[tuple[Any, Callable[[Any], registry.Fields], str], ...] = (
            (Custodian, registry.custodian_fields, "custodian"),
            (ApiToken, registry.token_fields, "token"),
            (Recipient, registry.recipient_fields, "recipient"),
            (Partner, registry.partner_fields, "partner"),
        )
        approvers: dict[str, bytes] = {}
        for model, fields, label in tables:
            name = str(model.__tablename__)
            result = self._read(_all_rows, model)
            if isinstance(result, _Failed):
                if name not in self._damaged:
                    yield Finding(name, "the table", "its rows cannot be read")
                continue
            for row in result:
                self.summary.signed_rows += 1
                what = f"{label} {shown_name(row.name)}"
                bad = _attempt(registry.verify, keys, name, fields(row), row.sig, what)
                if isinstance(bad, IntegrityError):
                    yield Finding(name, what, _reason(bad))
                elif model is Custodian and row.approval_key:
                    approvers[str(row.name)] = bytes.fromhex(row.approval_key)
        yield from self._decisions(approvers)

    def _decisions(self, approvers: dict[str, bytes]) -> Iterator[Finding]:
        result = self._read(_decision_rows)
        if isinstance(result, _Failed):
            yield Finding("identity_decisions", "the table", "its rows cannot be read")
            return
        for row in result:
            public = approvers.get(row.custodian)
            if public is None:
                continue  # a decider who is gone decides nothing (nor is checked)
            self.summary.signed_rows += 1
            what = f"a decision on identity request {row.id}"
            fields = registry.decision_fields(row, row.custodian, row.decision)
            bad = _attempt(
                registry.verify_with,
                public,
                self._ctx.vault_id,
                "identity_decisions",
                fields,
                row.sig,
                what,
            )
            if isinstance(bad, IntegrityError):
                yield Finding("identity_decisions", what, _reason(bad))

    def _worker_keys(self) -> Iterator[Finding]:
        codec = self._ctx.codec
        if not self._ctx.keys.holds_class(KeyClass.IDENTITY):
            return
        last = ""
        while True:
            result = self._read(_subjects_after, last)
            if isinstance(result, _Failed):
                if "subjects" not in self._damaged:
                    yield Finding("subjects", "the table", "its rows cannot be read")
                return
            if not result:
                return
            for row in result:
                self.summary.worker_keys += 1
                bad = _attempt(codec.open_subject_key, row.id, row.wrapped_key)
                if isinstance(bad, IntegrityError):
                    yield Finding("subjects", f"worker key {row.id[:12]}", _reason(bad))
            last = str(result[-1].id)

    # Records -----------------------------------------------------------------------

    def _records(self, held: list[KeyClass]) -> Iterator[Finding]:
        if KeyClass.OPERATIONAL not in held:
            return  # an auditor holds no record keys
        counted = self._read(_record_count)
        self.total = None if isinstance(counted, _Failed) else counted
        last = 0
        while True:
            result = self._read(_records_after, last, _BATCH)
            damaged = isinstance(result, _Failed)
            if isinstance(result, _Failed):
                # Somewhere in this batch is a damaged page: take the rows before it
                # one by one, then step over it.
                result = []
                while len(result) < _BATCH:
                    after = int(result[-1].seq) if result else last
                    one = self._read(_records_after, after, 1)
                    if isinstance(one, _Failed) or not one:
                        damaged = isinstance(one, _Failed)
                        break
                    result += one
            if result:
                yield from self._check_batch(result, held)
                self.summary.records += len(result)
                if self._progress is not None:
                    self._progress(len(result))
                last = int(result[-1].seq)
            if damaged:
                resume = self._resume_after(last)
                span = f"after record number {last}"
                if resume is not None:
                    span += f" and before record number {resume}"
                yield Finding("records", f"the rows {span}", "cannot be read (damaged pages)")
                if resume is None:
                    return
                last = resume - 1  # resume > last: the walk always moves on
            elif not result:
                return

    def _resume_after(self, last: int) -> int | None:
        """The first record number past ``last`` whose row can be read again (a
        damaged stretch of the table is stepped over), or None."""
        top = self._read(_last_record)
        if isinstance(top, _Failed) or top is None:
            return None
        failed, step = last, 1
        while True:
            probe = last + step
            if probe > top:
                return None
            got = self._read(_first_record_from, probe)
            if not isinstance(got, _Failed):
                break
            failed, step = probe, step * 2
        # Back from the first probe that read to just past the last one that did not.
        good_probe, good = probe, got
        while good_probe - failed > 1:
            middle = (failed + good_probe) // 2
            got = self._read(_first_record_from, middle)
            if isinstance(got, _Failed):
                failed = middle
            else:
                good_probe, good = middle, got
        return good

    def _check_batch(self, records: list[Any], held: list[KeyClass]) -> Iterator[Finding]:
        refs = [r.ref for r in records]
        versions: dict[str, list[Any]] = {ref: [] for ref in refs}
        unreadable: set[str] = set()
        found = self._read(_versions, refs)
        if isinstance(found, _Failed):
            # A damaged page holds some of them: read record by record to say which.
            for ref in refs:
                one = self._read(_versions, [ref])
                if isinstance(one, _Failed):
                    unreadable.add(ref)
                else:
                    versions[ref] = one
        else:
            for row in found:
                versions[row.record_ref].append(row)
        index = self._read(_index_rows, refs)
        if isinstance(index, _Failed):
            if "blind_index" not in self._damaged:
                yield Finding("blind_index", "the table", "its rows cannot be read")
            index = {}
        subjects = self._subject_keys(records) if KeyClass.IDENTITY in held else {}
        for record in records:
            if record.ref in unreadable:
                yield Finding(
                    "record_versions",
                    f"record ref {record.ref[:12]} ({record.type})",
                    "its versions cannot be read (damaged pages)",
                    ref=record.ref,
                )
                continue
            yield from self._check_record(
                record, versions[record.ref], index.get(record.ref, set()), subjects, held
            )

    def _subject_keys(self, records: list[Any]) -> dict[str, tuple[str, SecretKey]]:
        """The worker keys of a batch that open (a damaged one is reported once, by
        the walk over worker keys; its records are then checked without identity)."""
        ids = sorted({str(r.subject_id) for r in records if r.subject_id})
        rows = self._read(_subjects_of, ids) if ids else []
        if isinstance(rows, _Failed):
            return {}
        keys: dict[str, tuple[str, SecretKey]] = {}
        for row in rows:
            key = _attempt(self._ctx.codec.open_subject_key, row.id, row.wrapped_key)
            if not isinstance(key, IntegrityError):
                keys[str(row.id)] = (str(row.id), key)
        return keys

    def _check_record(
        self,
        record: Any,
        versions: list[Any],
        index: set[str],
        subjects: dict[str, tuple[str, SecretKey]],
        held: list[KeyClass],
    ) -> Iterator[Finding]:
        ctx = self._ctx
        ref, rtype = str(record.ref), str(record.type)
        if not versions:
            where = f"record ref {ref[:12]} ({rtype})"
            yield Finding("record_versions", where, "it has no versions", ref=ref)
            return
        subject = subjects.get(record.subject_id) if record.subject_id else None
        record_id: str | None = None
        bad: list[tuple[int, str, str]] = []
        for ver in versions:
            self.summary.versions += 1
            values = _attempt(self._open_version, record, ver, subject, held)
            if isinstance(values, IntegrityError):
                bad.append((ver.version, "record_versions", _reason(values)))
                # Its operational class alone may still say which record it is.
                alone = _attempt(self._open_version, record, ver, None, [KeyClass.OPERATIONAL])
                if not isinstance(alone, IntegrityError):
                    record_id = str(alone["id"])
                continue
            record_id = str(values["id"])
            if ver is versions[-1]:
                # The rows beside a record must say what its newest version does.
                routed = _attempt(ctx.check_site_ref, ref, rtype, record.site_ref, values)
                if isinstance(routed, IntegrityError):
                    bad.append((ver.version, "records", _reason(routed)))
                extra = _attempt(self._index_matches, record, ver, index)
                if isinstance(extra, TamperedRowError):
                    bad.append((ver.version, "blind_index", str(extra)))
                elif isinstance(extra, IntegrityError):
                    bad.append((ver.version, "blind_index", _reason(extra)))
        # Named by its id when any version opened; otherwise by reference and type.
        named = f"record {shown_id(record_id)}" if record_id else f"record ref {ref[:12]}"
        kind = "" if record_id else f" ({rtype})"
        if [v.version for v in versions] != list(range(1, len(versions) + 1)):
            yield Finding("record_versions", named + kind, "versions are missing", record_id, ref)
        for version, table, problem in bad:
            where = f"{named} version {version}{kind}"
            yield Finding(table, where, problem, record_id, ref, version)

    def _open_version(
        self,
        record: Any,
        ver: Any,
        subject: tuple[str, SecretKey] | None,
        held: list[KeyClass],
    ) -> dict[str, Any]:
        """Every class of a version that the keys open, checked to be the record's."""
        codec = self._ctx.codec
        what = f"record ref {record.ref[:12]}"
        values = codec.open(
            sealed_columns(ver),
            record.type,
            record.ref,
            ver.version,
            subject,
            what,
            classes=held,
            subject_id=record.subject_id,
        )
        rid = values.get("id")
        if not isinstance(rid, str) or codec.reference(rid) != record.ref:
            raise IntegrityError(f"integrity check failed for {what}")
        return values

    def _index_matches(self, record: Any, ver: Any, rows: set[str]) -> None:
        """A record's index rows must be those its newest version was sealed with: no
        other, and none missing but what erasure removes (all but the source key's).
        A missing row hides a testimony from a search, lets a survey's record be
        stored twice, or gives a returning worker a second key."""
        what = f"record ref {record.ref[:12]}"
        sealed = self._ctx.codec.sealed_extras(
            sealed_columns(ver), record.type, record.ref, ver.version, what
        )
        if sealed.index is None:
            return  # sealed before its entries were: its rows are all there is
        if not rows <= sealed.index:
            raise TamperedRowError("rows not sealed with the record", table="blind_index")
        expected = sealed.index
        if record.subject_id is not None and record.key_gone:
            expected = frozenset(e for e in expected if e.startswith(SOURCE_INDEX + ":"))
        if rows != expected:
            raise TamperedRowError("rows it was sealed with are missing", table="blind_index")

    # Files and the audit chain -----------------------------------------------------

    def _received(self, held: list[KeyClass]) -> Iterator[Finding]:
        """Every receipt's signature, and every received version, in batches."""
        keys = self._ctx.keys
        receipts = self._read(_all_rows, PartnerReceipt)
        if isinstance(receipts, _Failed):
            yield Finding("partner_receipts", "the table", "its rows cannot be read")
        elif keys.registry_public() is not None:
            for row in receipts:
                self.summary.signed_rows += 1
                what = f"the receipt of export {row.export_id} from {shown_name(row.partner)}"
                fields = registry.receipt_fields(row)
                bad = _attempt(registry.verify, keys, "partner_receipts", fields, row.sig, what)
                if isinstance(bad, IntegrityError):
                    yield Finding("partner_receipts", what, _reason(bad))
        if KeyClass.OPERATIONAL not in held:
            return
        opener = receiving.codec(self._ctx)
        classes = frozenset(held)
        after = ("", 0)
        while True:
            rows = self._read(_received_after, after)
            if isinstance(rows, _Failed):
                yield Finding("received_versions", "the table", "its rows cannot be read")
                return
            for row in rows:
                self.summary.received += 1
                what = f"received record ref {row.record_ref[:12]} version {row.version}"
                opened = _attempt(
                    opener.open,
                    receiving.sealed_columns(row),
                    row.partner,
                    row.type,
                    row.record_ref,
                    row.version,
                    what,
                    classes,
                )
                if isinstance(opened, IntegrityError):
                    yield Finding(
                        "received_versions",
                        f"{what} ({row.type})",
                        _reason(opened),
                        ref=row.record_ref,
                        version=row.version,
                    )
            if len(rows) < _BATCH:
                return
            after = (rows[-1].record_ref, rows[-1].version)

    def _files(self) -> Iterator[Finding]:
        if not self._ctx.keys.holds_class(KeyClass.NARRATIVE):
            return  # file keys are wrapped under the narrative class
        last = ""
        while True:
            result = self._read(_files_after, last)
            if isinstance(result, _Failed):
                if "attachments" not in self._damaged:
                    yield Finding("attachments", "the table", "its rows cannot be read")
                return
            if not result:
                return
            for row in result:
                self.summary.files += 1
                yield from self._check_file(str(row.id), str(row.record_ref))
            last = str(result[-1].id)

    def _check_file(self, attachment_id: str, ref: str) -> Iterator[Finding]:
        keys = self._ctx.keys
        info = self._read(_guarded, attachments.info_of, keys, attachment_id)
        if isinstance(info, _Failed | IntegrityError):
            problem = "cannot be read" if isinstance(info, _Failed) else _reason(info)
            where = f"file {attachment_id} of record ref {ref[:12]}"
            yield Finding("attachments", where, problem, ref=ref)
            return
        record_id = info[1].record_id
        where = f"file {attachment_id} of record {shown_id(record_id)}"
        verified = self._read(_guarded, attachments.verify, keys, attachment_id)
        if isinstance(verified, _Failed | IntegrityError):
            problem = (
                "cannot be read"
                if isinstance(verified, _Failed)
                else "does not open or does not match its intake hash"
            )
            yield Finding("attachment_chunks", where, problem, record_id, ref)

    def _audit_chain(self) -> Iterator[Finding]:
        ctx = self._ctx
        ctx.witness.flush()
        report = self._read(
            _guarded,
            audit.verify,
            ctx.keys.audit_key(),
            vault_id=ctx.vault_id,
            witnesses=ctx.witness.paths,
        )
        if isinstance(report, _Failed):
            damaged = "audit_log" in self._damaged
            problem = "cannot be verified past its damaged pages" if damaged else "cannot be read"
            yield Finding("audit_log", "the chain", problem)
        elif isinstance(report, IntegrityError):
            yield Finding("audit_log", "the chain", str(report))
        else:
            self.summary.audit_entries = report.size
        path = journal.journal_path(ctx)
        if path is not None:
            kept = _attempt(journal.verify, path, ctx.keys.audit_key(), ctx.vault_id)
            if isinstance(kept, IntegrityError):
                yield Finding("audit_log", f"the journal {path}", str(kept))
            elif kept:
                self.summary.journal = str(path)
                self.summary.journal_entries = kept


# Queries, each run by CheckRun._read in a transaction of its own -------------------


def _all_rows(conn: Connection, model: Any) -> list[Any]:
    return list(conn.execute(select(*model.__table__.c)).all())


def _received_after(conn: Connection, after: tuple[str, int]) -> list[Any]:
    ref, version = after
    query = (
        select(ReceivedRecord.partner, ReceivedRecord.type, *ReceivedVersion.__table__.c)
        .join(ReceivedRecord, ReceivedRecord.ref == ReceivedVersion.record_ref)
        .where(
            (ReceivedVersion.record_ref > ref)
            | ((ReceivedVersion.record_ref == ref) & (ReceivedVersion.version > version))
        )
        .order_by(ReceivedVersion.record_ref, ReceivedVersion.version)
        .limit(_BATCH)
    )
    return list(conn.execute(query).all())


def _decision_rows(conn: Connection) -> list[Any]:
    request = IdentityRequest.__table__.alias()
    query = select(
        IdentityDecision.custodian,
        IdentityDecision.decision,
        IdentityDecision.sig,
        request.c.id,
        request.c.requester,
        request.c.record_ref,
        request.c.expires_at,
    ).join(request, request.c.id == IdentityDecision.request_id)
    return list(conn.execute(query).all())


def _subjects_after(conn: Connection, after: str) -> list[Any]:
    query = (
        select(Subject.id, Subject.wrapped_key)
        .where(Subject.id > after, Subject.wrapped_key.is_not(None))
        .order_by(Subject.id)
        .limit(_BATCH)
    )
    return list(conn.execute(query).all())


def _subjects_of(conn: Connection, ids: list[str]) -> list[Any]:
    query = select(Subject.id, Subject.wrapped_key).where(
        Subject.id.in_(ids), Subject.wrapped_key.is_not(None)
    )
    return list(conn.execute(query).all())


def _record_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count(Record.seq))).scalar() or 0)


def _records_after(conn: Connection, after: int, limit: int) -> list[Any]:
    query = (
        select(
            Record.seq,
            Record.ref,
            Record.type,
            Record.site_ref,
            Record.subject_id,
            Subject.wrapped_key.is_(None).label("key_gone"),
        )
        .outerjoin(Subject, Subject.id == Record.subject_id)
        .where(Record.seq > after)
        .order_by(Record.seq)
        .limit(limit)
    )
    return list(conn.execute(query).all())


def _last_record(conn: Connection) -> int | None:
    top = conn.execute(select(func.max(Record.seq))).scalar()
    return None if top is None else int(top)


def _first_record_from(conn: Connection, start: int) -> int | None:
    query = select(Record.seq).where(Record.seq >= start).order_by(Record.seq).limit(1)
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def _files_after(conn: Connection, after: str) -> list[Any]:
    query = (
        select(Attachment.id, Attachment.record_ref)
        # A file still being written (chunks not yet counted) is no file yet.
        .where(Attachment.id > after, Attachment.chunks > 0)
        .order_by(Attachment.id)
        .limit(_FILE_BATCH)
    )
    return list(conn.execute(query).all())


def _versions(conn: Connection, refs: list[str]) -> list[Any]:
    return list(
        conn.execute(
            select(*RecordVersion.__table__.c)
            .where(RecordVersion.record_ref.in_(refs))
            .order_by(RecordVersion.record_ref, RecordVersion.version)
        ).all()
    )


def _index_rows(conn: Connection, refs: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for ref, kind, mac in conn.execute(
        select(BlindIndexEntry.record_ref, BlindIndexEntry.kind, BlindIndexEntry.mac).where(
            BlindIndexEntry.record_ref.in_(refs)
        )
    ):
        out.setdefault(str(ref), set()).add(index_entry(str(kind), bytes(mac)))
    return out


def _open_signing_key(conn: Connection, keys: Keyring, sealed: str) -> None:
    try:
        wrap = keys.export_wrap_key()
    except PermissionDeniedError:
        return  # only the roles that sign hold it
    seed = crypto.open_sealed(
        wrap,
        base64.b64decode(sealed),
        ("signing-key", keys.vault_id),
        what="the vault's signing key",
    )
    public = read_settings(conn, keys, ("signing_public_key",))["signing_public_key"]
    if SigningKey.from_seed(seed).public_bytes().hex() != public:
        raise IntegrityError("integrity check failed for the vault's signing key")


def _open_anchor(keys: Keyring, anchor: str) -> bytes:
    return crypto.open_sealed(
        keys.reference_key(),
        base64.b64decode(anchor),
        ("registry-anchor", keys.vault_id),
        what="the registry anchor",
    )


# Snapshots -------------------------------------------------------------------------


def open_snapshot(db_file: Path, passphrase: Passphrase, custodian: str | None) -> Context:
    """A context on a copy of a vault's database (a backup being verified), unlocked
    with a custodian's passphrase, that writes no audit entry and no witness.

    A copy made by an older version is brought to this version's schema first (it
    is a throw-away copy); one made before rows were signed is refused.
    """
    engine = connect(sqlite_url(db_file.parent))
    try:
        revision = schema_revision(engine)
        if revision is None:
            raise IntegrityError("the backup does not hold a vault database")
        if revision < _FIRST_SIGNED:
            raise UsageError(
                "this backup was made before rows were signed: restore it and open it as "
                "an admin to check its records"
            )
        if revision != head_revision():
            migrate(engine)
        try:
            with engine.connect() as conn:
                vault_id = conn.execute(
                    select(Meta.value).where(Meta.key == "vault_id")
                ).scalar_one_or_none()
                anchor = conn.execute(
                    select(Meta.value).where(Meta.key == "registry_anchor")
                ).scalar_one_or_none()
                rows = conn.execute(select(*Custodian.__table__.c)).all()
        except SQLAlchemyError as exc:
            raise driver_error(exc, "cannot read the backup") from None
        if vault_id is None:
            raise IntegrityError("the backup does not hold a vault database")
        row = _choose(rows, custodian)
        grant = custody.custodian_grant(row)
        params = KdfParams.from_dict(json.loads(row.kdf))
        keys = open_keyring(
            str(vault_id), row.name, grant, row.keyring, passphrase=passphrase, params=params
        )
        if keys.registry_public() is None and anchor is not None:
            # An older keyring learns the registry key as unlocking would, in memory.
            keys = keys.with_anchor(_open_anchor(keys, str(anchor)))
        try:
            with engine.connect() as conn:
                meta = read_settings(conn, keys, ("kek_version", "min_kek_version"))
                approvals = read_settings(conn, keys, ("identity_approvals",))
        except SQLAlchemyError as exc:
            raise driver_error(exc, "cannot read the backup") from None
        ctx = Context(
            engine,
            keys,
            str(row.name),
            grant,
            kek_version=int(meta["kek_version"]),
            min_kek_version=int(meta["min_kek_version"]),
            identity_approvals=int(approvals["identity_approvals"]),
        )
        ctx.witness.paths = []  # the copy's log must not move the live vault's witnesses
        return ctx
    except BaseException:
        engine.dispose()
        raise


def _choose(rows: Iterable[Any], name: str | None) -> Any:
    rows = list(rows)
    if name is None:
        if len(rows) == 1:
            return rows[0]
        raise UsageError("the backup has several custodians: pass --custodian NAME")
    for row in rows:
        if row.name == name:
            return row
    # As unlocking says: the same words as a wrong passphrase.
    raise AuthenticationError(
        f"wrong passphrase for custodian {shown_name(name)} (or the key record was altered)"
    )
