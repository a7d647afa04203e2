"""Recipients, policies, exports and verification through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity, open_export
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend
from vault.cli import cli
from vault.policy import find_policy


@pytest.fixture
def env(sqlite_backend: Backend, tmp_path: Path) -> dict[str, str]:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def test_recipients(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    _identity, _key, public = new_identity(tmp_path)
    r = runner.invoke(cli, ["recipient", "add", "ituc", public, "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["fingerprint"]) == 64
    assert runner.invoke(cli, ["recipient", "add", "ituc", public], env=env).exit_code == 7
    r = runner.invoke(cli, ["recipient", "add", "bad", "not-a-key"], env=env)
    assert r.exit_code == 5
    assert "not an age public key" in r.output
    r = runner.invoke(cli, ["recipient", "list", "--json"], env=env)
    assert [x["name"] for x in json.loads(r.output)] == ["ituc"]
    assert runner.invoke(cli, ["recipient", "remove", "ituc"], env=env).exit_code == 0
    assert runner.invoke(cli, ["recipient", "remove", "ituc"], env=env).exit_code == 6


def test_policy_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["policy", "list"])
    assert r.exit_code == 0
    for name in ("union", "monitor", "buyers", "public"):
        assert name in r.output
    r = runner.invoke(cli, ["policy", "explain", "union"])
    assert r.exit_code == 0
    assert "worker.name" in r.output
    assert "drop" in r.output
    assert "if retaliation risk is high: drop" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: bad\naudience: union\nrecords:\n  site:\n    rules:\n      id: allow\n")
    r = runner.invoke(cli, ["policy", "check", str(bad)])
    assert r.exit_code == 5
    assert r.output.strip() == (
        f"evault: error: {bad}:line 6: records.site.rules.id: unknown action 'allow'; "
        "use one of keep, drop, mask, pseudonymize, generalize, scrub"
    )
    good = tmp_path / "good.yaml"
    good.write_text(
        "policy: good\naudience: union\nrecords:\n  site:\n    rules:\n      id: keep\n"
    )
    r = runner.invoke(cli, ["policy", "check", str(good)])
    assert r.exit_code == 0
    assert "valid policy 'good'" in r.output


def test_preview_export_verify(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    identity, key, public = new_identity(tmp_path)
    runner.invoke(cli, ["recipient", "add", "ituc", public], env=env)
    r = runner.invoke(cli, ["export", "--policy", "union", "--preview", "--limit", "2"], env=env)
    assert r.exit_code == 0, r.output
    assert len([x for x in r.stdout.splitlines() if x.startswith("{")]) == 2
    assert "Left out: 1 consent_withdrawn" in r.output
    assert not list(tmp_path.glob("*.age"))
    # Buyers see free text only once reviewed: the preview says how much waits.
    r = runner.invoke(cli, ["export", "--policy", "buyers", "--preview"], env=env)
    assert r.exit_code == 0, r.output
    assert "held back awaiting review: " in r.output
    out = tmp_path / "union.age"
    r = runner.invoke(
        cli,
        ["export", "--policy", "union", "--recipient", "ituc", "--out", str(out), "--json"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    manifest = json.loads(r.output)
    assert manifest["counts"]["excluded"] == {"consent_withdrawn": 1}
    assert "Nguyễn" not in open_export(out, identity)["records.jsonl"].decode()
    signer = tmp_path / "signer.pem"
    assert runner.invoke(cli, ["signing-key", "--out", str(signer)], env=env).exit_code == 0
    # verify-export needs no vault.
    r = runner.invoke(
        cli, ["verify-export", str(out), "--identity", str(key), "--signer", str(signer), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["valid"] is True
    r = runner.invoke(cli, ["exports", "--json"], env=env)
    assert json.loads(r.output)[0]["export_id"] == manifest["export_id"]
    data = bytearray(out.read_bytes())
    data[-30] ^= 4
    out.write_bytes(bytes(data))
    r = runner.invoke(cli, ["verify-export", str(out), "--identity", str(key)])
    assert r.exit_code == 4
    assert "Traceback" not in r.output


def test_export_usage_errors(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["export", "--policy", "union"], env=env)
    assert r.exit_code == 2
    r = runner.invoke(cli, ["export", "--policy", "nope", "--preview"], env=env)
    assert r.exit_code == 6
    r = runner.invoke(
        cli,
        ["export", "--policy", "union", "--recipient", "x", "--out", str(tmp_path / "o.age")],
        env=env,
    )
    assert r.exit_code == 6
    assert not (tmp_path / "o.age").exists()


def test_an_export_narrowed_by_site_and_dates_says_so(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    identity, _key, public = new_identity(tmp_path)
    runner.invoke(cli, ["recipient", "add", "ituc", public], env=env)
    out = tmp_path / "narrow.age"
    r = runner.invoke(
        cli,
        [
            "export", "--policy", "union", "--recipient", "ituc", "--out", str(out),
            "--site", "SITE-001", "--since", "2020-01-01", "--json",
        ],
        env=env,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads(r.output)
    assert manifest["policy"]["filters"]["sites"] == ["SITE-001"]
    assert manifest["policy"]["filters"]["since"] == "2020-01-01"
    lines = [json.loads(x) for x in open_export(out, identity)["records.jsonl"].splitlines()]
    assert lines
    assert {r.get("site_id", r.get("id")) for r in lines if r["type"] != "site"} <= {"SITE-001"}
    assert manifest["counts"]["excluded"].get("site_filter", 0) > 0
    # A narrowing never widens: a site the policy's own filter leaves out stays out.
    policy = tmp_path / "one-site.yaml"
    policy.write_text(
        find_policy("union").text.replace("policy: union", "policy: one-site", 1)
        + "filters:\n  sites: [SITE-002]\n"
    )
    r = runner.invoke(
        cli, ["export", "--policy", str(policy), "--preview", "--site", "SITE-001"], env=env
    )
    assert r.exit_code == 0, r.output
    assert not [x for x in r.stdout.splitlines() if x.startswith("{")]


def test_policy_and_signing_key_commands_speak_json(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["policy", "list", "--json"]).stdout)
    assert {p["name"] for p in listed} >= {"union", "monitor", "buyers", "public"}
    explained = json.loads(runner.invoke(cli, ["policy", "explain", "buyers", "--json"]).stdout)
    assert explained["review"] == "required"
    assert explained["explain"]
    good = tmp_path / "good.yaml"
    good.write_text(
        "policy: good\naudience: union\nrecords:\n  site:\n    rules:\n      id: keep\n"
    )
    checked = json.loads(runner.invoke(cli, ["policy", "check", str(good), "--json"]).stdout)
    assert checked["valid"] is True
    assert checked["name"] == "good"
    key = json.loads(runner.invoke(cli, ["signing-key", "--json"], env=env).stdout)
    assert key["pem"].startswith("-----BEGIN PUBLIC KEY-----")
