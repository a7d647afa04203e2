"""Re-runs after a kill: an export is recorded only with its file in place, erasing a
worker erased already says so, and attaching a file the record holds already stores
nothing (unless asked to)."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from exporting import new_identity
from test_api import _auth, _serving
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import Vault, attachments
from vault.api import create_app
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


# Attaching the same file again ---------------------------------------------------------


def _actions(v: Vault, *names: str) -> list[str]:
    return [e.action for e in v.audit_entries() if e.action in names]


def test_attaching_the_same_bytes_again_stores_nothing(backend: Backend, tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + os.urandom(3000)
    path = tmp_path / "payslip.pdf"
    path.write_bytes(data)
    with backend.create() as v:
        v.import_file(SAMPLES)
        first = v.attach("T-0001", path, description="payslip")
        assert not first.existing
        # The result of the first run was lost: the re-run finds the file, under any
        # name and from any source, and stores nothing.
        for again in (
            v.attach("T-0001", path),
            v.attach("T-0001", io.BytesIO(data), name="other-name.pdf", description="x"),
        ):
            assert again.existing
            assert (again.id, again.sha256, again.name) == (first.id, first.sha256, first.name)
        assert [a.id for a in v.attachments("T-0001")] == [first.id]
        assert _actions(v, "attachment-added", "attachment-exists") == [
            "attachment-added",
            "attachment-exists",
            "attachment-exists",
        ]
        exists = [e for e in v.audit_entries() if e.action == "attachment-exists"]
        # The no-op names the file it found; no hash, size or type, keyed or not.
        assert all(e.details == {"attachment": first.id} for e in exists)
        # Other bytes, the same bytes on another record, or asked for: stored.
        other = v.attach("T-0001", io.BytesIO(data + b"\n"), name="payslip.pdf")
        elsewhere = v.attach("T-0002", path)
        second = v.attach("T-0001", path, again=True)
        for info in (other, elsewhere, second):
            assert not info.existing
            assert info.id != first.id
            v.verify_attachment(info.id)
        assert {a.id for a in v.attachments("T-0001")} == {first.id, other.id, second.id}
        assert len(_actions(v, "attachment-added")) == 4
        # The file stored first is whole after a rolled-back second copy.
        v.verify_attachment(first.id)
        out = tmp_path / "out.pdf"
        v.extract(first.id, out)
        assert out.read_bytes() == data
        v.audit_verify()


def test_the_comparison_is_by_keyed_digest(sqlite_backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(5000)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        first = v.attach("T-0001", io.BytesIO(data), name="a.bin")
        assert v.attach("T-0001", io.BytesIO(data), name="a.bin").existing
        # A file the vault wrongly believes identical (same id in a keyed digest) is
        # refused as different when any of hash, size or media type differ.
        held = [first]
        for change in ({"sha256": hashlib.sha256(b"x").hexdigest()}, {"size": 1}):
            fake = attachments.AttachmentInfo(**(first.to_dict() | change))
            assert attachments.same_file(v._ctx.keys, held, fake) is None
        assert attachments.same_file(v._ctx.keys, held, first) == first
        stored = b"".join(p.read_bytes() for p in sqlite_backend.folder.iterdir())
    # Nothing in the database or its log holds the file's hash in clear.
    assert first.sha256.encode() not in stored
    assert bytes.fromhex(first.sha256) not in stored


def test_cli_attach_twice_exits_0_and_says_so(sqlite_backend: Backend, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    r = runner.invoke(cli, ["attach", "T-0001", str(path), "--json"], env=env)
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert first["existing"] is False
    r = runner.invoke(cli, ["attach", "T-0001", str(path)], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(first["id"] + "  ")
    assert "already attached: nothing stored" in r.stdout
    r = runner.invoke(cli, ["attach", "T-0001", str(path), "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == first | {"existing": True}
    r = runner.invoke(cli, ["attach", "T-0001", str(path), "--again", "--json"], env=env)
    assert r.exit_code == 0, r.output
    second = json.loads(r.stdout)
    assert second["existing"] is False
    assert second["id"] != first["id"]
    r = runner.invoke(cli, ["attachments", "T-0001", "--json"], env=env)
    assert {a["id"] for a in json.loads(r.stdout)} == {first["id"], second["id"]}


def test_api_attach_twice_is_200_with_the_existing_file(backend: Backend, tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + os.urandom(1000)
    with backend.create() as v:
        v.import_file(SAMPLES)
        token, _ = v.create_token("intake", role="custodian", classes=["narrative"])
        app = create_app(v, export_dir=tmp_path, failed_auth_limit=10_000)
        with _serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            url = "/records/T-0001/attachments?name=scan.pdf"
            made = client.post(url, content=data, headers=_auth(token))
            assert made.status_code == 201, made.text
            again = client.post(url, content=data, headers=_auth(token))
            assert again.status_code == 200, again.text
            assert again.json() == made.json()
            forced = client.post(url + "&again=true", content=data, headers=_auth(token))
            assert forced.status_code == 201, forced.text
            assert forced.json()["id"] != made.json()["id"]
        assert len(v.attachments("T-0001")) == 2
