"""`evault schema`: the record contract, generated from the table the vault validates
with, for people, for programs and as a template the vault accepts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vault import Vault
from vault.cli import cli
from vault.contract import contract, template
from vault.schema import RECORD_SPECS, RECORD_TYPES, validate_record


def test_json_lists_every_field_of_the_contract_with_its_classes() -> None:
    result = CliRunner().invoke(cli, ["schema", "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    assert list(described) == list(RECORD_TYPES)
    for rtype, spec in RECORD_SPECS.items():
        fields = described[rtype]["fields"]
        assert [f["path"] for f in fields] == list(spec.fields)
        for field in fields:
            fs = spec.fields[field["path"]]
            assert (field["kind"], field["required"], field["choices"]) == (
                fs.kind,
                fs.required,
                list(fs.choices),
            )
            assert (field["class"], field["key_class"]) == (
                fs.sensitivity.value,
                fs.key_class.value,
            )
        assert described[rtype]["date_field"] == spec.date_field
    one = CliRunner().invoke(cli, ["schema", "finding", "--json"])
    assert json.loads(one.output) == {"finding": contract()["finding"]}


def test_the_table_names_every_field_with_class_and_example() -> None:
    result = CliRunner().invoke(cli, ["schema", "testimony"])
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert set(rows) == set(RECORD_SPECS["testimony"].fields)
    assert rows["worker.name"].split()[-4:-2] == ["identity", "identity"]
    assert "quasi       operational" in rows["worker.birth_year"]
    assert "values: low, medium, high" in rows["risk.retaliation"]
    assert 'e.g. "2026-03-14"' in rows["received_on"]
    assert not result.stdout.startswith("site")  # only the type asked for
    assert "\nfinding" not in result.stdout


def test_examples_and_templates_are_records_the_vault_accepts(vault: Vault) -> None:
    records = []
    for rtype in RECORD_TYPES:
        result = CliRunner().invoke(cli, ["schema", rtype, "--template"])
        assert result.exit_code == 0
        record = json.loads(result.output)
        assert record == template(rtype)
        validate_record(record, f"{rtype} template")
        records.append(record)
        # Each field's example alone, in a record of the required fields, passes too.
        for field in contract(rtype)[rtype]["fields"]:
            head, _, tail = field["path"].partition(".")
            if tail:
                validate_record(record | {head: {tail: field["example"]}}, field["path"])
    vault.import_records(records)
    assert vault.get("T-0001", identity=True) == records[1]


def test_usage_errors() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["schema", "worker"]).exit_code == 2
    result = runner.invoke(cli, ["schema", "--template"])
    assert result.exit_code == 2
    assert "--template needs a TYPE" in result.output
