"""Working with a partner organisation: partner, receive and received.

Invariants kept here: a partner's key is read from a PEM file and its full
fingerprint shown, to be compared with the partner's own out of band; received
records are listed without any field value, and shown only with their
provenance beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli._common import State, _, cli, done, json_option, render_rows
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.partners import PartnerInfo

__all__ = ["partner", "receive", "received"]


@cli.group()
def partner() -> None:
    """Pin partner vaults' signing keys: whose exports this vault receives."""


@partner.command(name="add")
@click.argument("name")
@click.option(
    "--signing-key",
    "signing_key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The partner vault's public signing key (PEM, from its 'evault signing-key').",
)
@json_option
@click.pass_obj
def partner_add(state: State, name: str, signing_key: Path, as_json: bool) -> None:
    """Pin NAME's signing key: its exports are received only if signed by it (admins)."""
    try:
        pem = signing_key.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {signing_key}: {exc.strerror}") from None
    with state.open() as v:
        fingerprint = v.add_partner(name, pem)
    if as_json:
        click.echo(json.dumps({"name": name, "fingerprint": fingerprint}))
        return
    click.echo(
        _("Pinned partner {name}: signing key fingerprint {fingerprint}").format(
            name=name, fingerprint=fingerprint
        )
    )
    click.echo(
        _("Compare it with the partner's own, by a channel other than the one the key came by.")
    )


@partner.command(name="list")
@json_option
@click.pass_obj
def partner_list(state: State, as_json: bool) -> None:
    """List pinned partners and the last export received from each."""
    with state.open() as v:
        rows = v.partners()

    def line(r: PartnerInfo) -> str:
        last = r["last_export"]
        received = (
            _("nothing received yet")
            if last is None
            else _("last export {id} made {at}").format(
                id=last["export_id"][:12], at=last["exported_at"]
            )
        )
        return f"{r['name']:<24} {r['fingerprint'][:16]}  {received}"

    render_rows(rows, as_json, line)


@partner.command(name="remove")
@click.argument("name")
@json_option
@click.pass_obj
def partner_remove(state: State, name: str, as_json: bool) -> None:
    """Unpin NAME: nothing more is received from it (what was received stays)."""
    with state.open() as v:
        v.remove_partner(name)
    done(as_json, _("Removed partner {name}.").format(name=name), removed=name)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--identity",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="This vault's age identity (key) file, which the export was made for.",
)
@click.option("--partner", "partner_name", help="Receive only from this partner.")
@json_option
@click.pass_obj
def receive(
    state: State, file: Path, identity: Path, partner_name: str | None, as_json: bool
) -> None:
    """Verify a partner's export and take its records in, as records of the partner.

    The export is checked as 'evault verify-export' checks it, against the key
    pinned with 'evault partner add'; it must name this vault's key among its
    recipients and be newer than the last export received from that partner.
    Records already received (same id) become new versions when they changed.
    All or nothing. Exit codes: 15 not signed by a pinned key, 16 older than the
    last export received (replay or rollback), 17 made for another recipient.
    """
    with state.open() as v:
        report = v.receive(file, identity, partner=partner_name)
    data = report.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    records = data["records"]
    kinds = ", ".join(f"{n} {t}" for t, n in data["by_type"].items()) or _("none")
    click.echo(
        _(
            "Received export {id} from partner {partner} (policy {policy}, made {at}): "
            "{new} new, {updated} updated, {unchanged} unchanged ({kinds})."
        ).format(
            id=data["export_id"],
            partner=data["partner"],
            policy=data["policy"],
            at=data["exported_at"],
            new=records["new"],
            updated=records["updated"],
            unchanged=records["unchanged"],
            kinds=kinds,
        )
    )
    onward = data["terms"]["audiences"]
    terms = (
        _("may be passed on only to {audiences}").format(audiences=", ".join(onward))
        if onward
        else _("not to be passed on")
    )
    click.echo(_("Onward terms (signed): {terms}.").format(terms=terms))
    if data["files_left_out"]:
        click.echo(
            _("Evidence files not received: {n}.").format(n=data["files_left_out"]), err=True
        )


@cli.group()
def received() -> None:
    """List and show records received from partners (ids read PARTNER:ID)."""


@received.command(name="list")
@click.option("--partner", "partner_name", help="Only this partner's records.")
@json_option
@click.pass_obj
def received_list(state: State, partner_name: str | None, as_json: bool) -> None:
    """List received records (latest versions): id, type, version, export."""
    with state.open() as v:
        rows = v.received(partner=partner_name)
    render_rows(
        rows,
        as_json,
        lambda r: f"{r['id']:<40} {r['type']:<10} {r['version']:>3}  {r['export_id'][:12]}",
    )


@received.command(name="show")
@click.argument("record_id")
@click.option("--version", type=click.IntRange(min=1), help="An older version.")
@json_option
@click.pass_obj
def received_show(state: State, record_id: str, version: int | None, as_json: bool) -> None:
    """Show one received record (the classes you hold) and where it came from (JSON
    either way; --json prints it on one line)."""
    with state.open() as v:
        shown = v.get_received(record_id, version=version)
    click.echo(json.dumps(shown, ensure_ascii=False, indent=None if as_json else 1))
