"""The import pipeline: validate, seal and store records; what becomes of records the
vault holds already; and, on SQLite, commits in bounded chunks.

Invariants:

* Nothing invalid is written. A file is checked whole before anything of it is
  written where it is written in chunks; elsewhere the import is one transaction
  that meets invalid input, writes nothing, and reads on as :mod:`vault.precheck`
  checks a file. Either way the first problem is named (worded as ever) and the
  message says how many lines are bad in all.
* On SQLite a file import (a path, or a stream that can be read twice) commits in
  chunks (:mod:`vault.pacing`): each chunk one transaction with its own audit
  entry, ended only where every reference made so far resolves, so a committed
  chunk never refers to a record still to come. A failure after a chunk committed
  says how many records were committed; the same import run again finishes the
  job, since records stored already with the same content are counted unchanged
  and not stored again. On PostgreSQL (whose writers lock rows, not the database),
  for standard input and for records handed over by a program, an import is one
  transaction: all or nothing.
* A record the vault holds already (same id; or, matching by ``source_key``, same
  record type and source key) that the import would not change (see
  :func:`vault.revisions.changes`) is counted unchanged and nothing is written.
  Otherwise ``on_conflict`` decides: ``fail`` refuses (exit 7), ``skip`` counts it
  and writes nothing, ``new-version`` stores a new version as an update would:
  fields the file leaves out are carried over, none is removed.
* A source key names one record of a type: a second record with it, in the vault
  or in the same import, is a conflict. A record id repeated in one import is one.
* References between records (``site_id``, ``evidence``) must resolve, within the
  vault or the same import, before the (last) transaction commits.
* Nothing here logs, prints or puts a record value in an exception message.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, Final

from sqlalchemy import Connection, Engine, select

from vault import attachments, forked, precheck, revisions
from vault.context import Context, ProgressCallback, Transaction
from vault.crypto import SecretKey
from vault.edits import MATCH_KEYS, ON_CONFLICT, MatchKey, OnConflict
from vault.errors import (
    ConflictError,
    InvalidInputError,
    TamperedRowError,
    UsageError,
    VaultError,
)
from vault.filesource import AttachmentSource, open_media
from vault.heap import bulk
from vault.pacing import CHUNK_RECORDS, Pacer
from vault.precheck import ImportProblem, bad_places
from vault.records import SOURCE_INDEX
from vault.revisions import patch, update
from vault.schema import validate_record
from vault.sources import CsvOptions, Unreadable, open_records
from vault.staging import (
    Batch,
    Pending,
    chosen_subjects,
    resolve_pending,
    source_match,
    stage_new,
    subject_mac,
    subject_matches,
    subject_sets,
)
from vault.store import (
    BlindIndexEntry,
    checkpoint_passive,
    single_writer,
    writers_waiting,
)

__all__ = [
    "BATCH_SIZE",
    "MATCH_KEYS",
    "ON_CONFLICT",
    "ImportResult",
    "MatchKey",
    "OnConflict",
    "import_file",
    "import_records",
    "patch",
    "update",
]

BATCH_SIZE: Final = 2_000
# Within a chunk, records are sealed and stored a few hundred at a time, so that the
# chunk's clock is read while it works, not only once it has read its records.
_CHUNK_BATCH: Final = 250
# Holding the write lock, how long to wait for a second process that has gone
# quiet while a chunk cannot end yet (references pending) before giving up.
_QUIET_SECONDS: Final = 60.0
# The connections a second process inherited: never closed there (closing one is a
# use of SQLite across fork), they stay referenced until the process leaves.
_INHERITED: list[object] = []


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did: new records by type, new versions of records the vault
    held, records it held already unchanged, records skipped, and the transactions
    it committed in."""

    by_type: dict[str, int] = field(default_factory=dict)
    versions: int = 0
    unchanged: int = 0
    skipped: int = 0
    chunks: int = 1

    @property
    def count(self) -> int:
        """New records."""
        return sum(self.by_type.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.count,
            "by_type": dict(sorted(self.by_type.items())),
            "new_versions": self.versions,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "chunks": self.chunks,
        }

    def summary(self, _: Callable[[str], str] = str) -> str:
        """One line: what was added, and what was found stored already (its words
        through ``_``, a gettext: the command line's language)."""
        parts = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items()))
        line = _("Imported {n} records ({parts})").format(n=self.count, parts=parts or _("none"))
        held = [
            what.format(n=n)
            for n, what in (
                (self.versions, _("{n} new versions")),
                (self.unchanged, _("{n} unchanged")),
                (self.skipped, _("{n} skipped")),
            )
            if n
        ]
        line += f"; {', '.join(held)}" if held else ""
        if self.chunks > 1:
            line += "; " + _("committed in {n} chunks").format(n=self.chunks)
        return line + "."


