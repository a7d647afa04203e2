"""Evidence files: streamed encryption in fixed-size chunks, inside the vault database.

Invariants:

* Each file has its own random key, wrapped by the narrative class KEK. Its bytes
  are sealed in 64 KiB chunks with the STREAM construction (nonce = chunk counter
  and last-chunk flag; associated data = attachment id and chunk index), so a chunk
  that is truncated away, reordered, duplicated or altered fails to open.
* Memory does not depend on the file's size: files are read, sealed, written,
  opened and hashed one chunk at a time.
* Extraction writes to a temporary file beside the destination and renames it only
  after every chunk verified; no plaintext of an unverified chunk is released.
* The original file name, description, detected media type, size and SHA-256 are
  sealed with the file; exports give files neutral names.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

import filetype
from sqlalchemy import Connection, insert, select, update

from vault import crypto
from vault.context import Context
from vault.crypto import SecretKey
from vault.errors import IntegrityError, InvalidInputError, NotFoundError
from vault.keys import KeyClass, Keyring
from vault.schema import shown_id
from vault.store import AttachmentChunk, Base, Record, bulk_insert, utcnow

__all__ = [
    "AttachmentInfo",
    "AttachmentSource",
    "attach",
    "attachments_of",
    "extract",
    "extract_to",
    "iter_plaintext",
    "list_for",
    "store",
    "store_logged",
    "verify_attachment",
]

_ATTACHMENTS = Base.metadata.tables["attachments"]
_CHUNKS = Base.metadata.tables["attachment_chunks"]
_BATCH: Final = 32  # chunks per insert: 2 MiB


@dataclass(frozen=True)
class AttachmentInfo:
    """What the vault knows of an evidence file (for custodians only)."""

    id: str
    record_id: str
    name: str
    description: str | None
    media_type: str
    size: int
    sha256: str
    created_at: str

    def __repr__(self) -> str:
        return f"AttachmentInfo(id={self.id!r}, media_type={self.media_type!r}, size={self.size})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AttachmentSource:
    """Files that import records name by relative path: a folder or a zip archive,
    as survey tools export them. Paths may not leave the folder or archive."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self._root = self.path.resolve()
        elif zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
        else:
            raise InvalidInputError("not a folder or a zip archive", where=str(self.path))

    def __enter__(self) -> AttachmentSource:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def open(self, relative: str, where: str) -> IO[bytes]:
        parts = PurePosixPath(relative).parts
        if not relative or relative.startswith(("/", "\\")) or ".." in parts or "\\" in relative:
            raise InvalidInputError(
                f"field 'attachments' must hold relative paths inside {self.path.name}", where=where
            )
        if self._zip is not None:
            try:
                return self._zip.open(relative)
            except KeyError:
                raise InvalidInputError(
                    f"field 'attachments': no such file in {self.path.name}", where=where
                ) from None
        full = (self._root / relative).resolve()
        if not full.is_relative_to(self._root) or not full.is_file():
            raise InvalidInputError(
                f"field 'attachments': no such file in {self.path.name}", where=where
            )
        return full.open("rb")


def _context(vault_id: str, attachment_id: str, kek_version: int) -> tuple[str | int, ...]:
    return ("attachment", vault_id, attachment_id, kek_version)


