"""Streaming readers for import files: JSON Lines, a JSON array, or CSV.

Each reader yields ``(where, raw_record)`` one record at a time, so memory does not
grow with the file. ``where`` names the file and line (JSONL, CSV) or the record
number (JSON array) for error messages. A malformed file raises
:class:`~vault.errors.InvalidInputError` naming the place; the value is never quoted.

CSV columns use dotted names (``worker.name``). A cell left empty means the field is
absent. List fields take a JSON array (``["wages","harassment"]``) or values
separated by ``;``; ``persons_mentioned`` takes a JSON array of objects; so does an
``attachments`` column (the evidence files of an import with ``--files``). With a
survey mapping (:mod:`vault.mapping`), columns are named as the survey tool named
them and the mapping turns each row into a record.

A CSV file's delimiter (``,``, ``;``, tab or ``|``) and text encoding are sniffed
unless :class:`CsvOptions` gives them: a byte order mark says UTF-8, UTF-16 or
UTF-32; else the first 64 KiB must read as UTF-8; else charset-normalizer's best
guess is taken only when no other guess as good reads them differently (otherwise
the file is refused: pass the encoding). Bytes the encoding cannot read are an
error naming the line, never replaced; a header that does not read as text (control
characters, NUL) is refused, so a wrong guess never imports garbage.

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

import codecs
import contextlib
import csv
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, cast

import ijson

from vault.errors import InvalidInputError, UsageError
from vault.schema import FIELDS

if TYPE_CHECKING:
    from vault.mapping import SurveyMapping

__all__ = [
    "CSV_DELIMITERS",
    "FORMATS",
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "STDIN",
    "CsvOptions",
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


CSV_DELIMITERS: Final = ",;\t|"
"""The delimiters a CSV file's is sniffed among."""
_SAMPLE: Final = 64 * 1024
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ENCODING_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}")


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """How a CSV file is read: its ``delimiter`` and text ``encoding`` (sniffed
    when None), and the survey ``mapping`` that turns its rows into records (None:
    columns are named as the contract's fields). ``media`` says that evidence files
    come with the import, which a mapping's file columns need."""

    delimiter: str | None = None
    encoding: str | None = None
    mapping: SurveyMapping | None = None
    media: bool = False

    def __post_init__(self) -> None:
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.delimiter in '"\r\n'):
            raise UsageError("a CSV delimiter is one character, not a quote or a line break")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                shown = repr(self.encoding) if _ENCODING_NAME.fullmatch(self.encoding) else "given"
                raise UsageError(f"unknown text encoding {shown}") from None


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
    csv_options: CsvOptions | None = None,
) -> Iterator[Iterator[tuple[str, Any]]]:
    """``(where, raw_record)`` pairs from a file path or a binary stream.

    A path's format comes from its suffix unless ``fmt`` says otherwise (a survey
    mapping in ``csv_options`` reads CSV). A stream is named ``name`` (default
    ``<stdin>``); a name without a suffix reads as JSON Lines. ``read_progress`` is
    called with the number of bytes of each read. An unreadable file is an
    :class:`InvalidInputError` (exit 5) naming it. With ``recover``, a record that
    cannot be read is yielded as :class:`Unreadable` (see above).
    """
    if csv_options is not None and csv_options.mapping is not None and fmt is None:
        fmt = "csv"
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
        records = read_records(reader, label, fmt, recover=recover, csv_options=csv_options)
        with contextlib.closing(records) as rows:
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

    def read1(self, size: int = -1) -> bytes:
        # Text wrappers read through read1 when a stream has it: counted too.
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
    stream: IO[bytes],
    name: str,
    fmt: str,
    *,
    recover: bool = False,
    csv_options: CsvOptions | None = None,
) -> Generator[tuple[str, Any]]:
    """Yield ``(where, raw_record)`` from a binary stream in the given format; with
    ``recover``, ``(where, Unreadable(error))`` for a record that cannot be read.
    ``csv_options`` say how a CSV file is read; they are refused for JSON."""
    if fmt != "csv" and csv_options is not None:
        if csv_options.mapping is not None:
            raise UsageError("a survey mapping reads CSV files only")
        if csv_options.delimiter is not None or csv_options.encoding is not None:
            raise UsageError("a delimiter and an encoding are for CSV files only (JSON is UTF-8)")
    if fmt == "jsonl":
        yield from _read_jsonl(stream, name, recover)
    elif fmt == "json":
        yield from _read_json(stream, name, recover)
    elif fmt == "csv":
        yield from _read_csv(stream, name, recover, csv_options or CsvOptions())
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


