"""Evidence files: streamed encryption in fixed-size chunks, inside the vault database.

Invariants:

* Each file has its own random key, wrapped by the narrative class KEK. Its bytes
  are sealed in 64 KiB chunks with the STREAM construction (nonce = chunk counter
  and last-chunk flag; associated data = attachment id and chunk index), so a chunk
  that is truncated away, reordered, duplicated or altered fails to open.
* Memory does not depend on the file's size: files are read, sealed, written,
  opened and hashed one chunk at a time.
* Files are padded with zeros to a size class (:func:`padded_size`) before they are
  sealed, so the stored chunks do not show a file's exact size; the size sealed
  with the file says where its own bytes end, and the padding is never released.
* Extraction writes to a temporary file beside the destination and renames it only
  after every chunk verified; no plaintext of an unverified chunk is released.
* The original file name, description, detected media type, size and SHA-256 are
  sealed with the file, and so is the id of the record it belongs to. Every open
  checks that the row's record reference is the keyed reference of that sealed id,
  so a file moved to another record (past that record's consent gate) is refused.
* A file key wrapped under a KEK version below the vault's minimum is refused, as
  record keys are; rotation rewraps file keys (:func:`rewrap_keys`) and leaves the
  chunks as they are, since the file key itself does not change.
* The audit log holds no file's hash, size or media type in clear, only a keyed
  digest (:func:`keyed_digest`) that whoever may open the file can recompute and
  nobody else can test a candidate file against; verifying a file checks it against
  its intake entry. Exports give files neutral names.
* Attaching a file a record holds already (the same bytes) stores nothing: the
  existing file is returned (``existing=True``) and the audit log records an
  ``attachment-exists`` entry naming it, unless ``again`` asks for a second copy.
  Files are compared by keyed digest, computed from what is sealed with each
  file; nothing new about a file is stored to make the comparison.
* A file's row is pending (no sealed description, no chunk count) until its whole
  content is stored (:class:`Sealing`): listing, opening, rotation and retirement
  pass a pending row by, so a file written over several transactions
  (:mod:`vault.uploads`) is seen whole or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import filetype
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from vault import audit, crypto
from vault.context import Context, read_settings
from vault.crypto import SecretKey
from vault.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TamperedRowError,
    from_os_error,
)
from vault.keys import KeyClass, Keyring
from vault.partial import new_partial
from vault.progress import Progress, Stage
from vault.schema import shown_id
from vault.store import AttachmentChunk, Base, Record, bulk_insert, utcnow

__all__ = [
    "LOCK_RECORD",
    "AttachmentInfo",
    "Sealing",
    "attachments_of",
    "discard_some",
    "extract",
    "extract_to",
    "iter_plaintext",
    "keyed_digest",
    "keys_below",
    "list_for",
    "log_intake",
    "padded_size",
    "pending_ids",
    "rewrap_keys",
    "same_file",
    "store",
    "store_logged",
    "store_unless_held",
    "verify_attachment",
]

_ATTACHMENTS = Base.metadata.tables["attachments"]
_CHUNKS = Base.metadata.tables["attachment_chunks"]
_BATCH: Final = 32  # chunks per insert: 2 MiB
_PENDING: Final = b""  # the sealed description of a file still being written
_INTAKE: Final = "attachment-added"
_EXISTS: Final = "attachment-exists"
# Attaching to a record takes turns on its row, so that two runs of one attach at
# once cannot both find the file missing (PostgreSQL: FOR NO KEY UPDATE; SQLite
# renders no lock, its writers take turns for the whole database anyway).
LOCK_RECORD: Final = select(Record.ref).with_for_update(key_share=True)
# One statement for a whole batch of rewrapped file keys (executemany).
_UPDATE_KEY = (
    update(_ATTACHMENTS)
    .where(_ATTACHMENTS.c.id == bindparam("b_id"))
    .values(
        wrapped_key=bindparam("wrapped_key"),
        sealed_meta=bindparam("sealed_meta"),
        kek_version=bindparam("kek_version"),
    )
)


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
    # True when an attach found this file (the same bytes) on the record already and
    # stored nothing. Not sealed with the file: it describes one call, not the file.
    existing: bool = field(default=False, compare=False)

    def __repr__(self) -> str:
        return f"AttachmentInfo(id={self.id!r}, media_type={self.media_type!r}, size={self.size})"

    def to_dict(self) -> dict[str, Any]:
        """The file's description, as it is sealed with the file."""
        return {k: v for k, v in self.__dict__.items() if k != "existing"}


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


