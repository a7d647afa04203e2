"""Granting checks itself, and a policy is found by one rule everywhere.

An exporter (custodian or token) granted a policy must hold every key class an
export under it opens (``Policy.key_classes``, the same set the export asks for);
a grant that could never export is refused with the classes named, exit 2. A policy
named by name is found in the vault folder's ``policies/`` by ``export``, ``token
create``, ``custodian add``, ``serve`` and the library alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import InvalidInputError, Passphrase, UsageError, Vault, load_policy
from vault.cli import cli
from vault.policy import shipped_policies

ROOT = Path(__file__).resolve().parent.parent
STRONG = "a second custodian's long passphrase"


@pytest.mark.parametrize("name", sorted(shipped_policies()))
def test_the_classes_a_policy_needs_are_enough_and_each_is_needed(loaded: Vault, name: str) -> None:
    policy = load_policy(name)
    needed = sorted(policy.key_classes())
    assert "operational" in needed
    admin = loaded.preview(policy)
    expected = sorted(sorted(r) for r in admin.records)  # written in random order
    # Exactly those classes: the preview opens what it needs and nothing else.
    token, _ = loaded.create_token("exact", role="exporter", classes=needed, policies=[name])
    exact = loaded.for_token(token).preview(name)
    assert sorted(sorted(r) for r in exact.records) == expected
    assert exact.result.to_dict() == admin.result.to_dict()
    # One class fewer: refused when granted, naming the policy and its classes.
    for missing in needed:
        if missing == "operational":
            continue  # custodians and exporters always hold it
        fewer = [c for c in needed if c != missing]
        with pytest.raises(UsageError) as caught:
            loaded.create_token(f"no-{missing}", role="exporter", classes=fewer, policies=[name])
        assert str(caught.value) == (
            f"policy {name!r} needs classes: {', '.join(needed)} (missing: {missing})"
        )
    assert [t["name"] for t in loaded.tokens()] == ["exact"]  # nothing half-made


def test_grants_that_could_never_work_are_refused(vault: Vault) -> None:
    all_classes = ["identity", "special", "narrative"]
    for kwargs, message in (
        ({"role": "custodian", "policies": ["union"]}, "only exporters are granted policies"),
        ({"role": "auditor", "policies": ["public"]}, "only exporters are granted policies"),
        ({"role": "exporter", "policies": "union"}, "policies must be a list"),
        ({"role": "exporter", "classes": "narrative"}, "classes must be a list"),
    ):
        with pytest.raises(UsageError, match=message):
            vault.create_token("t", **kwargs)
        with pytest.raises(UsageError, match=message):
            vault.add_custodian("c", Passphrase(STRONG), **kwargs)
    with pytest.raises(InvalidInputError, match="unknown field class 'secret'"):
        vault.create_token("t", role="custodian", classes=["secret"])
    vault.create_token("t", role="exporter", classes=all_classes, policies=["union", "buyers"])


def _readme_line(pattern: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"^evault {pattern}.*?(?=\s+#|$)", text, flags=re.M)
    assert found, pattern
    return found.group(0).split()[1:]


@pytest.fixture
def env(sqlite_backend: Backend) -> dict[str, str]:
    env = {
        "EVAULT_DIR": str(sqlite_backend.folder),
        "EVAULT_PASSPHRASE": PASSPHRASE,
        "EVAULT_CUSTODIAN": "admin",
        "EVAULT_NEW_PASSPHRASE": STRONG,
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def test_the_readme_exporter_example_works_and_a_short_grant_is_refused(
    env: dict[str, str],
) -> None:
    runner = CliRunner()
    args = _readme_line("custodian add exp --role exporter")
    r = runner.invoke(cli, args, env=env)
    assert r.exit_code == 0, r.output
    short = [a if a != args[args.index("--classes") + 1] else "identity,operational" for a in args]
    r = runner.invoke(cli, [*short[:2], "exp2", *short[3:]], env=env)
    assert r.exit_code == 2
    assert r.output == (
        "evault: error: policy 'union' needs classes: identity, narrative, operational, "
        "special (missing: narrative, special)\n"
    )
    r = runner.invoke(cli, ["custodian", "list", "--json"], env=env)
    assert [c["name"] for c in json.loads(r.output)] == ["admin", "exp"]
    r = runner.invoke(cli, ["policy", "list", "--json"], env=env)
    needs = {p["name"]: p["needs_classes"] for p in json.loads(r.output)}
    assert needs["union"] == ["identity", "narrative", "operational", "special"]
    assert needs["public"] == ["operational"]


def test_token_create_finds_the_policy_export_finds_in_the_vault_folder(
    env: dict[str, str],
) -> None:
    runner = CliRunner()
    folder = Path(env["EVAULT_DIR"]) / "policies"
    folder.mkdir()
    text = shipped_policies()["monitor"].replace("policy: monitor", "policy: ours")
    (folder / "ours.yaml").write_text(text, encoding="utf-8")
    r = runner.invoke(cli, ["export", "--policy", "ours", "--preview", "--json"], env=env)
    assert r.exit_code == 0, r.output
    grant = ["--role", "exporter", "--classes", "identity,narrative", "--policies", "ours"]
    r = runner.invoke(cli, ["token", "create", "--name", "tool", *grant], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["custodian", "add", "exp", *grant], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["token", "list", "--json"], env=env)
    assert json.loads(r.output)[0]["policies"] == ["ours"]
    # What was granted is that file's text: the exporter exports under it by name.
    r = runner.invoke(
        cli,
        ["--custodian", "exp", "export", "--policy", "ours", "--preview", "--json"],
        env={**env, "EVAULT_PASSPHRASE": STRONG},
    )
    assert r.exit_code == 0, r.output
    # The library finds it the same way, from the vault it opened.
    with Vault.open(Path(env["EVAULT_DIR"]), Passphrase(PASSPHRASE), custodian="admin") as v:
        assert v.policy_dirs == (folder,)
        assert load_policy("ours", v.policy_dirs).sha256 == load_policy(folder / "ours.yaml").sha256
