"""Statistics as tables: what each dimension reads of a record, how units are
counted, and the typed tables (cells, margins, a suppressed flag per cell) that
the command line, the HTTP API and reports render.

Invariants:

* **What is counted.** Testimonies and findings count once per cell they fall in;
  a testimony names several allegations and counts under each, so totals across
  allegations count mentions (the table says so in ``repeats``). Workers are
  people: testimonies of one site that share a sealed link are one worker (the
  rule of k-anonymity, :func:`vault.export.plan.people_of`), counted once, under
  the site, month, channel, gender and migrant status of their first testimony,
  and once under each allegation any of their testimonies names.
* **Who a cell counts.** Every cell, margin and total knows how many distinct
  people stand behind it (a finding stands for itself): suppression decides on
  people, not on records, so six testimonies of one worker are a cell of one.
* **Safe by construction.** Once a table is laid out with a threshold, a
  suppressed cell holds no value at all: nothing that renders a table can show one.
  Margins are the sums of the cells they total, so :mod:`vault.suppress` can prove
  that no suppressed cell can be recovered from them.
* **Audience rules.** Under a policy a dimension is allowed only where the policy
  lets its field out (in any form but ``drop``, at least as fine as asked; site ids
  only as they are), and for an aggregate-only policy only its ``aggregate.by``.

Nothing here reads the vault: the service (:mod:`vault.stats`) feeds records in.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from vault.errors import PermissionDeniedError, UsageError
from vault.policy import Policy
from vault.redaction import SiteInfo
from vault.suppress import Pos, suppress

__all__ = [
    "DIMENSIONS",
    "MEASURES",
    "Cell",
    "Remediation",
    "Statistics",
    "Table",
    "Tally",
    "Timing",
    "TimingTally",
    "check_policy",
    "labels",
    "measures_for",
    "parse_dimensions",
]

DIMENSIONS: Final = (
    "site",
    "country",
    "month",
    "quarter",
    "year",
    "allegation",
    "severity",
    "status",
    "channel",
    "gender",
    "migrant",
)
MEASURES: Final = ("testimonies", "findings", "workers")
MAX_DIMENSIONS: Final = 3
NONE_LABEL: Final = "(none)"
ALL_LABEL: Final = "(all)"
# The record type each measure counts.
MEASURE_TYPE: Final = {"testimonies": "testimony", "findings": "finding", "workers": "testimony"}
# The field each dimension reads, per record type it applies to ("country" reads
# the site the record's site_id names).
FIELD_OF: Final[dict[str, dict[str, str]]] = {
    "site": {"testimony": "site_id", "finding": "site_id"},
    "country": {"testimony": "site_id", "finding": "site_id"},
    "month": {"testimony": "received_on", "finding": "audit_date"},
    "quarter": {"testimony": "received_on", "finding": "audit_date"},
    "year": {"testimony": "received_on", "finding": "audit_date"},
    "allegation": {"testimony": "allegations", "finding": "category"},
    "severity": {"finding": "severity"},
    "status": {"finding": "status"},
    "channel": {"testimony": "channel"},
    "gender": {"testimony": "worker.gender"},
    "migrant": {"testimony": "worker.migrant"},
}
_DATE_LEVEL: Final = {"month": 0, "quarter": 1, "year": 2}
# What an aggregate-only policy's ``aggregate.by`` allows, as dimensions.
_AGGREGATE_DIMENSIONS: Final = {
    "site.country": "country",
    "allegation": "allegation",
    "category": "allegation",
    "severity": "severity",
    "status": "status",
    "year": "year",
}


def parse_dimensions(by: str | Sequence[str]) -> tuple[str, ...]:
    """``"site,month"`` or ``["site", "month"]`` as dimensions, checked."""
    names = [p.strip() for p in by.split(",")] if isinstance(by, str) else list(by)
    names = [n for n in names if n]
    for name in names:
        if name not in DIMENSIONS:
            raise UsageError(
                f"unknown dimension {name!r}; use {', '.join(DIMENSIONS)}"
                if isinstance(name, str) and name.isidentifier()
                else f"unknown dimension; use {', '.join(DIMENSIONS)}"
            )
    if len(set(names)) != len(names):
        raise UsageError("a dimension is named twice")
    if len(names) > MAX_DIMENSIONS:
        raise UsageError(f"at most {MAX_DIMENSIONS} dimensions at once")
    return tuple(names)


def measures_for(dims: Sequence[str], asked: Sequence[str] | None = None) -> tuple[str, ...]:
    """The measures that can be broken down by every dimension of ``dims``: all of
    them that can, unless ``asked`` names some (then each must)."""
    for name in asked or ():
        if name not in MEASURES:
            raise UsageError(f"unknown count {name!r}; use {', '.join(MEASURES)}")
    fits = [m for m in asked or MEASURES if all(MEASURE_TYPE[m] in FIELD_OF[d] for d in dims)]
    if asked and len(fits) != len(set(asked)):
        odd = next(m for m in asked if m not in fits)
        raise UsageError(f"{odd} cannot be counted by {' and '.join(dims)}")
    if not fits:
        raise UsageError(f"no records can be counted by {' and '.join(dims)} together")
    return tuple(dict.fromkeys(fits))


def check_policy(policy: Policy, dims: Sequence[str], measures: Sequence[str]) -> None:
    """Refuse statistics by a field ``policy`` does not let its audience see, or of
    records it does not let out at all (PermissionDeniedError)."""
    refuse = f"policy {policy.name!r}"
    if policy.aggregate is not None:
        allowed = {_AGGREGATE_DIMENSIONS.get(k) for k in policy.aggregate.by}
        for dim in dims:
            if dim not in allowed:
                raise PermissionDeniedError(
                    f"{refuse} publishes counts by {', '.join(policy.aggregate.by)} only; "
                    f"statistics by {dim} are refused"
                )
        return
    for measure in measures:
        rtype = MEASURE_TYPE[measure]
        rules = policy.types.get(rtype)
        if rules is None:
            raise PermissionDeniedError(f"{refuse} lets no {rtype} out; {measure} are refused")
        for dim in dims:
            path = FIELD_OF[dim][rtype]
            for high in (False, True) if rtype == "testimony" else (False,):
                action = rules.action_for(rtype, path, high_risk=high)
                level = f" of {'high-risk ' if high else ''}{rtype} records"
                if action.kind == "drop":
                    raise PermissionDeniedError(
                        f"{refuse} does not let {path}{level} out; statistics by {dim} are refused"
                    )
                if dim == "site" and action.kind != "keep":
                    raise PermissionDeniedError(
                        f"{refuse} lets site ids{level} out only as {action.kind}; "
                        "statistics by site are refused (use country)"
                    )
                if (
                    dim in _DATE_LEVEL
                    and action.kind == "generalize"
                    and _DATE_LEVEL[str(action.param)] > _DATE_LEVEL[dim]
                ):
                    raise PermissionDeniedError(
                        f"{refuse} lets {path}{level} out only by {action.param}; "
                        f"statistics by {dim} are refused"
                    )


def labels(dim: str, rtype: str, record: Mapping[str, Any], site: SiteInfo | None) -> list[str]:
    """The cell labels a record falls under along ``dim`` (several for a
    testimony's allegations)."""
    path = FIELD_OF[dim][rtype]
    if dim == "site":
        return [str(record.get("site_id") or NONE_LABEL)]
    if dim == "country":
        return [site.country if site else NONE_LABEL]
    head, _, tail = path.partition(".")
    value = record.get(head)
    if tail:
        value = value.get(tail) if isinstance(value, dict) else None
    if value is None or value == []:
        return [NONE_LABEL]
    if dim in _DATE_LEVEL:
        day = str(value)
        if dim == "month":
            return [day[:7]]
        if dim == "quarter":
            return [f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"]
        return [day[:4]]
    if dim == "migrant":
        return ["yes" if value is True else "no"]
    if isinstance(value, list):
        return sorted({str(v) for v in value})
    return [str(value)]


@dataclass(frozen=True, slots=True)
class Cell:
    """One count of a table; ``value`` is None when it is suppressed."""

    value: int | None

    @property
    def suppressed(self) -> bool:
        return self.value is None


Key = tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """Counts by ``by``, laid out as rows (every dimension but the last) and
    columns (the last), with row totals, column totals and the grand total.

    With one dimension there is one column and no row or column totals (they
    would repeat the cells); with none, the grand total alone. ``threshold`` is
    None for exact counts; otherwise suppressed cells hold None. Along a
    dimension in ``repeats`` one unit may count more than once, so totals along it
    add up mentions.
    """

    measure: str
    by: tuple[str, ...]
    rows: tuple[Key, ...]
    columns: tuple[Key, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...] | None
    column_totals: tuple[Cell, ...] | None
    total: Cell
    threshold: int | None
    repeats: tuple[str, ...] = ()

    @property
    def row_dims(self) -> tuple[str, ...]:
        return self.by[:-1] if len(self.by) > 1 else self.by

    @property
    def column_dims(self) -> tuple[str, ...]:
        return self.by[-1:] if len(self.by) > 1 else ()

    @property
    def title(self) -> str:
        return f"{self.measure} by {' × '.join(self.by)}" if self.by else self.measure

    @property
    def suppressed(self) -> int:
        """How many counts (cells, totals) are suppressed."""
        cells = [c for row in self.cells for c in row]
        margins = [*(self.row_totals or ()), *(self.column_totals or ())]
        if self.by:
            margins.append(self.total)
        return sum(c.suppressed for c in cells + margins)

    def long(self) -> Iterator[tuple[Key, Cell]]:
        """Every count with its full key, ``(all)`` standing in for a dimension a
        total adds up (for CSV and spreadsheets)."""
        n_rows = len(self.row_dims)
        every = (ALL_LABEL,) * n_rows
        for i, (row, cells) in enumerate(zip(self.rows, self.cells, strict=True)):
            for col, cell in zip(self.columns, cells, strict=True):
                yield (*row, *col), cell
            if self.row_totals is not None:
                yield (*row, ALL_LABEL), self.row_totals[i]
        if self.column_totals is not None:
            for col, cell in zip(self.columns, self.column_totals, strict=True):
                yield (*every, *col), cell
        if self.by:
            yield (ALL_LABEL,) * len(self.by), self.total

    def to_dict(self) -> dict[str, Any]:
        def values(cells: Iterable[Cell]) -> list[int | None]:
            return [c.value for c in cells]

        return {
            "measure": self.measure,
            "by": list(self.by),
            "row_dimensions": list(self.row_dims),
            "column_dimensions": list(self.column_dims),
            "rows": [list(r) for r in self.rows],
            "columns": [list(c) for c in self.columns],
            "cells": [values(row) for row in self.cells],
            "row_totals": None if self.row_totals is None else values(self.row_totals),
            "column_totals": None if self.column_totals is None else values(self.column_totals),
            "total": self.total.value,
            "threshold": self.threshold,
            "suppressed": self.suppressed,
            "repeats": list(self.repeats),
        }


def _order(label: str) -> tuple[bool, str]:
    return (label == NONE_LABEL, label)


class Tally:
    """Counts of one measure by ``dims``, and the people behind each count while
    there are fewer than ``threshold`` of them (None: exact counts, no people)."""

    def __init__(
        self, measure: str, dims: Sequence[str], threshold: int | None, repeats: Sequence[str] = ()
    ) -> None:
        self.measure = measure
        self.dims = tuple(dims)
        self.threshold = threshold
        self.repeats = tuple(d for d in repeats if d in self.dims)
        self.counts: dict[Key, int] = {}
        self.people: dict[Key, set[Hashable]] = {}

    def add(self, keys: Sequence[Sequence[str]], person: Hashable) -> None:
        """Count one unit under every combination of its labels (one list per
        dimension), standing for ``person``."""
        for key in itertools.product(*keys):
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.threshold is not None:
                who = self.people.setdefault(key, set())
                if len(who) < self.threshold:
                    who.add(person)

    def _people(self, keys: Iterable[Key]) -> int:
        """People behind the cells of ``keys`` together, up to the threshold."""
        assert self.threshold is not None
        seen: set[Hashable] = set()
        for key in keys:
            seen |= self.people.get(key, set())
            if len(seen) >= self.threshold:
                break
        return len(seen)

    def table(self) -> Table:
        """Lay the counts out and, with a threshold, suppress (see :class:`Table`)."""
        k = len(self.dims)
        if k >= 2:
            rows = sorted({key[:-1] for key in self.counts}, key=lambda r: [_order(x) for x in r])
            columns = sorted({key[-1:] for key in self.counts}, key=lambda c: _order(c[0]))
        elif k == 1:
            rows = sorted(self.counts, key=lambda r: _order(r[0]))
            columns = [()]
        else:
            rows, columns = [()], [()]
        r, c = len(rows), len(columns)
        grid = [[self.counts.get((*row, *col), 0) for col in columns] for row in rows]
        values = [[*line, sum(line)] for line in grid]
        values.append([sum(values[i][j] for i in range(r)) for j in range(c + 1)])
        # Entries the layout does not publish: with one dimension the row totals
        # repeat the cells; with none, only the cell is shown.
        free: set[Pos] = set()
        if k <= 1:
            free |= {(i, c) for i in range(r + 1)}
        if k == 0:
            free.add((r, 0))
        hidden: frozenset[Pos] = frozenset()
        if self.threshold is not None and self.counts:
            keys = [[(*row, *col) for col in columns] for row in rows]
            people = {(i, j): self._people([keys[i][j]]) for i in range(r) for j in range(c)}
            for i in range(r):
                people[(i, c)] = self._people(keys[i])
            for j in range(c):
                people[(r, j)] = self._people(keys[i][j] for i in range(r))
            people[(r, c)] = self._people(key for line in keys for key in line)
            sensitive = {
                pos for pos, n in people.items() if 0 < n < self.threshold and pos not in free
            }
            hidden = suppress(values, sensitive, threshold=self.threshold, free=free)

        def cell(i: int, j: int) -> Cell:
            return Cell(None if (i, j) in hidden else values[i][j])

        total = cell(r, c) if k >= 2 else cell(r, 0) if k == 1 else cell(0, 0)
        return Table(
            measure=self.measure,
            by=self.dims,
            rows=tuple(rows),
            columns=tuple(columns),
            cells=tuple(tuple(cell(i, j) for j in range(c)) for i in range(r)),
            row_totals=tuple(cell(i, c) for i in range(r)) if k >= 2 else None,
            column_totals=tuple(cell(r, j) for j in range(c)) if k >= 2 else None,
            total=total,
            threshold=self.threshold,
            repeats=self.repeats,
        )


@dataclass(frozen=True, slots=True)
class Timing:
    """Days from audit to remediation of the remediated findings of one group
    (``key``; all ``(all)`` for every finding): None where fewer than the
    threshold of them carry a remediation date."""

    key: Key
    median_days: float | None
    p90_days: float | None

    def to_dict(self, by: Sequence[str]) -> dict[str, Any]:
        return {
            **dict(zip(by, self.key, strict=True)),
            "median_days": self.median_days,
            "p90_days": self.p90_days,
        }


class TimingTally:
    """Days from audit to remediation, by ``dims``."""

    def __init__(self, dims: Sequence[str], threshold: int | None) -> None:
        self.dims = tuple(dims)
        self.threshold = threshold
        self.days: dict[Key, list[int]] = {}

    def add(self, keys: Sequence[Sequence[str]], finding: Mapping[str, Any]) -> None:
        """Count a finding if it is remediated with a date (``remediation.updated``)."""
        remediation = finding.get("remediation")
        done = remediation.get("updated") if isinstance(remediation, dict) else None
        if finding.get("status") != "remediated" or not done:
            return
        days = (dt.date.fromisoformat(done) - dt.date.fromisoformat(finding["audit_date"])).days
        for key in itertools.product(*keys):
            self.days.setdefault(key, []).append(days)
        if self.dims:
            self.days.setdefault((ALL_LABEL,) * len(self.dims), []).append(days)

    def timings(self) -> tuple[Timing, ...]:
        out = []
        for key in sorted(self.days, key=lambda k: [(x == ALL_LABEL, *_order(x)) for x in k]):
            days = self.days[key]
            if self.threshold is not None and len(days) < self.threshold:
                out.append(Timing(key, None, None))
                continue
            median, p90 = np.percentile(np.asarray(days, dtype=float), [50, 90])
            out.append(Timing(key, round(float(median), 1), round(float(p90), 1)))
        return tuple(out)


@dataclass(frozen=True)
class Remediation:
    """Where findings stand: counts by status, open or in remediation past their
    plan's due date (``overdue``, on ``as_of``), and days to remediation."""

    by_status: Table
    overdue: Table
    timing: tuple[Timing, ...]
    as_of: dt.date

    def to_dict(self) -> dict[str, Any]:
        by = self.overdue.by
        return {
            "as_of": self.as_of.isoformat(),
            "by_status": self.by_status.to_dict(),
            "overdue": self.overdue.to_dict(),
            "days_to_remediation": [t.to_dict(by) for t in self.timing],
        }


@dataclass(frozen=True)
class Statistics:
    """What :meth:`vault.Vault.stats` returns: one table per measure, where
    findings stand, and what was left out and why (records a policy would not
    export, by reason). ``threshold`` is None for exact counts."""

    by: tuple[str, ...]
    policy: str | None
    policy_sha256: str | None
    threshold: int | None
    tables: tuple[Table, ...]
    remediation: Remediation | None
    left_out: dict[str, int] = field(default_factory=dict)

    def table(self, measure: str) -> Table:
        for t in self.tables:
            if t.measure == measure:
                return t
        raise KeyError(measure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": list(self.by),
            "policy": self.policy,
            "policy_sha256": self.policy_sha256,
            "threshold": self.threshold,
            "exact": self.threshold is None,
            "tables": [t.to_dict() for t in self.tables],
            "remediation": None if self.remediation is None else self.remediation.to_dict(),
            "left_out": dict(sorted(self.left_out.items())),
        }
