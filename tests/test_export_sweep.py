"""``serve``'s export sweep deletes only the export files it made.

The export folder may hold other files (a custodian's own copy, notes, a file that
only looks like an export): the sweep deletes a file only when its name is exactly
``<export_id>.age`` of an export the vault recorded, and it is older than
``--export-days``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from exporting import new_identity
from test_api import _auth, _exporter, _serving

from conftest import SAMPLES, Backend
from vault import Vault
from vault.api import create_app

LONG_AGO = time.time() - 30 * 86400


@pytest.fixture
def serving(backend: Backend, tmp_path: Path) -> Iterator[tuple[str, Vault, Path]]:
    exports = tmp_path / "exports"
    exports.mkdir()
    with backend.create() as v:
        v.import_file(SAMPLES)
        _identity, _key, public = new_identity(tmp_path)
        v.add_recipient("ituc", public)
        app = create_app(v, export_dir=exports, failed_auth_limit=10_000)
        with _serving(app) as base:
            yield base, v, exports


def _old(path: Path, data: bytes = b"kept by a custodian") -> Path:
    path.write_bytes(data)
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


def test_the_sweep_deletes_only_files_it_made(serving: tuple[str, Vault, Path]) -> None:
    base, v, exports = serving
    token = _exporter(v, "x")
    body = {"policy": "union", "recipient": "ituc"}
    with httpx.Client(base_url=base, headers=_auth(token), timeout=30) as client:
        made = client.post("/exports", json=body).json()
        ours = exports / f"{made['export_id']}.age"
        os.utime(ours, (LONG_AGO, LONG_AGO))
        others = [
            _old(exports / "notes.txt"),
            _old(exports / "ituc-copy.age"),
            # The shape of an export's name, but no export the vault recorded.
            _old(exports / ("0123456789abcdef" * 2 + ".age")),
            _old(exports / (made["export_id"].upper() + ".age")),
            _old(exports / f"{made['export_id']}.age.bak"),
        ]
        folder = exports / f"{'f' * 32}.age"
        folder.mkdir()
        os.utime(folder, (LONG_AGO, LONG_AGO))
        again = client.post("/exports", json=body).json()
        assert not ours.exists()
        for path in others:
            assert path.read_bytes() == b"kept by a custodian", path.name
        assert folder.is_dir()
        assert client.get(made["download"]).status_code == 404
        assert client.get(again["download"]).status_code == 200


def test_a_file_named_like_a_recorded_export_but_not_a_file_is_left(
    serving: tuple[str, Vault, Path], tmp_path: Path
) -> None:
    base, v, exports = serving
    token = _exporter(v, "x")
    body = {"policy": "union", "recipient": "ituc"}
    outside = _old(tmp_path / "elsewhere.txt")
    with httpx.Client(base_url=base, headers=_auth(token), timeout=30) as client:
        made = client.post("/exports", json=body).json()
        ours = exports / f"{made['export_id']}.age"
        ours.unlink()
        ours.symlink_to(outside)
        os.utime(ours, (LONG_AGO, LONG_AGO), follow_symlinks=False)
        client.post("/exports", json=body)
    assert ours.is_symlink()
    assert outside.read_bytes() == b"kept by a custodian"
