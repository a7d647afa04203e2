"""Survey exports mapped onto the record contract: which column gives which field.

A survey tool (KoboToolbox, ODK Central) names its CSV columns after the form's
questions, with group paths (``worker/gender``, ``worker-gender``), answers in the
form's languages (``Nữ``, ``Mujer``, ``Femme``), select_multiple answers separated by
spaces, GPS points, and metadata columns of its own (``_uuid``, ``_index``). A
mapping file says what each column is; :class:`SurveyMapping` applies it to one row
at a time, before the record is validated. Shipped presets live in
``vault/mappings/`` (:func:`shipped_mappings`); a mapping may extend one.

The file format (see the presets for commented examples)::

    description: ...
    extends: kobo                   # a shipped preset this mapping adds to
    set: {type: testimony, channel: survey}       # constant fields
    columns:                        # column -> field, or {field, split, format}
      _uuid: id
      _submission_time: {field: received_on, format: iso}
      worker/gender: worker.gender
      testimony/allegations: {field: allegations, split: space}
      worker/location: worker.location            # "lat lon alt precision"
    values:                         # per field: code -> the answers that mean it
      worker.gender: {female: [Nữ, Mujer, Femme]}
    ignore: [_id, "_*"]             # names, or patterns such as _* (fnmatch)
    files: {columns: [evidence/photo], under: _uuid}   # columns naming evidence files

Invariants:

* A mapping is validated whole before any row is read: an unknown key, a field the
  contract does not have, a code a field does not take, an answer given two codes,
  a split or format where the field takes none — each is one
  :class:`~vault.errors.InvalidInputError` naming the file, the line and the key.
* Every column of a file is accounted for: mapped to a field, a file column, or
  ignored by name or pattern. Columns the mapping does not name are refused at the
  header, all listed (column names are the form's questions, never answers); nothing
  is dropped unseen. A column the mapping maps by name wins over an ignore pattern.
* A cell that cannot be converted (an answer no code is given for, a malformed date
  or GPS point) is an error naming the line, the field and the column, never the
  value. Answers are matched after Unicode NFC, case folding and whitespace folding.
* Nothing here does I/O beyond reading a mapping's own YAML; nothing is logged.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import pycountry
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from vault.errors import InvalidInputError, NotFoundError
from vault.presets import shipped_mappings
from vault.schema import FIELDS, GEO_KEYS, RECORD_SPECS, RECORD_TYPES, FieldSpec, validate_record

__all__ = [
    "MAX_MAPPING_BYTES",
    "SurveyMapping",
    "describe_shipped",
    "find_mapping",
    "load_mapping",
    "parse_mapping",
    "shipped_mappings",
]

MAX_MAPPING_BYTES: Final = 1_000_000
_MAX_NODES: Final = 10_000  # YAML nodes, aliases counted each time they are used
_MAX_DEPTH: Final = 8
_LIST_KINDS: Final = frozenset({"enums", "ids", "texts", "persons"})
_MAPPED_KINDS: Final = frozenset({"enum", "enums", "bool", "country", "language", "text", "texts"})
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT_RE: Final = re.compile(r"[+-]?\d{1,9}")
_FIELD_RE: Final = re.compile(r"field '([^']+)'")
_TOP_KEYS: Final = ("description", "extends", "set", "columns", "values", "ignore", "files")
_COLUMN_KEYS: Final = ("field", "split", "format")
_FILES_KEYS: Final = ("columns", "under")


# The file's structure --------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _column_form(value: Any) -> Any:
    """``column: field`` is short for ``column: {field: field}``."""
    return {"field": value} if isinstance(value, str) else value


def _label_list(value: Any) -> Any:
    """``code: answer`` is short for ``code: [answer]``."""
    return [value] if isinstance(value, str) else value


class _ColumnSpec(_Strict):
    field: str
    split: str | None = None
    format: str | None = None


class _FilesSpec(_Strict):
    columns: list[str] = Field(min_length=1)
    under: str | None = None


_Labels = Annotated[list[str], BeforeValidator(_label_list)]


class _MappingFile(_Strict):
    description: str = ""
    extends: str | None = None
    fixed: dict[str, str] = Field(default_factory=dict, alias="set")
    columns: dict[str, Annotated[_ColumnSpec, BeforeValidator(_column_form)]] = Field(
        default_factory=dict
    )
    values: dict[str, dict[str, _Labels]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    files: _FilesSpec | None = None


# The mapping as it is applied --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """What one column gives: a field (or one coordinate of a location), how a list
    answer is split (None: the field's default), and how a date is written."""

    field: str
    split: str | None = None
    format: str | None = None


class _CellError(Exception):
    """A cell the mapping cannot convert; the message names the field, not the value."""


@dataclass(frozen=True)
class SurveyMapping:
    """A validated mapping from a survey tool's CSV columns to the record contract."""

    source: str
    description: str
    record_type: str | None
    """The type every row becomes, or None when a column gives it."""
    fixed: Mapping[str, Any]
    """Constant fields, by path, converted."""
    rules: Mapping[str, _Rule]
    """By column name."""
    ignored: frozenset[str]
    patterns: tuple[str, ...]
    values: Mapping[str, Mapping[str, str]] = field(repr=False)
    """By field: folded answer -> code."""
    files: tuple[str, ...] = ()
    files_under: str | None = None

    def __repr__(self) -> str:
        return f"SurveyMapping({self.source!r})"

    def for_header(self, header: list[str], where: str, *, media: bool) -> _RowMapper:
        """The mapper for a file with this header (named columns only). Refused, at
        ``where``: columns the mapping does not name (all listed), a column it
        takes that the header repeats, a required field no column gives."""
        mapped: list[tuple[int, str, _Rule]] = []
        file_columns: list[tuple[int, str]] = []
        unknown: list[str] = []
        taken: set[str] = set()
        under = None
        for index, column in enumerate(header):
            if column == self.files_under:
                under = index
            if column in self.rules or column in self.files:
                if column in taken:
                    raise InvalidInputError(
                        f"the header repeats the column {_shown(column)}, which {self.source} maps",
                        where=where,
                    )
                taken.add(column)
                if column in self.rules:
                    mapped.append((index, column, self.rules[column]))
                else:
                    file_columns.append((index, column))
            elif column not in self.ignored and not any(
                fnmatch.fnmatchcase(column, p) for p in self.patterns
            ):
                unknown.append(column)
        if unknown:
            shown = ", ".join(_shown(c) for c in unknown[:12])
            more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
            raise InvalidInputError(
                f"{self.source} does not map the column{'s' if len(unknown) > 1 else ''} "
                f"{shown}{more}; name each under columns, files or ignore",
                where=where,
            )
        if self.record_type is not None:
            given = set(self.fixed) | {_field_of(rule.field) for _i, _c, rule in mapped}
            for path, spec in FIELDS[self.record_type].items():
                if spec.required and path not in given:
                    raise InvalidInputError(
                        f"no column gives the required field {path!r} ({self._sources_of(path)})",
                        where=where,
                    )
        return _RowMapper(self, mapped, file_columns, under, media)

    def _sources_of(self, path: str) -> str:
        columns = [c for c, rule in self.rules.items() if _field_of(rule.field) == path]
        if not columns:
            return f"{self.source} maps no column to it"
        return f"{self.source} takes it from {', '.join(_shown(c) for c in columns)}"


class _RowMapper:
    """One file's rows turned into records, by a mapping fitted to its header."""

    def __init__(
        self,
        mapping: SurveyMapping,
        mapped: list[tuple[int, str, _Rule]],
        file_columns: list[tuple[int, str]],
        under: int | None,
        media: bool,
    ) -> None:
        self._mapping = mapping
        self._mapped = mapped
        self._files = file_columns
        self._under = under
        self._media = media
        self._type_cell = next((m for m in mapped if m[2].field == "type"), None)
        self._columns_of: dict[str, list[str]] = {}
        for _index, column, rule in mapped:
            self._columns_of.setdefault(_field_of(rule.field), []).append(column)

    def record(self, row: list[str], where: str) -> dict[str, Any]:
        """The record one row gives, validated (the error names field and column)."""
        mapping = self._mapping
        record: dict[str, Any] = {}
        for path, value in mapping.fixed.items():
            _put(record, path, copy.deepcopy(value))
        rtype = mapping.record_type
        if rtype is None:
            rtype = self._row_type(row, where)
            record["type"] = rtype
        specs = FIELDS[rtype]
        points: dict[str, dict[str, float]] = {}
        for index, column, rule in self._mapped:
            cell = row[index]
            if not cell.strip() or rule.field == "type":
                continue
            try:
                base, _, key = rule.field.rpartition(".")
                if key in GEO_KEYS and base in specs and specs[base].kind == "geo":
                    points.setdefault(base, {})[key] = _number(cell, rule.field)
                    continue
                spec = specs.get(rule.field)
                if spec is None:
                    raise _CellError(f"field {rule.field!r} is not a field of a {rtype}")
                value = _convert(spec, cell, rule, mapping.values.get(rule.field))
            except _CellError as exc:
                raise InvalidInputError(f"{exc} (column {_shown(column)})", where=where) from None
            _put(record, rule.field, value)
        for path, point in points.items():
            if "lat" not in point or "lon" not in point:
                columns = ", ".join(_shown(c) for c in self._columns_of.get(path, []))
                raise InvalidInputError(
                    f"field {path!r} needs both a latitude and a longitude (columns {columns})",
                    where=where,
                )
            _put(record, path, point)
        record = _in_contract_order(record, rtype)
        names = [(column, row[index].strip()) for index, column in self._files]
        names = [(column, name) for column, name in names if name]
        try:
            validate_record(record, where)
        except InvalidInputError as exc:
            raise self._with_column(exc) from None
        if names:
            if not self._media:
                raise InvalidInputError(
                    f"column {_shown(names[0][0])} names an evidence file: pass the "
                    "survey's media folder or zip with --media",
                    where=where,
                )
            folder = row[self._under].strip() if self._under is not None else ""
            record["attachments"] = [f"{folder}/{name}" if folder else name for _c, name in names]
        return record

    def _row_type(self, row: list[str], where: str) -> str:
        if self._type_cell is None:  # pragma: no cover - a mapping without a type is refused
            raise InvalidInputError("no column gives the field 'type'", where=where)
        index, column, _rule = self._type_cell
        cell = _fold(row[index])
        rtype = self._mapping.values.get("type", {}).get(cell, cell)
        if rtype not in RECORD_SPECS:
            raise InvalidInputError(
                f"field 'type' must be one of: {', '.join(RECORD_TYPES)} (column {_shown(column)})",
                where=where,
            )
        return rtype

    def _with_column(self, exc: InvalidInputError) -> InvalidInputError:
        """A validation error, naming the column (or the mapping) its field came from."""
        where = exc.where or ""
        message = str(exc).removeprefix(f"{where}: ") if where else str(exc)
        found = _FIELD_RE.search(message)
        if found is not None:
            path = found.group(1)
            for candidate in (path, path.partition(".")[0], path.rpartition(".")[0]):
                columns = self._columns_of.get(candidate)
                if columns:
                    shown = ", ".join(_shown(c) for c in columns)
                    message += f" (column{'s' if len(columns) > 1 else ''} {shown})"
                    break
                if candidate in self._mapping.fixed:
                    message += f" (set in {self._mapping.source})"
                    break
        return InvalidInputError(message, where=where or None)


def _in_contract_order(record: dict[str, Any], rtype: str) -> dict[str, Any]:
    """The record's fields in the contract's order (as ``show`` then prints them)."""
    order = {path: n for n, path in enumerate(FIELDS[rtype])}
    out: dict[str, Any] = {}
    for key in sorted(record, key=lambda k: order.get(k, len(order))):
        value = record[key]
        if isinstance(value, dict) and key in RECORD_SPECS[rtype].groups:
            value = {
                sub: value[sub]
                for sub in sorted(value, key=lambda s: order.get(f"{key}.{s}", len(order)))
            }
        out[key] = value
    return out


def _field_of(target: str) -> str:
    """The contract field a target names (a location for one of its coordinates)."""
    base, _, key = target.rpartition(".")
    if key in GEO_KEYS and any(base in specs for specs in FIELDS.values()):
        return base
    return target


def _put(record: dict[str, Any], path: str, value: Any) -> None:
    head, _, tail = path.partition(".")
    if tail:
        group = record.setdefault(head, {})
        group[tail] = value
    else:
        record[head] = value


def _shown(column: str) -> str:
    """A column's name as a message shows it: the form's question, not an answer;
    still, only something that looks like a name is repeated."""
    if re.fullmatch(r"[\w./:\- ]{1,100}", column):
        return repr(column)
    return "(a column whose name is not plain text)"


# Converting one cell --------------------------------------------------------------


def _fold(text: str) -> str:
    """An answer as it is matched: NFC, case-folded, inner whitespace folded."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _number(cell: str, path: str) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise _CellError(f"field {path!r} must be a number") from None
    if not math.isfinite(value):
        raise _CellError(f"field {path!r} must be a number")
    return value


def _split(cell: str, spec: FieldSpec, rule: _Rule, labels: Mapping[str, str] | None) -> list[str]:
    """The parts of a list answer: separated by whitespace (select_multiple, ids) or
    ';' (names, texts) unless the rule says otherwise. Split on whitespace, an
    answer of several words the value map knows is taken whole."""
    separator = rule.split
    if separator is None:
        separator = " " if spec.kind in ("enums", "ids") else ";"
    if separator not in (" ", "space"):
        return [part.strip() for part in cell.split(separator) if part.strip()]
    words = cell.split()
    if not labels:
        return words
    longest = max(len(label.split()) for label in labels)
    parts: list[str] = []
    start = 0
    while start < len(words):
        for size in range(min(longest, len(words) - start), 0, -1):
            candidate = " ".join(words[start : start + size])
            if size == 1 or _fold(candidate) in labels:
                parts.append(candidate)
                start += size
                break
    return parts


def _code(spec: FieldSpec, answer: str, labels: Mapping[str, str] | None) -> str:
    """The code an answer means: the value map's, else the answer itself."""
    folded = _fold(answer)
    if labels and folded in labels:
        return labels[folded]
    if spec.choices:
        for choice in spec.choices:
            if folded == choice.casefold():
                return choice
        raise _CellError(
            f"field {spec.path!r}: the mapping gives no code for this answer; "
            f"add it under values.{spec.path}"
        )
    return answer.strip()


def _date(cell: str, fmt: str | None, path: str) -> dt.date:
    text = cell.strip()
    try:
        if fmt is None or fmt == "iso":
            if _DATE_RE.fullmatch(text):
                return dt.date.fromisoformat(text)
            # A timestamp's own date, as written (the device's local date for
            # start/end, UTC for a server's submission time).
            return dt.datetime.fromisoformat(text).date()
        return dt.datetime.strptime(text, fmt).date()
    except ValueError:
        written = "YYYY-MM-DD or an ISO 8601 timestamp" if fmt in (None, "iso") else "its format"
        raise _CellError(f"field {path!r} is not a date written as {written}") from None


def _convert(spec: FieldSpec, cell: str, rule: _Rule, labels: Mapping[str, str] | None) -> Any:
    """One cell as the value of ``spec``'s field."""
    kind, path = spec.kind, spec.path
    if kind == "longtext":
        return cell
    if kind in ("text", "id"):
        return _code(spec, cell, labels) if labels else cell.strip()
    if kind == "int":
        if rule.format is not None:
            return _date(cell, rule.format, path).year
        if not _INT_RE.fullmatch(cell.strip()):
            raise _CellError(f"field {path!r} must be a whole number")
        return int(cell.strip())
    if kind == "bool":
        code = _code(spec, cell, labels).casefold()
        if code in _TRUE:
            return True
        if code in _FALSE:
            return False
        raise _CellError(
            f"field {path!r} must be yes or no: the mapping gives no code for this answer; "
            f"add it under values.{path}"
        )
    if kind == "date":
        return _date(cell, rule.format, path).isoformat()
    if kind in ("enum", "language"):
        return _code(spec, cell, labels)
    if kind == "country":
        return _country(_code(spec, cell, labels), path)
    if kind == "enums":
        parts = [_code(spec, part, labels) for part in _split(cell, spec, rule, labels)]
        return list(dict.fromkeys(parts))
    if kind in ("ids", "texts"):
        return [_code(spec, p, labels) if labels else p for p in _split(cell, spec, rule, labels)]
    if kind == "persons":
        return [{"name": part} for part in _split(cell, spec, rule, labels)]
    if kind == "geo":
        return _point(cell, path)
    raise _CellError(f"field {path!r} cannot come from a column")


def _country(answer: str, path: str) -> str:
    """An ISO 3166-1 code: alpha-2, alpha-3 or an English name as pycountry knows it."""
    text = answer.strip()
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        raise _CellError(
            f"field {path!r} must be a country (an ISO code or an English name), or be "
            f"mapped under values.{path}"
        ) from None
    return str(found.alpha_2)


def _point(cell: str, path: str) -> dict[str, float]:
    """A GPS answer as survey tools write it: 'lat lon [altitude [precision]]'. The
    altitude is not kept (the contract has no use for it, and a floor can identify)."""
    parts = cell.split()
    if not 2 <= len(parts) <= 4:
        raise _CellError(f"field {path!r} must be 'latitude longitude [altitude [precision]]'")
    numbers = [_number(part, path) for part in parts]
    point = {"lat": numbers[0], "lon": numbers[1]}
    if len(numbers) == 4:
        point["precision"] = numbers[3]
    return point


# Loading ----------------------------------------------------------------------------


@dataclass
class _Draft:
    """A mapping file's parts, merged with the preset it extends."""

    description: str
    fixed: dict[str, str]
    columns: dict[str, _Rule]
    values: dict[str, dict[str, list[str]]]
    ignore: list[str]
    files: tuple[str, ...]
    under: str | None


class _Loader(yaml.BaseLoader):
    """Every scalar stays a string: 'no', 'Sí' and '1' are answers, not booleans."""


def _error(
    source: str, lines: Mapping[tuple[str, ...], int], loc: Iterable[str], message: str
) -> InvalidInputError:
    path = tuple(loc)
    line = None
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            break
    at = f":line {line}" if line is not None else ""
    key = ".".join(path)
    return InvalidInputError(f"{key}: {message}" if key else message, where=f"{source}{at}")


def _compose(text: str, source: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The YAML document as plain strings, lists and dicts, with each key's line.
    Repeated keys are refused (YAML would keep the last silently); aliases count
    each time they are used, so a small file cannot expand without bound."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f":line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"malformed YAML: {exc.problem}", where=f"{source}{at}") from None
    except yaml.YAMLError:
        raise InvalidInputError("malformed YAML", where=source) from None
    lines: dict[tuple[str, ...], int] = {}
    budget = [_MAX_NODES]

    def build(node: yaml.Node, path: tuple[str, ...]) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or len(path) > _MAX_DEPTH:
            raise InvalidInputError("the mapping is too large or nested too deep", where=source)
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _error(source, lines, path, "keys must be plain names")
                key = key_node.value
                if key in out:
                    lines[(*path, key)] = key_node.start_mark.line + 1
                    raise _error(source, lines, (*path, key), "appears twice")
                lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, str(i))) for i, item in enumerate(node.value)]
        return node.value

    return (build(root, ()) if root is not None else None), lines


