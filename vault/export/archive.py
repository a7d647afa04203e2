"""The export writer: spools, and the signed, age-encrypted archive.

:func:`write_archive` writes the format described in :mod:`vault.export.format`
from a stream of records (what :func:`~vault.export.plan.plan_records` yields) and
the evidence files gathered in a :class:`FileSpool`.

Invariants: records and files are spooled only as age ciphertext, to a key that
lives in memory for the duration of the export, so no plaintext reaches the disk
but the final, encrypted file, which is written beside the destination under a
temporary name and handed back only when complete (the caller moves it into place
or deletes it). Memory does not grow with the number of records, except 32 bytes per
exported line for the manifest's hashes. The signature covers the manifest's exact
bytes as written into the archive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from vault import age, crypto
from vault.crypto import SigningKey
from vault.errors import IntegrityError, NotFoundError, from_os_error
from vault.export.format import MANIFEST, RECORDS, SIGNATURE, SIGNING_KEY
from vault.partial import new_partial

__all__ = ["FileSpool", "write_archive"]

_MAX_NAME: Final = 100
"""The ustar name field; a longer name would need a prefix or an extension header."""


# Derived members: given a way to read the records again, (name, media type, content).
Derive = Callable[
    [Callable[[], Iterator[dict[str, Any]]]], Iterable[tuple[str, str, Iterable[bytes]]]
]


def _spool_chunks(chunks: Iterable[bytes], folder: Path, recipient: Any) -> IO[bytes]:
    """An anonymous temporary file in ``folder`` holding ``chunks`` as age ciphertext."""
    spool = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - returned open
    try:
        age.encrypt_chunks(chunks, spool, recipient)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _read_back(spool: IO[bytes], identity: Any) -> AbstractContextManager[IO[bytes]]:
    """The plaintext of a spool, streamed (see :func:`vault.age.decrypting`)."""
    return age.decrypting(spool, [identity], failure="the export spool could not be read back")


class FileSpool:
    """Exported files, each spooled as age ciphertext until the archive is written."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._identity = age.new_identity()
        self.entries: list[tuple[dict[str, Any], IO[bytes]]] = []

    def add(self, name: str, chunks: Iterable[bytes], entry: dict[str, Any]) -> None:
        hasher = crypto.sha256_hasher()
        size = 0

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                hasher.update(chunk)
                size += len(chunk)
                yield chunk

        spool = _spool_chunks(counted(), self._folder, self._identity.to_public())
        entry.update(size=size, sha256=hasher.hexdigest())
        self.entries.append((entry, spool))

    def manifest(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry, _spool in self.entries]

    def close(self) -> None:
        for _entry, spool in self.entries:
            spool.close()

    def plaintext(self, index: int) -> AbstractContextManager[IO[bytes]]:
        _entry, spool = self.entries[index]
        return _read_back(spool, self._identity)


def _tar_member(name: str, size: int, mtime: int) -> bytes:
    """A plain ustar header: the only shape the verifier accepts (see format.py)."""
    if len(name) > _MAX_NAME or not name.isascii():
        raise ValueError("an export member's name must be ASCII and fit the ustar name field")
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o600
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % tarfile.BLOCKSIZE)


@dataclass
class _Spooled:
    """records.jsonl, spooled as age ciphertext, with its hashes and size."""

    file: IO[bytes]
    identity: Any
    size: int
    line_hashes: bytearray

    def lines_sha256(self) -> list[str]:
        h = self.line_hashes
        return [h[i : i + 32].hex() for i in range(0, len(h), 32)]


def _spool(records: Iterable[dict[str, Any]], folder: Path) -> _Spooled:
    identity = age.new_identity()
    hashes = bytearray()
    size = 0

    def lines() -> Iterator[bytes]:
        nonlocal size
        for record in records:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            hashes.extend(crypto.sha256(line))
            size += len(line)
            yield line

    spool = _spool_chunks(lines(), folder, identity.to_public())
    return _Spooled(spool, identity, size, hashes)