def padded_size(size: int) -> int:
    """The size a file of ``size`` bytes is stored at (Padmé, from the PURB paper by
    Nikitin et al., 2019): its top bits are kept and the rest rounded up, so at most
    12 % is added and a stored size says O(log log size) bits about the file's."""
    if size < 2:
        return size
    exponent = size.bit_length() - 1
    low = exponent - exponent.bit_length()
    mask = (1 << low) - 1
    return (size + mask) & ~mask


class _Intake:
    """A file as it is sealed: its own bytes in whole chunks, then zeros up to its
    padded size. Hashes, measures and keeps the head of the file's own bytes."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._padding: int | None = None
        self.hasher = crypto.sha256_hasher()
        self.size = 0
        self.head = b""

    def read(self) -> bytes:
        """The next chunk; empty once the file and its padding are through."""
        parts: list[bytes] = []
        want = crypto.STREAM_CHUNK
        # A stream may return less than asked before its end (uploads do).
        while want and self._padding is None:
            data = self._source.read(want)
            if not data:
                self._padding = padded_size(self.size) - self.size
                break
            if len(self.head) < 512:
                self.head = (self.head + data)[:512]
            self.hasher.update(data)
            self.size += len(data)
            parts.append(data)
            want -= len(data)
        if want and self._padding:
            zeros = min(want, self._padding)
            parts.append(bytes(zeros))
            self._padding -= zeros
        return b"".join(parts)


class Sealing:
    """A file being sealed into an attachment row and its chunk rows.

    The row comes first (the chunks refer to it), pending: no sealed description and
    no chunk count, so that every reader passes it by (:func:`list_for`,
    :func:`_open`, rotation, ``evault check``). Then the chunks, in batches, in one
    transaction or several; then :meth:`finish` seals the description, which makes
    the file whole.
    """

    def __init__(
        self,
        keys: Keyring,
        kek_version: int,
        record_ref: str,
        source: IO[bytes],
        attachment_id: str | None = None,
    ) -> None:
        self.id = attachment_id or crypto.random_token(16)
        self.record_ref = record_ref
        self.kek_version = kek_version
        self.chunks = 0
        self.done = False
        self._keys = keys
        self._key = crypto.random_key()
        self._intake = _Intake(source)
        self._next: bytes | None = None

    def __repr__(self) -> str:
        return f"Sealing(id={self.id!r}, chunks={self.chunks})"

    @property
    def size(self) -> int:
        """Bytes of the file read so far."""
        return self._intake.size

    def _wrapped(self) -> bytes:
        kek = self._keys.class_kek(KeyClass.NARRATIVE, self.kek_version)
        ctx = _context(self._keys.vault_id, self.id, self.kek_version)
        return crypto.wrap_key(kek, self._key, ctx, key_version=self.kek_version)

    def start(self, conn: Connection) -> None:
        """Insert the pending row."""
        conn.execute(
            insert(_ATTACHMENTS).values(
                id=self.id,
                record_ref=self.record_ref,
                created_at=utcnow(),
                kek_version=self.kek_version,
                wrapped_key=self._wrapped(),
                sealed_meta=_PENDING,
                chunks=0,
            )
        )

    def write(self, conn: Connection, enough: Callable[[int], bool] | None = None) -> None:
        """Seal and insert chunks until the file is through, or until ``enough``
        (asked after each batch with the bytes inserted so far) says so."""
        written = 0
        batch: list[dict[str, Any]] = []
        chunk = self._intake.read() if self._next is None else self._next
        while not self.done:
            following = self._intake.read() if chunk else b""
            last = not following
            data = crypto.stream_seal_chunk(self._key, self.id, self.chunks, chunk, last=last)
            batch.append({"attachment_id": self.id, "idx": self.chunks, "data": data})
            self.chunks += 1
            written += len(data)
            self.done = last
            chunk = following
            if len(batch) >= _BATCH or last:
                bulk_insert(conn, AttachmentChunk, batch)
                batch = []
                if enough is not None and not last and enough(written):
                    break
        self._next = chunk

    def rewrap(self, conn: Connection, kek_version: int) -> None:
        """Wrap the file's key under ``kek_version`` (a rotation while it was written)."""
        if kek_version == self.kek_version:
            return
        self.kek_version = kek_version
        conn.execute(
            update(_ATTACHMENTS)
            .where(_ATTACHMENTS.c.id == self.id)
            .values(wrapped_key=self._wrapped(), kek_version=kek_version)
        )

    def info(self, record_id: str, name: str, description: str | None) -> AttachmentInfo:
        """The file's description, once it went through."""
        intake = self._intake
        return AttachmentInfo(
            id=self.id,
            record_id=record_id,
            name=name,
            description=description,
            media_type=media_type(intake.head),
            size=intake.size,
            sha256=intake.hasher.hexdigest(),
            created_at=utcnow().isoformat(),
        )

    def finish(self, conn: Connection, info: AttachmentInfo) -> None:
        """Seal the description into the row: the file is whole from this commit."""
        ctx = _context(self._keys.vault_id, self.id, self.kek_version)
        conn.execute(
            update(_ATTACHMENTS)
            .where(_ATTACHMENTS.c.id == self.id)
            .values(
                sealed_meta=crypto.seal(
                    self._key, json.dumps(info.to_dict()).encode(), (*ctx, "meta")
                ),
                chunks=self.chunks,
            )
        )


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
    sealing = Sealing(keys, kek_version, record_ref, source)
    sealing.start(conn)
    sealing.write(conn)
    info = sealing.info(record_id, name, description)
    sealing.finish(conn, info)
    return info