_PYDANTIC_MESSAGES: Final = {
    "missing": "is required",
    "string_type": "must be a single value",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "list_type": "must be a list",
    "too_short": "must not be empty",
}


def _structure(data: Any, source: str, lines: Mapping[tuple[str, ...], int]) -> _MappingFile:
    if not isinstance(data, dict):
        raise InvalidInputError("a mapping file must be a mapping of keys", where=source)
    try:
        return _MappingFile.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        # Pydantic's own messages may quote the input; only its kind of error is used.
        loc = [str(part) for part in problem["loc"]]
        kind = problem["type"]
        if kind == "extra_forbidden":
            allowed: tuple[str, ...]
            if len(loc) == 1:
                allowed = _TOP_KEYS
            elif loc[0] == "files":
                allowed = _FILES_KEYS
            else:
                allowed = _COLUMN_KEYS
            message = f"unknown key; use {', '.join(allowed)}"
        else:
            message = _PYDANTIC_MESSAGES.get(kind, "is not valid here")
        raise _error(source, lines, loc, message) from None


def _draft(parsed: _MappingFile, source: str, lines: Mapping[tuple[str, ...], int]) -> _Draft:
    """One file's parts; within one file, a column is mapped, a file or ignored, once."""
    columns = {c: _Rule(s.field, s.split, s.format) for c, s in parsed.columns.items()}
    by_field: dict[str, str] = {}
    for column, rule in columns.items():
        if rule.field in by_field:
            raise _error(
                source,
                lines,
                ("columns", column),
                f"field {rule.field!r} is given by column {_shown(by_field[rule.field])} already",
            )
        by_field[rule.field] = column
        if column in parsed.ignore:
            raise _error(source, lines, ("columns", column), "is also listed under ignore")
    files = tuple(parsed.files.columns) if parsed.files else ()
    for i, column in enumerate(files):
        if column in columns:
            raise _error(source, lines, ("files", "columns", str(i)), "is mapped under columns too")
    return _Draft(
        parsed.description,
        dict(parsed.fixed),
        columns,
        {f: {code: list(labels) for code, labels in m.items()} for f, m in parsed.values.items()},
        list(parsed.ignore),
        files,
        parsed.files.under if parsed.files else None,
    )


