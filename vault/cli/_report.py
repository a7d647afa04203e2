"""``evault report``: the statistics of one policy as a page, a CSV or a workbook.

Invariants kept here: what is counted and suppressed is the library's
(:meth:`vault.Vault.report`), how it reads is :mod:`vault.report`'s; this module
writes the file whole or not at all (a temporary file beside it, renamed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli._common import State, _, cli, complete_policy, done, json_option, spoken_language
from vault.errors import UsageError, from_os_error
from vault.lazy import lazy_module

if TYPE_CHECKING:
    from vault import report as report_module
else:
    # The renderers (and numpy) load when a report is written, not for --help.
    report_module = lazy_module("vault.report")

__all__ = ["report"]


@cli.command(name="report")
@click.option(
    "--policy",
    "policy_name",
    required=True,
    shell_complete=complete_policy,
    help="The policy the report is shared under: its filters, consent and threshold.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (replaced whole once it is complete).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "csv", "xlsx"]),
    default="html",
    show_default=True,
    help="html: one self-contained page with tables and charts; csv: every count in "
    "one CSV with a table column; xlsx: one sheet per table.",
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day overdue remediation plans are judged on (default: today).",
)
@json_option
@click.pass_obj
def report(
    state: State,
    policy_name: str,
    out: Path,
    fmt: str,
    as_of: dt.datetime | None,
    as_json: bool,
) -> None:
    """Write a monitoring report under --policy: counts of testimonies, findings and
    workers by allegation, site and month, and where findings stand, as one HTML
    page with charts (loads nothing, needs no script), a CSV or an XLSX workbook.

    Everything in it is statistics under the policy: only records it would export
    count, a worker counts once, and counts of fewer people than its threshold are
    suppressed (x), with others so that no total gives them back. It says what was
    left out and why. Its words are in the language of --lang (en, fr, es; default:
    the locale's); labels and record content are never translated.
    """
    policy = state.policy(policy_name)
    with state.open() as v:
        result = v.report(policy, as_of=as_of.date() if as_of else None)
    body: bytes
    if fmt == "html":
        body = report_module.render_html(result, spoken_language()).encode()
    elif fmt == "csv":
        body = report_module.render_csv(result).encode()
    else:
        body = report_module.render_xlsx(result)
    _write(out, body)
    hidden = sum(t.suppressed for _name, t in result.tables())
    done(
        as_json,
        _(
            "Wrote {out} ({fmt}) under policy {policy}: {hidden} counts suppressed "
            "(threshold {threshold})."
        ).format(out=out, fmt=fmt, policy=result.policy, hidden=hidden, threshold=result.threshold),
        out=str(out),
        format=fmt,
        policy=result.policy,
        policy_sha256=result.policy_sha256,
        threshold=result.threshold,
        suppressed=hidden,
    )


def _write(out: Path, body: bytes) -> None:
    folder = out.resolve().parent
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".report-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise from_os_error(exc, out) or UsageError(f"{out}: cannot write") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