@dataclass(slots=True)
class _Tally:
    """What a transaction (or a whole import) did so far."""

    by_type: dict[str, int] = field(default_factory=dict)
    versions: int = 0
    unchanged: int = 0
    skipped: int = 0
    revised: list[str] = field(default_factory=list)  # keyed references

    def add(self, other: _Tally) -> None:
        for rtype, n in other.by_type.items():
            self.by_type[rtype] = self.by_type.get(rtype, 0) + n
        self.versions += other.versions
        self.unchanged += other.unchanged
        self.skipped += other.skipped

    def details(self) -> dict[str, Any]:
        """The audit entry's details: counts only."""
        out: dict[str, Any] = {"records": dict(sorted(self.by_type.items()))}
        for name, n in (
            ("versions", self.versions),
            ("unchanged", self.unchanged),
            ("skipped", self.skipped),
        ):
            if n:
                out[name] = n
        return out

    def result(self, chunks: int) -> ImportResult:
        return ImportResult(dict(self.by_type), self.versions, self.unchanged, self.skipped, chunks)


def inherit(engine: Engine) -> None:
    """In a forked process: leave the connections of the process it came from
    alone (new ones are opened as needed), never closing one: closing is a use of
    SQLite across fork, and may fold or delete the other process's log."""
    _INHERITED.append(engine.pool)
    engine.dispose(close=False)


@dataclass(frozen=True, slots=True)
class _Sealed:
    """A batch of new records as a second process sealed it (:meth:`_Writer.seal_ahead`):
    the rows to insert (keyed references, sealed blobs, keys wrapped under the
    vault's class keys, keyed index values), new records by type, and where each
    keyed source key was given. No plaintext and no key: what crosses a pipe."""

    number: int
    batch: Batch
    by_type: dict[str, int]
    sources: list[tuple[str, bytes]]
    count: int
    read: int  # bytes of the file read since the batch before
    # Per testimony with an employee id: its place, keyed worker match, the
    # subject it was sealed under, and the subjects the vault held for that worker
    # when that was decided (re-checked where the batch is stored).
    subjects: list[tuple[str, bytes, str, frozenset[str]]]
    final: bool = False  # the file's last batch: its chunk is the import's last


@dataclass(frozen=True, slots=True)
class _Item:
    """A validated record as read, with the evidence files it names."""

    where: str
    record: dict[str, Any]
    files: list[str] | None

    @property
    def shown(self) -> str:
        """The place and the record id, as references and checks name a record."""
        return f"{self.where}, record {self.record['id']}"


def _check_options(on_conflict: str, key: str) -> None:
    if on_conflict not in ON_CONFLICT:
        raise UsageError(f"on_conflict must be one of: {', '.join(ON_CONFLICT)}")
    if key not in MATCH_KEYS:
        raise UsageError(f"key must be one of: {', '.join(MATCH_KEYS)}")


