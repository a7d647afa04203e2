"""The CLI starts without the vault's heavy layers, and its command table is true.

`evault --version`, `--help` and a command's `--help` must not load the database
layer, Alembic or the media libraries; the root's one-line helps come from a table
(vault.cli.COMMANDS) that must name every command, by its module and its real help.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import vault.cli
from conftest import PASSPHRASE, fast_kdf, sample_records
from vault import Passphrase, Vault
from vault.cli import COMMANDS, cli

HEAVY = ("sqlalchemy", "alembic", "PIL", "pikepdf", "pypdfium2", "phonenumbers", "pyrage")


def _loaded_after(args: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        "from vault.cli import cli\n"
        f"try:\n    cli.main({args!r}, prog_name='evault')\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_start_loads_no_heavy_layer(args: list[str]) -> None:
    assert _loaded_after(args) & set(HEAVY) == set()


# Statistics and reports load their tables (numpy) to list the dimensions in --help.
_TABLES_IN_HELP = ("report", "stats")


def test_no_commands_help_loads_a_heavy_layer() -> None:
    # Every command's --help, one after another in one process (those that load
    # the tables last): after each, no database layer, migrations, media library or
    # policy reader is loaded.
    order = sorted(COMMANDS, key=lambda name: (name in _TABLES_IN_HELP, name))
    code = (
        "import json, sys\n"
        "from vault.cli import cli\n"
        "out = {}\n"
        f"for name in {order!r}:\n"
        "    try:\n"
        "        cli.main([name, '--help'], prog_name='evault')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    out[name] = sorted({m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps(out), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert set(loaded) == set(COMMANDS)
    heavy = {*HEAVY, "yaml"}
    found = {n: sorted(set(m) & heavy) for n, m in loaded.items() if n not in _TABLES_IN_HELP}
    assert found == {name: [] for name in found}


def test_a_show_loads_neither_the_orm_nor_policies_nor_migrations_nor_media(tmp_path: Path) -> None:
    # The tables are SQLAlchemy Core: a read costs the SQL layer, not its ORM.
    folder = tmp_path / "v"
    with Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf()) as v:
        v.import_records(sample_records())
    code = (
        "import json, sys\n"
        "from vault.cli import cli\n"
        f"try:\n    cli.main(['--vault', {str(folder)!r}, 'show', 'T-0001'], prog_name='evault')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {**os.environ, "EVAULT_PASSPHRASE": PASSPHRASE}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "T-0001" in out.stdout
    loaded = set(json.loads(out.stderr.strip().splitlines()[-1]))
    assert "sqlalchemy" in loaded  # the probe did read the vault
    top = {m.split(".")[0] for m in loaded}
    media = {"PIL", "pikepdf", "pypdfium2", "phonenumbers", "pyrage"}
    assert top & {"alembic", "yaml", "pycountry", *media} == set()
    assert {m for m in loaded if m.startswith("sqlalchemy.orm")} == set()
    # Policies load when a grant or an export names one, not to unlock and read.
    assert "vault.policy" not in loaded


def test_table_names_every_command_with_its_help() -> None:
    for module, _ in COMMANDS.values():
        importlib.import_module(f"vault.cli.{module}")
    assert set(cli.commands) == set(COMMANDS)
    for name, (module, text) in COMMANDS.items():
        cmd = cli.commands[name]
        assert cmd.callback is not None
        assert cmd.callback.__module__ == f"vault.cli.{module}", name
        assert cmd.get_short_help_str(300) == text, name


def test_root_help_lists_every_command() -> None:
    result = CliRunner().invoke(vault.cli.cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in COMMANDS:
        assert f"  {name} " in listed, name
