"""Export jobs: exports built in worker threads of their own while the server goes on
answering, and their files until they are fetched.

Invariants:

* A job is known by a random id (256 bits from :mod:`secrets`), looked up by its
  SHA-256, and shown only to the token that made it or to an admin: to anyone else
  it does not exist.
* A job runs in a thread of its own, never in the threads that serve requests, and
  at most ``workers`` at once (the others wait, queued); a token has at most
  ``per_token`` jobs queued or running, the server at most :data:`MAX_ACTIVE`.
* A job's file is age-encrypted to its recipient from its first byte (the export
  writer's own invariant) and waits in the export folder, readable by this user only,
  under the export's id. It is removed once it was sent whole, when its job expires
  (``keep`` seconds after it finished), when the server stops, or when more than
  :data:`MAX_KEPT` jobs are remembered (the oldest finished first); an export still
  being built when the server stops is ended, and leaves no file.
* A failed job says why in one line: the library's message, which never holds a
  record value, or only the kind of an unexpected error; never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

from vault import crypto
from vault.errors import NotFoundError, VaultError
from vault.progress import Progress
from vault.sharing import ExportSummary

__all__ = ["MAX_ACTIVE", "MAX_KEPT", "ExportJobs", "JobLimitError", "JobView"]

MAX_ACTIVE: Final = 32  # jobs queued or running on one server
MAX_KEPT: Final = 1000  # jobs remembered (finished ones until they expire)
_STOP_WAIT: Final = 30.0  # seconds a stopping server waits for a job to end
_log = logging.getLogger("evault.api")

State = Literal["queued", "running", "done", "failed"]
Export = Callable[[Path, Progress], ExportSummary]
"""Builds one export into the path given, telling its progress."""


class JobLimitError(Exception):
    """Too many jobs under way for this token or this server (answered 429)."""


class _Stopped(Exception):
    """The server is stopping: the job's export ends where it is."""


@dataclass
class _Job:
    id: str
    owner: str
    policy: str
    recipient: str
    created: dt.datetime
    stop: threading.Event
    state: State = "queued"
    done: int = 0
    total: int | None = None
    error: str | None = None
    export_id: str | None = None
    counts: dict[str, Any] | None = None
    file: Path | None = None
    finished: dt.datetime | None = None
    finished_at: float | None = None  # time.monotonic(), for expiry
    thread: threading.Thread | None = field(default=None, repr=False)


@dataclass(frozen=True)
class JobView:
    """A job as its owner may see it."""

    id: str
    state: State
    policy: str
    recipient: str
    done: int
    total: int | None
    created_at: str
    finished_at: str | None
    expires_at: str | None
    error: str | None
    export_id: str | None
    counts: dict[str, Any] | None
    has_file: bool


def _key(job_id: str) -> bytes:
    return crypto.sha256(job_id.encode())


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, _Stopped):
        return "the server stopped before the export was done"
    if isinstance(exc, VaultError):
        lines = str(exc).splitlines()
        return lines[0] if lines else type(exc).__name__
    _log.error("export job failed (%s)", type(exc).__name__)
    return f"internal error ({type(exc).__name__})"