@bulk()
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
    on_conflict: OnConflict = "fail",
    key: MatchKey = "id",
    chunk_records: int = CHUNK_RECORDS,
    jobs: int = 1,
) -> ImportResult:
    """Import a file or stream (see :func:`vault.sources.open_records`), with the
    evidence files it names from ``files``: in chunks on SQLite where the source
    can be read twice (checked whole first), else in one transaction. With
    ``jobs=2``, a chunked import of new records is sealed in a second process."""
    ctx.require("admin", "custodian")
    _check_options(on_conflict, key)
    with contextlib.ExitStack() as stack:
        attached, csv_options = open_media(stack, files, csv_options)
        start = _rewind_point(source)
        if single_writer(ctx.engine) and start is not None:

            @contextlib.contextmanager
            def reading(report: ProgressCallback | None) -> Iterator[Iterator[tuple[str, Any]]]:
                if not isinstance(source, (str, os.PathLike)):
                    source.seek(start)
                with open_records(
                    source,
                    fmt=fmt,
                    name=name,
                    read_progress=report,
                    recover=True,
                    csv_options=csv_options,
                ) as rows:
                    yield rows

            return _Chunked(ctx, attached, on_conflict, key, chunk_records, jobs).run(
                reading, progress, read_progress
            )
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
        return import_records(
            ctx,
            rows,
            progress=progress,
            files=attached,
            count_bad=True,
            on_conflict=on_conflict,
            key=key,
        )


def _rewind_point(source: str | os.PathLike[str] | IO[bytes]) -> int | None:
    """Where a second reading of ``source`` starts; None if it cannot be read twice."""
    if isinstance(source, (str, os.PathLike)):
        return 0
    try:
        return source.tell() if source.seekable() else None
    except (OSError, ValueError):
        return None


def import_records(
    ctx: Context,
    records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
    *,
    progress: ProgressCallback | None = None,
    files: AttachmentSource | None = None,
    count_bad: bool = False,
    on_conflict: OnConflict = "fail",
    key: MatchKey = "id",
    keep_identical: bool = True,
) -> ImportResult:
    """Validate, seal and store ``(where, record)`` pairs or bare records in one
    transaction, with the evidence files ``files`` holds (see Vault.import_records).

    With ``count_bad`` (a file import), invalid input does not end the reading: the
    rest is checked as :mod:`vault.precheck` checks a file, within the transaction
    (which sees what this import stored so far, and is then rolled back), and the
    first error's message says how many lines are bad in all. Without
    ``keep_identical`` (``add``), a record the vault holds is a conflict even if
    nothing in it would change."""
    ctx.require("admin", "custodian")
    _check_options(on_conflict, key)
    writer = _Writer(ctx, files, on_conflict, key, keep_identical)
    pairs = _pairs(records)
    with ctx.write() as conn:
        ctx.refresh_key_version(conn)
        staged: list[_Item] = []
        try:
            for where, raw in pairs:
                staged.append(_item(where, raw, files))
                if len(staged) >= BATCH_SIZE:
                    batch, staged = staged, []
                    writer.write(conn, batch)
                    if progress:
                        progress(len(batch))
            if staged:
                batch, staged = staged, []
                writer.write(conn, batch)
                if progress:
                    progress(len(batch))
            bad = resolve_pending(conn, writer.pending, final=True)
            if bad:
                raise bad[0]
        except InvalidInputError as first:
            if not count_bad:
                raise
            rest = writer.checker(conn)
            for item in staged:
                rest.accept(item.where, item.record)
            for target, wants in writer.pending.items():
                for want in wants:
                    rest.expect(target, want.where, want.field, want.expected_type)
            for later, raw in pairs:
                rest.read(later, raw)
            places = {_place(first.where or "")}
            places.update(_place(p.where) for p in rest.finish())
            raise _counted(first, len(places)) from None
        tally = writer.take()
        ctx.audit(conn, "import", refs=tally.revised, details=tally.details())
    return tally.result(1)


def _pairs(
    records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
) -> Iterator[tuple[str, Any]]:
    for n, item in enumerate(records, start=1):
        yield item if isinstance(item, tuple) else (f"record {n}", item)


def _item(where: str, raw: Any, files: AttachmentSource | None) -> _Item:
    """A record as read, validated, with the evidence files it names (``files``)."""
    if isinstance(raw, Unreadable):
        raise raw.error
    paths = None
    if files is not None and isinstance(raw, dict) and "attachments" in raw:
        raw = dict(raw)
        paths = raw.pop("attachments")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InvalidInputError("field 'attachments' must list file paths", where=where)
    return _Item(where, validate_record(raw, where), paths)


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


