"""What a killed backup or restore leaves behind, removed when a vault opens.

Kept apart from :mod:`vault.backup` so that every open (which sweeps them) does not
load the backup code and what it needs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["RESTORE_PREFIX", "SNAPSHOT_PREFIX", "remove_leftovers"]

# Plaintext snapshots of a killed backup (private temporary folders, and the copies
# older versions left in the vault folder) and unfinished restores.
SNAPSHOT_PREFIX: Final = "evault-backup-"
RESTORE_PREFIX: Final = ".evault-restore-"
_LEFTOVER_PREFIXES: Final = (f".{SNAPSHOT_PREFIX}", RESTORE_PREFIX)


def remove_leftovers(folder: Path) -> None:
    """Remove what a killed backup or restore left: plaintext snapshots in the vault
    folder (older versions wrote them there), unfinished restores, and the private
    snapshot folders of backups whose process is gone."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name.startswith(_LEFTOVER_PREFIXES) and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            if not entry.name.startswith(SNAPSHOT_PREFIX):
                continue
            pid = entry.name[len(SNAPSHOT_PREFIX) :].partition("-")[0]
            with contextlib.suppress(OSError):
                if pid.isdigit() and entry.stat().st_uid == os.getuid() and not _alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
