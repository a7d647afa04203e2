"""Re-runs after a kill: an export is recorded only with its file in place, and
erasing a worker erased already says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend
from vault.cli import cli
from vault.policy import find_policy


class Killed(BaseException):
    """Stands in for a kill: nothing after it runs."""


def test_an_export_killed_at_its_rename_is_not_recorded(
    sqlite_backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identity, _key, public = new_identity(tmp_path)
    out = tmp_path / "union.age"
    replace = os.replace

    def killed_at_rename(src: str, dst: str | os.PathLike[str]) -> None:
        if Path(dst) == out:
            raise Killed
        replace(src, dst)

    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        monkeypatch.setattr(os, "replace", killed_at_rename)
        with pytest.raises(Killed):
            v.export(find_policy("union"), "ituc", out)
        monkeypatch.undo()
        # Neither a record without its file, nor the file under a temporary name.
        assert not out.exists()
        assert v.exports() == []
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["key.txt", "vault"])
        # The re-run finishes the job, recorded once.
        v.export(find_policy("union"), "ituc", out)
        assert out.exists()
        assert len(v.exports()) == 1


def test_erasing_an_erased_worker_says_so(sqlite_backend: Backend) -> None:
    runner = CliRunner()
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    erase = ["erase-subject", "--testimony", "T-0003", "--yes"]
    r = runner.invoke(cli, erase, env=env)
    assert r.exit_code == 0, r.output
    assert "Erased 1 worker identity key(s)." in r.output
    r = runner.invoke(cli, erase, env=env)
    assert r.exit_code == 0, r.output
    assert "Already erased" in r.output
    r = runner.invoke(cli, ["erase-subject", "--testimony", "NOPE", "--yes"], env=env)
    assert r.exit_code == 6
    assert "no worker matches" in r.output