def _extend(base: _Draft, child: _Draft) -> _Draft:
    """``child`` over the preset ``base``: the child's words win. A field the child
    sets, or maps from a column of its own, no longer comes from the base's column
    (which is then ignored) or constant; a column the child ignores by name is no
    longer mapped; answers add to the base's per code; files the child names
    replace the base's."""
    child_fields = {rule.field for rule in child.columns.values()} | set(child.fixed)
    dropped = set(child.ignore) | set(child.columns)
    columns: dict[str, _Rule] = {}
    ignore = list(base.ignore)
    for column, rule in base.columns.items():
        if column in dropped:
            continue
        if rule.field in child_fields:
            ignore.append(column)
            continue
        columns[column] = rule
    columns.update(child.columns)
    values = {f: {c: list(ls) for c, ls in m.items()} for f, m in base.values.items()}
    for field_path, codes in child.values.items():
        merged = values.setdefault(field_path, {})
        for code, labels in codes.items():
            merged[code] = list(dict.fromkeys([*merged.get(code, []), *labels]))
    files = child.files or tuple(c for c in base.files if c not in dropped)
    mapped = {rule.field for rule in child.columns.values()}
    fixed = {path: v for path, v in base.fixed.items() if path not in mapped} | child.fixed
    return _Draft(
        child.description or base.description,
        fixed,
        columns,
        values,
        ignore + [c for c in child.ignore if c not in base.columns],
        files,
        child.under if child.files else base.under,
    )


