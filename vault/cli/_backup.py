"""Backups: backup, verify-backup and restore.

Invariants kept here: a backup is age-encrypted to a recipient and holds what the
vault held when it was taken (keys of workers erased later included, as the help
says); verify-backup and restore need no unlocked vault and decrypt privately;
restore only fills a new, empty vault folder, and gives the vault its name only
once the decrypted copy has passed its checks (a killed restore can be run again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from vault import UsageError
from vault.backup import restore_backup, verify_backup
from vault.cli._common import State, cli, json_option

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
@click.pass_obj
def backup(state: State, out: Path, recipient: str) -> None:
    """Write a consistent, age-encrypted snapshot of the vault (SQLite).

    A backup keeps what the vault holds when it is taken, including the keys of
    workers erased later: set its retention accordingly.
    """
    with state.open() as v:
        size = v.backup(out, recipient)
    click.echo(f"Wrote {out} ({size} bytes).")


@cli.command(name="verify-backup")
@_backup_file_options
@json_option
def verify_backup_(file: Path, identity: Path, as_json: bool) -> None:
    """Decrypt a backup privately and check its database (needs no vault)."""
    report = verify_backup(file, identity)
    if as_json:
        click.echo(json.dumps({"valid": True, **report}))
    else:
        click.echo(
            f"OK: vault {report['vault_id']}, {report['records']} records, "
            f"{report['audit_entries']} audit entries."
        )


@cli.command()
@_backup_file_options
@click.pass_obj
def restore(state: State, file: Path, identity: Path) -> None:
    """Restore a backup into a new, empty vault folder (--vault / EVAULT_DIR)."""
    if state.vault_dir is None:
        raise UsageError("restore needs --vault DIR (a new, empty folder)")
    report = restore_backup(file, identity, state.vault_dir)
    click.echo(
        f"Restored vault {report['vault_id']} ({report['records']} records) into "
        f"{state.vault_dir}; run 'evault audit verify' once unlocked."
    )
