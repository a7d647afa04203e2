"""Streaming readers for import files: JSON Lines, a JSON array, or CSV.

Each reader yields ``(where, raw_record)`` one record at a time, so memory does not
grow with the file. ``where`` names the file and line (JSONL, CSV) or the record
number (JSON array) for error messages. A malformed file raises
:class:`~vault.errors.InvalidInputError` naming the place; the value is never quoted.

CSV columns use dotted names (``worker.name``). A cell left empty means the field is
absent. List fields take a JSON array (``["wages","harassment"]``) or values
separated by ``;``; ``persons_mentioned`` takes a JSON array of objects.

:func:`read_one` reads one whole JSON document (a record to add or update) with the
same error rules; it reads the document whole rather than streaming it.

Read with ``recover=True``, a reader does not stop at a record it cannot read: it
yields ``(where, Unreadable(error))`` in its place and goes on with the next line
(JSON Lines, CSV) or array item (a JSON array nested too deep), so that a check can
list every bad line in one pass, and an import can count them after the first.
What leaves no next record to find (malformed or truncated JSON in an array, a bad
CSV header, bytes that are not UTF-8 in a CSV file) is yielded last.

JSON may nest at most :data:`MAX_DEPTH` (32) levels of arrays and objects, counting
the record itself as the first (the record contract needs four); deeper input is an
:class:`~vault.errors.InvalidInputError` "nested too deep" naming the place. The
depth is checked before a parser builds anything: Python's ``json`` recurses (a
RecursionError past about a thousand levels) and ijson's ``items`` keeps a prefix
per level (memory that grows with the square of the depth), so text is scanned
first and a JSON array is read from ijson's ``basic_parse`` events, which carry no
prefix, and built here, so that memory stays bounded whatever the nesting.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, cast

import ijson

from vault.errors import InvalidInputError
from vault.schema import FIELDS

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "STDIN",
    "Unreadable",
    "detect_format",
    "open_records",
    "position",
    "read_one",
    "read_records",
]

FORMATS: Final = ("jsonl", "json", "csv")
MAX_RECORD_BYTES: Final = 4 * 1024 * 1024
MAX_DEPTH: Final = 32
"""Levels of arrays and objects a record may nest, the record itself being one."""
_SUFFIXES: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
STDIN: Final = "<stdin>"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """In place of a record a reader could not read (with ``recover=True``): the
    error names the place and what is wrong."""

    error: InvalidInputError


_POSITION: Final = re.compile(r"(?P<file>.*?)(?::line (?P<line>\d+)|: record (?P<record>\d+))")


def position(where: str) -> tuple[str, int | None, int | None]:
    """The file, line (JSON Lines, CSV) and record number (JSON) that a reader's
    ``where`` names; line and record are None where it names neither."""
    match = _POSITION.fullmatch(where)
    if match is None:
        return where, None, None
    line, record = match["line"], match["record"]
    return (
        match["file"],
        int(line) if line is not None else None,
        int(record) if record is not None else None,
    )


def detect_format(name: str) -> str:
    fmt = _SUFFIXES.get(Path(name).suffix.lower())
    if fmt is None:
        raise InvalidInputError(
            "cannot tell the format from the file name; pass --format jsonl, json or csv",
            where=name,
        )
    return fmt


@contextlib.contextmanager
def open_records(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None = None,
    name: str | None = None,
    read_progress: Callable[[int], None] | None = None,
    recover: bool = False,
) -> Iterator[Iterator[tuple[str, Any]]]:
    """``(where, raw_record)`` pairs from a file path or a binary stream.

    A path's format comes from its suffix unless ``fmt`` says otherwise. A stream is
    named ``name`` (default ``<stdin>``); a name without a suffix reads as JSON Lines.
    ``read_progress`` is called with the number of bytes of each read. An unreadable
    file is an :class:`InvalidInputError` (exit 5) naming it. With ``recover``, a
    record that cannot be read is yielded as :class:`Unreadable` (see above).
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        fmt = fmt or detect_format(label)
        try:
            stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidInputError(f"cannot read: {exc.strerror}", where=label) from None
    else:
        label = name or STDIN
        fmt = fmt or (detect_format(label) if Path(label).suffix else "jsonl")
        stream = contextlib.nullcontext(source)  # type: ignore[assignment]
    with stream as opened:
        reader = opened
        if read_progress is not None:
            reader = cast(IO[bytes], _Counting(opened, read_progress))
        with contextlib.closing(read_records(reader, label, fmt, recover=recover)) as rows:
            yield rows


