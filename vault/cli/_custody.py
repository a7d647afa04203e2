"""Who may open the vault and see identities: custodian, passwd, unlock, lock,
identity and recovery.

Invariants kept here: a new passphrase is read once, from a file, the environment
or a confirmed hidden prompt, and never printed; recovery shares written to files
are created new with mode 0600 in a 0700 folder; a session token is printed once.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

import vault
from vault import UsageError
from vault.cli._common import (
    State,
    _,
    cli,
    comma_list,
    done,
    duration,
    json_option,
    new_passphrase,
    new_passphrase_option,
    render_rows,
)
from vault.errors import from_os_error
from vault.partial import sweep

if TYPE_CHECKING:
    from vault.custody import CustodianInfo

__all__ = ["custodian", "identity", "lock", "passwd", "recovery", "unlock"]


@cli.group()
def custodian() -> None:
    """Manage custodians: roles (admin, custodian, exporter, auditor) and clearances."""


@custodian.command(name="add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "custodian", "exporter", "auditor"])
)
@click.option(
    "--classes",
    default="",
    help="Field classes, comma-separated: identity,"
    "special,narrative,operational (custodians and exporters always get operational).",
)
@click.option(
    "--policies",
    default="",
    help="For exporters: the policies they may export under, comma-separated (names as "
    "'export --policy' finds them); the exporter must hold the classes each needs "
    "('evault policy list').",
)
@new_passphrase_option
@json_option
@click.pass_obj
def custodian_add(
    state: State,
    name: str,
    role: str,
    classes: str,
    policies: str,
    new_passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Add custodian NAME with their own passphrase (asked for, or from a file).

    A grant that could never work is refused (exit 2): an exporter must hold every
    class its policies need ('evault policy list' shows them), and only exporters
    take --policies.
    """
    with state.open() as v:
        v.add_custodian(
            name,
            new_passphrase(new_passphrase_file, name, _("Passphrase for {name}").format(name=name)),
            role=role,
            classes=comma_list(classes),
            policies=comma_list(policies),
        )
    done(
        as_json,
        _("Added custodian {name} ({role}).").format(name=name, role=role),
        name=name,
        role=role,
    )


@custodian.command(name="list")
@json_option
@click.pass_obj
def custodian_list(state: State, as_json: bool) -> None:
    """List custodians, roles and clearances."""
    with state.open() as v:
        rows = v.custodians()

    def line(r: CustodianInfo) -> str:
        extra = f" policies={','.join(r['policies'])}" if r["policies"] else ""
        return f"{r['name']:<20} {r['role']:<10} classes={','.join(r['classes'])}{extra}"

    render_rows(rows, as_json, line)


@custodian.command(name="remove")
@click.argument("name")
@json_option
@click.pass_obj
def custodian_remove(state: State, name: str, as_json: bool) -> None:
    """Remove a custodian; their keys are destroyed and their passphrase opens nothing."""
    with state.open() as v:
        v.remove_custodian(name)
    done(as_json, _("Removed custodian {name}.").format(name=name), removed=name)


def _change_passphrase(state: State, new_passphrase_file: Path | None, as_json: bool) -> None:
    """What 'passwd' and 'custodian passwd' both do."""
    with state.open() as v:
        v.change_passphrase(new_passphrase(new_passphrase_file, v.custodian))
        who = v.custodian
    done(as_json, _("Passphrase changed for custodian {name!r}.").format(name=who), custodian=who)


@custodian.command(name="passwd")
@new_passphrase_option
@json_option
@click.pass_obj
def custodian_passwd(state: State, new_passphrase_file: Path | None, as_json: bool) -> None:
    """Change your own passphrase (same as 'evault passwd')."""
    _change_passphrase(state, new_passphrase_file, as_json)


@cli.command()
@new_passphrase_option
@json_option
@click.pass_obj
def passwd(state: State, new_passphrase_file: Path | None, as_json: bool) -> None:
    """Change your passphrase (rewraps your keys; no record is re-encrypted)."""
    _change_passphrase(state, new_passphrase_file, as_json)


# Sessions ------------------------------------------------------------------------------


@cli.command()
@click.option("--ttl", default="15m", show_default=True, help="How long: 30s, 15m, 2h.")
@json_option
@click.pass_obj
def unlock(state: State, ttl: str, as_json: bool) -> None:
    """Unlock once and print a session token for EVAULT_SESSION.

    Commands run with EVAULT_SESSION set skip the passphrase (and Argon2id); an
    ended, expired or wrong token is an error, never a prompt.
    """
    with state.open() as v:
        token, expires = v.unlock(duration(ttl))
    if as_json:
        click.echo(json.dumps({"token": token, "expires_at": expires.isoformat()}))
        return
    click.echo(token)
    click.echo(
        _("# export EVAULT_SESSION=<the line above>   (until {time} UTC)").format(
            time=f"{expires:%H:%M:%S}"
        ),
        err=True,
    )


@cli.command()
@json_option
@click.pass_obj
def lock(state: State, as_json: bool) -> None:
    """End the session in EVAULT_SESSION (its keys are deleted from the vault)."""
    token = os.environ.get("EVAULT_SESSION")
    if not token:
        raise UsageError("EVAULT_SESSION is not set")
    with state.open() as v:
        v.lock(token)
    done(as_json, _("Session ended; unset EVAULT_SESSION."), locked=True)


# Identity approvals --------------------------------------------------------------------


@cli.group()
def identity() -> None:
    """Request, approve and refuse access to a worker's identity fields."""