def _read_csv(
    stream: IO[bytes], name: str, recover: bool, options: CsvOptions
) -> Iterator[tuple[str, Any]]:
    csv.field_size_limit(MAX_RECORD_BYTES)
    try:
        sample, whole = _read_sample(stream)
        encoding = options.encoding or _sniff_encoding(sample, whole, name)
        text = io.TextIOWrapper(
            io.BufferedReader(_Replay(sample, stream), _SAMPLE),
            encoding=encoding,
            errors="surrogateescape",
            newline="",
        )
        lines = _text_lines(text, name, encoding, sniffed=options.encoding is None)
        delimiter = options.delimiter or _sniff_delimiter(
            _sample_text(sample, encoding, whole), f"{name}:line 1"
        )
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            header = _csv_row(reader, name)
        except _CsvRowError as exc:
            raise exc.error from None
        if header is None:
            return
        _check_header_text(header, name, encoding)
        # Columns without a name (a spreadsheet's empty trailing columns) must stay empty.
        unnamed = [i for i, column in enumerate(header) if not column.strip()]
        named = [column for column in header if column.strip()]
        convert = _csv_converter(named, name, options)
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
                for i in unnamed:
                    if row[i].strip():
                        raise InvalidInputError(
                            f"column {i + 1} has no name in the header but a value here",
                            where=where,
                        )
                if unnamed:
                    row = [cell for i, cell in enumerate(row) if header[i].strip()]
                record = convert(row, where)
            except InvalidInputError as exc:
                if not recover:
                    raise
                yield where, Unreadable(exc)
                continue
            yield where, record
    except InvalidInputError as exc:
        # What leaves no next row to find: the header, or bytes the encoding cannot read.
        if not recover:
            raise
        yield exc.where or name, Unreadable(exc)


def _csv_converter(
    header: list[str], name: str, options: CsvOptions
) -> Callable[[list[str], str], dict[str, Any]]:
    """What turns one row into a record: the mapping, or the contract's own names."""
    where = f"{name}:line 1"
    if options.mapping is not None:
        return options.mapping.for_header(header, where, media=options.media).record
    if "type" not in header:
        raise InvalidInputError("CSV needs a 'type' column", where=where)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise InvalidInputError(
                f"CSV header repeats a column ({_shown_column(column)})", where=where
            )
        seen.add(column)
    return lambda row, at: _csv_record(header, row, at)


def _shown_column(column: str) -> str:
    """A column's name as a message may show it (a header holds question names, not
    answers; still, only something that looks like a name is repeated)."""
    if re.fullmatch(r"[\w./:\- ]{1,100}", column):
        return repr(column)
    return "a column whose name is not plain text"


def _read_sample(stream: IO[bytes]) -> tuple[bytes, bool]:
    """The first bytes of a stream (up to 64 KiB), and whether they are all of it."""
    parts: list[bytes] = []
    size = 0
    while size < _SAMPLE:
        data = stream.read(_SAMPLE - size)
        if not data:
            return b"".join(parts), True
        parts.append(data)
        size += len(data)
    return b"".join(parts), False


