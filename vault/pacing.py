"""Long writes in bounded chunks, where the database takes one writer at a time.

SQLite has one writer at a time: an import or a large evidence file written in one
transaction holds every other writer off until it ends. Such a write instead
commits in chunks (see :mod:`vault.ingest`, :mod:`vault.attachments`) and a
:class:`Pacer` says when.

Invariants:

* A chunk ends once it holds :data:`CHUNK_RECORDS` records or :data:`CHUNK_BYTES`
  bytes, or has held the write lock for :data:`CHUNK_SECONDS`, whichever comes
  first (the caller may end it later, where the chunk is whole).
* Once its chunks have held the write lock for :data:`CHUNK_SECONDS` since it last
  paused, the writer pauses after its commit for :data:`PAUSE_SECONDS`, longer than
  one poll of a process waiting in SQLite's busy handler (100 ms), so that a waiting
  writer takes the lock before the next chunk does — but only while another writer
  says it waits (``store.writers_waiting``): alone, a long write goes on at once. A
  write done within a second never pauses. Readers never wait for it.
* After each commit the write-ahead log is checkpointed without waiting for anyone
  (``PASSIVE``), so that it holds about one chunk, not the whole write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_RECORDS",
    "CHUNK_SECONDS",
    "PAUSE_SECONDS",
    "REWRAP_BATCH",
    "Pacer",
]

CHUNK_RECORDS: Final = 2_000
# Keys a key rotation rewraps per transaction (vault.lifecycle).
REWRAP_BATCH: Final = 500
CHUNK_BYTES: Final = 8 << 20
CHUNK_SECONDS: Final = 1.0
PAUSE_SECONDS: Final = 0.15


@dataclass
class Pacer:
    """When a chunk of a long write ends, and the pause after its commit.

    ``checkpoint`` folds the write-ahead log into the database without waiting
    (``store.checkpoint_passive``) and ``waiting`` says whether another writer waits
    for the lock (``store.writers_waiting``); both are given, so that this module
    needs no database layer (the command line reads its defaults)."""

    checkpoint: Callable[[], None]
    waiting: Callable[[], bool] = field(default=lambda: True)
    records: int = CHUNK_RECORDS
    size: int = CHUNK_BYTES
    seconds: float = CHUNK_SECONDS
    _start: float = field(default=0.0, init=False)
    _held: float = field(default=0.0, init=False)  # lock time since the last pause

    def begin(self) -> None:
        """A chunk's transaction began (it holds the write lock from now)."""
        self._start = time.monotonic()

    def due(self, records: int = 0, size: int = 0) -> bool:
        """Whether a chunk of ``records`` records (or ``size`` bytes) should end."""
        return (
            records >= self.records
            or size >= self.size
            or time.monotonic() - self._start >= self.seconds
        )

    def left(self) -> float:
        """Seconds left before the chunk is due by time (0 once it is)."""
        return max(0.0, self.seconds - (time.monotonic() - self._start))

    def pause(self) -> None:
        """After a commit: keep the write-ahead log short, and let waiting writers in."""
        started = time.monotonic()
        self._held += started - self._start
        self.checkpoint()
        if self._held >= self.seconds and self.waiting():
            self._held = 0.0
            time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - started)))
