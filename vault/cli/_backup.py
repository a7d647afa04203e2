"""Backups: backup, verify-backup and restore.

Invariants kept here: a backup is age-encrypted to a recipient and holds what the
vault held when it was taken (keys of workers erased later included, as the help
says); a damaged vault is backed up only with --force; verify-backup opens every
record of the backup with a custodian's passphrase (unless --database-only) and
lists what is damaged; verify-backup and restore need no unlocked vault and
decrypt privately; restore only fills a new, empty vault folder, and gives the
vault its name only once the decrypted copy has passed its checks (a killed
restore can be run again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vault import IntegrityError, UsageError
from vault.cli._common import State, _, cli, done, json_option, progress_bars
from vault.lazy import lazy_module

if TYPE_CHECKING:
    from vault import backup as backup_module
else:
    # Loaded when a backup is checked or restored, not for --help.
    backup_module = lazy_module("vault.backup")

__all__ = ["backup", "restore", "verify_backup_"]

F = TypeVar("F", bound=Callable[..., Any])


def _backup_file_options(f: F) -> F:
    """FILE and --identity, as verify-backup and restore both take them."""
    identity_file = click.Path(dir_okay=False, path_type=Path)
    f = click.option("--identity", required=True, type=identity_file)(f)
    return click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))(f)


@cli.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "recipient",
    required=True,
    help="A registered recipient's name, or an age public key (age1...).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Back up even a vault the check finds damaged (to save what it still holds).",
)
@json_option
@click.pass_obj
def backup(state: State, out: Path, recipient: str, force: bool, as_json: bool) -> None:
    """Write a consistent, age-encrypted snapshot of the vault (SQLite).

    The vault is checked first ('evault check'): a damaged one is refused (exit 4,
    naming what is damaged) unless --force. A backup keeps what the vault holds when
    it is taken, including the keys of workers erased later: set its retention
    accordingly.
    """
    with state.open() as v, progress_bars(as_json) as progress:
        size = v.backup(out, recipient, force=force, progress=progress)
    done(
        as_json,
        _("Wrote {out} ({size} bytes).").format(out=out, size=size),
        out=str(out),
        size=size,
    )


@cli.command(name="verify-backup")
@_backup_file_options
@click.option(
    "--database-only",
    is_flag=True,
    help="Check only the database, without a passphrase: records are not opened.",
)
@json_option
@click.pass_obj
def verify_backup_(
    state: State, file: Path, identity: Path, database_only: bool, as_json: bool
) -> None:
    """Decrypt a backup privately, check it, and list what is damaged (exit 4 if any).

    Every record is opened with the passphrase of a custodian of the backed-up vault
    (--custodian, --passphrase-file, EVAULT_PASSPHRASE or a prompt), as 'evault
    check' would; --database-only checks the database alone. Needs no vault: the
    copy is decrypted into a private temporary folder and removed afterwards.
    """
    passphrase = None if database_only else state.passphrase()
    with progress_bars(as_json) as progress:
        report = backup_module.check_backup(
            file, identity, passphrase, custodian=state.custodian, progress=progress
        )
    if as_json:
        click.echo(json.dumps({"valid": not report["damaged"], **report}))
    else:
        for finding in report["findings"]:
            where = f"{finding['table']}: {finding['where']}: {finding['problem']}"
            click.echo(_("damaged: {finding}").format(finding=where))
        if report["damaged"] > len(report["findings"]):
            more = _("... and {n} more").format(n=report["damaged"] - len(report["findings"]))
            click.echo(_("damaged: {finding}").format(finding=more))
        opened = _("records opened") if report["records_opened"] else _("records not opened")
        verdict = _("{n} damaged").format(n=report["damaged"]) if report["damaged"] else _("OK")
        click.echo(
            _(
                "{verdict}: vault {vault_id}, {records} records, {audit_entries} audit entries "
                "({opened})."
            ).format(
                verdict=verdict,
                vault_id=report["vault_id"],
                records=_count(report["records"]),
                audit_entries=_count(report["audit_entries"]),
                opened=opened,
            )
        )
    if report["damaged"]:
        raise IntegrityError(
            f"the backup is damaged: {report['damaged']} finding"
            f"{'' if report['damaged'] == 1 else 's'} (listed above)"
        )


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


@cli.command()
@_backup_file_options
@json_option
@click.pass_obj
def restore(state: State, file: Path, identity: Path, as_json: bool) -> None:
    """Restore a backup into a new, empty vault folder (--vault / EVAULT_DIR)."""
    if state.vault_dir is None:
        raise UsageError("restore needs --vault DIR (a new, empty folder)")
    with progress_bars(as_json) as progress:
        report = backup_module.restore_backup(file, identity, state.vault_dir, progress)
    text = _(
        "Restored vault {vault_id} ({records} records) into {folder}; run "
        "'evault audit verify' once unlocked."
    ).format(vault_id=report["vault_id"], records=report["records"], folder=state.vault_dir)
    done(as_json, text, **report, vault=str(state.vault_dir))
