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
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any, Final, cast

import ijson

from vault.errors import InvalidInputError
from vault.schema import FIELDS

__all__ = [
    "FORMATS",
    "MAX_RECORD_BYTES",
    "STDIN",
    "detect_format",
    "open_records",
    "read_one",
    "read_records",
]

FORMATS: Final = ("jsonl", "json", "csv")
MAX_RECORD_BYTES: Final = 4 * 1024 * 1024
_SUFFIXES: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
STDIN: Final = "<stdin>"


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
) -> Iterator[Iterator[tuple[str, Any]]]:
    """``(where, raw_record)`` pairs from a file path or a binary stream.

    A path's format comes from its suffix unless ``fmt`` says otherwise. A stream is
    named ``name`` (default ``<stdin>``); a name without a suffix reads as JSON Lines.
    ``read_progress`` is called with the number of bytes of each read. An unreadable
    file is an :class:`InvalidInputError` (exit 5) naming it.
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
        with contextlib.closing(read_records(reader, label, fmt)) as rows:
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
        return label, json.loads(read().decode("utf-8-sig"))
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


def read_records(stream: IO[bytes], name: str, fmt: str) -> Generator[tuple[str, Any]]:
    """Yield ``(where, raw_record)`` from a binary stream in the given format."""
    if fmt == "jsonl":
        yield from _read_jsonl(stream, name)
    elif fmt == "json":
        yield from _read_json(stream, name)
    elif fmt == "csv":
        yield from _read_csv(stream, name)
    else:
        raise InvalidInputError(f"unknown format {fmt!r}; use jsonl, json or csv", where=name)


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig" if where.endswith(":line 1") else "utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=where) from None


def _read_jsonl(stream: IO[bytes], name: str) -> Iterator[tuple[str, Any]]:
    lineno = 0
    while True:
        raw = stream.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return
        lineno += 1
        where = f"{name}:line {lineno}"
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            raise InvalidInputError(f"line longer than {MAX_RECORD_BYTES} bytes", where=where)
        text = _decode(raw, where).strip()
        if not text:
            continue
        try:
            yield where, json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            msg = getattr(exc, "msg", "malformed JSON")
            col = getattr(exc, "colno", None)
            at = f" at column {col}" if col else ""
            hint = " (truncated?)" if not raw.endswith(b"\n") else ""
            raise InvalidInputError(f"malformed JSON{at}: {msg}{hint}", where=where) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_json(stream: IO[bytes], name: str) -> Iterator[tuple[str, Any]]:
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
            yield f"{name}: record 1", json.loads((head + rest).decode("utf-8"))
            return
        if head != b"[":
            raise InvalidInputError("a JSON file must hold an array of records", where=name)
        body = _Prefixed(head, stream)
        for index, item in enumerate(ijson.items(body, "item", use_float=True), start=1):
            yield f"{name}: record {index}", item
    except (ijson.JSONError, json.JSONDecodeError, UnicodeDecodeError):
        # The parser cannot always tell a truncated file from a malformed one.
        raise InvalidInputError(
            f"malformed or truncated JSON after record {index}", where=name
        ) from None


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


def _read_csv(stream: IO[bytes], name: str) -> Iterator[tuple[str, Any]]:
    csv.field_size_limit(MAX_RECORD_BYTES)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        if "type" not in header:
            raise InvalidInputError("CSV needs a 'type' column", where=f"{name}:line 1")
        if len(set(header)) != len(header):
            raise InvalidInputError("CSV header repeats a column", where=f"{name}:line 1")
        for row in reader:
            where = f"{name}:line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidInputError(
                    f"row has {len(row)} cells, the header has {len(header)}", where=where
                )
            yield where, _csv_record(header, row, where)
    except csv.Error as exc:
        raise InvalidInputError(
            f"malformed CSV: {exc}", where=f"{name}:line {reader.line_num}"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInputError(
            "not valid UTF-8", where=f"{name}:line {reader.line_num + 1}"
        ) from None
    finally:
        # Hand the byte stream back to its owner, who closes it.
        with contextlib.suppress(ValueError):
            text.detach()


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