def _refusal(problems: list[ImportProblem]) -> VaultError:
    """What a file with problems is refused with, nothing written: its first invalid
    line counted as a plain import counts them, else its first conflict."""
    invalid = [p for p in problems if p.kind == "invalid_input"]
    if invalid:
        first = invalid[0]
        return _counted(InvalidInputError(first.message, where=first.where), bad_places(problems))
    first = problems[0]
    more = bad_places(problems)
    counted = (
        f" ({more} conflicting lines in all, nothing imported; "
        "'evault import --check' lists every one)"
        if more > 1
        else ""
    )
    return ConflictError(f"{first.where}: {first.message}{counted}")


class _Writer:
    """Stores batches of an import in the caller's transaction, deciding for each
    record the vault holds already what becomes of it."""

    def __init__(
        self,
        ctx: Context,
        files: AttachmentSource | None,
        on_conflict: OnConflict,
        key: MatchKey,
        keep_identical: bool,
    ) -> None:
        self._ctx = ctx
        self._files = files
        self._on_conflict = on_conflict
        self._key = key
        self._keep_identical = keep_identical
        self.pending: dict[str, list[Pending]] = {}
        self._refs: set[str] = set()  # of this import's records
        self._sources: set[bytes] = set()
        self._tally = _Tally()
        # Stored records a check of this import found unchanged, at which version.
        self.unchanged_at: dict[str, int] = {}

    def checker(self, conn: Connection) -> precheck.Checker:
        """A checker that judges as this import does."""
        return precheck.Checker(
            self._ctx,
            conn,
            self._files,
            on_conflict=self._on_conflict,
            key=self._key,
            keep_identical=self._keep_identical,
        )

    def take(self) -> _Tally:
        """What the batches written since the last call did."""
        tally, self._tally = self._tally, _Tally()
        return tally

    def write(self, conn: Connection, items: list[_Item]) -> None:
        """Store a batch: new records, new versions, and nothing for the rest."""
        ctx = self._ctx
        refs = [ctx.codec.reference(i.record["id"]) for i in items]
        sources = [source_match(ctx, i.record) for i in items]
        for item, ref, source in zip(items, refs, sources, strict=True):
            self._once(item, ref, source)
        held_sources = self.held_sources(conn, [s for s in sources if s is not None])
        if self._key == "id":
            matched: list[str | None] = list(refs)
        else:
            matched = [held_sources.get(s) if s is not None else None for s in sources]
        names = {ref: str(item.record["id"]) for ref, item in zip(refs, items, strict=True)}
        held = revisions.stored(conn, [m for m in matched if m is not None], lock=True, names=names)
        # Matched by id, every new record's id was looked up just now.
        batch = Batch(ids_looked_up=self._key == "id")
        fresh: list[_Item] = []
        filed: list[tuple[_Item, str, str, bool]] = []  # item, ref, stored id, new
        for item, ref, source, match in zip(items, refs, sources, matched, strict=True):
            stored = held.get(match) if match is not None else None
            owner = held_sources.get(source) if source is not None else None
            if owner is not None and owner != (stored.row.ref if stored else ref):
                raise ConflictError(f"{item.shown}: {precheck.source_taken(item.record['id'])}")
            if stored is None:
                fresh.append(item)
                filed.append((item, ref, item.record["id"], True))
            elif (stored_id := self._revise(conn, batch, item, stored)) is not None:
                filed.append((item, stored.row.ref, stored_id, False))
        self._stage_new(conn, batch, fresh)
        bad = batch.flush(conn, self.pending)
        if bad:
            raise bad[0]
        for item, ref, record_id, new in filed:
            self._store_files(conn, item, ref, record_id, new)

    def _once(self, item: _Item, ref: str, source: bytes | None) -> None:
        """Refuse a record id, or a source key, that this import gave before."""
        rid = item.record["id"]
        if ref in self._refs:
            raise ConflictError(f"{item.shown}: record id {rid} appears twice in this import")
        self._refs.add(ref)
        if source is not None:
            if source in self._sources:
                raise ConflictError(
                    f"{item.shown}: record {rid}: its source_key appears twice in this import"
                )
            self._sources.add(source)
        elif self._key == "source_key":
            raise InvalidInputError(
                "field 'source_key' is required to match records by it (--key source_key)",
                where=item.shown,
            )

    def held_sources(self, conn: Connection, macs: list[bytes]) -> dict[bytes, str]:
        """The records of the vault that hold these source keys, by keyed index."""
        out: dict[bytes, str] = {}
        for i in range(0, len(macs), 500):
            rows = conn.execute(
                select(BlindIndexEntry.mac, BlindIndexEntry.record_ref).where(
                    BlindIndexEntry.kind == SOURCE_INDEX,
                    BlindIndexEntry.mac.in_(macs[i : i + 500]),
                )
            )
            out.update((bytes(mac), str(ref)) for mac, ref in rows)
        return out

    def _revise(
        self, conn: Connection, batch: Batch, item: _Item, stored: revisions.Stored
    ) -> str | None:
        """Decide for a record the vault holds; its id when a new version was staged."""
        ctx = self._ctx
        rid = item.record["id"]
        if not self._keep_identical:
            raise ConflictError(f"record {rid} already exists (use 'evault update')")
        if self.unchanged_at.get(stored.row.ref) == stored.latest.version:
            self._tally.unchanged += 1
            return None
        current = revisions.open_current(ctx, stored, None)
        if self._key == "source_key":
            precheck.check_source_owner(current.record, item.record, stored.row.ref)
        # Matched by source key, a record keeps the id it has in the vault.
        stored_id = str(current.record["id"])
        given = item.record | {"id": stored_id}
        if not revisions.changes(current, given, item.where):
            self._tally.unchanged += 1
            return None
        if self._on_conflict == "fail":
            raise ConflictError(f"{item.shown}: {precheck.differs(rid)}")
        if self._on_conflict == "skip":
            self._tally.skipped += 1
            return None
        validated, subject = revisions.revise(ctx, stored, current, given, [], item.where)
        revisions.stage_revision(ctx, conn, batch, stored, validated, subject, item.shown)
        self._tally.versions += 1
        self._tally.revised.append(stored.row.ref)
        return stored_id

    def count_new(self, by_type: Mapping[str, int]) -> None:
        """New records stored from batches sealed elsewhere (:meth:`seal_ahead`)."""
        for rtype, n in by_type.items():
            self._tally.by_type[rtype] = self._tally.by_type.get(rtype, 0) + n

    def seal_ahead(self, reading: _Reading, channel: forked.Channel, per: list[int]) -> None:
        """In a second process: read the file again and send each batch of its
        records checked and sealed as new records (as :meth:`write` stages them),
        for the first process to store."""
        ctx = self._ctx
        inherit(ctx.engine)
        # Workers given a new identity key in batches not yet committed: their later
        # testimonies share it (with the subjects the vault held for them then).
        # Workers stored before are found in the vault.
        fresh: dict[bytes, tuple[int, str, SecretKey, frozenset[str]]] = {}
        sizes = itertools.cycle(per)
        number = 0
        size = [0, 0]  # bytes read, bytes reported

        def note(n: int) -> None:
            size[0] += n

        with reading(note) as rows:
            pairs = _pairs(rows)
            ahead = next(pairs, None)
            while ahead is not None:
                chunk = [ahead, *itertools.islice(pairs, next(sizes) - 1)]
                ahead = next(pairs, None)  # whether this batch is the file's last
                number += 1
                heard = channel.heard()
                for mac in [m for m, held in fresh.items() if held[0] <= heard]:
                    del fresh[mac]
                items = [_item(where, raw, None) for where, raw in chunk]
                found = [source_match(ctx, i.record) for i in items]
                for item, source in zip(items, found, strict=True):
                    self._once(item, ctx.codec.reference(item.record["id"]), source)
                macs = [subject_mac(ctx, item.record) for item in items]
                batch = Batch(ids_looked_up=True)
                by_type: dict[str, int] = {}
                # One short read per batch: the first process's checkpoints go on.
                with Transaction(ctx.engine, write=False) as conn:
                    seen = subject_sets(ctx, conn, [m for m in macs if m not in fresh])
                    matches = chosen_subjects(seen)
                    subjects: dict[str, tuple[str, SecretKey] | None] = {}
                    for mac, (_n, subject_id, subject_key, before) in fresh.items():
                        matches[mac] = subject_id
                        subjects[subject_id] = (subject_id, subject_key)
                        seen[mac] = before
                    for item, match in zip(items, macs, strict=True):
                        stage_new(
                            ctx, conn, batch, item.record, item.shown, match, matches, subjects
                        )
                        rtype = item.record["type"]
                        by_type[rtype] = by_type.get(rtype, 0) + 1
                made = {row["id"] for row in batch.subjects}
                for mac, subject_id in matches.items():
                    subject = subjects.get(subject_id)
                    if subject_id in made and subject is not None:
                        fresh[mac] = (number, subject_id, subject[1], seen.get(mac, frozenset()))
                places = [(i.shown, s) for i, s in zip(items, found, strict=True) if s is not None]
                decided = [
                    (item.shown, mac, matches[mac], seen.get(mac, frozenset()))
                    for item, mac in zip(items, macs, strict=True)
                    if mac is not None
                ]
                read = size[0] - size[1]
                channel.send(
                    _Sealed(
                        number, batch, by_type, places, len(items), read, decided, ahead is None
                    )
                )
                size[1] = size[0]

    def _stage_new(self, conn: Connection, batch: Batch, fresh: list[_Item]) -> None:
        ctx = self._ctx
        # One query finds earlier testimonies of the same workers (same employee id
        # at the same site): they share one subject key, so erasure is one key.
        macs = [subject_mac(ctx, item.record) for item in fresh]
        matches = subject_matches(ctx, conn, macs)
        subjects: dict[str, tuple[str, SecretKey] | None] = {}
        for item, mac in zip(fresh, macs, strict=True):
            stage_new(ctx, conn, batch, item.record, item.shown, mac, matches, subjects)
            rtype = item.record["type"]
            self._tally.by_type[rtype] = self._tally.by_type.get(rtype, 0) + 1

    def _store_files(
        self, conn: Connection, item: _Item, ref: str, record_id: str, new: bool
    ) -> None:
        """Seal the files a new record or version names; a version does not store a
        file the record holds already."""
        if self._files is None or not item.files:
            return
        for n, relative in enumerate(item.files, start=1):
            with self._files.open(relative, item.where, n) as stream:
                name = PurePosixPath(relative).name
                if new:
                    attachments.store_logged(self._ctx, conn, ref, record_id, stream, name, None)
                else:
                    attachments.store_unless_held(self._ctx, conn, ref, record_id, stream, name)


