"""Files being written, and what is left of them after a kill.

A file a command writes is written under a temporary name in its destination folder,
flushed, then renamed into place. While it is written its writer holds an exclusive
lock on it (``flock``); a killed writer's lock goes with its process. So a later
writer to the same folder can tell a leftover — a file under that prefix that no one
holds — from one still being written by someone else, and removes only leftovers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

__all__ = ["new_partial", "sweep"]


def sweep(folder: Path, prefix: str) -> int:
    """Remove the leftovers named ``prefix*`` in ``folder``; returns how many."""
    removed = 0
    with contextlib.suppress(OSError):
        for path in folder.glob(prefix + "*"):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # another process is writing it
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
            finally:
                os.close(fd)
    return removed


def new_partial(folder: Path, prefix: str) -> tuple[int, str]:
    """A new file in ``folder`` to write, locked for as long as ``fd`` stays open;
    leftovers of killed writers under the same prefix go first."""
    sweep(folder, prefix)
    while True:
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Another writer's sweep may have taken the file between its creation and
        # the lock: then it is no longer at its name, and a new one is made.
        try:
            if os.stat(name).st_ino == os.fstat(fd).st_ino:
                return fd, name
        except FileNotFoundError:
            pass
        os.close(fd)
