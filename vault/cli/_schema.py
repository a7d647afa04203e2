"""``evault schema``: the record contract, for people (a table), for programs
(``--json``) and as a form to fill in (``--template``).

Invariants kept here: everything shown is generated from the contract the vault
validates with (:mod:`vault.contract`), never written by hand; the command needs no
vault and no passphrase.
"""

from __future__ import annotations

import json
from typing import Any

import click

from vault import UsageError
from vault.cli._common import cli, json_option
from vault.contract import contract, template
from vault.schema import RECORD_TYPES

__all__ = ["schema"]

_HEADER = (
    f"  {'FIELD':<26} {'TYPE':<30} {'REQUIRED':<8}  {'CLASS':<11} {'KEY CLASS':<11} "
    "VALUES / EXAMPLE"
)


def _line(field: dict[str, Any]) -> str:
    extra = []
    if field["choices"]:
        extra.append(f"values: {', '.join(field['choices'])}")
    if field["example"] is not None:
        extra.append(f"e.g. {json.dumps(field['example'], ensure_ascii=False)}")
    return (
        f"  {field['path']:<26} {field['description']:<30} "
        f"{'yes' if field['required'] else 'no':<8}  {field['class']:<11} "
        f"{field['key_class']:<11} {'; '.join(extra)}"
    ).rstrip()


@cli.command()
@click.argument("record_type", metavar="[TYPE]", required=False, type=click.Choice(RECORD_TYPES))
@click.option(
    "--template",
    "as_template",
    is_flag=True,
    help="Print a JSON record of TYPE with an example in every field, to fill in.",
)
@json_option
def schema(record_type: str | None, as_template: bool, as_json: bool) -> None:
    """Print the record contract: per record type (site, testimony, finding), every
    field, its type, whether it is required, its class (as policies name it), the
    key class that seals it, its allowed values and an example.

    Generated from the contract the vault validates with. --json prints the same
    for programs; --template prints a record of TYPE to fill in (every field holds
    an example; delete the ones you do not have). An unknown field in an import is
    an error, so this is the whole list.
    """
    if as_template:
        if record_type is None:
            raise UsageError("--template needs a TYPE: " + ", ".join(RECORD_TYPES))
        click.echo(json.dumps(template(record_type), ensure_ascii=False, indent=2))
        return
    described = contract(record_type)
    if as_json:
        click.echo(json.dumps(described, ensure_ascii=False))
        return
    for i, (name, spec) in enumerate(described.items()):
        filed = f"; filed under {spec['date_field']}" if spec["date_field"] else ""
        click.echo(("\n" if i else "") + f"{name}{filed}")
        click.echo(_HEADER)
        for field in spec["fields"]:
            click.echo(_line(field))
    click.echo(
        "\nClasses: identity is sealed under each worker's own key and never leaves as it is; "
        "quasi fields are sealed with the operational key (every export needs them to "
        "generalize); special and narrative have keys of their own. A group's fields "
        "are written inside it (worker.name is worker: {name: ...}).",
        err=True,
    )
