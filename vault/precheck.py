"""Checking an import without writing anything: every bad line of a file, in one pass.

Invariants:

* Nothing is written: no record, no file, no audit entry. The vault is only asked
  which keyed references it holds, and of what type.
* One pass over the input (a path or a stream such as standard input), in memory
  that does not grow with the file apart from the keyed references of the records
  read and the references (``site_id``, ``evidence``) no record has answered yet.
* Every problem is one line naming the file, the line (the record's number in a JSON
  array), the record id when it has a valid one, and the field; what is wrong is said
  as the import would say it, never with a value. A line with several problems is
  listed once per problem; a record's own fields stop at the first fault, as they
  do in an import.
* A reference to a record that neither the input nor the vault holds is reported at
  the line that makes it once the whole input has been read, since a later line may
  supply it; a reference to a record of the wrong type is reported as soon as it is
  seen.
* The same checker counts the rest of a file after an import's first bad line, and
  checks a file whole before an import writes it in chunks (:mod:`vault.ingest`),
  so an import and a check agree on what is bad.
* A record the vault holds already (same id; or same source key, matching by it)
  is opened and compared as the import would compare it
  (:func:`vault.revisions.changes`): unchanged, it is counted and is no problem;
  otherwise it is a conflict (``--on-conflict fail``), counted as skipped, or checked
  as the new version it would become. Nothing opened is returned or said.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

from sqlalchemy import Connection, select

from vault import revisions
from vault.context import Context, ProgressCallback
from vault.errors import ConflictError, InvalidInputError, TamperedRowError, VaultError
from vault.filesource import AttachmentSource, open_media
from vault.records import SOURCE_INDEX
from vault.schema import validate_record
from vault.sources import STDIN, CsvOptions, Unreadable, open_records, position
from vault.staging import source_match
from vault.store import BlindIndexEntry, Record

__all__ = [
    "Checker",
    "ImportCheck",
    "ImportProblem",
    "bad_places",
    "check_file",
    "check_source_owner",
    "differs",
    "source_taken",
]

_LOOKUP: Final = 500  # keyed references per look-up in the vault
_FIELD: Final = re.compile(
    r"(?:unknown )?(?:field|column)(?: under)? '(?P<quoted>[^']+)'|field (?P<bare>\S+\[\d+\])"
)
# The survey column a mapped CSV row's field came from, as the mapping names it.
_COLUMN: Final = re.compile(r"\(columns? '(?P<column>[^']+)'")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing wrong with one line (or JSON array item) of an import file."""

    where: str
    """The place as an import's error names it: file, line or record, record id."""
    message: str
    """What is wrong, naming the field, never its value."""
    file: str
    line: int | None
    """The line of a JSON Lines or CSV file; None in a JSON array."""
    record: int | None
    """The item's number in a JSON array; None in JSON Lines and CSV."""
    id: str | None
    """The record's id, when it has a valid one."""
    field: str | None
    kind: str = "invalid_input"
    """``invalid_input`` (exit 5 in an import) or ``conflict``: the id exists in the
    vault already or repeats in the file (exit 7)."""
    column: str | None = None
    """The CSV column of a survey mapping that the field came from, when known."""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "record": self.record,
            "id": self.id,
            "field": self.field,
            "column": self.column,
            "kind": self.kind,
            "message": self.message,
            "where": self.where,
        }


def check_source_owner(held: Mapping[str, Any], given: Mapping[str, Any], ref: str) -> None:
    """A record found by the keyed index of a source key must hold that source key
    itself: an index row moved onto another record would make a survey's later
    download rewrite someone else's testimony."""
    if held.get("source_key") != given.get("source_key"):
        raise TamperedRowError(
            f"integrity check failed for record ref {ref[:12]} (its source key's index "
            "entry); `evault check` names what was changed",
            table="blind_index",
        )


def differs(record_id: str) -> str:
    """What an import says of a record the vault holds with other content."""
    return (
        f"record {record_id} already exists and this import differs from it "
        "(--on-conflict skip or new-version, or 'evault update')"
    )


def source_taken(record_id: str) -> str:
    """What an import says of a source key another stored record has."""
    return f"record {record_id}: its source_key is another record's in the vault"