def _target(path: str, types: tuple[str, ...]) -> FieldSpec | None:
    """The spec of a field a mapping may fill, in any of ``types``; for a location's
    coordinate, the location's."""
    base, _, key = path.rpartition(".")
    for rtype in types:
        specs = FIELDS[rtype]
        spec = specs.get(path)
        if spec is not None and spec.kind != "group":
            return spec
        if key in GEO_KEYS and base in specs and specs[base].kind == "geo":
            return specs[base]
    return None


def _check_format(fmt: str) -> bool:
    if fmt == "iso":
        return True
    if "%" not in fmt:
        return False
    sample = dt.datetime(2024, 11, 23, 13, 5, 6)
    try:
        dt.datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError:
        return False
    return True


def _check_code(spec: FieldSpec, code: str) -> bool:
    if spec.kind == "bool":
        return code in ("true", "false")
    if spec.choices:
        return code in spec.choices
    if spec.kind == "country":
        return (
            len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None
        )
    return bool(code.strip())


class _Fail:
    """Errors naming one mapping file, its lines and keys."""

    def __init__(self, source: str, lines: Mapping[tuple[str, ...], int]) -> None:
        self.source = source
        self.lines = lines

    def __call__(self, loc: Iterable[str], message: str) -> InvalidInputError:
        return _error(self.source, self.lines, loc, message)