def media_type(head: bytes) -> str:
    """The media type detected from the first bytes, never from the name."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return "application/octet-stream"


def store(
    conn: Connection,
    keys: Keyring,
    kek_version: int,
    record_ref: str,
    record_id: str,
    source: IO[bytes],
    name: str,
    description: str | None,
) -> AttachmentInfo:
    """Seal a file chunk by chunk into the caller's transaction."""
    attachment_id = crypto.random_token(16)
    key = crypto.random_key()
    kek = keys.class_kek(KeyClass.NARRATIVE, kek_version)
    ctx = _context(keys.vault_id, attachment_id, kek_version)
    # The row comes first (the chunks refer to it); its sealed description and
    # chunk count are filled in once the whole file went through.
    conn.execute(
        insert(_ATTACHMENTS).values(
            id=attachment_id,
            record_ref=record_ref,
            created_at=utcnow(),
            kek_version=kek_version,
            wrapped_key=crypto.wrap_key(kek, key, ctx, key_version=kek_version),
            sealed_meta=b"",
            chunks=0,
        )
    )
    hasher = crypto.sha256_hasher()
    size = 0
    index = 0
    batch: list[dict[str, Any]] = []
    head = b""
    chunk = source.read(crypto.STREAM_CHUNK)
    while True:
        following = source.read(crypto.STREAM_CHUNK) if chunk else b""
        last = not following
        if index == 0:
            head = chunk[:512]
        hasher.update(chunk)
        size += len(chunk)
        batch.append(
            {
                "attachment_id": attachment_id,
                "idx": index,
                "data": crypto.stream_seal_chunk(key, attachment_id, index, chunk, last=last),
            }
        )
        index += 1
        if len(batch) >= _BATCH or last:
            bulk_insert(conn, AttachmentChunk, batch)
            batch = []
        if last:
            break
        chunk = following
    info = AttachmentInfo(
        id=attachment_id,
        record_id=record_id,
        name=name,
        description=description,
        media_type=media_type(head),
        size=size,
        sha256=hasher.hexdigest(),
        created_at=utcnow().isoformat(),
    )
    conn.execute(
        update(_ATTACHMENTS)
        .where(_ATTACHMENTS.c.id == attachment_id)
        .values(
            sealed_meta=crypto.seal(key, json.dumps(info.to_dict()).encode(), (*ctx, "meta")),
            chunks=index,
        )
    )
    return info