class ExportJobs:
    """The export jobs of one server and their files in ``folder``."""

    def __init__(
        self,
        folder: Path,
        *,
        keep: float,
        per_token: int = 2,
        workers: int = 2,
        owns_folder: bool = False,
    ) -> None:
        self.folder = folder
        self.keep = keep
        self.per_token = per_token
        self._owns_folder = owns_folder
        self._slots = threading.BoundedSemaphore(workers)
        self._jobs: dict[bytes, _Job] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sweeper: threading.Thread | None = None

    # Life of the server -----------------------------------------------------------

    def start(self) -> None:
        """Expire finished jobs on time even while no request comes."""
        interval = min(60.0, max(self.keep / 4, 0.05))

        def sweep() -> None:
            while not self._closed.wait(interval):
                self.expire()

        self._sweeper = threading.Thread(target=sweep, name="evault-export-expiry", daemon=True)
        self._sweeper.start()

    def close(self) -> None:
        """End every job (an export being built stops at its next record), remove
        every file, and the folder too if this server made it."""
        self._closed.set()
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            job.stop.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(_STOP_WAIT)
            self._remove(job)
        if self._sweeper is not None:
            self._sweeper.join(_STOP_WAIT)
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # Jobs ---------------------------------------------------------------------------

    def submit(self, owner: str, policy: str, recipient: str, export: Export) -> str:
        """Queue ``export`` for ``owner``; returns the new job's id."""
        self.expire()
        job_id = secrets.token_urlsafe(32)
        job = _Job(job_id, owner, policy, recipient, dt.datetime.now(dt.UTC), threading.Event())
        with self._lock:
            if self._closed.is_set():
                raise JobLimitError("the server is stopping")
            active = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            if sum(j.owner == owner for j in active) >= self.per_token:
                raise JobLimitError(
                    f"this token has {self.per_token} exports under way; wait for one to end"
                )
            if len(active) >= MAX_ACTIVE:
                raise JobLimitError("the server has too many exports under way; try later")
            self._forget_oldest()
            self._jobs[_key(job_id)] = job
            job.thread = threading.Thread(
                target=self._work, args=(job, export), name="evault-export-job", daemon=True
            )
        job.thread.start()
        return job_id

    def _forget_oldest(self) -> None:
        # Called with the lock held: memory and disk stay bounded.
        finished = sorted(
            (j for j in self._jobs.values() if j.finished_at is not None),
            key=lambda j: j.finished_at or 0.0,
        )
        while len(self._jobs) >= MAX_KEPT and finished:
            old = finished.pop(0)
            del self._jobs[_key(old.id)]
            self._remove(old)

    def _work(self, job: _Job, export: Export) -> None:
        with self._slots:
            if job.stop.is_set():
                self._finish(job, error=_Stopped())
                return
            job.state = "running"
            # The file's name until the export has its id.
            out = self.folder / f"job-{secrets.token_hex(16)}.age"

            def progress(_stage: str, done: int, total: int) -> None:
                if job.stop.is_set():
                    raise _Stopped
                job.done, job.total = done, total

            try:
                manifest = export(out, progress)
                final = self.folder / f"{manifest['export_id']}.age"
                out.rename(final)
            except BaseException as exc:
                with contextlib.suppress(OSError):
                    out.unlink()
                self._finish(job, error=exc)
                if not isinstance(exc, Exception):
                    raise
                return
            self._finish(job, manifest=manifest, file=final)

    def _finish(
        self,
        job: _Job,
        *,
        manifest: ExportSummary | None = None,
        file: Path | None = None,
        error: BaseException | None = None,
    ) -> None:
        with self._lock:
            job.finished = dt.datetime.now(dt.UTC)
            job.finished_at = time.monotonic()
            if manifest is not None:
                job.state = "done"
                job.export_id = manifest["export_id"]
                job.counts = manifest["counts"]
                job.file = file
                if job.total is not None:
                    job.done = job.total
            else:
                job.state = "failed"
                job.error = _one_line(error) if error is not None else "failed"
            forgotten = _key(job.id) not in self._jobs
        if forgotten or job.stop.is_set():
            self._remove(job)  # the server stopped meanwhile: nothing may stay

    def _find(self, job_id: str, owner: str, admin: bool) -> _Job:
        job = self._jobs.get(_key(job_id))
        if job is None or not (admin or job.owner == owner):
            raise NotFoundError("no such export job for this token")
        return job

    def view(self, job_id: str, owner: str, *, admin: bool) -> JobView:
        """The job, for its owner or an admin; NotFoundError for anyone else."""
        self.expire()
        with self._lock:
            job = self._find(job_id, owner, admin)
            expires = job.finished + dt.timedelta(seconds=self.keep) if job.finished else None
            return JobView(
                id=job.id,
                state=job.state,
                policy=job.policy,
                recipient=job.recipient,
                done=job.done,
                total=job.total,
                created_at=job.created.isoformat(),
                finished_at=job.finished.isoformat() if job.finished else None,
                expires_at=expires.isoformat() if expires else None,
                error=job.error,
                export_id=job.export_id,
                counts=job.counts,
                has_file=job.file is not None,
            )

    def open_file(self, job_id: str, owner: str, *, admin: bool) -> tuple[str, IO[bytes]]:
        """The export id and the open file of a finished job (the caller closes it);
        NotFoundError if there is no such job for the caller or no file (yet, or any
        more)."""
        self.expire()
        with self._lock:
            job = self._find(job_id, owner, admin)
            if job.state != "done" or job.file is None or job.export_id is None:
                raise NotFoundError(
                    "the export job has no file: not done yet, failed, or fetched already"
                )
            # Opened under the lock: an expiry cannot take the file between look-up
            # and open, and once open it reads whole even if removed.
            return job.export_id, job.file.open("rb")

    def sent(self, job_id: str) -> None:
        """The job's file went out whole: remove it."""
        path = None
        with self._lock:
            job = self._jobs.get(_key(job_id))
            if job is not None:
                path, job.file = job.file, None
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def expire(self) -> None:
        """Forget jobs that finished more than ``keep`` seconds ago, and their files."""
        cutoff = time.monotonic() - self.keep
        with self._lock:
            old = [
                key
                for key, job in self._jobs.items()
                if job.finished_at is not None and job.finished_at <= cutoff
            ]
            gone = [self._jobs.pop(key) for key in old]
        for job in gone:
            self._remove(job)

    @staticmethod
    def _remove(job: _Job) -> None:
        path, job.file = job.file, None
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