def _build(draft: _Draft, source: str, lines: Mapping[tuple[str, ...], int]) -> SurveyMapping:
    """Check a (merged) draft against the record contract and compile it."""
    fail = _Fail(source, lines)
    rtype = draft.fixed.get("type")
    if rtype is not None and rtype not in RECORD_SPECS:
        raise fail(("set", "type"), f"must be one of {', '.join(RECORD_TYPES)}")
    if rtype is None and not any(rule.field == "type" for rule in draft.columns.values()):
        raise fail(("set", "type"), "is required (or map a column to 'type')")
    types: tuple[str, ...] = (rtype,) if rtype is not None else RECORD_TYPES
    kind_of = f"a {rtype}" if rtype is not None else "any record type"
    fixed = _fixed(draft, types, kind_of, fail)
    _check_columns(draft, types, kind_of, fixed, fail)
    values = {
        path: _value_map(path, codes, types, kind_of, fail) for path, codes in draft.values.items()
    }
    names: set[str] = set()
    patterns: list[str] = []
    for i, entry in enumerate(draft.ignore):
        if not entry:
            raise fail(("ignore", str(i)), "is empty")
        if any(c in entry for c in "*?["):
            patterns.append(entry)
        else:
            names.add(entry)
    for i, column in enumerate(draft.files):
        if not column:
            raise fail(("files", "columns", str(i)), "is empty")
    if draft.under is not None and not draft.under:
        raise fail(("files", "under"), "is empty")
    return SurveyMapping(
        source=source,
        description=draft.description,
        record_type=rtype,
        fixed=fixed,
        rules=dict(draft.columns),
        ignored=frozenset(names - set(draft.columns) - set(draft.files)),
        patterns=tuple(patterns),
        values=values,
        files=draft.files,
        files_under=draft.under,
    )


