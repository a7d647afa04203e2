"""Attaching an evidence file to a record: streamed, and on SQLite in chunks.

Invariants:

* On PostgreSQL (whose writers lock rows, not the database) a file is sealed and
  stored in one transaction.
* On SQLite a file is stored in chunks of about :data:`vault.pacing.CHUNK_BYTES` or
  a second each, each one transaction (:mod:`vault.pacing`), so that other writers
  wait for one chunk, not the whole file, and the write-ahead log holds about one
  chunk. Until its last commit the file's row is pending (no sealed description,
  no chunk count), and every reader passes it by: a file is seen whole or not at
  all. The last commit fills it in together with its intake entry in the audit log.
* While it writes, the writer holds a lock (``flock``) on ``.evault-upload-ID`` in
  the vault folder. A pending file whose lock no one holds was left by a killed
  writer: the next open of the vault, or the next attach, removes its rows (chunks
  in batches, then the row, each batch one transaction, without waiting for another
  writer) and the lock file. A writer that fails removes its own at once.
* A file the record holds already (the same bytes) is not kept unless ``again``:
  the file held is returned with ``existing=True`` and an ``attachment-exists``
  audit entry (see :mod:`vault.attachments`).
* A rotation while a file is written is followed: the file's key is wrapped under
  the key version current at its last commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from vault import attachments, crypto, partial
from vault.attachments import LOCK_RECORD, AttachmentInfo, Sealing
from vault.context import Context, ProgressCallback
from vault.errors import InvalidInputError, NotFoundError, VaultError
from vault.pacing import Pacer
from vault.progress import Progress, Stage, size_of
from vault.schema import shown_id
from vault.store import (
    Record,
    checkpoint_passive,
    no_wait,
    single_writer,
    sqlite_file,
    write_transaction,
    writers_waiting,
)

__all__ = ["attach", "sweep"]

_PREFIX: Final = ".evault-upload-"
_DISCARD_BATCH: Final = 128  # sealed chunks deleted per transaction: 8 MiB


def attach(
    ctx: Context,
    record_id: str,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    description: str | None,
    name: str | None,
    again: bool = False,
    progress: Progress | None = None,
) -> AttachmentInfo:
    """Seal a file (a path, or a binary stream with ``name``) to a record, streamed:
    in one transaction, or on SQLite in chunks. ``progress`` hears of the bytes
    sealed ("sealing"; on SQLite as each chunk commits).

    A file the record holds already (the same bytes, whatever its name) is not stored
    again unless ``again``: the existing file is returned with ``existing=True``, so
    a re-run of an attach whose result was lost does not store the file twice.
    """
    ctx.require("admin", "custodian")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            stream: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(path)) from None
        label = name or path.name
    else:
        stream, label = source, name or "upload"
    ref = ctx.codec.reference(record_id)
    stage = Stage(progress, "sealing", size_of(stream))
    info = _attach(ctx, ref, record_id, stream, label, description, again, stage.advance)
    stage.finish()
    return info


def _attach(
    ctx: Context,
    ref: str,
    record_id: str,
    stream: IO[bytes],
    label: str,
    description: str | None,
    again: bool,
    progress: Callable[[int], None],
) -> AttachmentInfo:
    with stream:
        folder = sqlite_file(ctx.engine)
        if single_writer(ctx.engine) and folder is not None:
            sweep(ctx.engine)
            with _claim(folder.resolve().parent) as claimed:
                upload = _Upload(ctx, ref, record_id, stream, claimed)
                return upload.run(label, description, again, progress)
        with ctx.write() as conn:
            ctx.refresh_key_version(conn)
            _lock_record(conn, ref, record_id)
            if again:
                info = attachments.store_logged(
                    ctx, conn, ref, record_id, stream, label, description
                )
            else:
                info = attachments.store_unless_held(
                    ctx, conn, ref, record_id, stream, label, description
                )
        progress(info.size)
        return info


def _lock_record(conn: Connection, ref: str, record_id: str) -> None:
    if conn.execute(LOCK_RECORD.where(Record.ref == ref)).first() is None:
        raise NotFoundError(f"no record {shown_id(record_id)}")


class _Upload:
    """One file written in chunks, each committed on its own."""

    def __init__(
        self, ctx: Context, ref: str, record_id: str, stream: IO[bytes], attachment_id: str
    ) -> None:
        self._ctx = ctx
        self._ref = ref
        self._record_id = record_id
        self._stream = stream
        self._id = attachment_id
        self._sealing: Sealing | None = None  # from the first chunk's transaction
        self._pacer = Pacer(
            lambda: checkpoint_passive(ctx.engine), lambda: writers_waiting(ctx.engine)
        )
        self._sent = 0  # bytes of the file reported to progress

    def run(
        self,
        name: str,
        description: str | None,
        again: bool,
        progress: ProgressCallback | None,
    ) -> AttachmentInfo:
        ctx, pacer = self._ctx, self._pacer
        try:
            while True:
                with ctx.write() as conn:
                    pacer.begin()
                    ctx.refresh_key_version(conn)
                    sealing = self._next_chunk(conn)
                    result = self._complete(conn, sealing, name, description, again)
                if progress:
                    progress(sealing.size - self._sent)
                    self._sent = sealing.size
                if result is not None:
                    break
                pacer.pause()
        except BaseException:
            # Nothing of the file shows; remove what was committed of it now
            # (else the next open or attach does).
            if self._sealing is not None:
                with contextlib.suppress(VaultError, SQLAlchemyError):
                    _discard(ctx.engine, self._id)
            raise
        if result.existing:
            with contextlib.suppress(VaultError, SQLAlchemyError):
                _discard(ctx.engine, self._id)
        checkpoint_passive(ctx.engine)
        return result

    def _next_chunk(self, conn: Connection) -> Sealing:
        sealing = self._sealing
        if sealing is None:
            _lock_record(conn, self._ref, self._record_id)
            sealing = Sealing(
                self._ctx.keys, self._ctx.codec.kek_version, self._ref, self._stream, self._id
            )
            sealing.start(conn)
            self._sealing = sealing
        elif sealing.id not in attachments.pending_ids(conn):
            # Its record was deleted meanwhile (retention), and the file with it.
            raise NotFoundError(
                f"no record {shown_id(self._record_id)}: it was deleted while the file "
                "was written; nothing was attached"
            )
        sealing.write(conn, lambda written: self._pacer.due(size=written))
        return sealing

    def _complete(
        self,
        conn: Connection,
        sealing: Sealing,
        name: str,
        description: str | None,
        again: bool,
    ) -> AttachmentInfo | None:
        """Once the file is through: the file held already, or this one, whole."""
        ctx = self._ctx
        if not sealing.done:
            return None
        info = sealing.info(self._record_id, name, description)
        if not again:
            _lock_record(conn, self._ref, self._record_id)
            held = attachments.list_for(conn, ctx.keys, self._ref)
            same = attachments.same_file(ctx.keys, held, info)
            if same is not None:
                ctx.audit(
                    conn, "attachment-exists", refs=[self._ref], details={"attachment": same.id}
                )
                return dataclasses.replace(same, existing=True)
        sealing.rewrap(conn, ctx.codec.kek_version)
        sealing.finish(conn, info)
        attachments.log_intake(ctx, conn, self._ref, info)
        return info


@contextlib.contextmanager
def _claim(folder: Path) -> Iterator[str]:
    """A new file id, with the lock that tells the file's rows are being written."""
    while True:
        attachment_id = crypto.random_token(16)
        path = folder / f"{_PREFIX}{attachment_id}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A sweep may have taken the file between its creation and the lock.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)
    try:
        yield attachment_id
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _discard(engine: Engine, attachment_id: str) -> None:
    """Remove a pending file's rows, a batch per transaction."""
    while True:
        with write_transaction(engine) as conn:
            if not attachments.discard_some(conn, attachment_id, _DISCARD_BATCH):
                return


def sweep(engine: Engine) -> int:
    """Remove the files killed writers left pending in an SQLite vault, and their
    lock files, without waiting for another writer; returns how many. Best effort:
    what cannot be removed now is removed by a later sweep."""
    db = sqlite_file(engine)
    if db is None:
        return 0
    folder = db.resolve().parent
    removed = 0
    with contextlib.suppress(VaultError, SQLAlchemyError, OSError), no_wait():
        with engine.connect() as conn:
            pending = attachments.pending_ids(conn)
        for attachment_id in pending:
            path = folder / f"{_PREFIX}{attachment_id}"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is at work
                _discard(engine, attachment_id)
                removed += 1
                path.unlink()
            finally:
                os.close(fd)
    partial.sweep(folder, _PREFIX)
    return removed
