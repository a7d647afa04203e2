"""Keys and identities over time: rotate-keys, retire-keys, erase-subject, retention.

Invariants kept here: rotation works in batches that each commit, so it is safe to
interrupt and run again; erasing a worker's identity key asks first unless --yes,
and erasing by a testimony whose worker was erased already says so and succeeds; a
retention run can say what is due without erasing anything (--dry-run).
"""

from __future__ import annotations

import json

import click

from vault import UsageError
from vault.cli._common import State, _, cli, done, json_option, progress_bars

__all__ = ["erase_subject", "retention", "retire_keys", "rotate_keys"]


@cli.command(name="rotate-keys")
@click.option("--reencrypt", is_flag=True, help="Also re-seal all data under new data keys.")
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True)
@json_option
@click.pass_obj
def rotate_keys(state: State, reencrypt: bool, batch: int, as_json: bool) -> None:
    """Create a new key-encryption key version and rewrap every data key.

    Works in batches, each one transaction: safe to interrupt; run it again to
    carry on. No record is ever unreadable on the way.
    """
    with state.open() as v, progress_bars(as_json) as progress:
        report = v.rotate_keys(reencrypt=reencrypt, batch=batch, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(
            _(
                "Rotated to key version {version}: {records} record versions and "
                "{subjects} worker keys rewrapped."
            ).format(version=report.target, records=report.records, subjects=report.subjects)
        )


@cli.command(name="retire-keys")
@click.option("--below", type=click.IntRange(min=2), required=True)
@json_option
@click.pass_obj
def retire_keys(state: State, below: int, as_json: bool) -> None:
    """Refuse key versions below N from now on (after a finished rotation)."""
    with state.open() as v:
        v.retire_keys(below)
    done(
        as_json,
        _("Key versions below {n} are retired.").format(n=below),
        retired_below=below,
    )


@cli.command(name="erase-subject")
@click.option("--testimony", "testimony_id", help="A testimony of the worker.")
@click.option("--employee-id", help="The worker's employee id (blind-indexed).")
@click.option("--phone", help="The worker's phone (blind-indexed).")
@click.option("--country", help="Country for a national-format --phone.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_obj
def erase_subject(
    state: State,
    testimony_id: str | None,
    employee_id: str | None,
    phone: str | None,
    country: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Destroy a worker's identity key: their identity fields can never be opened
    again from this vault. Backups taken before keep the key (see SECURITY.md)."""
    if not yes:
        click.confirm(_("Erase this worker's identity for good?"), abort=True, err=True)
    with state.open() as v:
        n = v.erase_subject(
            testimony_id=testimony_id, employee_id=employee_id, phone=phone, region=country
        )
    # A re-run (after a kill, or of a finished erase) is not an error.
    text = (
        _("Already erased: no identity key of this worker is left.")
        if n == 0
        else _("Erased {n} worker identity key(s).").format(n=n)
    )
    done(as_json, text, erased=n)


@cli.group()
def retention() -> None:
    """Erase identities after a set time: set the rule, then run it (e.g. from cron)."""


@retention.command(name="set")
@click.option(
    "--days-after-remediation",
    type=click.IntRange(min=0),
    help="Erase identities this many days after a citing finding is remediated.",
)
@click.option("--off", is_flag=True, help="Remove the rule.")
@json_option
@click.pass_obj
def retention_set(
    state: State, days_after_remediation: int | None, off: bool, as_json: bool
) -> None:
    """Set (or remove) the retention rule."""
    if off == (days_after_remediation is not None):
        raise UsageError("give --days-after-remediation N or --off")
    with state.open() as v:
        v.set_retention(None if off else days_after_remediation)
    text = (
        _("Retention rule removed.")
        if off
        else _("Identities go {n} days after remediation.").format(n=days_after_remediation)
    )
    done(as_json, text, days_after_remediation=None if off else days_after_remediation)


@retention.command(name="run")
@click.option("--dry-run", is_flag=True, help="Say what is due; erase nothing.")
@json_option
@click.pass_obj
def retention_run(state: State, dry_run: bool, as_json: bool) -> None:
    """Apply the retention rule (audited)."""
    with state.open() as v:
        result = v.run_retention(dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result))
    else:
        text = (
            _("{due} worker identities due; would erase {n}.")
            if dry_run
            else _("{due} worker identities due; erased {n}.")
        )
        click.echo(text.format(due=result["due"], n=result["due"] if dry_run else result["erased"]))
