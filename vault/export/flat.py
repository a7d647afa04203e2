"""Exported records as CSV, for spreadsheets: one file per record type, one column
per field, nested fields flattened to dotted names (``worker.gender``).

Invariants: the CSV holds exactly what ``records.jsonl`` holds, read back from it
(so the policy has already applied); lists and objects that do not flatten are
written as JSON; a value a spreadsheet would run as a formula is written as text
(a leading ``'``), the one change made to a value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from vault.export.format import csv_name

__all__ = ["flatten", "records_csv"]

_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK: Final = 500


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """One record as ``{dotted name: text}``."""
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (dict, list)):
            out[name] = json.dumps(value, ensure_ascii=False)
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            text = str(value)
            out[name] = f"'{text}" if text.startswith(_FORMULA) else text
    return out


def records_csv(
    reread: Callable[[], Iterator[dict[str, Any]]],
) -> list[tuple[str, str, Iterable[bytes]]]:
    """One CSV member per record type of the export (``records-<type>.csv``): the
    columns are learned in a first pass over the records, the rows written in a
    second, so memory holds column names, never the records."""
    columns: dict[str, dict[str, None]] = {}
    for record in reread():
        kind = str(record.get("type") or "aggregate")
        csv_name(kind)  # refuses a type that is not a plain name
        columns.setdefault(kind, {}).update(dict.fromkeys(flatten(record)))
    return [
        (csv_name(kind), "text/csv", _rows(reread, kind, list(names)))
        for kind, names in sorted(columns.items())
    ]


def _rows(
    reread: Callable[[], Iterator[dict[str, Any]]], kind: str, names: list[str]
) -> Iterator[bytes]:
    buf = io.StringIO()
    out = csv.DictWriter(buf, names, lineterminator="\r\n")
    out.writeheader()
    n = 0
    for record in reread():
        if str(record.get("type") or "aggregate") != kind:
            continue
        out.writerow(flatten(record))
        n += 1
        if n % _ROWS_PER_CHUNK == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()