def read_one(
    source: str | os.PathLike[str] | IO[bytes], *, name: str | None = None
) -> tuple[str, Any]:
    """``(where, raw_document)``: one whole JSON document (a record to add or update)
    from a file path or a binary stream.

    A stream is named ``name`` (default ``<stdin>``). An unreadable file, bytes that
    are not UTF-8 and malformed JSON are each an :class:`InvalidInputError` naming
    the source (and for JSON the line and column), never quoting the content.
    """
    read: Callable[[], bytes]
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        read = Path(source).read_bytes
    else:
        label = name or STDIN
        read = source.read
    try:
        text = read().decode("utf-8-sig")
        _check_depth(text, label)
        return label, json.loads(text)
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=label) from None
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=label) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=label
        ) from None


class _Counting:
    """A binary stream that reports how many bytes each read returned."""

    def __init__(self, stream: IO[bytes], report: Callable[[int], None]) -> None:
        self._stream = stream
        self._report = report

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._report(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self._report(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def read_records(
    stream: IO[bytes], name: str, fmt: str, *, recover: bool = False
) -> Generator[tuple[str, Any]]:
    """Yield ``(where, raw_record)`` from a binary stream in the given format; with
    ``recover``, ``(where, Unreadable(error))`` for a record that cannot be read."""
    if fmt == "jsonl":
        yield from _read_jsonl(stream, name, recover)
    elif fmt == "json":
        yield from _read_json(stream, name, recover)
    elif fmt == "csv":
        yield from _read_csv(stream, name, recover)
    else:
        raise InvalidInputError(f"unknown format {fmt!r}; use jsonl, json or csv", where=name)


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig" if where.endswith(":line 1") else "utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=where) from None


_BLANK: Final = object()


def _read_jsonl(stream: IO[bytes], name: str, recover: bool) -> Iterator[tuple[str, Any]]:
    lineno = 0
    while True:
        raw = stream.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return
        lineno += 1
        where = f"{name}:line {lineno}"
        try:
            value = _jsonl_value(raw, where)
        except InvalidInputError as exc:
            if not recover:
                raise
            # The rest of a line too long to read is skipped, never held.
            while not raw.endswith(b"\n") and raw:
                raw = stream.readline(MAX_RECORD_BYTES + 1)
            yield where, Unreadable(exc)
            continue
        if value is not _BLANK:
            yield where, value


def _jsonl_value(raw: bytes, where: str) -> Any:
    """The JSON value of one line, or _BLANK for a blank line."""
    if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
        raise InvalidInputError(f"line longer than {MAX_RECORD_BYTES} bytes", where=where)
    text = _decode(raw, where).strip()
    if not text:
        return _BLANK
    _check_depth(text, where)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        msg = getattr(exc, "msg", "malformed JSON")
        col = getattr(exc, "colno", None)
        at = f" at column {col}" if col else ""
        hint = " (truncated?)" if not raw.endswith(b"\n") else ""
        raise InvalidInputError(f"malformed JSON{at}: {msg}{hint}", where=where) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_json(stream: IO[bytes], name: str, recover: bool) -> Iterator[tuple[str, Any]]:
    try:
        yield from _json_records(stream, name, recover)
    except InvalidInputError as exc:
        if not recover:
            raise
        yield exc.where or name, Unreadable(exc)


def _json_records(stream: IO[bytes], name: str, recover: bool) -> Iterator[tuple[str, Any]]:
    index = 0
    try:
        head = stream.read(1)
        while head and head.isspace():
            head = stream.read(1)
        if head == b"\xef":  # UTF-8 byte order mark
            stream.read(2)
            head = stream.read(1)
        if head == b"{":
            # A single object is one record.
            rest = stream.read(MAX_RECORD_BYTES + 1)
            if len(rest) > MAX_RECORD_BYTES:
                raise InvalidInputError(
                    f"record larger than {MAX_RECORD_BYTES} bytes", where=f"{name}: record 1"
                )
            text = (head + rest).decode("utf-8")
            _check_depth(text, f"{name}: record 1")
            yield f"{name}: record 1", json.loads(text)
            return
        if head != b"[":
            raise InvalidInputError("a JSON file must hold an array of records", where=name)
        events = ijson.basic_parse(_Prefixed(head, stream), use_float=True)
        for index, item in enumerate(_array_items(events, name, recover), start=1):
            yield f"{name}: record {index}", item
    except (ijson.JSONError, json.JSONDecodeError, UnicodeDecodeError):
        # The parser cannot always tell a truncated file from a malformed one.
        raise InvalidInputError(
            f"malformed or truncated JSON after record {index}", where=name
        ) from None


def _array_items(
    events: Iterable[tuple[str, Any]], name: str, recover: bool = False
) -> Iterator[Any]:
    """The items of the top-level array that ``events`` (ijson ``basic_parse``)
    describe, each built only while it nests at most :data:`MAX_DEPTH` levels; with
    ``recover``, an item nested deeper is skipped (nothing of it kept) and yielded
    as :class:`Unreadable`."""
    enclosing: list[tuple[Any, Any]] = []  # (container, key) of each level around
    parent: Any = None  # the container being filled; None between items
    key: Any = None  # where the next value goes in ``parent`` when it is an object
    count = 0
    skipped: InvalidInputError | None = None  # the error of an item being skipped
    depth = 0  # levels open in the item being skipped
    stream = iter(events)
    next(stream, None)  # the top-level array's start
    for event, value in stream:
        if skipped is not None:
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
                if depth == 0:
                    count += 1
                    yield Unreadable(skipped)
                    skipped = None
            continue
        if event == "map_key":
            key = value
        elif event in _SCALARS:
            if parent is None:
                count += 1
                yield value
            elif type(parent) is list:
                parent.append(value)
            else:
                parent[key] = value
        elif event in ("start_map", "start_array"):
            if len(enclosing) >= MAX_DEPTH:
                error = InvalidInputError(_too_deep(), where=f"{name}: record {count + 1}")
                if not recover:
                    raise error
                skipped, depth = error, len(enclosing) + 1
                enclosing, parent, key = [], None, None
                continue
            child: Any = {} if event == "start_map" else []
            if type(parent) is list:
                parent.append(child)
            elif parent is not None:
                parent[key] = child
            enclosing.append((parent, key))
            parent, key = child, None
        elif enclosing:  # the end of an array or object (not of the top-level array)
            done = parent
            parent, key = enclosing.pop()
            if parent is None:
                count += 1
                yield done


_SCALARS: Final = frozenset(("string", "number", "boolean", "null"))
# A string, or a bracket. A string left open runs to the end of the text (so that no
# quote is ever scanned for twice, which would take time quadratic in the length).
_STRUCTURE: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)|[\[\]{}]', re.DOTALL)