def pending_ids(conn: Connection) -> list[str]:
    """Files whose writing has not finished (or whose writer was killed)."""
    query = select(_ATTACHMENTS.c.id).where(
        _ATTACHMENTS.c.chunks == 0, _ATTACHMENTS.c.sealed_meta == _PENDING
    )
    return [str(i) for i in conn.execute(query).scalars()]


def discard_some(conn: Connection, attachment_id: str, batch: int) -> bool:
    """Delete up to ``batch`` chunks of a pending file, or, once it has none, its
    row; False once nothing of it is left. A file that is whole is never touched."""
    row = _ATTACHMENTS.c
    pending = conn.execute(
        select(row.id).where(row.id == attachment_id, row.chunks == 0, row.sealed_meta == _PENDING)
    ).first()
    if pending is None:
        return False
    idx = list(
        conn.execute(
            select(_CHUNKS.c.idx)
            .where(_CHUNKS.c.attachment_id == attachment_id)
            .order_by(_CHUNKS.c.idx)
            .limit(batch)
        ).scalars()
    )
    if idx:
        conn.execute(
            delete(_CHUNKS).where(_CHUNKS.c.attachment_id == attachment_id, _CHUNKS.c.idx.in_(idx))
        )
    else:
        conn.execute(delete(_ATTACHMENTS).where(row.id == attachment_id))
    return True


def _minimum(conn: Connection, keys: Keyring) -> int:
    """The lowest KEK version the vault still accepts (``retire-keys`` raises it),
    read as a signed setting: lowering it in the database is refused."""
    return int(read_settings(conn, keys, ("min_kek_version",))["min_kek_version"])


