"""Every command speaks JSON with --json, errors included: one object
``{"error": {"code", "kind", "message"}}`` on standard error, the same exit code as
without --json, nothing on standard output, and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT, _all_commands

from conftest import PASSPHRASE, SAMPLES, Backend
from vault.cli import cli
from vault.cli._common import ERROR_KINDS

# Commands that are not read by scripts: the demo talks to a person, serve and the
# review page run until stopped.
NO_JSON = {("demo",), ("serve",), ("review",)}


def test_every_command_but_a_few_takes_json() -> None:
    missing = []
    for path in _all_commands(cli):
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        if isinstance(command, click.Group) and not command.invoke_without_command:
            continue
        if path not in NO_JSON and not any(p.name == "as_json" for p in command.params):
            missing.append(" ".join(path))
    assert missing == []


@pytest.fixture
def env(sqlite_backend: Backend) -> dict[str, str]:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT, "--json"], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def _error(result: click.testing.Result) -> dict[str, object]:
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    body = json.loads(lines[0])
    assert list(body) == ["error"]
    error = body["error"]
    assert isinstance(error, dict)
    assert sorted(error) == ["code", "kind", "message"]
    assert error["code"] == result.exit_code
    assert error["kind"] == ERROR_KINDS[result.exit_code]
    return error


def test_errors_are_json_with_the_same_exit_code(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"type": "site", "id": "S-9", "name": "x", "kind": "castle", "country": "VN"}\n'
    )
    cases = [
        # Bad input: the line and field named, never the value.
        (["add", str(bad)], 5, "bad.jsonl, record S-9: field 'kind' must be one of"),
        (["show", "NO-SUCH"], 6, "no record NO-SUCH"),
        (["list", "--limit", "0"], 2, "Invalid value for '--limit'"),
        (["--bogus", "list"], 2, "No such option '--bogus'"),
        (["export", "--policy", "no-such", "--preview"], 6, "no policy 'no-such'"),
        (["custodian", "add", "x", "--role", "custodian", "--policies", "union"], 2, "only"),
        (["schema", "--template"], 2, "--template needs a TYPE"),
    ]
    for args, code, message in cases:
        plain = runner.invoke(cli, args, env={**env, "EVAULT_NEW_PASSPHRASE": PASSPHRASE})
        assert plain.exit_code == code, (args, plain.output)
        result = runner.invoke(
            cli, [*args, "--json"], env={**env, "EVAULT_NEW_PASSPHRASE": PASSPHRASE}
        )
        assert result.exit_code == code, (args, result.output)
        error = _error(result)
        assert message in str(error["message"]), (args, error)
        assert "castle" not in str(error["message"])
    # A wrong passphrase, and a vault that is not there.
    result = runner.invoke(cli, ["list", "--json"], env={**env, "EVAULT_PASSPHRASE": "nope"})
    assert result.exit_code == 3
    assert _error(result)["kind"] == "unauthenticated"
    result = runner.invoke(cli, ["--vault", str(tmp_path / "none"), "audit", "verify", "--json"])
    assert result.exit_code == 6
    assert "no vault in" in str(_error(result)["message"])


def test_write_commands_report_in_json(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli,
        ["token", "create", "--name", "tool", "--role", "custodian", "--json"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    made = json.loads(r.output)
    assert made["token"].startswith("evt1_")
    assert made["name"] == "tool"
    r = runner.invoke(cli, ["token", "revoke", "tool", "--json"], env=env)
    assert json.loads(r.output) == {"revoked": "tool"}
    out = tmp_path / "cp.json"
    r = runner.invoke(cli, ["audit", "checkpoint", "--out", str(out), "--json"], env=env)
    assert json.loads(r.output)["size"] == json.loads(out.read_text())["size"]