def _copy(source: IO[bytes], size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        chunk = source.read(min(age.CHUNK, remaining))
        if not chunk:
            raise IntegrityError("an export spool ended early")
        remaining -= len(chunk)
        yield chunk


def _derive(spooled: _Spooled, derive: Derive, into: FileSpool) -> None:
    def reread() -> Iterator[dict[str, Any]]:
        spooled.file.seek(0)
        with _read_back(spooled.file, spooled.identity) as body:
            for line in body:
                yield json.loads(line)

    for name, media_type, chunks in derive(reread):
        into.add(name, chunks, {"name": name, "media_type": media_type})
    spooled.file.seek(0)


def write_archive(
    out: Path,
    records: Iterable[dict[str, Any]],
    *,
    recipient: Any,
    signing_key: SigningKey,
    manifest: dict[str, Any],
    finish: Callable[[dict[str, Any]], None],
    files: FileSpool | None = None,
    derive: Derive | None = None,
) -> tuple[Path, int]:
    """Write the encrypted export beside ``out``; return the temporary path and the
    open descriptor that holds its lock (see :mod:`vault.partial`).

    ``finish`` completes the manifest once all records are counted; the caller moves
    the file to ``out`` (after recording the export) or deletes it, then closes the
    descriptor: until then no other writer to the folder takes the finished file
    for a killed writer's leftover.

    ``derive``, given a way to read the spooled records again (as often as it
    needs), returns the derived members (name, media type, content) that follow
    ``records.jsonl``; they are spooled as age ciphertext too.
    """
    folder = out.resolve().parent
    if not folder.is_dir():
        raise NotFoundError(f"no folder {folder} for the export")
    spooled = _spool(records, folder)
    derived = FileSpool(folder)
    with spooled.file, contextlib.closing(derived):
        if derive is not None:
            _derive(spooled, derive, derived)
        finish(manifest)
        hashes = spooled.lines_sha256()
        manifest["records"] = {
            "file": RECORDS,
            "lines": len(hashes),
            "bytes": spooled.size,
            "sha256": hashes,
        }
        if derived.entries:
            manifest["derived"] = derived.manifest()
        if files is not None and files.entries:
            manifest["files"] = files.manifest()
        manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode()
        signature = signing_key.sign(manifest_bytes)
        public_pem = crypto.public_key_pem(signing_key.public_bytes())
        mtime = int(dt.datetime.fromisoformat(manifest["created_at"]).timestamp())
        with _read_back(spooled.file, spooled.identity) as body:

            def tar_stream() -> Iterator[bytes]:
                for name, data in (
                    (MANIFEST, manifest_bytes),
                    (SIGNATURE, signature),
                    (SIGNING_KEY, public_pem),
                ):
                    yield _tar_member(name, len(data), mtime) + data + _padding(len(data))
                yield _tar_member(RECORDS, spooled.size, mtime)
                yield from _copy(body, spooled.size)
                yield _padding(spooled.size)
                for i, (entry, _spool) in enumerate(derived.entries):
                    yield _tar_member(entry["name"], entry["size"], mtime)
                    with derived.plaintext(i) as content:
                        yield from _copy(content, entry["size"])
                    yield _padding(entry["size"])
                for i, (entry, _spool) in enumerate(files.entries if files else ()):
                    assert files is not None
                    yield _tar_member(entry["name"], entry["size"], mtime)
                    with files.plaintext(i) as content:
                        yield from _copy(content, entry["size"])
                    yield _padding(entry["size"])
                yield b"\0" * (2 * tarfile.BLOCKSIZE)

            fd, tmp_name = new_partial(folder, ".evault-export-")
            try:
                with os.fdopen(fd, "wb", closefd=False) as sink:
                    age.encrypt_chunks(tar_stream(), sink, recipient)
                    sink.flush()
                    os.fsync(sink.fileno())
            except BaseException as exc:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                # A full disk or a file-size limit is named with the folder written to.
                known = from_os_error(exc, folder) if isinstance(exc, OSError) else None
                if known is not None:
                    raise known from None
                raise
    return Path(tmp_name), fd