@dataclass(frozen=True, slots=True)
class ImportCheck:
    """What importing a file would do, found without writing anything."""

    source: str
    records: int
    """Records read (bad ones included)."""
    by_type: dict[str, int]
    """Records that passed their own checks, by type."""
    problems: list[ImportProblem] = field(default_factory=list)
    unchanged: int = 0
    """Records the vault holds already that the import would not change."""
    skipped: int = 0
    """Records the vault holds with other content, which ``skip`` would skip."""
    versions: int = 0
    """Records the vault holds with other content, which ``new-version`` would
    store as new versions."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad(self) -> int:
        """How many lines (JSON array items) have at least one problem."""
        return bad_places(self.problems)

    def summary(self) -> str:
        """One line: how many records, and how many of them bad."""
        if self.ok:
            parts = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items()))
            held = [
                f"{n} {what}"
                for n, what in (
                    (self.versions, "would be new versions"),
                    (self.unchanged, "stored already, unchanged"),
                    (self.skipped, "would be skipped"),
                )
                if n
            ]
            if not held:
                return (
                    f"{self.source}: {self.records} records ({parts or 'none'}) would be "
                    "imported; nothing was written"
                )
            new = self.records - self.unchanged - self.skipped - self.versions
            return (
                f"{self.source}: {self.records} records ({parts}): {new} would be imported, "
                f"{', '.join(held)}; nothing was written"
            )
        unit = _unit(self.problems)
        bad, found = self.bad, len(self.problems)
        problems = f", {found} problems" if found != bad else ""
        return (
            f"{self.source}: {bad} bad {unit}{'s' if bad != 1 else ''} of {self.records}"
            f"{problems}; nothing was written"
        )

    def raise_for_problems(self) -> None:
        """Raise what an import of the file would fail with (summarised): an
        :class:`InvalidInputError` when any record breaks the contract, else a
        :class:`ConflictError` (ids that exist already or repeat). Nothing when clean."""
        if self.ok:
            return
        error: VaultError
        if any(p.kind == "invalid_input" for p in self.problems):
            error = InvalidInputError(self.summary())
        else:
            error = ConflictError(self.summary())
        raise error


def bad_places(problems: list[ImportProblem]) -> int:
    return len({(p.file, p.line, p.record) if p.line or p.record else p.where for p in problems})


def _unit(problems: list[ImportProblem]) -> str:
    return "record" if any(p.record is not None for p in problems) else "line"


@dataclass(frozen=True, slots=True)
class _Fresh:
    """A record of the input whose id the vault is still to be asked about."""

    seq: int
    where: str  # the reader's place
    shown: str  # the place and the record id
    record: dict[str, Any]
    source: bytes | None  # its source key's keyed index

    def __repr__(self) -> str:
        return f"_Fresh(seq={self.seq})"


@dataclass(frozen=True, slots=True)
class _Ref:
    """A reference one record makes, not yet answered."""

    seq: int
    where: str
    field: str
    expected: str


class Checker:
    """Checks records one by one, as an import of them would, without writing.

    ``read`` takes each ``(where, raw)`` a reader yields; ``accept``, ``known`` and
    ``expect`` let an import that failed hand over what it had already read;
    ``finish`` answers the references still open and returns every problem, in the
    order of the input.
    """

    def __init__(
        self,
        ctx: Context,
        conn: Connection,
        files: AttachmentSource | None = None,
        *,
        on_conflict: str = "fail",
        key: str = "id",
        keep_identical: bool = True,
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._files = files
        self._on_conflict = on_conflict
        self._key = key
        self._keep_identical = keep_identical
        self.records = 0
        self.by_type: dict[str, int] = {}
        self.unchanged = self.skipped = self.versions = 0
        # Stored records found unchanged, with the version compared: versions never
        # change, so an import that writes after this check need not open them again.
        self.unchanged_at: dict[str, int] = {}
        self._problems: list[tuple[int, ImportProblem]] = []
        self._seen: dict[str, str] = {}  # keyed reference -> type, of the input's records
        self._sources: set[bytes] = set()  # keyed source keys of the input's records
        self._fresh: dict[str, _Fresh] = {}  # to ask the vault: held already?
        self._ask: dict[str, list[_Ref]] = {}  # references to ask the vault about
        self._open: dict[str, list[_Ref]] = {}  # references the vault does not answer

    # Input ---------------------------------------------------------------------------

    def read(self, where: str, raw: Any) -> None:
        """Check one item a reader yielded."""
        self.records += 1
        if isinstance(raw, Unreadable):
            self._problem(where, raw.error)
            return
        if self._files is not None and isinstance(raw, dict) and "attachments" in raw:
            raw = dict(raw)
            self._check_files(where, raw.pop("attachments"))
        try:
            record = validate_record(raw, where)
        except InvalidInputError as exc:
            self._problem(where, exc)
            return
        self.accept(where, record)

    def accept(self, where: str, record: Mapping[str, Any]) -> None:
        """Note a record that passed its own checks: its id and its references."""
        seq = self.records
        rtype, rid = record["type"], record["id"]
        self.by_type[rtype] = self.by_type.get(rtype, 0) + 1
        shown = f"{where}, record {rid}"
        ref = self._ctx.codec.reference(rid)
        source = source_match(self._ctx, record)
        if ref in self._seen:
            self._add(seq, shown, f"record id {rid} appears twice in this import", "id", "conflict")
        else:
            self.known(ref, rtype)
            if source is not None and source in self._sources:
                message = f"record {rid}: its source_key appears twice in this import"
                self._add(seq, shown, message, "source_key", "conflict")
            elif source is None and self._key == "source_key":
                message = "field 'source_key' is required to match records by it (--key source_key)"
                self._add(seq, shown, message, "source_key")
            else:
                if source is not None:
                    self._sources.add(source)
                self._fresh[ref] = _Fresh(seq, where, shown, dict(record), source)
        if rtype != "site":
            self._want(record["site_id"], _Ref(seq, shown, "site_id", "site"))
        if rtype == "finding":
            for target in dict.fromkeys(record.get("evidence") or ()):
                self._want(target, _Ref(seq, shown, "evidence", "testimony"))
        if len(self._fresh) >= _LOOKUP or len(self._ask) >= _LOOKUP:
            self._look_up()

    def known(self, ref: str, rtype: str) -> None:
        """A record of the input, by keyed reference: it answers references to it."""
        self._seen[ref] = rtype
        for want in self._open.pop(ref, ()):
            self._answer(want, rtype)

    def expect(self, target_ref: str, where: str, field_name: str, expected: str) -> None:
        """A reference made before this checker took over (see vault.ingest)."""
        self._pending(target_ref, _Ref(0, where, field_name, expected))

    def finish(self) -> list[ImportProblem]:
        """Answer every reference still open, and return all problems in input order."""
        self._look_up()
        for wants in self._open.values():
            for want in wants:
                self._add(
                    want.seq,
                    want.where,
                    f"field {want.field!r} refers to a {want.expected} that is not "
                    "in the vault or this import",
                    want.field,
                )
        self._open.clear()
        self._problems.sort(key=lambda item: item[0])
        return [problem for _seq, problem in self._problems]

    # References ----------------------------------------------------------------------

    def _want(self, target: str, want: _Ref) -> None:
        self._pending(self._ctx.codec.reference(target), want)

    def _pending(self, ref: str, want: _Ref) -> None:
        rtype = self._seen.get(ref)
        if rtype is not None:
            self._answer(want, rtype)
        else:
            self._ask.setdefault(ref, []).append(want)

    def _answer(self, want: _Ref, rtype: str) -> None:
        if rtype != want.expected:
            self._add(
                want.seq,
                want.where,
                f"field {want.field!r} must refer to a {want.expected}",
                want.field,
            )

    def _look_up(self) -> None:
        """Ask the vault about the input's new ids and the references still open."""
        asked = list(self._ask) + [r for r in self._fresh if r not in self._ask]
        held: dict[str, str] = {}
        for i in range(0, len(asked), _LOOKUP):
            chunk = asked[i : i + _LOOKUP]
            rows = self._conn.execute(
                select(Record.ref, Record.type).where(Record.ref.in_(chunk))
            ).all()
            held.update((str(ref), str(rtype)) for ref, rtype in rows)
        self._judge_held(held)
        self._fresh.clear()
        for ref, wants in self._ask.items():
            rtype = held.get(ref) or self._seen.get(ref)
            if rtype is None:
                self._open.setdefault(ref, []).extend(wants)
            else:
                for want in wants:
                    self._answer(want, rtype)
        self._ask.clear()

    def _judge_held(self, held: dict[str, str]) -> None:
        """The input's new records that the vault holds already: the same (counted),
        or what the import would make of them."""
        macs = [f.source for f in self._fresh.values() if f.source is not None]
        owners: dict[bytes, str] = {}
        if macs:
            rows = self._conn.execute(
                select(BlindIndexEntry.mac, BlindIndexEntry.record_ref).where(
                    BlindIndexEntry.kind == SOURCE_INDEX, BlindIndexEntry.mac.in_(macs)
                )
            )
            owners = {bytes(mac): str(ref) for mac, ref in rows}
        matched: dict[str, str] = {}  # input's reference -> the stored record's
        for ref, fresh in self._fresh.items():
            rid = fresh.record["id"]
            owner = owners.get(fresh.source) if fresh.source is not None else None
            match = ref if self._key == "id" and ref in held else None
            if self._key == "source_key":
                match = owner
            if owner is not None and owner != (match or ref):
                self._add(fresh.seq, fresh.shown, source_taken(rid), "source_key", "conflict")
            elif match is not None:
                matched[ref] = match
            elif ref in held:
                message = f"record {rid} already exists (use 'evault update')"
                self._add(fresh.seq, fresh.shown, message, "id", "conflict")
        if not matched:
            return
        if not self._keep_identical:
            for ref in matched:
                fresh = self._fresh[ref]
                message = f"record {fresh.record['id']} already exists (use 'evault update')"
                self._add(fresh.seq, fresh.shown, message, "id", "conflict")
            return
        stored = revisions.stored(self._conn, matched.values(), lock=False)
        for ref, match in matched.items():
            self._judge(self._fresh[ref], stored[match])

    def _judge(self, fresh: _Fresh, stored: revisions.Stored) -> None:
        ctx = self._ctx
        current = revisions.open_current(ctx, stored, None)
        if self._key == "source_key":
            check_source_owner(current.record, fresh.record, stored.row.ref)
        given = fresh.record | {"id": current.record["id"]}
        if not revisions.changes(current, given, fresh.where):
            self.unchanged += 1
            self.unchanged_at[stored.row.ref] = int(stored.latest.version)
        elif self._on_conflict == "fail":
            self._add(fresh.seq, fresh.shown, differs(fresh.record["id"]), "id", "conflict")
        elif self._on_conflict == "skip":
            self.skipped += 1
        else:
            try:
                revisions.revise(ctx, stored, current, given, [], fresh.where)
            except InvalidInputError as exc:
                self._problem(fresh.where, exc, fresh.seq)
            else:
                self.versions += 1

    # Evidence files ------------------------------------------------------------------

    def _check_files(self, where: str, paths: Any) -> None:
        assert self._files is not None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            message = "field 'attachments' must list file paths"
            self._problem(where, InvalidInputError(message, where=where))
            return
        for item, relative in enumerate(paths, start=1):
            try:
                with self._files.open(relative, where, item):
                    pass
            except InvalidInputError as exc:
                self._problem(where, exc)

    # Problems ------------------------------------------------------------------------

    def _problem(self, where: str, exc: InvalidInputError, seq: int | None = None) -> None:
        """A problem from an error raised at ``where`` (a reader's place)."""
        full = exc.where or where
        message = str(exc).removeprefix(f"{full}: ") if exc.where else str(exc)
        self._add(self.records if seq is None else seq, full, message, None)

    def _add(
        self,
        seq: int,
        where: str,
        message: str,
        field_name: str | None,
        kind: str = "invalid_input",
    ) -> None:
        place, _, rid = where.partition(", record ")
        file, line, record = position(place)
        if field_name is None:
            match = _FIELD.match(message)
            field_name = (match["quoted"] or match["bare"]) if match else None
        column = _COLUMN.search(message)
        problem = ImportProblem(
            where=where,
            message=message,
            file=file,
            line=line,
            record=record,
            id=rid or None,
            field=field_name,
            kind=kind,
            column=column["column"] if column else None,
        )
        self._problems.append((seq, problem))


def check_file(
    ctx: Context,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None,
    name: str | None,
    files: str | os.PathLike[str] | None,
    read_progress: ProgressCallback | None,
    csv_options: CsvOptions | None = None,
    on_conflict: str = "fail",
    key: str = "id",
) -> ImportCheck:
    """Check a file or stream (see :func:`vault.sources.open_records`) as an import
    of it would, and the evidence files it names in ``files``; nothing is written."""
    ctx.require("admin", "custodian")
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
        conn = stack.enter_context(ctx.read())
        checker = Checker(ctx, conn, attached, on_conflict=on_conflict, key=key)
        for where, raw in rows:
            checker.read(where, raw)
        problems = checker.finish()
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else STDIN)
    return ImportCheck(
        source=label,
        records=checker.records,
        by_type=dict(sorted(checker.by_type.items())),
        problems=problems,
        unchanged=checker.unchanged,
        skipped=checker.skipped,
        versions=checker.versions,
    )
