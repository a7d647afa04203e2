"""Evidence files sealed to records: attach, attachments, extract, verify-attachment.

Invariants kept here: a file is streamed in and out (never held whole in memory by
the CLI); extract writes the original only after every chunk has verified; a
mismatch with the SHA-256 taken at intake is an integrity error (exit 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from vault.cli._common import State, _, cli, done, json_option, progress_bars, render_rows

__all__ = ["attach", "attachments_", "extract", "verify_attachment"]


@cli.command()
@click.argument("record_id")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--description", help="What the file shows (sealed).")
@click.option(
    "--again", is_flag=True, help="Store FILE even if the record holds the same file already."
)
@json_option
@click.pass_obj
def attach(
    state: State, record_id: str, file: Path, description: str | None, again: bool, as_json: bool
) -> None:
    """Seal FILE (any size, streamed) to RECORD_ID; a keyed digest of it enters the audit log.

    A file the record holds already (the same bytes) is not stored again: the
    command says so, prints the existing attachment's id and exits 0, so a re-run
    is safe. --again stores a second copy.
    """
    with state.open() as v, progress_bars(as_json) as progress:
        info = v.attach(record_id, file, description=description, again=again, progress=progress)
    if as_json:
        click.echo(json.dumps(info.to_dict() | {"existing": info.existing}, ensure_ascii=False))
    elif info.existing:
        click.echo(
            f"{info.id}  {info.media_type}  {info.size} bytes  sha256 {info.sha256}  "
            "(already attached: nothing stored; --again stores a second copy)"
        )
    else:
        click.echo(f"{info.id}  {info.media_type}  {info.size} bytes  sha256 {info.sha256}")


@cli.command(name="attachments")
@click.argument("record_id")
@json_option
@click.pass_obj
def attachments_(state: State, record_id: str, as_json: bool) -> None:
    """List a record's evidence files."""
    with state.open() as v:
        rows = v.attachments(record_id)
    render_rows(
        rows,
        as_json,
        lambda r: f"{r.id}  {r.media_type:<24} {r.size:>12}  {r.name}  {r.description or ''}",
        to_json=lambda r: r.to_dict(),
        ensure_ascii=False,
    )


@cli.command()
@click.argument("attachment_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def extract(state: State, attachment_id: str, out: Path, as_json: bool) -> None:
    """Write the original file to --out (only after every chunk verified)."""
    with state.open() as v, progress_bars(as_json) as progress:
        info = v.extract(attachment_id, out, progress=progress)
    text = _("Wrote {out} ({size} bytes, sha256 {sha256}).").format(
        out=out, size=info.size, sha256=info.sha256
    )
    done(as_json, text, out=str(out), size=info.size, sha256=info.sha256)


@cli.command(name="verify-attachment")
@click.argument("attachment_id")
@json_option
@click.pass_obj
def verify_attachment(state: State, attachment_id: str, as_json: bool) -> None:
    """Re-hash the decrypted file against its intake SHA-256 and audit entry (exit 4 if not)."""
    with state.open() as v:
        info = v.verify_attachment(attachment_id)
    if as_json:
        click.echo(json.dumps({"valid": True, "sha256": info.sha256, "size": info.size}))
    else:
        click.echo(
            _("OK: {id} matches its intake SHA-256 {sha256}.").format(
                id=attachment_id, sha256=info.sha256
            )
        )
