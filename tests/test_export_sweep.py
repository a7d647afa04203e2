"""When ``serve`` starts, it deletes the export files an earlier run left, and only those.

A run that was killed could not remove its waiting files. The export folder may hold
other files (a custodian's own copy, notes, a file that only looks like an export):
the sweep deletes a file only when its name is exactly ``<export_id>.age`` of an
export the vault recorded, and it is older than ``--export-days``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from exporting import new_identity
from test_api import _serving

from conftest import SAMPLES, Backend
from vault import Vault
from vault.api import create_app
from vault.policy import find_policy

LONG_AGO = time.time() - 30 * 86400


def _old(path: Path, data: bytes = b"kept by a custodian") -> Path:
    path.write_bytes(data)
    os.utime(path, (LONG_AGO, LONG_AGO), follow_symlinks=False)
    return path


def _left_by_a_killed_run(v: Vault, exports: Path, at: float = LONG_AGO) -> Path:
    """An export file as a job leaves it, by a server killed before it could go."""
    if not v.recipients():
        _identity, _key, public = new_identity(exports.parent)
        v.add_recipient("ituc", public)
    made = v.export(find_policy("union"), "ituc", exports / "made.age")
    ours = exports / f"{made['export_id']}.age"
    (exports / "made.age").rename(ours)
    os.utime(ours, (at, at))
    return ours


def test_the_sweep_deletes_only_files_it_made(backend: Backend, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    with backend.create() as v:
        v.import_file(SAMPLES)
        ours = _left_by_a_killed_run(v, exports)
        recent = _left_by_a_killed_run(v, exports, time.time())  # not yet its days old
        export_id = ours.name.removesuffix(".age")
        others = [
            _old(exports / "notes.txt"),
            _old(exports / "ituc-copy.age"),
            # The shape of an export's name, but no export the vault recorded.
            _old(exports / ("0123456789abcdef" * 2 + ".age")),
            _old(exports / (export_id.upper() + ".age")),
            _old(exports / f"{export_id}.age.bak"),
        ]
        folder = exports / f"{'f' * 32}.age"
        folder.mkdir()
        os.utime(folder, (LONG_AGO, LONG_AGO))
        with _serving(create_app(v, export_dir=exports)):
            assert not ours.exists()
        for path in others:
            assert path.read_bytes() == b"kept by a custodian", path.name
        assert folder.is_dir()
        assert recent.exists()


def test_a_file_named_like_a_recorded_export_but_not_a_file_is_left(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    outside = _old(tmp_path / "elsewhere.txt")
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        ours = _left_by_a_killed_run(v, exports)
        ours.unlink()
        ours.symlink_to(outside)
        os.utime(ours, (LONG_AGO, LONG_AGO), follow_symlinks=False)
        with _serving(create_app(v, export_dir=exports)):
            pass
    assert ours.is_symlink()
    assert outside.read_bytes() == b"kept by a custodian"
