"""Long operations say how far they are: the library by a callback (stage, done,
total) whose every stage ends at its total, and the command line as bars on a
terminal only."""

from __future__ import annotations

import io
import os
import pty
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from exporting import new_identity

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import Passphrase, Vault
from vault.backup import check_backup, restore_backup
from vault.cli import cli

Calls = list[tuple[str, int, int]]


def _stages(calls: Calls) -> list[str]:
    """The stages reported, in order, each checked: done never goes back, and the
    last report of a stage is done == total."""
    seen: dict[str, list[tuple[int, int]]] = {}
    for stage, done, total in calls:
        seen.setdefault(stage, []).append((done, total))
    for stage, reports in seen.items():
        dones = [d for d, _ in reports]
        assert dones == sorted(dones), stage
        assert reports[-1][0] == reports[-1][1], (stage, reports[-1])
    return list(seen)


@pytest.fixture
def with_file(sqlite_backend: Backend, tmp_path: Path) -> Iterator[tuple[Vault, Path]]:
    photo = tmp_path / "photo.bin"
    photo.write_bytes(os.urandom(300_000))
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        yield v, photo


def test_every_long_operation_reports_each_stage_to_its_end(
    with_file: tuple[Vault, Path], tmp_path: Path
) -> None:
    v, photo = with_file
    _identity, key, public = new_identity(tmp_path)
    v.add_recipient("partner", public)

    def run(call: object) -> list[str]:
        calls: Calls = []
        assert callable(call)
        call(lambda *c: calls.append(c))
        return _stages(calls)

    info = v.attach("T-0001", photo)
    assert run(lambda p: v.attach("T-0002", photo, progress=p)) == ["sealing"]
    assert run(lambda p: v.extract(info.id, tmp_path / "out.bin", progress=p)) == ["extracting"]
    assert run(lambda p: v.export("public", "partner", tmp_path / "x.age", progress=p)) == [
        "exporting"
    ]
    assert run(lambda p: v.rotate_keys(progress=p)) == ["rotating"]
    backup = tmp_path / "b.age"
    assert run(lambda p: v.backup(backup, "partner", progress=p)) == [
        "checking",
        "copying",
        "encrypting",
    ]
    passphrase = Passphrase(PASSPHRASE)
    assert run(lambda p: check_backup(backup, key, passphrase, progress=p)) == [
        "decrypting",
        "checking",
    ]
    assert run(lambda p: restore_backup(backup, key, tmp_path / "restored", p)) == ["decrypting"]


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the other end closed
            return
        if not data:
            return
        into.append(data)


def test_bars_on_a_terminal_and_none_elsewhere(
    with_file: tuple[Vault, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v, photo = with_file
    _identity, _key, public = new_identity(tmp_path)
    v.add_recipient("partner", public)
    v.close()
    env = {"EVAULT_DIR": str(tmp_path / "vault"), "EVAULT_PASSPHRASE": PASSPHRASE}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Not a terminal: nothing but the result.
    result = CliRunner().invoke(cli, ["attach", "T-0001", str(photo)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # A terminal: a bar per stage, each drawn to its end.
    master, slave = pty.openpty()
    got: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, got))
    reader.start()
    terminal = open(slave, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stderr", terminal)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    try:
        args = ["backup", "--out", str(tmp_path / "b.age"), "--to", "partner"]
        cli.main(args=args, prog_name="evault", standalone_mode=False)
    finally:
        terminal.close()
        reader.join(timeout=10)
        os.close(master)
    drawn = b"".join(got).decode()
    for label in ("Checking", "Copying", "Encrypting"):
        assert label in drawn
    assert drawn.count("100%") >= 3, drawn
    assert "Wrote" in out.getvalue()