def _fixed(draft: _Draft, types: tuple[str, ...], kind_of: str, fail: _Fail) -> dict[str, Any]:
    """The constant fields, converted as a cell would be."""
    fixed: dict[str, Any] = {}
    for path, text in draft.fixed.items():
        spec = _target(path, types)
        if spec is None or spec.path != path:
            raise fail(("set", path), f"is not a field of {kind_of}")
        if spec.kind == "geo":
            raise fail(("set", path), "a location comes from a column, not from the mapping")
        try:
            fixed[path] = _convert(spec, text, _Rule(path), None)
        except _CellError as exc:
            raise fail(("set", path), str(exc)) from None
    return fixed


def _check_columns(
    draft: _Draft,
    types: tuple[str, ...],
    kind_of: str,
    fixed: Mapping[str, Any],
    fail: _Fail,
) -> None:
    for column, rule in draft.columns.items():
        loc = ("columns", column)
        if rule.field == "attachments":
            raise fail(loc, "evidence files are named under files, not mapped to a field")
        spec = _target(rule.field, types)
        if spec is None:
            coordinate = rule.field.rpartition(".")[2]
            hint = " (the altitude is not kept: ignore the column)" if coordinate == "alt" else ""
            raise fail(loc, f"{rule.field!r} is not a field of {kind_of}{hint}")
        if rule.field in fixed:
            raise fail(loc, f"field {rule.field!r} is set in the mapping already")
        if rule.split is not None and (spec.kind not in _LIST_KINDS or not rule.split):
            raise fail((*loc, "split"), f"{rule.field!r} is not a list of answers")
        if rule.format is not None:
            if spec.kind != "date" and not spec.path.endswith("birth_year"):
                raise fail((*loc, "format"), f"{rule.field!r} is not a date")
            if not _check_format(rule.format):
                raise fail((*loc, "format"), "must be iso or a strptime format such as %d/%m/%Y")


