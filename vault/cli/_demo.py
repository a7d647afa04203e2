"""``evault demo``: a vault built from the bundled, fictional sample data, shown step
by step.

Invariants kept here: the demo only ever deletes a folder that an earlier demo made
(it holds the marker file); its passphrases are random and written to files created
new with mode 0600; the sample data is fictional.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

import vault
from vault import UsageError
from vault.cli._common import _, cli, counts_text, render_summaries
from vault.lazy import lazy_module

if TYPE_CHECKING:
    from vault import export as export_module
    from vault import policy as policy_module
else:
    # Loaded when the command runs: its --help needs neither.
    export_module = lazy_module("vault.export")
    policy_module = lazy_module("vault.policy")

__all__ = ["demo"]

DEMO_MARKER = "demo-passphrase.txt"


def _write_secret(path: Path, text: str) -> None:
    """Write a demo passphrase to a new file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


@cli.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evault-demo"),
    show_default=True,
    help="Folder for the demo vault (recreated if it holds an earlier demo).",
)
def demo(demo_dir: Path) -> None:
    """Create a vault from the bundled, fictional sample data and show it."""
    if demo_dir.exists():
        if not (demo_dir / DEMO_MARKER).exists():
            raise UsageError(f"{demo_dir} exists and is not a demo folder; pass --dir")
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(mode=0o700, parents=True)
    vault_dir = demo_dir / "vault"
    pass_file = demo_dir / DEMO_MARKER
    passphrase = secrets.token_urlsafe(24)
    _write_secret(pass_file, passphrase)
    sample = resources.files("vault") / "samples" / "evidence.jsonl"
    click.echo(
        _("1. Creating a vault in {folder} (Argon2id, 64 MiB, t=3, p=4) ...").format(
            folder=vault_dir
        )
    )
    with vault.Vault.create(vault_dir, vault.Passphrase(passphrase)) as v:
        with sample.open("rb") as stream:
            result = v.import_file(stream, name="samples/evidence.jsonl")
        parts = ", ".join(f"{n} {t}s" for t, n in sorted(result.by_type.items()))
        click.echo(_("2. Imported the fictional sample data: {parts}.").format(parts=parts))
        click.echo(_("3. The records (list shows no sensitive field):") + "\n")
        render_summaries(v.list(), as_json=False)
        click.echo(
            "\n" + _("4. One testimony, decrypted; the worker's identity stays sealed:") + "\n"
        )
        click.echo(json.dumps(v.get("T-0001"), ensure_ascii=False, indent=2))
        reviewer_pass = secrets.token_urlsafe(24)
        reviewer_file = demo_dir / "reviewer-passphrase.txt"
        _write_secret(reviewer_file, reviewer_pass)
        v.add_custodian(
            "reviewer",
            vault.Passphrase(reviewer_pass),
            role="custodian",
            classes=["identity", "special", "narrative", "operational"],
        )
        request_id = v.request_identity("T-0001", "Demo: follow-up interview needs contact")
        with vault.Vault.open(
            vault_dir, vault.Passphrase(reviewer_pass), custodian="reviewer"
        ) as r:
            r.decide_identity(request_id, approve=True)
        worker = v.get("T-0001", identity=True)["worker"]
        click.echo(
            "\n   "
            + _(
                "Identity after a request and a second custodian's approval (audited): "
                "{name}, {phone}"
            ).format(name=worker["name"], phone=worker["phone"])
        )
        hits = v.find(employee_id="EMP-55001")
        click.echo(
            "\n"
            + _("5. Blind-index lookup of employee id {id}: {hits}").format(
                id="EMP-55001", hits=[h.id for h in hits]
            )
        )
        key_file = demo_dir / "union-recipient-key.txt"
        public = export_module.write_age_identity(key_file)
        v.add_recipient("demo-union", public)
        export_file = demo_dir / "union-export.age"
        manifest = v.export(policy_module.find_policy("union"), "demo-union", export_file)
        click.echo(
            "\n"
            + _(
                "6. Exported under the {policy!r} policy to {file} (age-encrypted, signed): "
                "{counts}"
            ).format(policy="union", file=export_file.name, counts=counts_text(manifest["counts"]))
        )
        signer = demo_dir / "vault-signing-key.pem"
        signer.write_bytes(v.public_signing_key_pem())
    report = export_module.verify_export(export_file, key_file, signer)
    click.echo(
        _(
            "7. Verified as the recipient would: signature by the pinned vault key, "
            "{n} record lines, every hash matches."
        ).format(n=report.lines)
    )
    vault_args = f"--vault {vault_dir} --custodian admin --passphrase-file {pass_file}"
    where = [
        (
            _("vault folder"),
            f"{vault_dir.resolve()}  " + _("(one encrypted SQLite file)"),
        ),
        (
            _("passphrase"),
            f"{pass_file.resolve()}  " + _("(demo only; keep real ones out of files)"),
        ),
        (_("sample data"), str(sample)),
        (_("export"), str(export_file.resolve())),
        (_("recipient's key"), str(key_file.resolve())),
        (_("vault public key"), str(signer.resolve())),
        (
            _("second custodian"),
            _("{name}, passphrase in {file}").format(name="reviewer", file=reviewer_file.resolve()),
        ),
    ]
    width = max(len(label) for label, _value in where) + 2
    places = "\n".join(f"  {label:<{width}}{value}" for label, value in where)
    heading, try_heading = _("Where everything is:"), _("Try:")
    click.echo(
        f"""
{heading}
{places}

{try_heading}
  evault {vault_args} list --type testimony
  evault {vault_args} show T-0002
  evault {vault_args} find --phone 0812345678 --country TH
  evault {vault_args} policy explain union
  evault {vault_args} audit show
  evault {vault_args} audit verify
  evault verify-export {export_file} --identity {key_file} --signer {signer}
  age -d -i {key_file} {export_file} | tar -xO records.jsonl
"""
    )