_OPENING: Final = frozenset("[{")
_CLOSING: Final = frozenset("]}")


def _too_deep() -> str:
    return f"nested too deep (more than {MAX_DEPTH} levels of arrays and objects)"


def _check_depth(text: str, where: str) -> None:
    """Refuse JSON ``text`` that nests more than :data:`MAX_DEPTH` levels, before a
    recursive parser sees it. Brackets inside strings do not count; the error names
    the line (and column) where the limit is passed."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _STRUCTURE.finditer(text):
        mark = match.group()
        if mark in _OPENING:
            depth += 1
            if depth > MAX_DEPTH:
                at = match.start()
                line = text.count("\n", 0, at) + 1
                column = at - text.rfind("\n", 0, at)
                raise InvalidInputError(
                    f"{_too_deep()} at line {line} column {column}", where=where
                )
        elif mark in _CLOSING:
            depth -= 1


class _Prefixed:
    """A stream with bytes already read put back in front."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._prefix:
            out, self._prefix = self._prefix, b""
            return out
        return self._stream.read(size)


def _csv_value(kind: str, cell: str, column: str, where: str) -> Any:
    if kind == "int":
        try:
            return int(cell)
        except ValueError:
            raise InvalidInputError(f"field {column!r} must be an integer", where=where) from None
    if kind == "bool":
        low = cell.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InvalidInputError(f"field {column!r} must be true or false", where=where)
    if kind in ("ids", "texts", "enums", "persons"):
        if cell.lstrip().startswith("["):
            _check_depth(cell, where)
            try:
                return json.loads(cell)
            except json.JSONDecodeError:
                raise InvalidInputError(
                    f"field {column!r} holds a malformed JSON array", where=where
                ) from None
        if kind == "persons":
            raise InvalidInputError(f"field {column!r} must be a JSON array", where=where)
        return [part.strip() for part in cell.split(";") if part.strip()]
    return cell


