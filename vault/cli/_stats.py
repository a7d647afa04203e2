"""``evault stats``: counts by dimension, as a table on a terminal, JSON or CSV.

Invariants kept here: what is counted, under which rules and with what
suppressed is the library's (:meth:`vault.Vault.stats`); this module renders the
typed tables it returns and cannot show a suppressed count, which the tables do
not hold.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence

import click

from vault.cli._common import State, _, cli, json_option
from vault.tables import ALL_LABEL, DIMENSIONS, MEASURES, Cell, Statistics, Table

__all__ = ["stats"]

HIDDEN = "x"  # how a suppressed count shows on a terminal


@cli.command(name="stats")
@click.option(
    "--by",
    default="",
    help=f"Dimensions, comma-separated (at most 3): {', '.join(DIMENSIONS)}.",
)
@click.option(
    "--policy",
    "policy_name",
    help="Count as the policy would share: its filters, consent and threshold "
    "(needed by every role but admin).",
)
@click.option(
    "--count",
    "measures",
    help=f"What to count, comma-separated: {', '.join(MEASURES)} (default: all that fit).",
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day overdue remediation plans are judged on (default: today).",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: one count per line.")
@json_option
@click.pass_obj
def stats(
    state: State,
    by: str,
    policy_name: str | None,
    measures: str | None,
    as_of: dt.datetime | None,
    as_csv: bool,
    as_json: bool,
) -> None:
    """Count testimonies, findings and workers by site, country, month, quarter,
    year, allegation, severity, finding status, channel, gender or migrant status,
    and say where findings stand (open, in remediation, remediated; days from
    audit to remediation; plans past their due date).

    Admins without --policy see exact counts. Under --policy, only what the policy
    would export counts, a worker counts once however many testimonies they gave,
    and every count of fewer people than the policy's stats threshold is
    suppressed (shown as x), with other counts so that no total gives it back.
    """
    if as_csv and as_json:
        raise click.UsageError("--csv and --json exclude each other")
    policy = state.policy(policy_name) if policy_name else None
    count = [m.strip() for m in measures.split(",") if m.strip()] if measures else None
    with state.open() as v:
        result = v.stats(by, policy=policy, count=count, as_of=as_of.date() if as_of else None)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif as_csv:
        _csv(result)
    else:
        _text(result)


def _shown(cell: Cell) -> str:
    return HIDDEN if cell.value is None else f"{cell.value:,}"


def _table_lines(table: Table) -> Iterator[str]:
    if not table.by:
        yield f"{table.title.capitalize()}: {_shown(table.total)}"
        return
    head = [*table.row_dims]
    columns = [" / ".join(c) for c in table.columns] if table.column_dims else ["count"]
    rows: list[list[str]] = []
    for i, (row, cells) in enumerate(zip(table.rows, table.cells, strict=True)):
        line = [*row, *(_shown(c) for c in cells)]
        if table.row_totals is not None:
            line.append(_shown(table.row_totals[i]))
        rows.append(line)
    totals = [ALL_LABEL] + [""] * (len(head) - 1)
    totals += [_shown(c) for c in table.column_totals] if table.column_totals else []
    totals.append(_shown(table.total))
    header = [*head, *columns, *(["total"] if table.row_totals is not None else [])]
    rows.append(totals)
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    yield table.title.capitalize()
    keys = len(head)
    for line in [header, *rows]:
        yield "  ".join(
            cell.ljust(w) if k < keys else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
    if table.repeats:
        yield _("(one record may count under several {dims} values)").format(
            dims=", ".join(table.repeats)
        )


def _text(result: Statistics) -> None:
    if result.threshold is None:
        click.echo(_("Exact counts, inside the vault (not for sharing)."))
    else:
        click.echo(
            _(
                "Under policy {policy}: counts of fewer than {n} people, and counts that "
                "would give one back, are suppressed ({mark})."
            ).format(policy=result.policy, n=result.threshold, mark=HIDDEN)
        )
    for table in result.tables:
        click.echo()
        for line in _table_lines(table):
            click.echo(line)
    rem = result.remediation
    if rem is not None:
        # By status is the findings table itself when status is the last dimension.
        if all(t.by != rem.by_status.by or t.measure != "findings" for t in result.tables):
            click.echo()
            for line in _table_lines(rem.by_status):
                click.echo(line)
        click.echo()
        overdue = rem.overdue
        click.echo(
            _("Remediation plans past their due date on {day}:").format(day=rem.as_of.isoformat())
        )
        for line in _table_lines(overdue):
            click.echo(line)
        click.echo()
        click.echo(_("Days from audit to remediation (median, 90th percentile):"))
        if not rem.timing:
            click.echo("  " + _("no remediated finding carries a remediation date"))
        for t in rem.timing:
            label = " / ".join(t.key) if t.key else ALL_LABEL
            shown = (
                f"{t.median_days:g}, {t.p90_days:g}"
                if t.median_days is not None and t.p90_days is not None
                else f"{HIDDEN} " + _("(fewer than {n} findings)").format(n=result.threshold)
            )
            click.echo(f"  {label}: {shown}")
    if result.left_out:
        left = ", ".join(f"{n} {why}" for why, n in sorted(result.left_out.items()))
        click.echo(
            "\n"
            + _("Left out, as the policy would leave them out of an export: {left}.").format(
                left=left
            )
        )


def _csv(result: Statistics) -> None:
    tables: list[Table] = list(result.tables)
    if result.remediation is not None:
        tables += [result.remediation.by_status, result.remediation.overdue]
    dims: list[str] = []
    for table in tables:
        dims += [d for d in table.by if d not in dims]
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["table", *dims, "value", "suppressed"])

    def row(name: str, by: Sequence[str], key: Sequence[str], value: object) -> None:
        labels = dict(zip(by, key, strict=True))
        out.writerow(
            [
                name,
                *(labels.get(d, "") for d in dims),
                "" if value is None else value,
                str(value is None).lower(),
            ]
        )

    for table in tables:
        name = (
            "findings by status"
            if result.remediation and table is result.remediation.by_status
            else table.measure
        )
        for key, cell in table.long():
            row(name, table.by, key, cell.value)
    if result.remediation is not None:
        by = result.remediation.overdue.by
        for t in result.remediation.timing:
            row("days to remediation (median)", by, t.key, t.median_days)
            row("days to remediation (90th percentile)", by, t.key, t.p90_days)
