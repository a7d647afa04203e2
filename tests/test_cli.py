"""The command line: the contract other scripts rely on, exit codes, no tracebacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import InvalidInputError
from vault.cli import cli
from vault.store import sqlite_url

FAST_INIT = [
    "--kdf-memory-kib",
    "1024",
    "--kdf-time-cost",
    "1",
    "--kdf-parallelism",
    "1",
    "--identity-approvals",
    "0",
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def pass_file(tmp_path: Path) -> Path:
    p = tmp_path / "pass.txt"
    p.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return p


@pytest.fixture
def cli_vault(runner: CliRunner, sqlite_backend: Backend, pass_file: Path) -> list[str]:
    base = [*sqlite_backend.cli_args(), "--passphrase-file", str(pass_file)]
    result = runner.invoke(cli, [*base, "init", *FAST_INIT])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*base, "import", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert "Imported 11 records" in result.output
    return base


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Through list_commands/get_command: the root loads its command modules lazily.
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _all_commands(cmd, (*prefix, name))
    return out


@pytest.mark.parametrize("command", _all_commands(cli))
def test_every_command_has_help(runner: CliRunner, command: tuple[str, ...]) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    cmd = cli.get_command(click.Context(cli), command[0])
    assert cmd is not None
    assert cmd.help, f"{command} has no help text"


def test_top_level_help_documents_exit_codes(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    for code in ("2 usage", "3 wrong passphrase", "4 integrity", "5 invalid input", "6 not found"):
        assert code in result.output.replace("\n    ", " ")


def test_show_json_prints_the_record_exactly_as_imported(
    runner: CliRunner, cli_vault: list[str]
) -> None:
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        result = runner.invoke(cli, [*cli_vault, "show", record["id"], "--identity", "--json"])
        assert result.exit_code == 0
        assert json.loads(result.output) == record
        assert result.output.strip() == json.dumps(record, ensure_ascii=False)


def test_list_and_find(runner: CliRunner, cli_vault: list[str]) -> None:
    result = runner.invoke(cli, [*cli_vault, "list", "--type", "testimony", "--json"])
    assert [r["id"] for r in json.loads(result.output)] == [f"T-000{i}" for i in range(1, 6)]
    result = runner.invoke(cli, [*cli_vault, "list", "--site", "SITE-002"])
    assert "T-0002" in result.output
    assert "F-0002" in result.output
    assert "T-0001" not in result.output
    for args, expected in (
        (["--employee-id", "emp-55001"], ["T-0001"]),
        (["--phone", "0912 345 678"], ["T-0001"]),
        (["--phone", "081 234 5678", "--country", "TH"], ["T-0002"]),
        (["--email", "wang.fictional@example.net"], ["T-0003"]),
        (["--site", "SITE-004"], ["SITE-004", "T-0004"]),
        (["--employee-id", "nobody"], []),
    ):
        result = runner.invoke(cli, [*cli_vault, "find", *args, "--json"])
        assert result.exit_code == 0, result.output
        assert [r["id"] for r in json.loads(result.output)] == expected


def test_add_update_and_versions(runner: CliRunner, cli_vault: list[str], tmp_path: Path) -> None:
    rec = dict(sample_records()[4], id="T-0100")
    result = runner.invoke(cli, [*cli_vault, "add"], input=json.dumps(rec))
    assert result.exit_code == 0, result.output
    changed = dict(rec, narrative="A corrected account.")
    path = tmp_path / "upd.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    result = runner.invoke(cli, [*cli_vault, "update", "T-0100", str(path), "--json"])
    assert json.loads(result.output) == {"id": "T-0100", "version": 2}
    result = runner.invoke(
        cli, [*cli_vault, "show", "T-0100", "--version", "1", "--identity", "--json"]
    )
    assert json.loads(result.output) == rec
    result = runner.invoke(cli, [*cli_vault, "show", "T-0100"])
    assert "version 2 of 2" in result.output
    assert "A corrected account." in result.output


def test_passwd(
    runner: CliRunner, cli_vault: list[str], tmp_path: Path, sqlite_backend: Backend
) -> None:
    new = tmp_path / "new.txt"
    new.write_text("another long passphrase\n", encoding="utf-8")
    result = runner.invoke(cli, [*cli_vault, "passwd", "--new-passphrase-file", str(new)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*cli_vault, "list"])
    assert result.exit_code == 3
    result = runner.invoke(
        cli,
        [
            *sqlite_backend.cli_args(),
            "--passphrase-file",
            str(new),
            "show",
            "T-0001",
            "--identity",
            "--json",
        ],
    )
    assert result.exit_code == 0
    assert json.loads(result.output) == sample_records()[4]


def test_passphrase_from_environment_and_prompt(
    runner: CliRunner, cli_vault: list[str], sqlite_backend: Backend
) -> None:
    base = sqlite_backend.cli_args()
    result = runner.invoke(cli, [*base, "list"], env={"EVAULT_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0
    result = runner.invoke(cli, [*base, "list"], input=PASSPHRASE + "\n")
    assert result.exit_code == 0
    assert PASSPHRASE not in result.output  # the prompt does not echo
    result = runner.invoke(
        cli, ["list"], env={"EVAULT_DIR": base[1], "EVAULT_PASSPHRASE": PASSPHRASE}
    )
    assert result.exit_code == 0


def test_init_prompt_asks_twice(runner: CliRunner, tmp_path: Path) -> None:
    args = ["--vault", str(tmp_path / "v"), "init", *FAST_INIT]
    result = runner.invoke(cli, args, input=f"one\ntwo\n{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "NOPE"], 6, "no record NOPE"),
        (["show", "T-0001", "--version", "9"], 6, "has no version 9"),
        (["find"], 2, "find needs"),
        (["list", "--type", "rumour"], 2, "Invalid value"),
        (["import", "/nonexistent/file.jsonl"], 5, "cannot read"),
    ],
)
def test_error_exit_codes(
    runner: CliRunner, cli_vault: list[str], args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(cli, [*cli_vault, *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_wrong_passphrase_exit_code(
    runner: CliRunner, cli_vault: list[str], sqlite_backend: Backend
) -> None:
    result = runner.invoke(
        cli, [*sqlite_backend.cli_args(), "list"], env={"EVAULT_PASSPHRASE": "wrong"}
    )
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "evault: error: wrong passphrase for custodian 'admin' (or the key record was altered)"
    ]


def test_invalid_input_exit_code_names_line_and_field(
    runner: CliRunner, cli_vault: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    good = dict(sample_records()[4], id="T-0200")
    bad = dict(sample_records()[4], id="T-0201", channel="pigeon")
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = runner.invoke(cli, [*cli_vault, "import", str(path)])
    assert result.exit_code == 5
    assert f"{path}:line 2, record T-0201: field 'channel' must be one of" in result.output
    result = runner.invoke(cli, [*cli_vault, "show", "T-0200"])
    assert result.exit_code == 6  # nothing half-written


def test_integrity_failure_exit_code(
    runner: CliRunner, cli_vault: list[str], sqlite_backend: Backend
) -> None:
    engine = create_engine(sqlite_url(sqlite_backend.folder))
    with engine.begin() as conn:
        for ref, blob in conn.execute(
            text("SELECT record_ref, narrative_data FROM record_versions")
        ).all():
            if blob is not None:
                conn.execute(
                    text("UPDATE record_versions SET narrative_data = :b WHERE record_ref = :r"),
                    {"b": blob + b"\x00", "r": ref},
                )
    engine.dispose()
    result = runner.invoke(cli, [*cli_vault, "show", "T-0001"])
    assert result.exit_code == 4
    assert result.output.strip() == "evault: error: integrity check failed for record T-0001"


def test_existing_vault_is_a_conflict(runner: CliRunner, cli_vault: list[str]) -> None:
    result = runner.invoke(cli, [*cli_vault, "init", *FAST_INIT])
    assert result.exit_code == 7


def test_missing_vault(runner: CliRunner, tmp_path: Path, pass_file: Path) -> None:
    result = runner.invoke(
        cli, ["--vault", str(tmp_path / "none"), "--passphrase-file", str(pass_file), "list"]
    )
    assert result.exit_code == 6
    assert "evault init" in result.output
    result = runner.invoke(cli, ["list"], env={"EVAULT_DIR": None, "EVAULT_PASSPHRASE": "x"})
    assert result.exit_code == 2


def test_import_csv_through_cli(runner: CliRunner, cli_vault: list[str], tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("type,id,name,kind,country\nsite,SITE-CSV,Mine X,mine,CD\n", encoding="utf-8")
    result = runner.invoke(cli, [*cli_vault, "import", str(path), "--json"])
    assert json.loads(result.output) == {
        "imported": 1,
        "by_type": {"site": 1},
        "new_versions": 0,
        "unchanged": 0,
        "skipped": 0,
        "chunks": 1,
    }


def test_library_and_cli_import_alike(
    runner: CliRunner, sqlite_backend: Backend, pass_file: Path, tmp_path: Path
) -> None:
    """The CLI imports through Vault.import_file: same format rule, result and errors."""
    body = SAMPLES.read_bytes()
    base = [*sqlite_backend.cli_args(), "--passphrase-file", str(pass_file)]
    assert runner.invoke(cli, [*base, "init", *FAST_INIT]).exit_code == 0
    # Standard input without --format reads as JSON Lines in both.
    result = runner.invoke(cli, [*base, "import", "-", "--json"], input=body)
    assert result.exit_code == 0, result.output
    library = Backend("sqlite", tmp_path / "library", None)
    with library.create() as v:
        imported = v.import_file(io.BytesIO(body))
        stored = {r.id: v.get(r.id, identity=True) for r in v.list()}
    assert json.loads(result.output) == imported.to_dict()
    with sqlite_backend.open() as v:
        assert {r.id: v.get(r.id, identity=True) for r in v.list()} == stored
    assert len(stored) == len(sample_records())
    # An unreadable file is invalid input (exit 5) in both, with the same message.
    missing = tmp_path / "missing.jsonl"
    result = runner.invoke(cli, [*base, "import", str(missing)])
    with library.open() as v, pytest.raises(InvalidInputError) as caught:
        v.import_file(missing)
    assert caught.value.exit_code == 5
    assert "cannot read" in str(caught.value)
    assert result.exit_code == 5
    assert result.output.strip() == f"evault: error: {caught.value}"
    # A name that says no format is refused before anything asks for a passphrase.
    notes = tmp_path / "notes.txt"
    notes.write_bytes(body)
    result = runner.invoke(cli, [*sqlite_backend.cli_args(), "import", str(notes)])
    assert result.exit_code == 5, result.output
    assert "cannot tell the format" in result.output
    assert "assphrase" not in result.output


def test_real_subprocess_run_and_no_traceback(tmp_path: Path, pass_file: Path) -> None:
    env = {**os.environ, "EVAULT_DIR": str(tmp_path / "v"), "EVAULT_PASSPHRASE": PASSPHRASE}
    run = [sys.executable, "-m", "vault"]
    subprocess.run([*run, "init", *FAST_INIT], env=env, check=True, capture_output=True)
    subprocess.run([*run, "import", str(SAMPLES)], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*run, "show", "T-0003", "--identity", "--json"], env=env, check=True, capture_output=True
    )
    assert json.loads(out.stdout) == sample_records()[6]
    bad = subprocess.run(
        [*run, "list"],
        check=False,
        env={**env, "EVAULT_PASSPHRASE": "wrong"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 3
    assert "Traceback" not in bad.stderr
    assert bad.stdout == ""


def test_demo_runs_on_bundled_samples(runner: CliRunner, tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    result = runner.invoke(cli, ["demo", "--dir", str(demo_dir)])
    assert result.exit_code == 0, result.output
    assert "Where everything is" in result.output
    assert (demo_dir / "vault" / "vault.db").exists()
    # Running it again recreates the demo folder.
    assert runner.invoke(cli, ["demo", "--dir", str(demo_dir)]).exit_code == 0
    other = tmp_path / "not-demo"
    other.mkdir()
    assert runner.invoke(cli, ["demo", "--dir", str(other)]).exit_code == 2


def test_a_missing_vault_is_said_before_any_passphrase_prompt(tmp_path: Path) -> None:
    env = {"EVAULT_PASSPHRASE": "", "EVAULT_DIR": ""}
    result = CliRunner().invoke(cli, ["--vault", str(tmp_path / "nowhere"), "list"], env=env)
    assert result.exit_code == 6, result.output
    assert "Passphrase" not in result.output
    assert "no vault in" in result.stderr


def test_global_options_after_the_command(tmp_path: Path) -> None:
    folder = tmp_path / "v"
    env = {"EVAULT_PASSPHRASE": PASSPHRASE, "EVAULT_DIR": ""}
    runner = CliRunner()
    created = runner.invoke(cli, ["init", *FAST_INIT, "--vault", str(folder)], env=env)
    assert created.exit_code == 0, created.output
    assert runner.invoke(cli, ["import", str(SAMPLES), f"--vault={folder}"], env=env).exit_code == 0
    listed = runner.invoke(cli, ["list", "--json", "--vault", str(folder)], env=env)
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 11
