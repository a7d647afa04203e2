"""Custodians, sessions, identity approvals, audit, recovery, rotation and erasure
through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend, passphrase_of
from vault.cli import cli
from vault.store import sqlite_url

STRICT_INIT = [a for a in FAST_INIT if a not in ("--identity-approvals", "0")]


@pytest.fixture
def env(sqlite_backend: Backend) -> dict[str, str]:
    env = {
        "EVAULT_DIR": str(sqlite_backend.folder),
        "EVAULT_PASSPHRASE": PASSPHRASE,
        "EVAULT_CUSTODIAN": "admin",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *STRICT_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def test_custodians_and_identity_approval(env: dict[str, str]) -> None:
    runner = CliRunner()
    add = ["custodian", "add", "ana", "--role", "custodian", "--classes", "identity,narrative"]
    r = runner.invoke(cli, add, env={**env, "EVAULT_NEW_PASSPHRASE": passphrase_of("ana")})
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["custodian", "list", "--json"], env=env)
    rows = {x["name"]: x for x in json.loads(r.output)}
    assert rows["ana"]["classes"] == ["identity", "narrative", "operational"]
    ana = {**env, "EVAULT_CUSTODIAN": "ana", "EVAULT_PASSPHRASE": passphrase_of("ana")}
    r = runner.invoke(cli, ["show", "T-0001", "--identity"], env=ana)
    assert r.exit_code == 8
    assert "approved request" in r.output
    r = runner.invoke(
        cli, ["identity", "request", "T-0001", "--reason", "Union follow-up visit"], env=ana
    )
    assert r.exit_code == 0, r.output
    request_id = r.output.strip()
    assert runner.invoke(cli, ["identity", "approve", request_id], env=ana).exit_code == 8
    r = runner.invoke(cli, ["identity", "list", "--json"], env=env)
    assert json.loads(r.output)[0]["reason"] == "Union follow-up visit"
    assert runner.invoke(cli, ["identity", "approve", request_id], env=env).exit_code == 0
    r = runner.invoke(cli, ["show", "T-0001", "--identity", "--json"], env=ana)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["worker"]["name"].startswith("Nguyễn")
    # Without clearance for special fields, union membership never shows.
    assert "union_member" not in json.loads(r.output)["worker"]
    assert runner.invoke(cli, ["custodian", "remove", "ana"], env=env).exit_code == 0
    assert runner.invoke(cli, ["list"], env=ana).exit_code == 3


def test_sessions_through_the_environment(env: dict[str, str]) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["unlock", "--ttl", "5m", "--json"], env=env)
    assert r.exit_code == 0, r.output
    token = json.loads(r.output)["token"]
    session = {"EVAULT_DIR": env["EVAULT_DIR"], "EVAULT_SESSION": token, "EVAULT_PASSPHRASE": ""}
    r = runner.invoke(cli, ["list", "--json"], env=session)
    assert r.exit_code == 0
    assert len(json.loads(r.output)) == 11
    assert runner.invoke(cli, ["lock"], env=session).exit_code == 0
    r = runner.invoke(cli, ["list"], env=session, input="should not be asked\n")
    assert r.exit_code == 3
    assert "session has ended" in r.output
    r = runner.invoke(cli, ["list"], env={**session, "EVAULT_SESSION": "evs1_00.AAAA"})
    assert r.exit_code == 3
    assert runner.invoke(cli, ["unlock", "--ttl", "forever"], env=env).exit_code == 2


def test_audit_commands_and_tamper_exit_code(
    env: dict[str, str], tmp_path: Path, sqlite_backend: Backend
) -> None:
    runner = CliRunner()
    cp = tmp_path / "cp.json"
    assert runner.invoke(cli, ["audit", "checkpoint", "--out", str(cp)], env=env).exit_code == 0
    r = runner.invoke(cli, ["audit", "verify", "--against", str(cp), "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["valid"] is True
    r = runner.invoke(cli, ["audit", "show", "--record", "T-0001", "--json"], env=env)
    assert r.exit_code == 0
    engine = create_engine(sqlite_url(sqlite_backend.folder))
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone' WHERE seq = 2"))
    engine.dispose()
    r = runner.invoke(cli, ["audit", "verify"], env=env)
    assert r.exit_code == 4
    assert "audit log is broken at entry 2" in r.output


def test_recovery_rotation_erasure_retention(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    shares = tmp_path / "shares"
    r = runner.invoke(
        cli,
        ["recovery", "split", "--shares", "5", "--threshold", "3", "--out-dir", str(shares)],
        env=env,
    )
    assert r.exit_code == 0, r.output
    files = sorted(shares.iterdir())
    assert len(files) == 5
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    args = ["recovery", "restore"] + [x for f in files[1:4] for x in ("--share-file", str(f))]
    r = runner.invoke(cli, args, env={**env, "EVAULT_NEW_PASSPHRASE": passphrase_of("restored")})
    assert r.exit_code == 0, r.output
    env = {**env, "EVAULT_PASSPHRASE": passphrase_of("restored")}
    r = runner.invoke(cli, ["rotate-keys", "--batch", "3", "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["target"] == 2
    assert runner.invoke(cli, ["retire-keys", "--below", "2"], env=env).exit_code == 0
    r = runner.invoke(cli, ["erase-subject", "--employee-id", "EMP-55001", "--yes"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["find", "--employee-id", "EMP-55001", "--json"], env=env)
    assert json.loads(r.output) == []
    assert (
        runner.invoke(cli, ["erase-subject", "--testimony", "NOPE", "--yes"], env=env).exit_code
        == 6
    )
    assert runner.invoke(cli, ["retention", "run"], env=env).exit_code == 2
    assert (
        runner.invoke(
            cli, ["retention", "set", "--days-after-remediation", "90"], env=env
        ).exit_code
        == 0
    )
    r = runner.invoke(cli, ["retention", "run", "--dry-run", "--json"], env=env)
    assert json.loads(r.output)["due"] == 0
    r = runner.invoke(cli, ["audit", "verify"], env=env)
    assert r.exit_code == 0