@identity.command(name="request")
@click.argument("record_id")
@click.option("--reason", required=True, help="Why (sealed at rest; shown to approvers).")
@json_option
@click.pass_obj
def identity_request(state: State, record_id: str, reason: str, as_json: bool) -> None:
    """Ask to see RECORD_ID's identity fields; another custodian must approve."""
    with state.open() as v:
        request_id = v.request_identity(record_id, reason)
    done(as_json, request_id, request_id=request_id, record_id=record_id)


def _decide(state: State, request_id: str, *, approve: bool, as_json: bool) -> None:
    """What 'identity approve' and 'identity refuse' both do."""
    with state.open() as v:
        v.decide_identity(request_id, approve=approve)
    text = (_("Approved {id}.") if approve else _("Refused {id}.")).format(id=request_id)
    done(as_json, text, request_id=request_id, approved=approve)


@identity.command(name="approve")
@click.argument("request_id")
@json_option
@click.pass_obj
def identity_approve(state: State, request_id: str, as_json: bool) -> None:
    """Approve another custodian's identity request."""
    _decide(state, request_id, approve=True, as_json=as_json)


@identity.command(name="refuse")
@click.argument("request_id")
@json_option
@click.pass_obj
def identity_refuse(state: State, request_id: str, as_json: bool) -> None:
    """Refuse another custodian's identity request."""
    _decide(state, request_id, approve=False, as_json=as_json)


@identity.command(name="list")
@json_option
@click.pass_obj
def identity_list(state: State, as_json: bool) -> None:
    """List identity requests, their reasons and decisions."""
    with state.open() as v:
        rows = v.identity_requests()
    pending = _("pending")
    render_rows(
        rows,
        as_json,
        lambda r: (
            f"{r['id']}  {r['requester']:<16} {r['created_at'][:19]}  "
            f"{r['decisions'] or pending}  {r['reason']}"
        ),
        ensure_ascii=False,
    )


# Recovery ------------------------------------------------------------------------------


@cli.group()
def recovery() -> None:
    """Shamir recovery shares (SLIP-39 words) for a lost admin passphrase."""


_SHARE_PREFIX = ".evault-share-"


@recovery.command(name="split")
@click.option("--shares", type=click.IntRange(1, 16), required=True)
@click.option("--threshold", type=click.IntRange(1, 16), required=True)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each share to its own file (0600) instead of printing.",
)
@json_option
@click.pass_obj
def recovery_split(
    state: State, shares: int, threshold: int, out_dir: Path | None, as_json: bool
) -> None:
    """Create recovery shares; any THRESHOLD of them restore admin access.

    Give each share to a different trusted person. Words carry a checksum, so a
    mistyped share is refused rather than silently wrong.
    """
    if out_dir is None:
        with state.open() as v:
            words = v.recovery_split(shares, threshold)
        if as_json:
            click.echo(json.dumps({"threshold": threshold, "shares": words}))
            return
        for i, share in enumerate(words, start=1):
            click.echo(_("share {n}: {words}").format(n=i, words=share))
        return
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, out_dir) or UsageError(f"{out_dir}: cannot create") from None
    staged: list[tuple[str, Path]] = []

    def stage(words: list[str]) -> None:
        # Every share is on disk, under a temporary name, before the vault keeps the
        # new key: a kill or a full disk here leaves the old shares working.
        try:
            sweep(out_dir, _SHARE_PREFIX)  # what a killed split left
            for i, share in enumerate(words, start=1):
                fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=_SHARE_PREFIX)
                staged.append((tmp, out_dir / f"share-{i}.txt"))
                with os.fdopen(fd, "w") as fh:
                    fh.write(share + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise from_os_error(exc, out_dir) or UsageError(f"{out_dir}: cannot write") from None

    kept = False
    try:
        with state.open() as v:
            v.recovery_split(shares, threshold, stage=stage)
            kept = True
            # The key is kept: the shares take their names at once (replacing an
            # earlier split's).
            for tmp, final in staged:
                os.replace(tmp, final)
    except BaseException:
        if not kept:
            for tmp, _final in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        raise
    for old in out_dir.glob("share-*.txt"):
        if old not in {final for _tmp, final in staged}:
            old.unlink()  # an earlier split's extra shares open nothing now
    text = _("Wrote {n} shares to {out} (any {threshold} restore).").format(
        n=shares, out=out_dir, threshold=threshold
    )
    files = [str(final) for _tmp, final in staged]
    done(as_json, text, threshold=threshold, files=files)


@recovery.command(name="restore")
@click.option(
    "--share-file",
    "share_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file with one share.",
)
@click.option(
    "--admin",
    "admin_name",
    default="admin",
    show_default=True,
    help="The admin custodian whose passphrase is set.",
)
@new_passphrase_option
@json_option
@click.pass_obj
def recovery_restore(
    state: State,
    share_files: tuple[Path, ...],
    admin_name: str,
    new_passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Combine shares (files, or typed one per line, empty line to end) and set a
    new admin passphrase."""
    shares = [f.read_text(encoding="utf-8").strip() for f in share_files]
    if not shares:
        while line := click.prompt(
            _("share (empty to finish)"), default="", show_default=False, err=True
        ).strip():
            shares.append(line)
    new = new_passphrase(new_passphrase_file, admin_name)
    with vault.Vault.recover(
        state.vault_dir, shares, new, db_url=state.db_url, custodian=admin_name
    ):
        pass
    text = _("Restored: custodian {name!r} has a new passphrase.").format(name=admin_name)
    done(as_json, text, custodian=admin_name)