def _open(
    conn: Connection, keys: Keyring, attachment_id: str
) -> tuple[Any, SecretKey, AttachmentInfo]:
    row = conn.execute(
        select(*_ATTACHMENTS.c).where(_ATTACHMENTS.c.id == attachment_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no attachment {attachment_id}")
    what = f"attachment {attachment_id}"
    version = crypto.blob_key_version(row.wrapped_key)
    ctx = _context(keys.vault_id, attachment_id, version)
    key = crypto.unwrap_key(
        keys.class_kek(KeyClass.NARRATIVE, version), row.wrapped_key, ctx, what=what
    )
    try:
        meta = json.loads(crypto.open_sealed(key, row.sealed_meta, (*ctx, "meta"), what=what))
        info = AttachmentInfo(**meta)
    except (ValueError, TypeError):
        raise IntegrityError(f"integrity check failed for {what}") from None
    if info.id != attachment_id:
        raise IntegrityError(f"integrity check failed for {what}")
    return row, key, info


def info_of(conn: Connection, keys: Keyring, attachment_id: str) -> tuple[str, AttachmentInfo]:
    row, _key, info = _open(conn, keys, attachment_id)
    return str(row.record_ref), info


def list_for(conn: Connection, keys: Keyring, record_ref: str) -> list[AttachmentInfo]:
    ids = (
        conn.execute(
            select(_ATTACHMENTS.c.id)
            .where(_ATTACHMENTS.c.record_ref == record_ref)
            .order_by(_ATTACHMENTS.c.created_at)
        )
        .scalars()
        .all()
    )
    return [_open(conn, keys, i)[2] for i in ids]


def iter_plaintext(conn: Connection, keys: Keyring, attachment_id: str) -> Iterator[bytes]:
    """Verified plaintext, chunk by chunk; raises before yielding a bad chunk."""
    row, key, _info = _open(conn, keys, attachment_id)
    what = f"attachment {attachment_id}"
    expected = 0
    result = conn.execute(
        select(_CHUNKS.c.idx, _CHUNKS.c.data)
        .where(_CHUNKS.c.attachment_id == attachment_id)
        .order_by(_CHUNKS.c.idx)
        .execution_options(yield_per=16)
    )
    with result:
        for idx, data in result:
            if idx != expected or idx >= row.chunks:
                raise IntegrityError(f"integrity check failed for {what}")
            yield crypto.stream_open_chunk(
                key, attachment_id, idx, data, last=idx == row.chunks - 1, what=what
            )
            expected += 1
    if expected != row.chunks:
        raise IntegrityError(f"integrity check failed for {what}")


def extract_to(conn: Connection, keys: Keyring, attachment_id: str, out: Path) -> AttachmentInfo:
    """Write the original, byte for byte, to ``out`` (only once all of it verified)."""
    _row, _key, info = _open(conn, keys, attachment_id)
    folder = out.resolve().parent
    if not folder.is_dir():
        raise InvalidInputError("no such folder", where=str(folder))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".evault-extract-")
    try:
        hasher = crypto.sha256_hasher()
        with os.fdopen(fd, "wb") as sink:
            for chunk in iter_plaintext(conn, keys, attachment_id):
                hasher.update(chunk)
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        if not crypto.constant_time_equal(hasher.hexdigest().encode(), info.sha256.encode()):
            raise IntegrityError(f"integrity check failed for attachment {attachment_id}")
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return info


def verify(conn: Connection, keys: Keyring, attachment_id: str) -> AttachmentInfo:
    """Re-hash the decrypted file and compare with the SHA-256 taken at intake."""
    _row, _key, info = _open(conn, keys, attachment_id)
    hasher = crypto.sha256_hasher()
    size = 0
    for chunk in iter_plaintext(conn, keys, attachment_id):
        hasher.update(chunk)
        size += len(chunk)
    if size != info.size or not crypto.constant_time_equal(
        hasher.hexdigest().encode(), info.sha256.encode()
    ):
        raise IntegrityError(f"attachment {attachment_id} does not match its intake hash")
    return info


# The service: role checks, transactions and the chain of custody ---------------------


def attach(
    ctx: Context,
    record_id: str,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    description: str | None,
    name: str | None,
) -> AttachmentInfo:
    """Seal a file (a path, or a binary stream with ``name``) to a record, streamed, in
    one transaction."""
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
    with stream, ctx.write() as conn:
        ctx.refresh_key_version(conn)
        if conn.execute(select(Record.ref).where(Record.ref == ref)).first() is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        return store_logged(ctx, conn, ref, record_id, stream, label, description)


def store_logged(
    ctx: Context,
    conn: Connection,
    ref: str,
    record_id: str,
    stream: IO[bytes],
    name: str,
    description: str | None,
) -> AttachmentInfo:
    """Seal one file into the caller's transaction and log its chain of custody: the
    intake SHA-256, size, detected media type, custodian and time."""
    info = store(conn, ctx.keys, ctx.codec.kek_version, ref, record_id, stream, name, description)
    ctx.audit(
        conn,
        "attachment-added",
        refs=[ref],
        details={
            "attachment": info.id,
            "sha256": info.sha256,
            "size": info.size,
            "media_type": info.media_type,
        },
    )
    return info


def attachments_of(ctx: Context, record_id: str) -> list[AttachmentInfo]:
    ctx.require("admin", "custodian")
    ref = ctx.codec.reference(record_id)
    with ctx.write() as conn:
        ctx.audit(conn, "attachments-listed", refs=[ref])
        return list_for(conn, ctx.keys, ref)


def extract(ctx: Context, attachment_id: str, out: str | os.PathLike[str]) -> AttachmentInfo:
    ctx.require("admin", "custodian")
    with ctx.write() as conn:
        ref, _info = info_of(conn, ctx.keys, attachment_id)
        ctx.audit(conn, "attachment-extracted", refs=[ref], details={"attachment": attachment_id})
    with ctx.read() as conn:
        return extract_to(conn, ctx.keys, attachment_id, Path(out))


def verify_attachment(ctx: Context, attachment_id: str) -> AttachmentInfo:
    ctx.require("admin", "custodian", "auditor")
    with ctx.read() as conn:
        info = verify(conn, ctx.keys, attachment_id)
    ctx.audit_now(
        "attachment-verified", details={"attachment": attachment_id, "sha256": info.sha256}
    )
    return info