def _value_map(
    path: str,
    codes: Mapping[str, list[str]],
    types: tuple[str, ...],
    kind_of: str,
    fail: _Fail,
) -> dict[str, str]:
    """One field's answers, folded, each to its code; an answer under two codes is refused."""
    spec = _target(path, types)
    if spec is None or spec.path != path:
        raise fail(("values", path), f"is not a field of {kind_of}")
    if spec.kind not in _MAPPED_KINDS:
        raise fail(("values", path), f"{path!r} takes no value map (it is {spec.kind})")
    if not codes:
        raise fail(("values", path), "is empty")
    folded: dict[str, str] = {}
    for code, labels in codes.items():
        if not _check_code(spec, code):
            choices = f": use {', '.join(spec.choices)}" if spec.choices else ""
            if spec.kind == "bool":
                choices = ": use true or false"
            raise fail(("values", path, code), f"is not a code of {path!r}{choices}")
        if not labels:
            raise fail(("values", path, code), "lists no answer")
        for label in labels:
            key = _fold(label)
            if not key:
                raise fail(("values", path, code), "lists an empty answer")
            if folded.get(key, code) != code:
                raise fail(
                    ("values", path, code),
                    f"an answer listed here is listed under {folded[key]!r} too",
                )
            folded[key] = code
    return folded


