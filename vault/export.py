"""Policy-driven exports: gates, k-anonymity, and the signed, age-encrypted archive.

An export is one file: an age-encrypted (``pyrage``, the standard age format) tar
holding

* ``manifest.json`` — export id, vault id, policy name and SHA-256 of its text,
  recipient name and key fingerprint, creation time, counts included and excluded
  by reason, and the SHA-256 of each line of ``records.jsonl``;
* ``manifest.sig`` — the raw Ed25519 signature of ``manifest.json`` by the vault;
* ``signing-key.pem`` — the vault's public signing key (SubjectPublicKeyInfo);
* ``records.jsonl`` — one redacted record (or aggregate cell) per line.

A recipient opens it with ``age -d -i key.txt FILE | tar -x``; :func:`verify_export`
checks it anywhere, without a vault.

Invariants: records are produced as a stream and spooled only as age ciphertext (to
a key that lives in memory for the duration of the export), so no plaintext reaches
the disk but the final, encrypted file, which appears under its name only when
complete. Memory does not grow with the number of records, except 32 bytes per
exported line for the manifest's hashes. Every record left out is counted by reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import random
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Protocol

from vault import age, crypto
from vault.age import load_identities, parse_recipient, write_age_identity
from vault.crypto import SigningKey
from vault.errors import IntegrityError, InvalidInputError, NotFoundError
from vault.policy import Policy
from vault.redaction import MAX_LEVEL, Redactor, SiteInfo
from vault.schema import FIELDS, Sensitivity
from vault.scrub import site_terms_from
from vault.strip import STRIPPABLE, StripError, strip

__all__ = [
    "EXPORT_FORMAT",
    "ExportResult",
    "RecordSource",
    "VerifyReport",
    "parse_recipient",
    "plan_records",
    "verify_export",
    "write_age_identity",
    "write_archive",
]

EXPORT_FORMAT: Final = "evidence-vault-export/1"
MEMBERS: Final = ("manifest.json", "manifest.sig", "signing-key.pem", "records.jsonl")
_DATE_FIELD: Final = {"testimony": "received_on", "finding": "audit_date"}
_SHUFFLE: Final = random.SystemRandom()
_OPERATIONAL: Final = frozenset({"operational"})
_ALL_CLASSES: Final = frozenset({"identity", "special", "narrative", "operational"})
_CELL_NAMES: Final = {
    "type": "record_type",
    "site.country": "site_country",
    "site.kind": "site_kind",
}


class RecordSource(Protocol):
    """What an export needs from a vault (implemented by :class:`vault.Vault`)."""

    def export_sites(self) -> dict[str, SiteInfo]: ...

    def export_counts(self) -> dict[str, int]: ...

    def export_records(
        self, types: frozenset[str], *, classes: frozenset[str], site_ref: str | None = None
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]: ...

    def export_attachments(self, record_id: str) -> list[Any]: ...

    def attachment_chunks(self, attachment_id: str) -> Iterator[bytes]: ...


@dataclass
class ExportResult:
    """Counts of one export (or preview)."""

    included: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    level: int = 0
    evidence_links_removed: bool = False
    files: FileSpool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "included": dict(sorted(self.included.items())),
            "excluded": dict(sorted(self.excluded.items())),
        }


def _consent_reason(record: Mapping[str, Any], audience: str) -> str | None:
    consent = record.get("consent")
    if not isinstance(consent, dict) or not consent.get("share_with"):
        return "no_consent"
    if consent.get("withdrawn") is True:
        return "consent_withdrawn"
    if audience not in consent["share_with"]:
        return "consent_excludes_audience"
    return None


def _gate(policy: Policy, record: Mapping[str, Any], site: SiteInfo | None) -> str | None:
    """Why a record is left out, or None when the filters and consent let it through."""
    rtype = record["type"]
    site_id = record["id"] if rtype == "site" else record.get("site_id")
    if policy.sites is not None and site_id not in policy.sites:
        return "site_filter"
    if policy.countries is not None and (site is None or site.country not in policy.countries):
        return "country_filter"
    date_field = _DATE_FIELD.get(rtype)
    if date_field and (policy.date_from or policy.date_to):
        day = dt.date.fromisoformat(record[date_field])
        if (policy.date_from and day < policy.date_from) or (
            policy.date_to and day > policy.date_to
        ):
            return "date_filter"
    if (
        rtype == "finding"
        and policy.statuses is not None
        and record["status"] not in policy.statuses
    ):
        return "status_filter"
    if rtype == "testimony":
        return _consent_reason(record, policy.audience)
    return None


def _aggregate_keys(
    policy: Policy, record: Mapping[str, Any], site: SiteInfo | None
) -> list[tuple[Any, ...]]:
    assert policy.aggregate is not None
    rtype = record["type"]
    dims: list[list[Any]] = []
    for dim in policy.aggregate.by:
        if dim == "type":
            dims.append([rtype])
        elif dim == "site.country":
            dims.append([site.country if site else None])
        elif dim == "site.kind":
            dims.append([None])
        elif dim == "allegation":
            values = record.get("allegations") if rtype == "testimony" else [record.get("category")]
            dims.append(list(values or [None]))
        elif dim == "year":
            date_field = _DATE_FIELD.get(rtype)
            dims.append([record[date_field][:4] if date_field else None])
        else:
            dims.append([record.get(dim)])
    keys: list[tuple[Any, ...]] = [()]
    for values in dims:
        keys = [(*k, v) for k in keys for v in values]
    return keys


def plan_records(
    source: RecordSource, policy: Policy, redactor: Redactor, result: ExportResult
) -> Iterator[dict[str, Any]]:
    """Yield the redacted records (or aggregate cells) of an export, counting as it goes."""
    sites = source.export_sites()
    types = (
        frozenset(policy.types) if policy.aggregate is None else frozenset({"testimony", "finding"})
    )
    for rtype, count in source.export_counts().items():
        if rtype not in types and count:
            result.excluded["type_not_exported"] += count

    if policy.aggregate is not None:
        yield from _aggregate(source, policy, sites, types, result)
        return

    scrubbing = any(
        a.kind == "scrub"
        for rules in policy.types.values()
        for a in (*rules.rules.values(), *rules.high_risk.values())
    )
    needs_identity = "testimony" in types and any(
        policy.types["testimony"].action_for("testimony", path, high_risk=high).kind != "drop"
        for path, spec in FIELDS["testimony"].items()
        if spec.sensitivity is Sensitivity.IDENTITY
        for high in (False, True)
    )
    # Testimonies whose identity cannot be opened (erased) cannot be scrubbed of it:
    # they are left out, and so must not count towards any group.
    identity_required = needs_identity or scrubbing
    ka = policy.k_anonymity
    chosen: Counter[tuple[Any, ...]] = Counter()
    if "testimony" in types and ka is not None:
        chosen = _choose_level(source, policy, redactor, sites, identity_required, result)
    # Once the site is coarsened, a finding's evidence list would tie testimonies
    # back to the finding's site: the links are left out.
    drop_evidence = ka is not None and result.level > 0 and "site_id" in ka.quasi_identifiers
    result.evidence_links_removed = drop_evidence

    # Sites first and apart, so that no testimony is written next to its site.
    if "site" in types:
        yield from _sites(source, policy, redactor, sites, result)

    # Pass 2, site by site: the site's records are read once (the largest site
    # bounds memory) and written in random order; its testimonies' identity terms
    # feed the scrubber first.
    scan = (types | {"testimony"} if scrubbing else types) - {"site"}
    classes = _ALL_CLASSES if identity_required else _ALL_CLASSES - {"identity"}
    rows = source.export_records(frozenset(scan), classes=classes)
    for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
        batch = [(subject, record) for _ref, subject, record in site_rows]
        _SHUFFLE.shuffle(batch)
        site = sites.get(site_ref)
        if scrubbing:
            people = (r for _s, r in batch if r is not None and r["type"] == "testimony")
            redactor.scrubber.load_site(site_terms_from(people, site.country if site else None))
        for subject, record in batch:
            if record is None or (
                identity_required and record["type"] == "testimony" and subject is None
            ):
                if "testimony" in types:
                    result.excluded["identity_unavailable"] += 1
                continue
            if record["type"] not in types:
                continue
            reason = _gate(policy, record, site)
            level = 0
            if reason is None and record["type"] == "testimony" and ka is not None:
                level = result.level
                if chosen[redactor.quasi_key(record, level, site)] < ka.k:
                    reason = "k_anonymity"
            if reason is not None:
                result.excluded[reason] += 1
                continue
            result.included[record["type"]] += 1
            yield _output(source, policy, redactor, result, record, level, site, drop_evidence)


def _output(
    source: RecordSource,
    policy: Policy,
    redactor: Redactor,
    result: ExportResult,
    record: dict[str, Any],
    level: int,
    site: SiteInfo | None,
    drop_evidence: bool,
) -> dict[str, Any]:
    out = redactor.redact(record, level=level, site=site)
    if drop_evidence and record["type"] == "finding":
        out.pop("evidence", None)
    mode = policy.types[record["type"]].attachments
    if mode != "drop" and result.files is not None:
        names = _export_files(source, record, out, mode, redactor, result)
        if names:
            out["attachments"] = names
    return out


_EXTENSIONS: Final = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "audio/mpeg": ".mp3",
    "audio/x-wav": ".wav",
    "audio/wav": ".wav",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "audio/m4a": ".m4a",
    "audio/x-m4a": ".m4a",
}


def _export_files(
    source: RecordSource,
    record: Mapping[str, Any],
    out: dict[str, Any],
    mode: str,
    redactor: Redactor,
    result: ExportResult,
) -> list[str]:
    """Add a record's evidence files to the export: stripped or original, renamed."""
    assert result.files is not None
    names: list[str] = []
    for info in source.export_attachments(str(record["id"])):
        name = (
            "attachments/"
            + redactor.pseudonym("export", "file", info.id)
            + _EXTENSIONS.get(info.media_type, ".bin")
        )
        entry: dict[str, Any] = {
            "name": name,
            "media_type": info.media_type,
            "record": out.get("id"),
        }
        if mode == "strip":
            if info.media_type not in STRIPPABLE:
                result.excluded["attachment_cannot_be_stripped"] += 1
                continue
            try:
                data = strip(b"".join(source.attachment_chunks(info.id)), info.media_type)
            except StripError:
                result.excluded["attachment_cannot_be_stripped"] += 1
                continue
            entry["stripped_from_sha256"] = info.sha256
            result.files.add(name, [data], entry)
        else:
            result.files.add(name, source.attachment_chunks(info.id), entry)
        result.included["attachment"] += 1
        names.append(name)
    return names


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

        spool = tempfile.TemporaryFile(dir=self._folder)  # noqa: SIM115 - kept open
        try:
            age.encrypt_chunks(counted(), spool, self._identity.to_public())
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        entry.update(size=size, sha256=hasher.hexdigest())
        self.entries.append((entry, spool))

    def manifest(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry, _spool in self.entries]

    def close(self) -> None:
        for _entry, spool in self.entries:
            spool.close()

    @contextlib.contextmanager
    def plaintext(self, index: int) -> Iterator[IO[bytes]]:
        _entry, spool = self.entries[index]
        spooled = _Spooled(spool, self._identity, 0, bytearray())
        with _decrypted(spooled) as body:
            yield body


