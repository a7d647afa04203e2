"""``evault check``: walk the whole vault and name every damaged table and record.

Invariants kept here: findings are printed as they are found (one line each, or one
element each of a streamed JSON document), so memory stays flat on a large vault;
the progress bar counts records, goes to standard error and is drawn only on a
terminal, never with --json; a damaged vault ends with one error line and exit 4
after the whole list, a clean one exits 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from vault import IntegrityError
from vault.cli._common import State, _, cli, json_option, progress_bars

if TYPE_CHECKING:
    from vault.checking import CheckRun, CheckSummary
    from vault.progress import Progress

__all__ = ["check"]


def _by_records(run: list[CheckRun], progress: Progress | None) -> Callable[[int], None] | None:
    """The check's progress (records per batch) as a "checking" stage of ``progress``
    (the total is known from the first batch on)."""
    if progress is None:
        return None
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        progress("checking", done[0], (run[0].total if run else None) or done[0])

    return advance


def summary_text(summary: CheckSummary) -> str:
    """The totals of a check as one sentence."""
    opened = ", ".join(summary.classes) or _("none")
    received = (
        _("{n} received versions").format(n=summary.received) + ", " if summary.received else ""
    )
    verdict = (
        _("{n} damaged").format(n=summary.findings) if summary.findings else _("no damage found")
    )
    text = _(
        "Checked the {database} database, {signed_rows} signed rows, {worker_keys} worker "
        "keys, {records} records ({versions} versions; classes opened: {classes}), "
        "{received}{files} files and {audit_entries} audit entries: {verdict}"
    ).format(
        database=summary.database,
        signed_rows=summary.signed_rows,
        worker_keys=summary.worker_keys,
        records=summary.records,
        versions=summary.versions,
        classes=opened,
        received=received,
        files=summary.files,
        audit_entries=summary.audit_entries,
        verdict=verdict,
    )
    text += "." if summary.audited else " " + _("(the audit log could not record this check).")
    if summary.journal_entries:
        text += " " + _(
            "{n} reads were recorded in {journal} while the audit log could not take them."
        ).format(n=summary.journal_entries, journal=summary.journal)
    return text


@cli.command()
@json_option
@click.pass_obj
def check(state: State, as_json: bool) -> None:
    """Check the whole vault and name every damaged table and record (exit 4 if any).

    Checks the database's own pages (SQLite) or every row (PostgreSQL), the signed
    settings and rows, every worker key, every version of every record in each class
    your keys open, every evidence file, and the audit chain; it carries on past
    each damage. A record is named by its id when any version of it opens, else by
    its keyed reference, version and type. Nothing is repaired.
    """
    holder: list[CheckRun] = []
    with state.open() as v, progress_bars(as_json) as progress:
        run = v.check(progress=_by_records(holder, progress))
        holder.append(run)
        if as_json:
            # Streamed element by element: memory stays flat on large vaults.
            click.echo('{"findings": [', nl=False)
            for i, finding in enumerate(run):
                sep = "," if i else ""
                click.echo(sep + "\n" + json.dumps(finding.to_dict()), nl=False)
            summary = run.summary
            click.echo(
                f'\n], "clean": {json.dumps(not summary.findings)}, '
                f'"summary": {json.dumps(summary.to_dict())}}}'
            )
        else:
            for finding in run:
                click.echo(_("damaged: {finding}").format(finding=finding))
            summary = run.summary
            if progress is not None:
                progress("checking", run.total or 0, run.total or 0)
    if not as_json:
        # After the bar's last line.
        click.echo(summary_text(summary))
    if summary.findings:
        raise IntegrityError(
            f"the vault is damaged: {summary.findings} finding"
            f"{'' if summary.findings == 1 else 's'} (listed above)"
        )
