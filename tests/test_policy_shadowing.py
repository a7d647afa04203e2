"""A policy file named like a shipped policy never stands in for it unseen.

``<vault>/policies/union.yaml`` (or one in ``serve --policy-dir``) used to be what
``--policy union`` meant, silently: whoever can write the vault folder decided what
"union" exports hold. Now such a file is refused when the name is looked up, and at
``serve``'s start; it is used only when named by its path.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_api import _auth, _serving
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import InvalidInputError
from vault.api import create_app
from vault.cli import cli
from vault.policy import find_policy, shipped_policies

LOOSE = "policy: {name}\naudience: union\nrecords:\n  site:\n    rules:\n      name: keep\n"


def _policy_file(folder: Path, name: str, policy: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(LOOSE.format(name=policy or name), encoding="utf-8")
    return path


def test_a_file_with_a_shipped_name_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    path = _policy_file(folder, "union")
    with pytest.raises(InvalidInputError, match="has the name of the shipped policy 'union'") as e:
        find_policy("union", (folder,))
    assert str(e.value).startswith(f"{path}: ")
    assert e.value.exit_code == 5
    # Named by its path, it is an explicit choice.
    chosen = find_policy(str(path), (folder,))
    assert chosen.name == "union"
    assert chosen.sha256 != find_policy("union").sha256


def test_a_name_differing_only_in_case_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    _policy_file(folder, "Union", "Union")
    with pytest.raises(InvalidInputError, match="shipped policy 'union'"):
        find_policy("Union", (folder,))


def test_other_names_and_the_shipped_policies_are_found_as_before(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    _policy_file(folder, "field-office")
    assert find_policy("field-office", (folder,)).name == "field-office"
    for name in shipped_policies():
        assert find_policy(name, (folder,)).sha256 == find_policy(name).sha256


def test_the_command_line_refuses_the_shadow_and_writes_nothing(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    _identity, _key, public = new_identity(tmp_path)
    assert runner.invoke(cli, ["recipient", "add", "ituc", public], env=env).exit_code == 0
    shadow = _policy_file(sqlite_backend.folder / "policies", "union")
    out = tmp_path / "out.age"
    export = ["export", "--recipient", "ituc", "--out", str(out)]
    r = runner.invoke(cli, [*export, "--policy", "union"], env=env)
    assert r.exit_code == 5, r.output
    assert r.output == (
        f"evault: error: {shadow}: policy: has the name of the shipped policy 'union'; "
        "rename it, or name it by its path to use it\n"
    )
    assert not out.exists()
    r = runner.invoke(cli, ["policy", "explain", "union"], env=env)
    assert r.exit_code == 5
    r = runner.invoke(cli, [*export, "--policy", str(shadow)], env=env)
    assert r.exit_code == 0, r.output
    assert out.exists()


def test_serve_refuses_a_policy_dir_that_shadows(backend: Backend, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    shadow = _policy_file(folder, "monitor")
    with backend.create() as v, pytest.raises(InvalidInputError, match="shipped policy") as e:
        create_app(v, export_dir=tmp_path, policy_dirs=(folder,))
    assert str(e.value).startswith(f"{shadow}: ")


def test_a_shadow_added_while_serving_is_not_used(backend: Backend, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    exports = tmp_path / "exports"
    exports.mkdir()
    with backend.create() as v:
        v.import_file(SAMPLES)
        _identity, _key, public = new_identity(tmp_path)
        v.add_recipient("ituc", public)
        # An admin token: an exporter's grant names the shipped policy's hash already.
        token, _ = v.create_token("x", role="admin", classes=["identity", "special", "narrative"])
        app = create_app(v, export_dir=exports, policy_dirs=(folder,), failed_auth_limit=10_000)
        _policy_file(folder, "union")
        with _serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            r = client.post(
                "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(token)
            )
        assert r.status_code == 404
        assert list(exports.iterdir()) == []
        assert v.exports() == []