def _sites(
    source: RecordSource,
    policy: Policy,
    redactor: Redactor,
    sites: Mapping[str, SiteInfo],
    result: ExportResult,
) -> Iterator[dict[str, Any]]:
    for ref, _subject, record in source.export_records(
        frozenset({"site"}), classes=_ALL_CLASSES - {"identity"}
    ):
        assert record is not None
        reason = _gate(policy, record, sites.get(ref))
        if reason is not None:
            result.excluded[reason] += 1
            continue
        result.included["site"] += 1
        yield redactor.redact(record)


def _choose_level(
    source: RecordSource,
    policy: Policy,
    redactor: Redactor,
    sites: Mapping[str, SiteInfo],
    identity_required: bool,
    result: ExportResult,
) -> Counter[tuple[Any, ...]]:
    """Pass 1: distinct workers per quasi-identifier group at every level; set the
    lowest level that suppresses at most ``max_suppression``, return its groups.

    A worker's testimonies all belong to one site, so counting distinct workers
    needs only one site's worth of memory at a time.
    """
    ka = policy.k_anonymity
    assert ka is not None
    groups: list[Counter[tuple[Any, ...]]] = [Counter() for _ in range(MAX_LEVEL + 1)]
    rows = source.export_records(frozenset({"testimony"}), classes=_OPERATIONAL)
    for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
        site = sites.get(site_ref)
        seen: set[tuple[int, tuple[Any, ...], str]] = set()
        for _ref, subject, record in site_rows:
            if record is None or (identity_required and subject is None):
                continue
            if _gate(policy, record, site) is None:
                keys = redactor.quasi_keys(record, site, range(MAX_LEVEL + 1))
                worker = subject or str(record["id"])
                for level, key in enumerate(keys):
                    if (level, key, worker) not in seen:
                        seen.add((level, key, worker))
                        groups[level][key] += 1
    total = sum(groups[0].values())
    result.level = MAX_LEVEL
    for level in range(MAX_LEVEL + 1):
        small = sum(n for n in groups[level].values() if n < ka.k)
        if total == 0 or small / total <= ka.max_suppression:
            result.level = level
            break
    return groups[result.level]