def _read(text: str, source: str) -> tuple[_MappingFile, dict[tuple[str, ...], int]]:
    data, lines = _compose(text, source)
    if data is None:
        raise InvalidInputError("the mapping is empty", where=source)
    return _structure(data, source, lines), lines


def parse_mapping(text: str, source: str) -> SurveyMapping:
    """Validate mapping text; errors name ``source``, the line and the key."""
    parsed, lines = _read(text, source)
    draft = _draft(parsed, source, lines)
    if parsed.extends is not None:
        presets = shipped_mappings()
        if parsed.extends not in presets:
            raise _error(
                source,
                lines,
                ("extends",),
                f"no shipped mapping of that name; use {', '.join(sorted(presets))}",
            )
        base_source = f"vault/mappings/{parsed.extends}.yaml"
        base, base_lines = _read(presets[parsed.extends], base_source)
        if base.extends is not None:  # pragma: no cover - shipped presets extend nothing
            raise InvalidInputError("a preset may not extend another", where=base_source)
        draft = _extend(_draft(base, base_source, base_lines), draft)
    return _build(draft, source, lines)


def load_mapping(path: str | os.PathLike[str]) -> SurveyMapping:
    """Read and validate a mapping file."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_MAPPING_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(p)) from None
    if len(raw) > MAX_MAPPING_BYTES:
        raise InvalidInputError("mapping file larger than 1 MB", where=str(p))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=str(p)) from None
    return parse_mapping(text, str(p))


def find_mapping(name_or_path: str | os.PathLike[str]) -> SurveyMapping:
    """A mapping by file path, or a shipped preset by name (``kobo``, ``odk``). A
    bare name is only ever a preset's: a stray file called ``kobo`` in the working
    folder does not stand in for it."""
    text = os.fspath(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or os.sep in text or "/" in text:
        return load_mapping(candidate)
    presets = shipped_mappings()
    if text in presets:
        return parse_mapping(presets[text], f"vault/mappings/{text}.yaml")
    raise NotFoundError(
        f"no mapping {text!r}: name a .yaml file, or a shipped one: {', '.join(sorted(presets))}"
    )


def describe_shipped() -> list[tuple[str, str]]:
    """Each shipped mapping's name and description, for ``evault import --map list``."""
    return [
        (name, parse_mapping(text, f"vault/mappings/{name}.yaml").description)
        for name, text in shipped_mappings().items()
    ]