def _sniff_encoding(sample: bytes, whole: bool, name: str) -> str:
    """A byte order mark's encoding; else UTF-8 if the sample reads as UTF-8; else
    charset-normalizer's best guess, if no guess as good reads the sample otherwise."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # Imported only for a file that is not UTF-8: it takes a while to load.
    from charset_normalizer import from_bytes  # noqa: PLC0415

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise InvalidInputError(
            "cannot tell the text encoding (it is not UTF-8); pass --encoding", where=name
        )
    text = str(best)
    # Legacy code pages agree on most letters and differ on a few (è is č in
    # windows-1250): a guess that ties with one reading the file otherwise is no guess.
    rivals = sorted(
        {
            m.encoding
            for m in matches
            if m.encoding != best.encoding
            and m.chaos <= best.chaos + 0.005
            and m.coherence >= best.coherence - 0.01
            and str(m) != text
        }
    )
    if rivals:
        raise InvalidInputError(
            f"cannot tell the text encoding: it is not UTF-8, and reads differently as "
            f"{best.encoding} and as {rivals[0]}; pass --encoding",
            where=name,
        )
    return best.encoding


def _sample_text(sample: bytes, encoding: str, whole: bool) -> str:
    """The sample as text, cut after its last whole line unless it is the whole file."""
    decoder = codecs.getincrementaldecoder(encoding)("surrogateescape")
    text = decoder.decode(sample, final=whole)
    if not whole:
        text = text[: text.rfind("\n") + 1]
    return text


def _shown_delimiter(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _sniff_delimiter(sample: str, where: str) -> str:
    """The delimiter among ``,;\t|`` that splits the header into the most columns
    with the most rows of the sample as wide; csv.Sniffer breaks a tie."""
    scores: dict[str, tuple[int, int]] = {}
    for delimiter in CSV_DELIMITERS:
        rows = _sample_rows(sample, delimiter)
        if rows and len(rows[0]) > 1:
            width = len(rows[0])
            scores[delimiter] = (sum(len(row) == width for row in rows[1:]), width)
    if not scores:
        return ","  # one column
    best = max(scores.values())
    tied = "".join(d for d, score in scores.items() if score == best)
    if len(tied) == 1:
        return tied
    try:
        return csv.Sniffer().sniff(sample, delimiters=tied).delimiter
    except csv.Error:
        shown = " or ".join(_shown_delimiter(d) for d in tied)
        raise InvalidInputError(
            f"cannot tell the delimiter ({shown}); pass --delimiter", where=where
        ) from None


def _sample_rows(sample: str, delimiter: str, limit: int = 50) -> list[list[str]]:
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    with contextlib.suppress(csv.Error):
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= limit:
                break
    return rows


class _Replay(io.RawIOBase):
    """A binary stream with the bytes already read from it put back in front."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# Bytes a codec could not read, as the surrogateescape handler keeps them.
_UNREAD: Final = re.compile("[\udc80-\udcff]")


def _encoding_name(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "UTF-8" if name in ("utf-8", "utf-8-sig") else name


def _text_lines(text: IO[str], name: str, encoding: str, *, sniffed: bool) -> Iterator[str]:
    """The lines of a text stream. A byte the encoding cannot read is an error
    naming its own line (the decoder keeps it in place, escaped, instead of failing
    on the block it was read with); so is a line longer than MAX_RECORD_BYTES."""
    shown = _encoding_name(encoding)
    hint = "; pass --encoding if the file is in another" if sniffed else ""
    lineno = 0
    while True:
        line = text.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        lineno += 1
        where = f"{name}:line {lineno}"
        if len(line) > MAX_RECORD_BYTES and not line.endswith(("\n", "\r")):
            raise InvalidInputError(f"line longer than {MAX_RECORD_BYTES} characters", where=where)
        if _UNREAD.search(line):
            raise InvalidInputError(f"not valid {shown}{hint}", where=where)
        yield line


def _check_header_text(header: list[str], name: str, encoding: str) -> None:
    """Refuse a header that does not read as text: a wrong encoding shows there."""
    for column in header:
        if any(
            (unicodedata.category(c) in ("Cc", "Cs", "Co") and c != "\t") or c == "\ufffd"
            for c in column
        ):
            raise InvalidInputError(
                f"the header does not read as text in {_encoding_name(encoding)}; pass --encoding",
                where=f"{name}:line 1",
            )


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
    return row


def _csv_record(header: list[str], row: list[str], where: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    rtype = row[header.index("type")].strip()
    specs = FIELDS.get(rtype, {})
    for column, cell in zip(header, row, strict=True):
        if cell == "":
            continue
        spec = specs.get(column)
        if spec is not None:
            value = _csv_value(spec.kind, cell, column, where)
        elif column == "attachments":
            # Evidence files by relative path, as in a JSON record.
            value = _csv_value("texts", cell, column, where)
        else:
            value = cell
        head, _, tail = column.partition(".")
        if tail:
            group = record.setdefault(head, {})
            if not isinstance(group, dict):
                raise InvalidInputError(f"column {column!r} conflicts with {head!r}", where=where)
            group[tail] = value
        else:
            record[column] = value
    return record