def _aggregate(
    source: RecordSource,
    policy: Policy,
    sites: Mapping[str, SiteInfo],
    types: frozenset[str],
    result: ExportResult,
) -> Iterator[dict[str, Any]]:
    assert policy.aggregate is not None
    cells: Counter[tuple[Any, ...]] = Counter()
    members: Counter[tuple[Any, ...]] = Counter()
    for site_ref, _subject, record in source.export_records(types, classes=_OPERATIONAL):
        if record is None:
            continue
        site = sites.get(site_ref)
        reason = _gate(policy, record, site)
        if reason is not None:
            result.excluded[reason] += 1
            continue
        for key in _aggregate_keys(policy, record, site):
            cells[key] += 1
        members[(record["type"],)] += 1
    threshold = policy.aggregate.suppress_at_or_below
    for key, count in sorted(cells.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        if count <= threshold:
            # Say how many cells were held back, not how many records they held:
            # the size of a suppressed cell is what suppression hides.
            result.excluded["small_cells"] += 1
            continue
        result.included["count"] += 1
        cell = {
            _CELL_NAMES.get(dim, dim): value
            for dim, value in zip(policy.aggregate.by, key, strict=True)
        }
        yield {"type": "count", **cell, "count": count}


def _tar_member(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o600
    return info.tobuf(format=tarfile.PAX_FORMAT)


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

    spool = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - returned open
    try:
        age.encrypt_chunks(lines(), spool, identity.to_public())
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return _Spooled(spool, identity, size, hashes)


def _decrypted(spooled: _Spooled) -> contextlib.AbstractContextManager[IO[bytes]]:
    """The spool's plaintext, streamed (see :func:`vault.age.decrypting`)."""
    return age.decrypting(
        spooled.file, [spooled.identity], failure="the export spool could not be read back"
    )


def _copy(source: IO[bytes], size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        chunk = source.read(min(age.CHUNK, remaining))
        if not chunk:
            raise IntegrityError("an export spool ended early")
        remaining -= len(chunk)
        yield chunk


def write_archive(
    out: Path,
    records: Iterable[dict[str, Any]],
    *,
    recipient: Any,
    signing_key: SigningKey,
    manifest: dict[str, Any],
    finish: Callable[[dict[str, Any]], None],
    files: FileSpool | None = None,
) -> Path:
    """Write the encrypted export beside ``out`` and return the temporary path.

    ``finish`` completes the manifest once all records are counted; the caller moves
    the file to ``out`` (after recording the export) or deletes it.
    """
    folder = out.resolve().parent
    if not folder.is_dir():
        raise NotFoundError(f"no folder {folder} for the export")
    spooled = _spool(records, folder)
    with spooled.file:
        finish(manifest)
        hashes = spooled.lines_sha256()
        manifest["records"] = {
            "file": "records.jsonl",
            "lines": len(hashes),
            "bytes": spooled.size,
            "sha256": hashes,
        }
        if files is not None and files.entries:
            manifest["files"] = files.manifest()
        manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode()
        signature = signing_key.sign(manifest_bytes)
        public_pem = crypto.public_key_pem(signing_key.public_bytes())
        mtime = int(dt.datetime.fromisoformat(manifest["created_at"]).timestamp())
        with _decrypted(spooled) as body:

            def tar_stream() -> Iterator[bytes]:
                for name, data in (
                    ("manifest.json", manifest_bytes),
                    ("manifest.sig", signature),
                    ("signing-key.pem", public_pem),
                ):
                    yield _tar_member(name, len(data), mtime) + data + _padding(len(data))
                yield _tar_member("records.jsonl", spooled.size, mtime)
                yield from _copy(body, spooled.size)
                yield _padding(spooled.size)
                for i, (entry, _spool) in enumerate(files.entries if files else ()):
                    assert files is not None
                    yield _tar_member(entry["name"], entry["size"], mtime)
                    with files.plaintext(i) as content:
                        yield from _copy(content, entry["size"])
                    yield _padding(entry["size"])
                yield b"\0" * (2 * tarfile.BLOCKSIZE)

            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".evault-export-")
            try:
                with os.fdopen(fd, "wb") as sink:
                    age.encrypt_chunks(tar_stream(), sink, recipient)
                    sink.flush()
                    os.fsync(sink.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise
    return Path(tmp_name)


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
    identities = load_identities(identity_file)
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
                    or (member.name not in MEMBERS and not member.name.startswith("attachments/"))
                ):
                    raise IntegrityError(f"unexpected member {member.name!r} in the export")
                handle = tar.extractfile(member)
                assert handle is not None
                if member.name.startswith("attachments/"):
                    if manifest is None or "records.jsonl" not in seen:
                        raise IntegrityError("a file comes before the verified records")
                    seen[member.name] = b""
                    _check_file(handle, member.name, manifest)
                    continue
                if member.name != "records.jsonl":
                    if member.size > 256 * 2**20:
                        raise IntegrityError(f"{member.name} is implausibly large")
                    seen[member.name] = handle.read()
                    if member.name == "signing-key.pem":
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
    fingerprint = crypto.public_key_fingerprint(crypto.public_key_from_pem(seen["signing-key.pem"]))
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
    if "manifest.json" not in seen or "manifest.sig" not in seen:
        raise IntegrityError("the export's manifest or signature is missing or out of order")
    try:
        included_raw = crypto.public_key_from_pem(seen["signing-key.pem"])
    except ValueError:
        raise IntegrityError("the export's signing key is malformed") from None
    if signer is not None:
        expected = _load_signer(signer)
        if not crypto.constant_time_equal(expected, included_raw):
            raise IntegrityError("the export was not signed by the expected signer")
    crypto.verify_signature(
        included_raw, seen["manifest.sig"], seen["manifest.json"], what="the export manifest"
    )
    try:
        manifest = json.loads(seen["manifest.json"])
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
