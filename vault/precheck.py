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
* The same checker counts the rest of a file after an import's first bad line
  (:mod:`vault.ingest`), so an import and a check agree on what is bad.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

from sqlalchemy import Connection, select

from vault.context import Context, ProgressCallback
from vault.errors import ConflictError, InvalidInputError, VaultError
from vault.filesource import AttachmentSource, open_media
from vault.schema import validate_record
from vault.sources import STDIN, CsvOptions, Unreadable, open_records, position
from vault.store import Record

__all__ = ["Checker", "ImportCheck", "ImportProblem", "check_file"]

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


@dataclass(frozen=True, slots=True)
class ImportCheck:
    """What importing a file would do, found without writing anything."""

    source: str
    records: int
    """Records read (bad ones included)."""
    by_type: dict[str, int]
    """Records that passed their own checks, by type."""
    problems: list[ImportProblem] = field(default_factory=list)

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
            return (
                f"{self.source}: {self.records} records ({parts or 'none'}) would be "
                "imported; nothing was written"
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
        self, ctx: Context, conn: Connection, files: AttachmentSource | None = None
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._files = files
        self.records = 0
        self.by_type: dict[str, int] = {}
        self._problems: list[tuple[int, ImportProblem]] = []
        self._seen: dict[str, str] = {}  # keyed reference -> type, of the input's records
        self._fresh: dict[str, tuple[int, str, str]] = {}  # to ask the vault: held already?
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
        if ref in self._seen:
            self._add(seq, shown, f"record id {rid} appears twice in this import", "id", "conflict")
        else:
            self.known(ref, rtype)
            self._fresh[ref] = (seq, shown, rid)
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
        for ref, (seq, shown, rid) in self._fresh.items():
            if ref in held:
                self._add(
                    seq,
                    shown,
                    f"record {rid} already exists (use 'evault update')",
                    "id",
                    "conflict",
                )
        self._fresh.clear()
        for ref, wants in self._ask.items():
            rtype = held.get(ref) or self._seen.get(ref)
            if rtype is None:
                self._open.setdefault(ref, []).extend(wants)
            else:
                for want in wants:
                    self._answer(want, rtype)
        self._ask.clear()

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

    def _problem(self, where: str, exc: InvalidInputError) -> None:
        """A problem from an error raised at ``where`` (a reader's place)."""
        full = exc.where or where
        message = str(exc).removeprefix(f"{full}: ") if exc.where else str(exc)
        self._add(self.records, full, message, None)

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
        checker = Checker(ctx, conn, attached)
        for where, raw in rows:
            checker.read(where, raw)
        problems = checker.finish()
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else STDIN)
    return ImportCheck(
        source=label,
        records=checker.records,
        by_type=dict(sorted(checker.by_type.items())),
        problems=problems,
    )
