"""The tamper-evident audit log: audit show, verify and checkpoint.

Invariants kept here: entries show who, what and when, never a record value; any
break in the chain is an integrity error (exit 4), never a warning.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from vault.cli._common import State, _, cli, done, json_option, render_rows

__all__ = ["audit_"]


@cli.group(name="audit")
def audit_() -> None:
    """Show, verify and checkpoint the tamper-evident audit log."""


@audit_.command(name="show")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]))
@click.option("--record", "record_id", help="Only entries about this record id.")
@json_option
@click.pass_obj
def audit_show(
    state: State, since: dt.datetime | None, record_id: str | None, as_json: bool
) -> None:
    """List audit entries (who, what, when; never a record value)."""
    with state.open() as v:
        rows = v.audit_entries(
            since=since.replace(tzinfo=dt.UTC) if since else None, record_id=record_id
        )
    render_rows(
        rows,
        as_json,
        lambda r: (
            f"{r.seq:>6} {r.at}  {r.actor:<16} {r.action:<20} "
            f"{json.dumps(r.details, sort_keys=True)}"
        ),
        to_json=lambda r: r.to_dict(),
    )


@audit_.command(name="verify")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint file kept elsewhere.",
)
@json_option
@click.pass_obj
def audit_verify(state: State, against: Path | None, as_json: bool) -> None:
    """Check every entry of the chain (exit code 4 on any tampering)."""
    with state.open() as v:
        report = v.audit_verify(against)
    if as_json:
        click.echo(json.dumps({"valid": True, **report.to_dict()}))
        return
    text = (
        _("OK: {n} entries, head {head}…, consistent with the checkpoint at {size}")
        if against
        else _("OK: {n} entries, head {head}…")
    )
    click.echo(text.format(n=report.size, head=report.head[:16], size=report.checkpoint_size))


@audit_.command(name="checkpoint")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def audit_checkpoint(state: State, out: Path, as_json: bool) -> None:
    """Write a signed checkpoint (size and head of the log) to keep elsewhere."""
    with state.open() as v:
        cp = v.audit_checkpoint()
    out.write_text(json.dumps(cp, indent=1) + "\n", encoding="utf-8")
    text = _("Wrote checkpoint of {n} entries to {out}.").format(n=cp["size"], out=out)
    done(as_json, text, out=str(out), size=cp["size"], head=cp["head"])
