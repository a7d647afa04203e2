"""Work done beside the caller in a forked process, its results sent back by pipe.

A file import uses this to read, check and seal records on the second core while
the calling process stores what was sealed before (:mod:`vault.ingest`).

Invariants:

* Only a process with one thread forks (:func:`usable`): a thread of the API server
  may hold a lock at that moment, which the child would inherit held forever. The
  caller forks before it begins a transaction, so the child holds no database lock.
* The child writes nothing: it answers its pipe, and leaves with ``os._exit``, so
  no exit handler of the caller (a vault's close, a checkpoint) runs twice.
* What crosses the pipe is pickled: a secret key refuses to be pickled
  (``SecretKey.__reduce__``), so one put in a message by mistake stops the work
  instead of crossing. What the child sends is the caller's to keep out of it.
* A failure in the child reaches the caller as one error: a vault error keeps its
  class, its words and where it happened, a failed file operation is the storage
  error it would be in the caller; anything else is one line that names no value.
* The caller never blocks on its child for longer than it says
  (:meth:`Forked.receive` with a timeout): a thread of the caller reads the pipe,
  so a child stopped half-way through a message holds no lock of the caller's. A
  child that dies is noticed at once (end of pipe), and a caller that stops kills
  and reaps its child.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, Final

from vault import errors
from vault.errors import InvalidInputError, TamperedRowError, VaultError, from_os_error

__all__ = ["WAITING", "Channel", "Forked", "usable"]

_END: Final = "end"
_ERROR: Final = "error"
_STOPPED: Final = "the import's second process stopped before it finished"
WAITING: Final = object()
"""What :meth:`Forked.receive` returns when nothing came within its timeout."""


def _marker(message: Any) -> str | None:
    """``_END`` or ``_ERROR`` for the child's last message, None for its work."""
    if isinstance(message, tuple) and message and message[0] in (_END, _ERROR):
        return str(message[0])
    return None


def usable() -> bool:
    """Whether this process may fork a helper now (see the module's invariants)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Channel:
    """The child's end: send results, and hear how far the caller got."""

    def __init__(self, out: Connection, back: Connection) -> None:
        self._out = out
        self._back = back
        self._heard = 0

    def send(self, message: Any) -> None:
        self._out.send(message)

    def heard(self) -> int:
        """The highest number the caller acknowledged so far (0 before any)."""
        while self._back.poll():
            self._heard = max(self._heard, int(self._back.recv()))
        return self._heard


def _described(exc: BaseException) -> tuple[str, str, str | None, str | None]:
    """An error as the caller rebuilds it: class name, words, place, table."""
    if isinstance(exc, OSError):
        known = from_os_error(exc)
        if known is not None:
            exc = known
    if not isinstance(exc, VaultError):
        return "VaultError", _STOPPED + " (an internal error)", None, None
    message = str(exc)
    where = exc.where if isinstance(exc, InvalidInputError) else None
    if where:
        message = message.removeprefix(f"{where}: ")
    table = exc.table if isinstance(exc, TamperedRowError) else None
    return type(exc).__name__, message, where, table


def _rebuilt(name: str, message: str, where: str | None, table: str | None) -> VaultError:
    found = getattr(errors, name, VaultError)
    cls: type[VaultError] = (
        found if isinstance(found, type) and issubclass(found, VaultError) else VaultError
    )
    if issubclass(cls, InvalidInputError):
        return cls(message, where=where)
    if issubclass(cls, TamperedRowError):
        return cls(message, table=table or "unknown")
    return cls(message)


class Forked:
    """A forked child running ``work(channel)``; :meth:`receive` returns what it
    sends, in order, until it is through (None)."""

    def __init__(self, work: Callable[[Channel], None]) -> None:
        receive, child_out = Pipe(duplex=False)
        child_back, acknowledge = Pipe(duplex=False)
        # What the caller buffered for the terminal must not be written twice.
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its work is checked by its results
            code = 0
            try:
                receive.close()
                acknowledge.close()
                channel = Channel(child_out, child_back)
                try:
                    work(channel)
                    channel.send((_END,))
                except BaseException as exc:  # relayed as one error
                    code = 1
                    with contextlib.suppress(BaseException):
                        channel.send((_ERROR, *_described(exc)))
            finally:
                os._exit(code)
        child_out.close()
        child_back.close()
        self.pid: int | None = pid
        self._receive = receive
        self._acknowledge = acknowledge
        self._through = False
        # One message waits here at most: the child runs at most a little ahead of
        # the caller (it waits to send), so memory does not grow with the work.
        self._messages: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="evault-forked-reader", daemon=True)
        self._reader.start()

    def __repr__(self) -> str:
        return f"Forked(pid={self.pid})"

    def _read(self) -> None:
        # Whole messages only reach the caller: a child stopped half-way through
        # one leaves this thread waiting, not the caller.
        while True:
            try:
                message = self._receive.recv()
            except (EOFError, OSError):
                message = (_ERROR, "VaultError", _STOPPED, None, None)
            except BaseException:  # a message that cannot be read is the end too
                message = (_ERROR, "VaultError", _STOPPED + " (an internal error)", None, None)
            while not self._stop.is_set():
                try:
                    self._messages.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set() or _marker(message) is not None:
                return

    def receive(self, timeout: float | None = None) -> Any:
        """The child's next message; None once it is through; :data:`WAITING` if
        nothing came within ``timeout`` seconds. Its error is raised."""
        if self._through:
            return None
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            return WAITING
        marker = _marker(message)
        if marker is not None:
            self._through = True
            if marker == _ERROR:
                raise _rebuilt(*message[1:])
            return None
        return message

    def acknowledge(self, number: int) -> None:
        """Tell the child how far the caller got (see :meth:`Channel.heard`)."""
        with contextlib.suppress(OSError):
            self._acknowledge.send(number)

    def close(self) -> None:
        """End the child (if it still runs) and reap it."""
        pid, self.pid = self.pid, None
        if pid is None:
            return
        with contextlib.suppress(OSError):
            if not self._through:
                os.kill(pid, signal.SIGKILL)
            # Through, the child is leaving (or gone): waiting for it is short.
            os.waitpid(pid, 0)
        # The child is gone: the reader meets the end of the pipe, or gives up
        # handing over a message nobody will take, and stops.
        self._stop.set()
        self._reader.join()
        self._receive.close()
        self._acknowledge.close()

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