def _open(
    conn: Connection, keys: Keyring, attachment_id: str, minimum: int
) -> tuple[Any, SecretKey, AttachmentInfo]:
    row = conn.execute(
        select(*_ATTACHMENTS.c).where(_ATTACHMENTS.c.id == attachment_id)
    ).one_or_none()
    if row is None or (row.chunks == 0 and row.sealed_meta == _PENDING):
        # A file still being written (or whose writer was killed) is no file yet.
        raise NotFoundError(f"no attachment {attachment_id}")
    what = f"attachment {attachment_id}"
    try:
        version = crypto.blob_key_version(row.wrapped_key)
    except IntegrityError:
        raise IntegrityError(f"integrity check failed for {what}") from None
    if version < minimum:
        # Retiring checks that no file key still uses the version: one that does now
        # was put back, and reads like any other integrity failure.
        raise IntegrityError(f"integrity check failed for {what}")
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
    # The record reference is a plain column, which the AEAD does not cover; the
    # record id sealed with the file says where it belongs. A moved row is refused
    # like any other tampered routing row (and so recorded in the audit log).
    if row.record_ref != crypto.keyed_reference(keys.reference_key(), info.record_id):
        raise TamperedRowError(
            f"integrity check failed for {what} (its record)", table="attachments"
        )
    return row, key, info


def info_of(conn: Connection, keys: Keyring, attachment_id: str) -> tuple[str, AttachmentInfo]:
    row, _key, info = _open(conn, keys, attachment_id, _minimum(conn, keys))
    return str(row.record_ref), info


