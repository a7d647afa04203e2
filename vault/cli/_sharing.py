"""What may leave the vault, to whom: recipient, policy, export, exports,
verify-export and signing-key.

Invariants kept here: an export goes to one registered recipient under one policy,
or is previewed for the custodian's eyes only with nothing written; verify-export
needs no vault and warns when the signer is not pinned, since anyone who knows the
recipient's public key can make a self-consistent file.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault import UsageError
from vault.cli._common import (
    State,
    _,
    cli,
    complete_policy,
    counts_text,
    done,
    json_option,
    progress_bars,
    render_rows,
)
from vault.lazy import lazy_module

if TYPE_CHECKING:
    from vault import export as export_module
    from vault import policy as policy_module
    from vault.policy import Policy
else:
    # Loaded when the command runs: its --help needs neither.
    export_module = lazy_module("vault.export")
    policy_module = lazy_module("vault.policy")

__all__ = ["export_", "exports_", "policy", "recipient", "signing_key", "verify_export_"]


@cli.group()
def recipient() -> None:
    """Manage export recipients (a name and an age public key)."""


@recipient.command(name="add")
@click.argument("name")
@click.argument("public_key", metavar="AGE_PUBLIC_KEY")
@json_option
@click.pass_obj
def recipient_add(state: State, name: str, public_key: str, as_json: bool) -> None:
    """Register NAME with AGE_PUBLIC_KEY (age1..., as printed by age-keygen -y)."""
    with state.open() as v:
        fingerprint = v.add_recipient(name, public_key)
    if as_json:
        click.echo(json.dumps({"name": name, "fingerprint": fingerprint}))
    else:
        click.echo(
            _("Added recipient {name} (key fingerprint {fingerprint}).").format(
                name=name, fingerprint=fingerprint[:16]
            )
        )


@recipient.command(name="list")
@json_option
@click.pass_obj
def recipient_list(state: State, as_json: bool) -> None:
    """List registered recipients."""
    with state.open() as v:
        rows = v.recipients()
    render_rows(
        rows,
        as_json,
        lambda r: f"{r['name']:<24} {r['fingerprint'][:16]}  {r['public_key']}",
    )


@recipient.command(name="remove")
@click.argument("name")
@json_option
@click.pass_obj
def recipient_remove(state: State, name: str, as_json: bool) -> None:
    """Remove a recipient (past exports stay recorded)."""
    with state.open() as v:
        v.remove_recipient(name)
    done(as_json, _("Removed recipient {name}.").format(name=name), removed=name)


@cli.group()
def policy() -> None:
    """Check, explain and list redaction policies."""


def _policy_json(p: Policy) -> dict[str, object]:
    return {
        "name": p.name,
        "audience": p.audience,
        "sha256": p.sha256,
        "description": p.description,
        "review": p.review,
        "ner": p.ner,
        "source": p.source,
        # What an exporter granted the policy must hold (custodian add, token create).
        "needs_classes": sorted(p.key_classes()),
    }


@policy.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def policy_check(file: Path, as_json: bool) -> None:
    """Validate a policy FILE; errors name the line and key."""
    p = policy_module.load_policy(file)
    if as_json:
        click.echo(json.dumps({"valid": True, "file": str(file), **_policy_json(p)}))
        return
    click.echo(
        _("{file}: valid policy {name!r} for audience {audience!r} (sha256 {sha256}).").format(
            file=file, name=p.name, audience=p.audience, sha256=p.sha256
        )
    )


@policy.command(name="explain")
@click.argument("name", shell_complete=complete_policy)
@json_option
@click.pass_obj
def policy_explain(state: State, name: str, as_json: bool) -> None:
    """Print, field by field, what policy NAME (a shipped name or a file) does."""
    p = state.policy(name)
    if as_json:
        click.echo(json.dumps({**_policy_json(p), "explain": p.explain()}, ensure_ascii=False))
        return
    for line in p.explain():
        click.echo(line)


@policy.command(name="list")
@json_option
@click.pass_obj
def policy_list(state: State, as_json: bool) -> None:
    """List the policies an export may name: the shipped ones and those in the vault
    folder's policies/, with the classes an exporter needs for each."""
    policies = [state.policy(name) for name in policy_module.policy_names(state.policy_dirs)]
    if as_json:
        click.echo(json.dumps([_policy_json(p) for p in policies], ensure_ascii=False))
        return
    for p in policies:
        classes = ",".join(sorted(p.key_classes()))
        click.echo(
            _("{name:<10} needs {classes:<38} {description}").format(
                name=p.name, classes=classes, description=p.description
            )
        )


@cli.command(name="export")
@click.option(
    "--policy",
    "policy_name",
    required=True,
    shell_complete=complete_policy,
    help="Policy name or file.",
)
@click.option(
    "--recipient",
    "recipient_names",
    multiple=True,
    help="Registered recipient (repeat for one joint export to several).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Export file.")
