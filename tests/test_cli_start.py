"""The CLI starts without the vault's heavy layers, and its command table is true.

`evault --version`, `--help` and a command's `--help` must not load the database
layer, Alembic or the media libraries; the root's one-line helps come from a table
(vault.cli.COMMANDS) that must name every command, by its module and its real help.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import vault.cli
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