def list_for(conn: Connection, keys: Keyring, record_ref: str) -> list[AttachmentInfo]:
    ids = (
        conn.execute(
            select(_ATTACHMENTS.c.id)
            .where(_ATTACHMENTS.c.record_ref == record_ref, _ATTACHMENTS.c.chunks > 0)
            .order_by(_ATTACHMENTS.c.created_at)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []  # most records have no files: no setting to read and check
    minimum = _minimum(conn, keys)
    return [_open(conn, keys, i, minimum)[2] for i in ids]


def iter_plaintext(conn: Connection, keys: Keyring, attachment_id: str) -> Iterator[bytes]:
    """Verified plaintext, chunk by chunk, without the padding; raises before
    yielding a bad chunk."""
    row, key, info = _open(conn, keys, attachment_id, _minimum(conn, keys))
    what = f"attachment {attachment_id}"
    expected = 0
    left = info.size
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
            plain = crypto.stream_open_chunk(
                key, attachment_id, idx, data, last=idx == row.chunks - 1, what=what
            )
            if len(plain) > left:
                # Past the file's own bytes there is nothing but padding. Files
                # stored before files were padded simply end here.
                if plain.count(0, left) != len(plain) - left:
                    raise IntegrityError(f"integrity check failed for {what}")
                plain = plain[:left]
            left -= len(plain)
            yield plain
            expected += 1
    if expected != row.chunks or left:
        raise IntegrityError(f"integrity check failed for {what}")


def extract_to(
    conn: Connection,
    keys: Keyring,
    attachment_id: str,
    out: Path,
    progress: Progress | None = None,
) -> AttachmentInfo:
    """Write the original, byte for byte, to ``out`` (only once all of it verified);
    ``progress`` hears of the bytes written ("extracting")."""
    _row, _key, info = _open(conn, keys, attachment_id, _minimum(conn, keys))
    stage = Stage(progress, "extracting", info.size)
    folder = out.resolve().parent
    if not folder.is_dir():
        raise InvalidInputError("no such folder", where=str(folder))
    fd, tmp = new_partial(folder, ".evault-extract-")
    try:
        hasher = crypto.sha256_hasher()
        with os.fdopen(fd, "wb") as sink:
            for chunk in iter_plaintext(conn, keys, attachment_id):
                hasher.update(chunk)
                sink.write(chunk)
                stage.advance(len(chunk))
            sink.flush()
            os.fsync(sink.fileno())
        if not crypto.constant_time_equal(hasher.hexdigest().encode(), info.sha256.encode()):
            raise IntegrityError(f"integrity check failed for attachment {attachment_id}")
        os.replace(tmp, out)
        stage.finish()
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        # A full disk or a file-size limit is named with the file being written.
        known = from_os_error(exc, out) if isinstance(exc, OSError) else None
        if known is not None:
            raise known from None
        raise
    return info


def verify(conn: Connection, keys: Keyring, attachment_id: str) -> AttachmentInfo:
    """Re-hash the decrypted file and compare with the SHA-256 taken at intake."""
    _row, _key, info = _open(conn, keys, attachment_id, _minimum(conn, keys))
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


def keyed_digest(keys: Keyring, info: AttachmentInfo) -> str:
    """The digest of a file that the audit log holds (hex): HMAC-SHA256 over the vault
    id, attachment id, SHA-256, size and media type, under a key derived from the
    narrative class root. Whoever may open the file can recompute it; without that
    class a candidate file cannot be tested against the log. The attachment id makes
    one file attached twice log two unrelated digests."""
    key = keys.file_digest_key()
    message = crypto.Context.of(
        "attachment-digest",
        keys.vault_id,
        info.id,
        bytes.fromhex(info.sha256),
        info.size,
        info.media_type,
    )
    return crypto.hmac_sha256(key, message).hex()


def _check_intake(conn: Connection, keys: Keyring, ref: str, info: AttachmentInfo) -> None:
    """Check a verified file against what its intake entry in the audit log says.

    Entries written before digests were keyed carry the plain SHA-256 (and size);
    they are compared as they are. Whether the log itself is intact is for
    ``audit verify`` to say.
    """
    entries = [
        e.details
        for e in audit.entries(conn, ref=ref)
        if e.action == _INTAKE and e.details.get("attachment") == info.id
    ]
    if not entries:
        raise IntegrityError(f"attachment {info.id} has no intake entry in the audit log")
    digest = keyed_digest(keys, info)
    for details in entries:
        if "keyed_digest" in details:
            same = crypto.constant_time_equal(
                str(details["keyed_digest"]).encode(), digest.encode()
            )
        else:
            same = details.get("size") == info.size and crypto.constant_time_equal(
                str(details.get("sha256")).encode(), info.sha256.encode()
            )
        if not same:
            raise IntegrityError(
                f"attachment {info.id} does not match its intake entry in the audit log"
            )


def rewrap_keys(conn: Connection, keys: Keyring, target: int, batch: int) -> int:
    """Rewrap up to ``batch`` file keys below KEK version ``target`` under that
    version, in the caller's transaction; returns how many.

    The file key does not change, so the chunks stay as they are, with ``--reencrypt``
    too; the sealed description is sealed again because its context names the KEK
    version. A file that fails to open stops the rotation with an IntegrityError.
    """
    ids = (
        conn.execute(
            select(_ATTACHMENTS.c.id)
            .where(_ATTACHMENTS.c.kek_version < target, _ATTACHMENTS.c.chunks > 0)
            .order_by(_ATTACHMENTS.c.id)
            .limit(batch)
        )
        .scalars()
        .all()
    )
    minimum = _minimum(conn, keys)
    kek = keys.class_kek(KeyClass.NARRATIVE, target)
    params: list[dict[str, Any]] = []
    for attachment_id in ids:
        _row, key, info = _open(conn, keys, attachment_id, minimum)
        ctx = _context(keys.vault_id, attachment_id, target)
        params.append(
            {
                "b_id": attachment_id,
                "wrapped_key": crypto.wrap_key(kek, key, ctx, key_version=target),
                "sealed_meta": crypto.seal(
                    key, json.dumps(info.to_dict()).encode(), (*ctx, "meta")
                ),
                "kek_version": target,
            }
        )
    if params:
        conn.execute(_UPDATE_KEY, params)
    return len(params)


def keys_below(conn: Connection, version: int) -> int:
    """How many file keys are still wrapped under a KEK version below ``version``."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(_ATTACHMENTS)
            .where(_ATTACHMENTS.c.kek_version < version, _ATTACHMENTS.c.chunks > 0)
        ).scalar_one()
    )


# The service: role checks, transactions and the chain of custody ---------------------


def store_unless_held(
    ctx: Context,
    conn: Connection,
    ref: str,
    record_id: str,
    stream: IO[bytes],
    name: str,
    description: str | None = None,
) -> AttachmentInfo:
    """Seal a file into the caller's transaction, logged as :func:`store_logged`
    logs it, unless the record holds the same bytes already: then nothing is stored,
    an ``attachment-exists`` entry names the file held, and it is returned with
    ``existing=True``."""
    held = list_for(conn, ctx.keys, ref)
    if not held:
        return store_logged(ctx, conn, ref, record_id, stream, name, description)
    # The file's hash is known only once it went through: seal it in a savepoint,
    # and roll that back if the record holds the same file already.
    savepoint = conn.begin_nested()
    info = store(conn, ctx.keys, ctx.codec.kek_version, ref, record_id, stream, name, description)
    same = same_file(ctx.keys, held, info)
    if same is None:
        savepoint.commit()
        log_intake(ctx, conn, ref, info)
        return info
    savepoint.rollback()
    ctx.audit(conn, _EXISTS, refs=[ref], details={"attachment": same.id})
    return dataclasses.replace(same, existing=True)


def same_file(
    keys: Keyring, held: list[AttachmentInfo], new: AttachmentInfo
) -> AttachmentInfo | None:
    """The first of the files ``held`` whose content is ``new``'s, or None.

    Each is compared by keyed digest: the new file's SHA-256, size and media type
    under the held file's id against the held file's own, in constant time.
    """
    for info in held:
        candidate = keyed_digest(keys, dataclasses.replace(new, id=info.id))
        if crypto.constant_time_equal(candidate.encode(), keyed_digest(keys, info).encode()):
            return info
    return None


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
    keyed digest of its intake SHA-256, size and detected media type, the custodian
    and the time. The hash, size and type themselves stay sealed with the file: in
    clear, anyone holding a candidate file could tell which record holds it."""
    info = store(conn, ctx.keys, ctx.codec.kek_version, ref, record_id, stream, name, description)
    log_intake(ctx, conn, ref, info)
    return info


def log_intake(ctx: Context, conn: Connection, ref: str, info: AttachmentInfo) -> None:
    ctx.audit(
        conn,
        _INTAKE,
        refs=[ref],
        details={"attachment": info.id, "keyed_digest": keyed_digest(ctx.keys, info)},
    )


def attachments_of(ctx: Context, record_id: str) -> list[AttachmentInfo]:
    """A record's files. Their descriptions are sealed under the narrative class, so
    a custodian without it is refused even for a record that holds none (the answer
    would tell which do); a record that does not exist is NotFoundError."""
    ctx.require("admin", "custodian")
    if not ctx.keys.holds_class(KeyClass.NARRATIVE):
        raise PermissionDeniedError(
            f"custodian {ctx.actor!r} has no clearance for the narrative class, "
            "which evidence files are sealed under"
        )
    ref = ctx.codec.reference(record_id)
    with ctx.write() as conn:
        if conn.execute(select(Record.ref).where(Record.ref == ref)).first() is None:
            raise NotFoundError(f"no record {shown_id(record_id)}")
        ctx.audit(conn, "attachments-listed", refs=[ref])
        return list_for(conn, ctx.keys, ref)


def extract(
    ctx: Context,
    attachment_id: str,
    out: str | os.PathLike[str],
    progress: Progress | None = None,
) -> AttachmentInfo:
    ctx.require("admin", "custodian")
    with ctx.write() as conn:
        ref, _info = info_of(conn, ctx.keys, attachment_id)
        ctx.audit(conn, "attachment-extracted", refs=[ref], details={"attachment": attachment_id})
    with ctx.read() as conn:
        return extract_to(conn, ctx.keys, attachment_id, Path(out), progress)


def verify_attachment(ctx: Context, attachment_id: str) -> AttachmentInfo:
    """Re-hash the decrypted file against the SHA-256 sealed at intake and against its
    intake entry in the audit log; log the keyed digest recomputed from it."""
    ctx.require("admin", "custodian", "auditor")
    with ctx.read() as conn:
        info = verify(conn, ctx.keys, attachment_id)
        # Opening the file checked that its row's reference is this one.
        ref = ctx.codec.reference(info.record_id)
        _check_intake(conn, ctx.keys, ref, info)
    ctx.audit_now(
        "attachment-verified",
        refs=[ref],
        details={"attachment": attachment_id, "keyed_digest": keyed_digest(ctx.keys, info)},
    )
    return info
