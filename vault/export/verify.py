"""The recipient's check of an export: :func:`verify_export`, which needs no vault.

Invariants: verification raises :class:`~vault.errors.IntegrityError` on any
mismatch and never returns a failure; nothing in the archive is trusted before the
manifest's signature is checked (against the signer given, when one is pinned), and
no record line or file is accepted before the manifest that lists its hash; record
lines and files are checked as streams, so memory does not grow with them, and the
plaintext never touches the disk. It imports nothing of the vault but the
primitives (crypto, age, errors) and the format constants.

The tar is read by :class:`_ExportTar`, not by :mod:`tarfile`, and only in the one
shape the writer makes (see :mod:`vault.export.format`), so that no reader can see
other members than the ones verified: ``tarfile`` takes a header with a bad
checksum for the end of the archive where GNU tar skips it and extracts what
follows, and each honours extension headers the other may not. Every header must
be a ustar header of a regular file with a valid checksum and its name in the name
field alone; the members must be exactly :data:`MEMBERS` and then the files the
manifest lists, in that order, each of the size the manifest gives, padded with
zeros; after them come two or more zero blocks and nothing else. Every refusal
names the file and the byte offset or member.

A receiving vault verifies with this same code (:func:`verify_stream`), and is told
through an :class:`ExportReader` what has been verified as it goes: the manifest
once its signature holds, each record line once its hash matches. What it was told
counts only if verification then returns; until then it is unverified.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, NoReturn, Protocol

from vault import age, crypto
from vault.errors import IntegrityError, InvalidInputError, NotFoundError, UnpinnedSignerError
from vault.export.format import (
    ATTACHMENTS,
    EXPORT_FORMAT,
    MANIFEST,
    RECORDS,
    SIGNATURE,
    SIGNING_KEY,
    is_derived_name,
)

__all__ = ["ExportReader", "VerifyReport", "verify_export", "verify_stream"]

_BLOCK: Final = tarfile.BLOCKSIZE
_MAX_SMALL_MEMBER: Final = 256 * 2**20
"""The manifest, its signature and the signing key are read whole, up to this size."""
_MAX_END: Final = 2 * _BLOCK + tarfile.RECORDSIZE
"""Zero bytes accepted after the members: the two end blocks, and at most one more
10 KiB record of padding (``tarfile`` and GNU tar pad archives to whole records)."""
_OCTAL: Final = re.compile(rb" *([0-7]{1,12})[ \0]*")


@dataclass
class VerifyReport:
    """What :func:`verify_export` checked; it raises instead of returning a failure."""

    export_id: str
    vault_id: str
    policy: str
    policy_sha256: str
    recipient: str
    created_at: str
    signer_fingerprint: str
    signer_pinned: bool
    lines: int
    counts: dict[str, Any]
    # Every recipient the manifest names (one, from a vault before joint exports).
    recipients: list[dict[str, str]] = field(default_factory=list)
    # What the recipient may pass on; a manifest without terms allows nothing.
    terms: dict[str, Any] = field(default_factory=lambda: {"onward": "none", "audiences": []})

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ExportReader(Protocol):
    """Told what :func:`verify_stream` has verified, as it goes."""

    def manifest(self, manifest: Mapping[str, Any], signer: bytes, raw: bytes) -> None:
        """The manifest, its signer's raw key and the manifest's exact bytes, once
        the signature holds (before any record line)."""

    def record(self, number: int, line: bytes) -> None:
        """Record line ``number`` (from 1), once its hash matches the manifest."""


def _load_signer(path: Path) -> bytes:
    try:
        return crypto.public_key_from_pem(path.read_bytes())
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    except ValueError as exc:
        raise InvalidInputError(str(exc), where=str(path)) from None


def verify_export(
    path: Path,
    identity_file: Path,
    signer: Path | None = None,
    *,
    reader: ExportReader | None = None,
) -> VerifyReport:
    """Decrypt and check an export: signature, manifest, and every record line's hash.

    Raises :class:`IntegrityError` on any mismatch. Works without a vault.
    """
    identities = age.load_identities(identity_file)
    expected = _load_signer(signer) if signer is not None else None
    try:
        source = path.open("rb")
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    with source:
        return verify_stream(source, identities, label=str(path), signer=expected, reader=reader)


def verify_stream(
    source: IO[bytes],
    identities: Sequence[Any],
    *,
    label: str,
    signer: bytes | None = None,
    reader: ExportReader | None = None,
) -> VerifyReport:
    """:func:`verify_export` of an open file, with ``signer`` as a raw Ed25519 key."""
    with age.decrypting(
        source,
        identities,
        failure=f"{label}: cannot decrypt the export: the file was altered or truncated",
        no_key=f"{label}: this key cannot open the export (it was made for another "
        "recipient, or its header is damaged)",
    ) as plain:
        return _verify_tar(plain, signer, label, reader)


def _verify_tar(
    plain: IO[bytes], signer: bytes | None, label: str, reader: ExportReader | None
) -> VerifyReport:
    tar = _ExportTar(plain, label)
    seen: dict[str, bytes] = {}
    for name in (MANIFEST, SIGNATURE, SIGNING_KEY):
        member = tar.next_member(name)
        if member.size > _MAX_SMALL_MEMBER:
            raise IntegrityError(f"{label}: {name} is implausibly large")
        seen[name] = member.read(member.size)
    manifest = _check_manifest(seen, signer, label)
    included = crypto.public_key_from_pem(seen[SIGNING_KEY])
    if reader is not None:
        reader.manifest(manifest, included, seen[MANIFEST])
    records = tar.next_member(RECORDS)
    _check_records(records, manifest, label, reader)
    for entry in _listed_files(manifest, label, "derived"):
        _check_file(tar.next_member(entry["name"]), entry, label)
    for entry in _listed_files(manifest, label):
        _check_file(tar.next_member(entry["name"]), entry, label)
    tar.end()
    fingerprint = crypto.public_key_fingerprint(included)
    return VerifyReport(
        export_id=manifest["export_id"],
        vault_id=manifest["vault_id"],
        policy=manifest["policy"]["name"],
        policy_sha256=manifest["policy"]["sha256"],
        recipient=manifest["recipient"]["name"],
        created_at=manifest["created_at"],
        signer_fingerprint=fingerprint,
        signer_pinned=signer is not None,
        lines=manifest["records"]["lines"],
        counts=manifest["counts"],
        recipients=_recipients(manifest),
        terms=manifest.get("terms") or {"onward": "none", "audiences": []},
    )


def _recipients(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    listed = manifest.get("recipients")
    if not isinstance(listed, list):
        listed = [manifest.get("recipient")]
    return [
        {"name": str(r.get("name")), "fingerprint": str(r.get("fingerprint"))}
        for r in listed
        if isinstance(r, dict)
    ]


def _check_manifest(seen: Mapping[str, bytes], signer: bytes | None, label: str) -> dict[str, Any]:
    try:
        included_raw = crypto.public_key_from_pem(seen[SIGNING_KEY])
    except ValueError:
        raise IntegrityError(f"{label}: the export's signing key is malformed") from None
    if signer is not None and not crypto.constant_time_equal(signer, included_raw):
        raise UnpinnedSignerError(f"{label}: the export was not signed by the expected signer")
    crypto.verify_signature(
        included_raw, seen[SIGNATURE], seen[MANIFEST], what=f"{label}: the export manifest"
    )
    try:
        manifest = json.loads(seen[MANIFEST])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IntegrityError(f"{label}: the export manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise IntegrityError(f"{label}: the export manifest has an unknown format")
    return manifest


def _listed_files(
    manifest: Mapping[str, Any], label: str, key: str = "files"
) -> list[dict[str, Any]]:
    """The files (or ``derived`` members) the (verified) manifest lists, each once,
    with a name of their kind, size and hash."""
    files = manifest.get(key, [])
    named = is_derived_name if key == "derived" else lambda n: n.startswith(ATTACHMENTS)
    names: set[str] = set()
    if not isinstance(files, list):
        raise IntegrityError(f"{label}: the export manifest's file list is malformed")
    for n, entry in enumerate(files, start=1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not named(entry["name"])
            or not isinstance(entry.get("size"), int)
            or not isinstance(entry.get("sha256"), str)
        ):
            raise IntegrityError(f"{label}: file {n} of the export manifest is malformed")
        if entry["name"] in names:
            raise IntegrityError(f"{label}: file {n} of the export manifest repeats a name")
        names.add(entry["name"])
    return files


def _check_size(member: _Member, listed: object, label: str) -> None:
    if member.size != listed:
        raise IntegrityError(
            f"{label}: {member.name!r} holds {member.size} bytes, the manifest lists {listed}"
        )


def _check_file(member: _Member, entry: Mapping[str, Any], label: str) -> None:
    _check_size(member, entry["size"], label)
    hasher = crypto.sha256_hasher()
    while chunk := member.read(age.CHUNK):
        hasher.update(chunk)
    if not crypto.constant_time_equal(hasher.hexdigest().encode(), entry["sha256"].encode()):
        raise IntegrityError(f"{label}: {member.name} does not match the manifest")


def _check_records(
    member: _Member, manifest: Mapping[str, Any], label: str, reader: ExportReader | None
) -> None:
    info = manifest.get("records")
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), list):
        raise IntegrityError(f"{label}: the export manifest lists no record hashes")
    _check_size(member, info.get("bytes"), label)
    expected: list[str] = info["sha256"]
    count = 0
    for count, line in enumerate(member.lines(), start=1):
        if count > len(expected):
            raise IntegrityError(
                f"{label}: records.jsonl has more lines than the manifest ({len(expected)})"
            )
        digest = crypto.sha256(line).hex()
        if not crypto.constant_time_equal(digest.encode(), str(expected[count - 1]).encode()):
            raise IntegrityError(f"{label}: record line {count} does not match the manifest")
        if reader is not None:
            reader.record(count, line)
    if count != len(expected):
        raise IntegrityError(
            f"{label}: records.jsonl has {count} lines, the manifest lists {len(expected)}"
        )


def _octal(field: bytes) -> int | None:
    """A ustar number: octal digits, ended by NUL or space (never base-256)."""
    match = _OCTAL.fullmatch(field)
    return int(match.group(1), 8) if match else None


def _name(field: bytes) -> str | None:
    """A ustar name: printable ASCII, then NUL bytes only."""
    raw, _nul, rest = field.partition(b"\0")
    if not raw or rest.strip(b"\0") or not all(0x20 < b < 0x7F for b in raw):
        return None
    return raw.decode("ascii")


class _Member:
    """One member's data, read no further than its size."""

    def __init__(self, tar: _ExportTar, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._tar = tar
        self._left = size

    def read(self, size: int) -> bytes:
        size = min(size, self._left)
        self._left -= size
        return self._tar.read_exactly(size)

    def lines(self) -> Iterator[bytes]:
        """The member's lines, each with its newline (the last may have none)."""
        pending: list[bytes] = []
        while chunk := self.read(age.CHUNK):
            first, *more = chunk.split(b"\n")
            pending.append(first)
            if more:
                yield b"".join(pending) + b"\n"
                *complete, last = more
                for line in complete:
                    yield line + b"\n"
                pending = [last]
        if rest := b"".join(pending):
            yield rest

    def skip(self) -> None:
        while self.read(age.CHUNK):
            pass


class _ExportTar:
    """The members of an export's tar, read strictly in the writer's shape.

    :meth:`next_member` checks the next header and that it names the member that
    belongs there; :meth:`end` checks that the zero blocks, and nothing else, follow.
    """

    def __init__(self, stream: IO[bytes], label: str) -> None:
        self._stream = stream
        self._label = label
        self._offset = 0
        self._member: _Member | None = None
        self._previous: str | None = None

    def _fail(self, message: str) -> NoReturn:
        raise IntegrityError(f"{self._label}: {message}")

    def read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._stream.read(size - len(data))
            if not chunk:
                self._fail(
                    f"the archive ends early at byte {self._offset + len(data)} "
                    "(truncated or altered)"
                )
            data += chunk
        self._offset += size
        return bytes(data)

    def _header(self) -> tuple[str, int, int] | None:
        """The next header's name, size and offset; None for a zero block."""
        if self._member is not None:
            self._member.skip()
            padding = self.read_exactly(-self._member.size % _BLOCK)
            if padding.strip(b"\0"):
                self._fail(f"the padding after {self._member.name!r} is not zeros")
            self._member = None
        at = self._offset
        block = self.read_exactly(_BLOCK)
        if not block.strip(b"\0"):
            return None
        after = f"after {self._previous!r}" if self._previous else "the first header"
        where = f"the tar header at byte {at} ({after})"
        stored = _octal(block[148:156])
        if stored is None or stored != sum(block[:148]) + 8 * 0x20 + sum(block[156:]):
            self._fail(f"{where} has a bad checksum")
        if block[257:265] != b"ustar\x0000":
            self._fail(f"{where} is not a ustar header")
        if block[156:157] != tarfile.REGTYPE:
            self._fail(f"{where} is not a plain file (type {block[156:157]!r})")
        if block[157:257].strip(b"\0") or block[345:500].strip(b"\0"):
            self._fail(f"{where} has a link name or a name prefix")
        name = _name(block[0:100])
        size = _octal(block[124:136])
        if name is None or size is None:
            self._fail(f"{where} has a malformed name or size")
        return name, size, at

    def next_member(self, expected: str) -> _Member:
        """The next member, which must be ``expected``."""
        at = self._offset
        header = self._header()
        if header is None:
            self._fail(f"the archive ends at byte {at} where {expected!r} belongs")
        name, size, at = header
        if name != expected:
            self._fail(f"the tar header at byte {at} names {name!r} where {expected!r} belongs")
        self._member = _Member(self, name, size)
        self._previous = name
        return self._member

    def end(self) -> None:
        """Two or more zero blocks (at most :data:`_MAX_END` bytes), then nothing."""
        header = self._header()
        if header is not None:
            name, _size, at = header
            self._fail(
                f"the tar header at byte {at} names {name!r} where the end of the archive belongs"
            )
        end = self._offset - _BLOCK
        rest = b""
        while len(rest) <= _MAX_END and (chunk := self._stream.read(_MAX_END + 1 - len(rest))):
            rest += chunk
        if rest.strip(b"\0"):
            at = end + _BLOCK + len(rest) - len(rest.lstrip(b"\0"))
            self._fail(f"byte {at} is not zero, after the end of the archive at byte {end}")
        if len(rest) < _BLOCK or len(rest) % _BLOCK or len(rest) + _BLOCK > _MAX_END:
            self._fail(
                f"the end of the archive at byte {end} is not two or more whole zero blocks "
                f"of at most {_MAX_END} bytes"
            )