def _read_csv(stream: IO[bytes], name: str, recover: bool) -> Iterator[tuple[str, Any]]:
    csv.field_size_limit(MAX_RECORD_BYTES)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    try:
        try:
            header = _csv_row(reader, name)
        except _CsvRowError as exc:
            raise exc.error from None
        if header is None:
            return
        if "type" not in header:
            raise InvalidInputError("CSV needs a 'type' column", where=f"{name}:line 1")
        if len(set(header)) != len(header):
            raise InvalidInputError("CSV header repeats a column", where=f"{name}:line 1")
        refused = 0  # the line of the last row the parser refused
        while True:
            try:
                row = _csv_row(reader, name)
            except _CsvRowError as exc:
                if not recover or reader.line_num == refused:
                    raise exc.error from None
                # The parser resumes at the next line.
                refused = reader.line_num
                yield exc.error.where or name, Unreadable(exc.error)
                continue
            if row is None:
                return
            where = f"{name}:line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            try:
                if len(row) != len(header):
                    raise InvalidInputError(
                        f"row has {len(row)} cells, the header has {len(header)}", where=where
                    )
                record = _csv_record(header, row, where)
            except InvalidInputError as exc:
                if not recover:
                    raise
                yield where, Unreadable(exc)
                continue
            yield where, record
    except InvalidInputError as exc:
        # What leaves no next row to find: the header, or bytes that are not UTF-8.
        if not recover:
            raise
        yield exc.where or name, Unreadable(exc)
    finally:
        # Hand the byte stream back to its owner, who closes it.
        with contextlib.suppress(ValueError):
            text.detach()


class _CsvRowError(Exception):
    """A row the CSV parser refused; the parser can go on with the next line."""

    def __init__(self, error: InvalidInputError) -> None:
        self.error = error


def _csv_row(reader: Any, name: str) -> list[str] | None:
    """The next row, or None at the end."""
    try:
        row: list[str] | None = next(reader, None)
    except csv.Error as exc:
        where = f"{name}:line {reader.line_num}"
        error = InvalidInputError(f"malformed CSV: {exc}", where=where)
        if "end of data" in str(exc) or reader.line_num <= 1:
            raise error from None  # nothing after it to read
        raise _CsvRowError(error) from None
    except UnicodeDecodeError:
        raise InvalidInputError(
            "not valid UTF-8", where=f"{name}:line {reader.line_num + 1}"
        ) from None
    return row


def _csv_record(header: list[str], row: list[str], where: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    rtype = row[header.index("type")].strip()
    specs = FIELDS.get(rtype, {})
    for column, cell in zip(header, row, strict=True):
        if cell == "":
            continue
        spec = specs.get(column)
        value = _csv_value(spec.kind, cell, column, where) if spec else cell
        head, _, tail = column.partition(".")
        if tail:
            group = record.setdefault(head, {})
            if not isinstance(group, dict):
                raise InvalidInputError(f"column {column!r} conflicts with {head!r}", where=where)
            group[tail] = value
        else:
            record[column] = value
    return record
