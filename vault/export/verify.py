"""The recipient's check of an export: :func:`verify_export`, which needs no vault.

Invariants: verification raises :class:`~vault.errors.IntegrityError` on any
mismatch and never returns a failure; nothing in the archive is trusted before the
manifest's signature is checked (against the signer given, when one is pinned), and
no record line or file is accepted before the manifest that lists its hash; record
lines and files are checked as streams, so memory does not grow with them, and the
plaintext never touches the disk. It imports nothing of the vault but the
primitives (crypto, age, errors) and the format constants.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vault import age, crypto
from vault.errors import IntegrityError, InvalidInputError, NotFoundError
from vault.export.format import (
    ATTACHMENTS,
    EXPORT_FORMAT,
    MANIFEST,
    MEMBERS,
    RECORDS,
    SIGNATURE,
    SIGNING_KEY,
)

__all__ = ["VerifyReport", "verify_export"]


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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _load_signer(path: Path) -> bytes:
    try:
        return crypto.public_key_from_pem(path.read_bytes())
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    except ValueError as exc:
        raise InvalidInputError(str(exc), where=str(path)) from None


def verify_export(path: Path, identity_file: Path, signer: Path | None = None) -> VerifyReport:
    """Decrypt and check an export: signature, manifest, and every record line's hash.

    Raises :class:`IntegrityError` on any mismatch. Works without a vault.
    """
    identities = age.load_identities(identity_file)
    try:
        source = path.open("rb")
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    with (
        source,
        age.decrypting(
            source,
            identities,
            failure="cannot decrypt the export (wrong identity, or the file was altered)",
        ) as plain,
    ):
        return _verify_tar(plain, signer)


def _verify_tar(plain: IO[bytes], signer: Path | None) -> VerifyReport:
    seen: dict[str, bytes] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(fileobj=plain, mode="r|") as tar:
            for member in tar:
                if (
                    member.name in seen
                    or not member.isfile()
                    or (member.name not in MEMBERS and not member.name.startswith(ATTACHMENTS))
                ):
                    raise IntegrityError(f"unexpected member {member.name!r} in the export")
                handle = tar.extractfile(member)
                assert handle is not None
                if member.name.startswith(ATTACHMENTS):
                    if manifest is None or RECORDS not in seen:
                        raise IntegrityError("a file comes before the verified records")
                    seen[member.name] = b""
                    _check_file(handle, member.name, manifest)
                    continue
                if member.name != RECORDS:
                    if member.size > 256 * 2**20:
                        raise IntegrityError(f"{member.name} is implausibly large")
                    seen[member.name] = handle.read()
                    if member.name == SIGNING_KEY:
                        manifest = _check_manifest(seen, signer)
                    continue
                if manifest is None:
                    raise IntegrityError("records.jsonl comes before a verified manifest")
                seen[member.name] = b""
                _check_records(handle, manifest)
    except tarfile.TarError:
        raise IntegrityError("the export is not a valid archive (truncated or altered)") from None
    listed = {f["name"] for f in (manifest or {}).get("files", [])}
    expected_members = set(MEMBERS) | listed
    if set(seen) != expected_members or manifest is None:
        missing = ", ".join(sorted(expected_members - set(seen)))
        raise IntegrityError(f"the export is missing {missing}")
    fingerprint = crypto.public_key_fingerprint(crypto.public_key_from_pem(seen[SIGNING_KEY]))
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
    )


def _check_manifest(seen: Mapping[str, bytes], signer: Path | None) -> dict[str, Any]:
    if MANIFEST not in seen or SIGNATURE not in seen:
        raise IntegrityError("the export's manifest or signature is missing or out of order")
    try:
        included_raw = crypto.public_key_from_pem(seen[SIGNING_KEY])
    except ValueError:
        raise IntegrityError("the export's signing key is malformed") from None
    if signer is not None:
        expected = _load_signer(signer)
        if not crypto.constant_time_equal(expected, included_raw):
            raise IntegrityError("the export was not signed by the expected signer")
    crypto.verify_signature(
        included_raw, seen[SIGNATURE], seen[MANIFEST], what="the export manifest"
    )
    try:
        manifest = json.loads(seen[MANIFEST])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IntegrityError("the export manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise IntegrityError("the export manifest has an unknown format")
    return manifest


def _check_file(handle: IO[bytes], name: str, manifest: Mapping[str, Any]) -> None:
    entries = [f for f in manifest.get("files", []) if f.get("name") == name]
    if len(entries) != 1:
        raise IntegrityError(f"{name} is not listed in the manifest")
    hasher = crypto.sha256_hasher()
    while chunk := handle.read(age.CHUNK):
        hasher.update(chunk)
    if not crypto.constant_time_equal(
        hasher.hexdigest().encode(), str(entries[0].get("sha256")).encode()
    ):
        raise IntegrityError(f"{name} does not match the manifest")


def _check_records(handle: IO[bytes], manifest: Mapping[str, Any]) -> None:
    info = manifest.get("records")
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), list):
        raise IntegrityError("the export manifest lists no record hashes")
    expected: list[str] = info["sha256"]
    count = 0
    for count, line in enumerate(handle, start=1):
        if count > len(expected):
            raise IntegrityError(
                f"records.jsonl has more lines than the manifest ({len(expected)})"
            )
        digest = crypto.sha256(line).hex()
        if not crypto.constant_time_equal(digest.encode(), expected[count - 1].encode()):
            raise IntegrityError(f"record line {count} does not match the manifest")
    if count != len(expected):
        raise IntegrityError(f"records.jsonl has {count} lines, the manifest lists {len(expected)}")