_Reading = Callable[[ProgressCallback | None], contextlib.AbstractContextManager[Any]]


class _Chunked:
    """A file import on SQLite: checked whole, then written in chunks."""

    def __init__(
        self,
        ctx: Context,
        files: AttachmentSource | None,
        on_conflict: OnConflict,
        key: MatchKey,
        chunk_records: int,
        jobs: int = 1,
    ) -> None:
        self._ctx = ctx
        self._files = files
        self._jobs = jobs
        self._writer = _Writer(ctx, files, on_conflict, key, True)
        self._pacer = Pacer(
            lambda: checkpoint_passive(ctx.engine),
            lambda: writers_waiting(ctx.engine),
            records=max(1, chunk_records),
        )
        self._total = _Tally()
        self._chunks = 0
        # The line read after a chunk ended, to tell whether it was the file's last.
        self._ahead: tuple[str, Any] | None = None

    def run(
        self,
        reading: _Reading,
        progress: ProgressCallback | None,
        read_progress: ProgressCallback | None,
    ) -> ImportResult:
        all_new = self._check(reading)
        if all_new and self._jobs > 1 and self._files is None and forked.usable():
            return self._run_forked(reading, progress, read_progress)
        with reading(read_progress) as rows:
            pairs = _pairs(rows)
            try:
                while self._chunk(pairs, progress):
                    self._pacer.pause()
            except VaultError as exc:
                if self._chunks:
                    raise self._partial(exc) from None
                raise
        return self._total.result(self._chunks)

    def _check(self, reading: _Reading) -> bool:
        """The whole file, as ``import --check`` reads it: refused if anything is
        wrong; True if every record of it is new to the vault."""
        with self._ctx.read() as conn, reading(None) as rows:
            checker = self._writer.checker(conn)
            for where, raw in rows:
                checker.read(where, raw)
            problems = checker.finish()
        if problems:
            raise _refusal(problems)
        self._writer.unchanged_at = checker.unchanged_at
        return not (checker.unchanged or checker.skipped or checker.versions)

    def _run_forked(
        self,
        reading: _Reading,
        progress: ProgressCallback | None,
        read_progress: ProgressCallback | None,
    ) -> ImportResult:
        """Pass two with a second process: it reads the file again, checks and seals
        its records (:meth:`_Writer.seal_ahead`), and this one stores them chunk by
        chunk."""
        kek_version = self._ctx.codec.kek_version
        writer = self._writer
        # Batches that add up to a chunk exactly, so that chunks end where they would
        # in one process (a chunk ends between batches, and holds at most this many).
        records = self._pacer.records
        k = -(-records // _CHUNK_BATCH)
        per = [records // k + (i < records % k) for i in range(k)]
        with forked.Forked(lambda channel: writer.seal_ahead(reading, channel, per)) as helper:
            carried: list[_Sealed] = []
            try:
                while self._forked_chunk(helper, carried, kek_version, progress, read_progress):
                    self._pacer.pause()
            except VaultError as exc:
                if isinstance(exc, TamperedRowError):
                    # Refused by the second process: recorded here, as one process does.
                    self._ctx.log_refusal(exc)
                if self._chunks:
                    raise self._partial(exc) from None
                raise
        return self._total.result(self._chunks)

    def _forked_chunk(
        self,
        helper: forked.Forked,
        carried: list[_Sealed],
        kek_version: int,
        progress: ProgressCallback | None,
        read_progress: ProgressCallback | None,
    ) -> bool:
        """Store and commit the next chunk of sealed batches; False once through.

        The write lock is held only while batches arrive: a chunk whose next batch
        is late ends early (where it may end), and the next waits outside any
        transaction. A batch that would take the chunk past its records goes to the
        next chunk (``carried``)."""
        ctx, writer, pacer = self._ctx, self._writer, self._pacer
        message: Any = carried.pop() if carried else helper.receive()
        if message is None and self._chunks:
            return False
        read = 0
        last = 0
        with ctx.write() as conn:
            pacer.begin()
            ctx.refresh_key_version(conn)
            if ctx.codec.kek_version != kek_version:
                # The batches were sealed under the keys of the import's start.
                raise ConflictError(
                    "the vault's keys were rotated during this import: changed concurrently, retry"
                )
            while message is not None:
                if message is forked.WAITING:
                    # References were looked up again just before this wait.
                    if not writer.pending:
                        break  # end the chunk here rather than hold the lock
                    raise VaultError(
                        f"the import's second process sent nothing for {_QUIET_SECONDS:.0f} "
                        "seconds while this chunk waited for it"
                    )
                if read and read + message.count > pacer.records and not writer.pending:
                    carried.append(message)
                    break
                self._store_sealed(conn, message)
                if read_progress:
                    read_progress(message.read)
                read += message.count
                last = message.number
                if message.final:
                    message = None  # the file is through: this chunk is the last
                    break
                # A chunk ends where everything it refers to is stored; references a
                # later batch answered are looked up before any wait, too.
                bad = resolve_pending(conn, writer.pending, final=False)
                if bad:
                    raise bad[0]
                if pacer.due(read) and not writer.pending:
                    break
                message = helper.receive(timeout=_QUIET_SECONDS if writer.pending else pacer.left())
            more = message is not None
            tally = self._end_chunk(conn, more)
        if last:
            helper.acknowledge(last)
        self._committed(tally, read, progress)
        return more

    def _store_sealed(self, conn: Connection, message: _Sealed) -> None:
        """Store a batch sealed in the second process, once what it was sealed
        against still holds: no source key and no worker's subjects changed since."""
        writer = self._writer
        taken = writer.held_sources(conn, [mac for _where, mac in message.sources])
        for where, mac in message.sources:
            if mac in taken:
                raise ConflictError(
                    f"{where}: a record with the same source_key was stored by "
                    "another writer meanwhile: changed concurrently, retry"
                )
        if message.subjects:
            now = subject_sets(
                self._ctx, conn, [mac for _where, mac, _sid, _seen in message.subjects]
            )
            made = {str(row["id"]) for row in message.batch.subjects}
            for where, mac, sid, seen in message.subjects:
                # The worker's live keys, as this transaction finds them.
                held = now.get(mac, frozenset())
                # A subject another writer gave this worker since; or the key chosen
                # no longer theirs (erased, or its testimonies moved to another
                # worker): the choice was made against what no longer holds.
                if (held - seen) - {sid} or (sid not in made and sid not in held):
                    raise ConflictError(
                        f"{where}: another writer stored or erased a testimony of the same "
                        "worker meanwhile: changed concurrently, retry"
                    )
        bad = message.batch.flush(conn, writer.pending)
        if bad:
            raise bad[0]
        writer.count_new(message.by_type)

    def _chunk(self, pairs: Iterator[tuple[str, Any]], progress: ProgressCallback | None) -> bool:
        """Write and commit the next chunk; False once the file is through."""
        ctx, writer, pacer = self._ctx, self._writer, self._pacer
        first, self._ahead = self._ahead or next(pairs, None), None
        if first is None and self._chunks:
            return False  # the file ended with the chunk before (an empty file: one)
        read = 0
        more = True
        cut = 0  # where the chunk may end next
        with ctx.write() as conn:
            pacer.begin()
            ctx.refresh_key_version(conn)
            staged: list[_Item] = []
            for where, raw in itertools.chain([first] if first else [], pairs):
                staged.append(_item(where, raw, self._files))
                read += 1
                due = read >= cut and pacer.due(read)
                if len(staged) >= _CHUNK_BATCH or due:
                    batch, staged = staged, []
                    writer.write(conn, batch)
                if due:
                    # A chunk ends where everything it refers to is stored; else it
                    # reads on, and tries again a few records later.
                    bad = resolve_pending(conn, writer.pending, final=False)
                    if bad:
                        raise bad[0]
                    if not writer.pending:
                        # A file that ends here ends with this chunk: its audit
                        # entry is the import's last.
                        self._ahead = next(pairs, None)
                        more = self._ahead is not None
                        break
                    cut = read + max(1, pacer.records // 10)
            else:
                more = False
            if staged:
                writer.write(conn, staged)
            tally = self._end_chunk(conn, more)
        self._committed(tally, read, progress)
        return more

    def _end_chunk(self, conn: Connection, more: bool) -> _Tally:
        """A chunk's last step: with the file through, every reference must resolve;
        then what the chunk did goes to the audit log, in its transaction."""
        writer = self._writer
        if not more:
            bad = resolve_pending(conn, writer.pending, final=True)
            if bad:
                raise bad[0]
        tally = writer.take()
        details = tally.details() | {"chunk": self._chunks + 1, "last": not more}
        self._ctx.audit(conn, "import", refs=tally.revised, details=details)
        return tally

    def _committed(self, tally: _Tally, read: int, progress: ProgressCallback | None) -> None:
        """Count a chunk once its transaction committed, and report its records."""
        self._chunks += 1
        self._total.add(tally)
        if progress:
            progress(read)

    def _partial(self, exc: VaultError) -> VaultError:
        """``exc``, saying what the chunks before it committed and how to finish."""
        done = self._total.result(self._chunks)
        stored = done.count + done.versions
        exc.args = (
            f"{exc} ({stored} records were committed in {done.chunks} "
            f"chunk{'s' if done.chunks != 1 else ''} before this, the rest was not; "
            "run the same import again to finish: records stored already are counted "
            "unchanged)",
        )
        return exc
