"""How long operations say how far they are: a callback, never printing.

An operation that takes a ``progress`` callback calls it as ``progress(stage, done,
total)``: ``stage`` names what it is doing ("encrypting", "checking" ...), ``done``
only grows within a stage, and every stage ends with a call where ``done == total``
(``total`` is 0 when it cannot be known). Front-ends draw it; the library never
writes to a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, cast

__all__ = ["Progress", "ReadCounter", "Stage", "counting", "size_of"]

Progress = Callable[[str, int, int], None]


class Stage:
    """One stage of an operation, reported to ``progress`` (or to nothing)."""

    def __init__(self, progress: Progress | None, name: str, total: int) -> None:
        self._progress = progress
        self.name = name
        self.total = max(total, 0)
        self.done = 0
        # Reported in steps of about a thousandth (a bar cannot show finer), so a
        # stream read 8 KiB at a time does not call back for every read.
        self._step = max(self.total // 1000, 1)
        self._reported = 0
        if progress is not None:
            progress(name, 0, self.total)

    def advance(self, n: int) -> None:
        if not n or self._progress is None:
            return
        self.done += n
        if self.done - self._reported >= self._step:
            self._reported = self.done
            shown = min(self.done, self.total) if self.total else self.done
            self._progress(self.name, shown, self.total)

    def finish(self) -> None:
        """The stage is over: ``done`` reaches ``total`` (or, unknown, what was done)."""
        if self._progress is not None:
            end = self.total or self.done
            self._progress(self.name, end, self.total or end)


class ReadCounter:
    """A binary stream that reports the bytes read from it to a :class:`Stage`."""

    def __init__(self, raw: IO[bytes], stage: Stage) -> None:
        self._raw = raw
        self._stage = stage

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._stage.advance(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._stage.advance(n or 0)
        return int(n or 0)


def counting(raw: IO[bytes], stage: Stage) -> IO[bytes]:
    """``raw``, its reads reported to ``stage`` (only ``read`` and ``readinto`` are
    used of it)."""
    return cast(IO[bytes], ReadCounter(raw, stage))


def size_of(stream: IO[bytes]) -> int:
    """The size of a regular file behind ``stream``, else 0 (unknown)."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        # A stream without a file (io.BytesIO raises UnsupportedOperation, an OSError).
        return 0