@click.option("--preview", is_flag=True, help="Show what would go out; write nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="With --preview: show N records.")
@click.option("--site", "sites", multiple=True, help="Only this site id (repeatable).")
@click.option("--country", "countries", multiple=True, help="Only sites in this country.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only records from this date.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only records up to this date.")
@json_option
@click.pass_obj
def export_(
    state: State,
    policy_name: str,
    recipient_names: tuple[str, ...],
    out: Path | None,
    preview: bool,
    limit: int | None,
    sites: tuple[str, ...],
    countries: tuple[str, ...],
    since: dt.datetime | None,
    until: dt.datetime | None,
    as_json: bool,
) -> None:
    """Export records under a policy, signed and encrypted to one recipient.

    The file is an age-encrypted tar of manifest.json, manifest.sig,
    signing-key.pem and records.jsonl; the recipient opens it with
    'age -d -i key.txt FILE | tar -x' and checks it with 'evault verify-export'.
    --recipient repeated makes one file that each of them opens (a joint
    committee); the signed manifest names them all.
    With --preview, the records that would go out are printed for the custodian's
    eyes only, and nothing is written or sent. --site, --country, --since and
    --until narrow the policy's own filters for this export (never widen them); the
    manifest records the filters in force.
    """
    p = state.policy(policy_name).narrowed(
        sites=sites,
        countries=[c.upper() for c in countries],
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    if preview:
        if recipient_names or out:
            raise UsageError("--preview writes nothing: leave out --recipient and --out")
        _preview(state, p, limit, as_json)
        return
    if not recipient_names or not out:
        raise UsageError("export needs --recipient and --out (or --preview)")
    with state.open() as v, progress_bars(as_json) as progress:
        manifest = v.export(p, list(recipient_names), out, progress=progress)
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False))
        return
    click.echo(
        _("Exported to {out} for {recipients} under policy {policy} (export {id}).").format(
            out=out,
            recipients=", ".join(recipient_names),
            policy=p.name,
            id=manifest["export_id"],
        )
    )
    click.echo(counts_text(manifest["counts"]))


def _preview(state: State, p: Policy, limit: int | None, as_json: bool) -> None:
    """Print the records that would go out (stdout) and their counts (stderr, or
    stdout with --json)."""
    with state.open() as v:
        pv = v.preview(p, limit=limit)
        for record in pv.records:
            click.echo(json.dumps(record, ensure_ascii=False))
    counts = pv.result.to_dict()
    click.echo(
        json.dumps({"preview": True, "policy": p.name, "counts": counts})
        if as_json
        else counts_text(counts),
        err=not as_json,
    )


@cli.command(name="exports")
@json_option
@click.pass_obj
def exports_(state: State, as_json: bool) -> None:
    """List past exports: when, by whom, policy and its hash, recipient, counts."""
    with state.open() as v:
        rows = v.exports()
    render_rows(
        rows,
        as_json,
        lambda r: _(
            "{at}  {id}  {policy:<8} -> {recipient:<16} by {custodian}  {n} included"
        ).format(
            at=r["created_at"],
            id=r["export_id"][:12],
            policy=r["policy"],
            recipient=r["recipient"],
            custodian=r["custodian"],
            n=sum(r["counts"]["included"].values()),
        ),
    )


def _onward_terms(audiences: list[str]) -> str:
    """An export's signed onward terms, in words: to whom it may be passed on."""
    if audiences:
        return _("may be passed on only to {audiences}").format(audiences=", ".join(audiences))
    return _("not to be passed on")


@cli.command(name="verify-export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--identity",
    "identity",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="age identity (key) file.",
)
@click.option(
    "--signer",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The vault's public signing key (PEM) to pin; see 'evault signing-key'.",
)
@json_option
def verify_export_(file: Path, identity: Path, signer: Path | None, as_json: bool) -> None:
    """Decrypt an export and check its signature and every record's hash.

    Needs no vault. Any change to the file or its contents fails (exit code 4).
    """
    report = export_module.verify_export(file, identity, signer)
    if as_json:
        click.echo(json.dumps({"valid": True, **report.to_dict()}))
        return
    click.echo(
        _("OK: export {id} from vault {vault_id}").format(
            id=report.export_id, vault_id=report.vault_id
        )
    )
    names = ", ".join(r["name"] for r in report.recipients) or report.recipient
    click.echo(
        "  "
        + _("policy {policy} (sha256 {sha256}…), for {names}, created {at}").format(
            policy=report.policy,
            sha256=report.policy_sha256[:16],
            names=names,
            at=report.created_at,
        )
    )
    onward = report.terms.get("audiences") or []
    click.echo("  " + _("onward terms (signed): {terms}").format(terms=_onward_terms(onward)))
    click.echo(
        "  " + _("{n} record lines, every hash matches the signed manifest").format(n=report.lines)
    )
    pin = _("pinned with --signer") if report.signer_pinned else _("NOT pinned")
    click.echo(
        "  "
        + _("signed by key {fingerprint}… ({pin})").format(
            fingerprint=report.signer_fingerprint[:16], pin=pin
        )
    )
    if not report.signer_pinned:
        # Anyone who knows the recipient's public key can make a self-consistent file.
        warning = _(
            "the signer is not verified; pass --signer with the vault's "
            "public key obtained from its custodian"
        )
        click.echo(f"evault: {_('warning')}: {warning}", err=True)


@cli.command(name="signing-key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the PEM here instead of printing it.",
)
@json_option
@click.pass_obj
def signing_key(state: State, out: Path | None, as_json: bool) -> None:
    """Print the vault's public signing key (PEM), for recipients to pin."""
    from vault import crypto  # noqa: PLC0415 - loaded for this command only

    with state.open() as v:
        pem = v.public_signing_key_pem()
    # What a partner that pins this key sees ('evault partner add'), to compare.
    fingerprint = crypto.public_key_fingerprint(crypto.public_key_from_pem(pem))
    if out:
        out.write_bytes(pem)
    if as_json:
        click.echo(
            json.dumps(
                {"pem": pem.decode(), "out": str(out) if out else None, "fingerprint": fingerprint}
            )
        )
    elif out:
        click.echo(
            _("Wrote {out} (key fingerprint {fingerprint}).").format(
                out=out, fingerprint=fingerprint
            )
        )
    else:
        click.echo(pem.decode().rstrip())
