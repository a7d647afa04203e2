"""Recipients and exports: the service between the vault and :mod:`vault.export`.

Invariants: an export file appears under its name only if its record in the vault
was written in the same step (the rename happens inside the transaction); a preview
writes nothing. Pseudonym keys: per recipient, derived from the vault's pseudonym
root and the recipient's key fingerprint (for a joint export, from the fingerprints
of all its recipients: stable for that group, unlinkable to any one of them); per
export, random and forgotten. A joint export is one file encrypted to every
recipient, and its signed manifest names them all. The
export code reads the vault only through :class:`ExportSource`, which opens the
classes it is asked for and nothing else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NotRequired, TypedDict, TypeVar, cast

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from vault import attachments, audit, crypto, receiving, registry
from vault.context import Context
from vault.decisions import Decision
from vault.errors import ConflictError, NotFoundError, PermissionDeniedError, UsageError
from vault.export import (
    EXPORT_FORMAT,
    ExportResult,
    FileSpool,
    parse_recipient,
    plan_records,
    write_archive,
)
from vault.export.archive import Derive
from vault.export.flat import records_csv
from vault.export.format import REPORT
from vault.heap import bulk
from vault.keys import KeyClass, Keyring
from vault.policy import Policy
from vault.progress import Progress, Stage
from vault.records import SealedExtras
from vault.redaction import Redactor, SiteInfo
from vault.schema import check_name
from vault.schema import shown_name as _shown
from vault.scrub import Scrubber
from vault.store import (
    Attachment,
    ExportRecord,
    Recipient,
    Record,
    RecordVersion,
    Review,
    Subject,
    as_utc,
    record_counts,
    sealed_columns,
    utcnow,
)

__all__ = [
    "ExportInfo",
    "ExportSource",
    "ExportSummary",
    "Preview",
    "RecipientInfo",
    "add_recipient",
    "check_export",
    "export",
    "list_exports",
    "list_recipients",
    "preview",
    "release_export",
    "remove_recipient",
]

_OTHER_VERSION = RecordVersion.__table__.alias()


def _newest_version() -> Any:
    """A record's latest version number, as a correlated look-up on the primary key
    (a query for one site costs that site's records, not the whole table)."""
    return (
        select(func.max(_OTHER_VERSION.c.version))
        .where(_OTHER_VERSION.c.record_ref == Record.ref)
        .scalar_subquery()
    )


_T = TypeVar("_T")


class RecipientInfo(TypedDict):
    """A registered recipient."""

    name: str
    public_key: str
    fingerprint: str
    created_at: str


class ExportInfo(TypedDict):
    """A past export as the vault recorded it."""

    export_id: str
    created_at: str
    custodian: str
    policy: str
    policy_sha256: str
    recipient: str
    recipient_fingerprint: str
    counts: dict[str, Any]
    recipients: list[str]


class ExportSummary(TypedDict):
    """What :func:`export` returns: the signed manifest without per-line hashes."""

    format: str
    export_id: str
    vault_id: str
    created_at: str
    custodian: str
    policy: dict[str, str]
    recipient: dict[str, str]
    recipients: list[dict[str, str]]
    terms: dict[str, Any]
    signer: dict[str, str]
    audit: dict[str, Any]
    counts: dict[str, Any]
    records: dict[str, Any]
    evidence_links_removed: NotRequired[bool]
    k_anonymity: NotRequired[dict[str, Any]]


class ExportSource:
    """What an export may read of a vault, handed only to the export code."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._readers: list[Generator[Any]] = []
        self._with_files: set[str] | None = None

    def _keep(self, reader: Generator[_T]) -> Generator[_T]:
        if len(self._readers) >= 64:  # finished readers need no closing
            self._readers = [
                r for r in self._readers if inspect.getgeneratorstate(r) != "GEN_CLOSED"
            ]
        self._readers.append(reader)
        return reader

    def close(self) -> None:
        """End every reader still open (an export that failed part-way leaves them
        suspended, each holding a read transaction)."""
        while self._readers:
            self._readers.pop().close()

    def export_counts(self) -> dict[str, int]:
        with self._ctx.read() as conn:
            return record_counts(conn)

    def export_sites(self) -> dict[str, SiteInfo]:
        """Site reference -> id, country, region, for filters and generalization."""
        out: dict[str, SiteInfo] = {}
        for site_ref, _subject, record in self.export_records(
            frozenset({"site"}), classes=frozenset({"operational"})
        ):
            assert record is not None
            out[site_ref] = SiteInfo(record["id"], record["country"], record.get("region"))
        return out

    def export_records(
        self, types: frozenset[str], *, classes: frozenset[str], site_ref: str | None = None
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
        return self._keep(_without_links(self._records(types, classes=classes, site_ref=site_ref)))

    def export_linked(
        self, types: frozenset[str], *, classes: frozenset[str]
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None, frozenset[str]]]:
        """As :meth:`export_records`, with what ties each testimony to its worker: the
        keyed index entries sealed with it (employee id, phone, e-mail, name) and its
        subject id. No identity key is needed to read them."""
        return self._keep(self._records(types, classes=classes, links=True))

    def _records(
        self,
        types: frozenset[str],
        *,
        classes: frozenset[str],
        site_ref: str | None = None,
        links: bool = False,
    ) -> Generator[tuple[str, str | None, dict[str, Any] | None, frozenset[str]]]:
        """``(site_ref, subject, record, links)`` for the latest versions, by site
        then insertion order, with the key classes asked for.

        ``subject`` is the worker's subject id while their identity key exists, else
        None. With ``identity`` asked for, such a testimony comes as None. ``links``
        is empty unless asked for.
        """
        codec = self._ctx.codec
        newest = _newest_version()
        query = (
            select(
                Record.ref,
                Record.type,
                Record.site_ref,
                Record.subject_id,
                Subject.wrapped_key,
                *RecordVersion.__table__.c,
            )
            .select_from(Record)
            .join(
                RecordVersion,
                (RecordVersion.record_ref == Record.ref) & (RecordVersion.version == newest),
            )
            .outerjoin(Subject, Subject.id == Record.subject_id)
            .where(Record.type.in_(sorted(types)))
            .order_by(Record.site_ref, Record.seq)
        )
        if site_ref is not None:
            query = query.where(Record.site_ref == site_ref)
        identity = "identity" in classes
        wanted = tuple(KeyClass(c) for c in sorted(classes))
        with self._ctx.read() as conn:
            result = conn.execute(query.execution_options(yield_per=500))
            with result:
                for row in result:
                    what = f"record ref {row.ref[:12]}"
                    subject = None
                    alive = row.subject_id if row.wrapped_key is not None else None
                    tie: frozenset[str] = frozenset()
                    linked = links and row.type == "testimony"
                    if row.type == "testimony" and identity:
                        if alive is None:
                            if linked:
                                # A moved pointer must not tie this testimony to
                                # another worker (or untie it from its own).
                                extras = codec.sealed_extras(
                                    sealed_columns(row),
                                    row.type,
                                    row.ref,
                                    row.version,
                                    what,
                                    subject_id=row.subject_id,
                                )
                                tie = _links(extras, row.subject_id)
                            yield row.site_ref, None, None, tie
                            continue
                        subject = (
                            row.subject_id,
                            codec.open_subject_key(row.subject_id, row.wrapped_key),
                        )
                    if linked:
                        # One opening of the operational class gives both the fields
                        # and the index entries sealed with them.
                        record, extras = codec.open_with_extras(
                            sealed_columns(row),
                            row.type,
                            row.ref,
                            row.version,
                            subject,
                            what,
                            classes=wanted,
                            subject_id=row.subject_id,
                        )
                        tie = _links(extras, row.subject_id)
                    else:
                        record = codec.open(
                            sealed_columns(row),
                            row.type,
                            row.ref,
                            row.version,
                            subject,
                            what,
                            classes=wanted,
                            subject_id=row.subject_id,
                        )
                    self._ctx.check_site_ref(row.ref, row.type, row.site_ref, record)
                    yield row.site_ref, alive, record, tie

    def review_decisions(self, site_ref: str, audience: str) -> dict[str, dict[str, Decision]]:
        """Record id -> field -> the decision on its latest version for ``audience``;
        decisions on older versions are void and not read."""
        newest = _newest_version()
        query = (
            select(Review.record_ref, Review.version, Review.audience, Review.field, Review.sealed)
            .join(Record, Record.ref == Review.record_ref)
            .where(
                Record.site_ref == site_ref,
                Review.audience == audience,
                Review.version == newest,
            )
        )
        codec = self._ctx.codec
        out: dict[str, dict[str, Decision]] = {}
        with self._ctx.read() as conn:
            for row in conn.execute(query):
                what = f"the review of record ref {row.record_ref[:12]}"
                d = codec.open_review(
                    row.record_ref, row.version, row.audience, row.field, row.sealed, what
                )
                out.setdefault(d.record_id, {})[d.field] = d
        return out

    def export_attachments(self, record_id: str) -> list[attachments.AttachmentInfo]:
        ref = self._ctx.codec.reference(record_id)
        if self._with_files is None:
            # Most records hold no file: one query for which do, instead of one per record.
            with self._ctx.read() as conn:
                self._with_files = set(
                    conn.execute(select(Attachment.record_ref).distinct()).scalars()
                )
        if ref not in self._with_files:
            return []
        with self._ctx.read() as conn:
            return attachments.list_for(conn, self._ctx.keys, ref)

    def attachment_chunks(self, attachment_id: str) -> Iterator[bytes]:
        return self._keep(self._chunks(attachment_id))

    def _chunks(self, attachment_id: str) -> Generator[bytes]:
        with self._ctx.read() as conn:
            yield from attachments.iter_plaintext(conn, self._ctx.keys, attachment_id)

    def attachment_digest(self, info: attachments.AttachmentInfo) -> str:
        """The keyed digest of a file's original, as its intake entry in the audit
        log holds it (the export gets the digest, never the key)."""
        return attachments.keyed_digest(self._ctx.keys, info)


def _filters(policy: Policy) -> dict[str, Any]:
    def listed(values: frozenset[str] | None) -> list[str] | None:
        return None if values is None else sorted(values)

    return {
        "sites": listed(policy.sites),
        "countries": listed(policy.countries),
        "since": policy.date_from.isoformat() if policy.date_from else None,
        "until": policy.date_to.isoformat() if policy.date_to else None,
        "statuses": listed(policy.statuses),
    }


def _links(extras: SealedExtras, subject_id: str | None) -> frozenset[str]:
    """What ties a testimony to its worker: its sealed index entries and subject
    (named apart from the index's own ``subject:`` entries)."""
    tie = extras.index or frozenset()
    return tie | {f"worker:{subject_id}"} if subject_id else tie


def _without_links(
    rows: Generator[tuple[str, str | None, dict[str, Any] | None, frozenset[str]]],
) -> Generator[tuple[str, str | None, dict[str, Any] | None]]:
    try:
        for site_ref, subject, record, _links in rows:
            yield site_ref, subject, record
    finally:
        rows.close()


# Recipients -------------------------------------------------------------------------


def add_recipient(ctx: Context, name: str, public_key: str) -> str:
    """Register an export recipient by age public key; returns its fingerprint."""
    ctx.require("admin")
    check_name(name, "recipient")
    parse_recipient(public_key)
    key = public_key.strip()
    fingerprint = crypto.public_key_fingerprint(key)
    values = {"name": name, "public_key": key, "fingerprint": fingerprint}
    sig = registry.sign(ctx.keys, "recipients", values)
    with ctx.write() as conn:
        try:
            conn.execute(insert(Recipient).values(**values, sig=sig, created_at=utcnow()))
        except DBIntegrityError:
            raise ConflictError(f"a recipient named {name!r} exists already") from None
        ctx.audit(conn, "recipient-added", details={"name": name, "fingerprint": fingerprint})
    return fingerprint


def list_recipients(ctx: Context) -> list[RecipientInfo]:
    ctx.require("admin", "exporter")
    with ctx.read() as conn:
        rows = conn.execute(select(*Recipient.__table__.c).order_by(Recipient.name)).all()
        for row in rows:
            _check_recipient(ctx, row)
    return [
        {
            "name": r.name,
            "public_key": r.public_key,
            "fingerprint": r.fingerprint,
            "created_at": as_utc(r.created_at).isoformat(),
        }
        for r in rows
    ]


def remove_recipient(ctx: Context, name: str) -> None:
    ctx.require("admin")
    with ctx.write() as conn:
        if conn.execute(delete(Recipient).where(Recipient.name == name)).rowcount == 0:
            raise NotFoundError(f"no recipient {_shown(name)}")
        ctx.audit(conn, "recipient-removed", details={"name": name})


def _recipient(ctx: Context, conn: Connection, name: str) -> Any:
    row = conn.execute(select(*Recipient.__table__.c).where(Recipient.name == name)).one_or_none()
    if row is None:
        raise NotFoundError(f"no recipient {_shown(name)} (add one with 'evault recipient add')")
    _check_recipient(ctx, row)
    return row


def _check_recipient(ctx: Context, row: Any) -> None:
    # Where an export goes is what an admin registered: a swapped key is refused.
    registry.verify(
        ctx.keys, "recipients", registry.recipient_fields(row), row.sig, f"recipient {row.name!r}"
    )


# Exports -----------------------------------------------------------------------------


def _may_export(ctx: Context, policy: Policy) -> None:
    ctx.require("admin", "exporter")
    if ctx.role == "exporter" and f"{policy.name}:{policy.sha256}" not in ctx.grant.policies:
        raise PermissionDeniedError(
            f"custodian {ctx.actor!r} is not granted the policy {policy.name!r} "
            "(with this exact text)"
        )


def _redactor(
    keys: Keyring, policy: Policy, recipient_fingerprints: Sequence[str] | None
) -> Redactor:
    export_key = crypto.random_key()
    # One recipient: its own key, as always. A group: one key for that exact group.
    group = "+".join(sorted(recipient_fingerprints or ()))
    recipient_key = (
        crypto.derive_subkey(keys.pseudonym_root(), f"pseudonym/recipient/{group}")
        if group
        else crypto.random_key()
    )
    review_key = keys.review_key() if keys.holds_class(KeyClass.NARRATIVE) else None
    return Redactor(
        policy,
        recipient_key,
        Scrubber(policy.scrub_tokens, ner=policy.ner),
        export_key=export_key,
        review_key=review_key,
    )


def _names(recipient_name: str | Sequence[str]) -> list[str]:
    names = [recipient_name] if isinstance(recipient_name, str) else list(recipient_name)
    if not names:
        raise UsageError("an export needs at least one recipient")
    if len(set(names)) != len(names):
        raise UsageError("a recipient is named twice")
    return names


def check_export(ctx: Context, policy: Policy, recipient_name: str | Sequence[str]) -> None:
    """Refuse, as :func:`export` would before it writes anything, an export the
    context may not make: its role, its grant of the policy, the recipient."""
    _may_export(ctx, policy)
    names = _names(recipient_name)
    with ctx.read() as conn:
        for name in names:
            _recipient(ctx, conn, name)


def _manifest_head(
    ctx: Context,
    policy: Policy,
    rows: list[Any],
    signing: crypto.SigningKey,
    now: dt.datetime,
    audit_head: tuple[int, bytes],
) -> dict[str, Any]:
    """The manifest's fields known before any record is planned."""
    row = rows[0]
    size, head = audit_head
    return {
        "format": EXPORT_FORMAT,
        "export_id": crypto.random_token(16),
        "vault_id": ctx.vault_id,
        "created_at": now.isoformat(),
        "custodian": ctx.actor,
        "policy": {
            "name": policy.name,
            "sha256": policy.sha256,
            "audience": policy.audience,
            # The filters in force: the policy's own, narrowed for this export.
            "filters": _filters(policy),
        },
        "recipient": {
            "name": row.name,
            "age_recipient": row.public_key,
            "fingerprint": row.fingerprint,
        },
        "recipients": [
            {"name": r.name, "age_recipient": r.public_key, "fingerprint": r.fingerprint}
            for r in rows
        ],
        "terms": policy.onward.to_manifest(),
        "signer": {
            "algorithm": "ed25519",
            "fingerprint": crypto.public_key_fingerprint(signing.public_bytes()),
        },
        "audit": {"size": size, "head": head.hex()},
    }


def _finisher(policy: Policy, result: ExportResult) -> Callable[[dict[str, Any]], None]:
    """What the manifest learns once every record is planned."""

    def finish(m: dict[str, Any]) -> None:
        m["counts"] = result.to_dict()
        if result.terms is not None:
            # Received records promise onward no more than their senders allowed.
            m["terms"] = policy.onward.meet(result.terms).to_manifest()
        if result.evidence_links_removed:
            m["evidence_links_removed"] = True
        if policy.k_anonymity is not None:
            m["k_anonymity"] = {
                "k": policy.k_anonymity.k,
                "quasi_identifiers": list(policy.k_anonymity.quasi_identifiers),
                "generalization_level": result.level,
            }

    return finish


def _derive(policy: Policy, report: bytes | None) -> Derive | None:
    """The members the policy's ``formats`` add beside records.jsonl: CSVs read
    back from the exported records, and ``report`` (the page of the same policy's
    statistics)."""
    if policy.formats == ("jsonl",):
        return None
    if ("report" in policy.formats) != (report is not None):
        raise UsageError(f"policy {policy.name!r}: a report is exported exactly when it asks")

    def derive(
        reread: Callable[[], Iterator[dict[str, Any]]],
    ) -> list[tuple[str, str, Iterable[bytes]]]:
        members = records_csv(reread) if "csv" in policy.formats else []
        if report is not None:
            members.append((REPORT, "text/html", [report]))
        return members

    return derive


@bulk()
def export(
    ctx: Context,
    policy: Policy,
    recipient_name: str | Sequence[str],
    out: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    report: bytes | None = None,
) -> ExportSummary:
    """Write a signed, age-encrypted export, to one recipient or jointly to several;
    ``report`` is the page the policy's ``formats`` ask to carry (see
    :meth:`vault.Vault.export`).
    returns the manifest without per-line hashes. ``progress`` hears of the records
    looked at ("exporting": let through or left out, of those of the types the policy
    exports); an error it raises ends the export with nothing written but its audit
    entry.

    Only the first and last steps write to the database, each in a brief transaction
    of its own (the export's start in the audit log; its record, with the file's
    rename); the records are read in read transactions, which on SQLite hold no
    write lock, so other writers never wait for an export to be built.
    """
    _may_export(ctx, policy)
    out = Path(out)
    names = _names(recipient_name)
    with ctx.read() as conn:
        rows = [_recipient(ctx, conn, name) for name in names]
    row = rows[0]
    recipients = [parse_recipient(r.public_key) for r in rows]
    # Recorded before anything is produced: no export exists without a trace.
    with ctx.write() as conn:
        ctx.audit(
            conn,
            "export-started",
            details={
                "policy": policy.name,
                "policy_sha256": policy.sha256,
                "recipient": row.name,
                "recipients": names,
                "filters": _filters(policy),
            },
        )
        # The signed manifest carries the log's head: every recipient holds a witness
        # that the log reached this point.
        size, head = audit.current_head(conn, ctx.keys.audit_key())
    signing = ctx.signing_key()
    derive = _derive(policy, report)
    redactor = _redactor(ctx.keys, policy, [r.fingerprint for r in rows])
    source = ExportSource(ctx)
    result = ExportResult()
    result.files = FileSpool(out.resolve().parent)
    now = utcnow().replace(microsecond=0)
    manifest = _manifest_head(ctx, policy, rows, signing, now, (size, head))

    records = plan_records(source, policy, redactor, result, receiving.for_export(ctx))
    stage = Stage(progress, "exporting", _candidates(source, policy) if progress else 0)
    try:
        tmp, held = write_archive(
            out,
            _reported(records, result, stage),
            recipient=recipients,
            signing_key=signing,
            manifest=manifest,
            finish=_finisher(policy, result),
            files=result.files,
            derive=derive,
        )
    finally:
        # A failed export must not leave its readers (and their transactions) open.
        records.close()
        source.close()
        result.files.close()
    # The file takes its name inside the transaction that records it, just before the
    # commit: a kill before the rename leaves neither; a failed commit takes the name
    # back. Recording after the rename instead would leave, on a kill, a file the
    # vault never recorded; this order leaves at most that (with its
    # "export-started" entry) and never a record without its file.
    placed = False
    try:
        with ctx.write() as conn:
            conn.execute(
                insert(ExportRecord).values(
                    id=manifest["export_id"],
                    created_at=now,
                    custodian=ctx.actor,
                    policy=policy.name,
                    policy_sha256=policy.sha256,
                    recipient=row.name,
                    recipient_fingerprint=row.fingerprint,
                    counts=json.dumps(manifest["counts"]),
                    recipients=json.dumps(names),
                )
            )
            ctx.audit(
                conn,
                "export",
                details={
                    "export_id": manifest["export_id"],
                    "policy": policy.name,
                    "policy_sha256": policy.sha256,
                    "recipient": row.name,
                    "recipients": names,
                    "counts": manifest["counts"],
                },
            )
            os.replace(tmp, out)
            placed = True
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(out if placed else tmp)
        raise
    finally:
        # Held until the file has its name: while the commit waits for the write
        # lock, another export to this folder must not sweep it as a leftover.
        os.close(held)
    stage.finish()
    summary = {k: v for k, v in manifest.items() if k != "records"}
    summary["records"] = {k: v for k, v in manifest["records"].items() if k != "sha256"}
    summary.pop("files", None)
    return cast(ExportSummary, summary)


def _candidates(source: ExportSource, policy: Policy) -> int:
    """How many records an export looks at: those of the types it exports."""
    types = set(policy.types) if policy.aggregate is None else {"testimony", "finding"}
    return sum(n for rtype, n in source.export_counts().items() if rtype in types)


def _reported(
    records: Iterator[dict[str, Any]], result: ExportResult, stage: Stage
) -> Iterator[dict[str, Any]]:
    """``records``, each one reported with those left out before it."""
    for record in records:
        yield record
        left_out = sum(
            n
            for reason, n in result.excluded.items()
            if reason not in _NOT_RECORDS and not reason.startswith("attachment_")
        )
        stage.advance(sum(result.included.values()) + left_out - stage.done)


# Counts of an export that are not records it looked at: records of types it does not
# export, and aggregate cells held back.
_NOT_RECORDS: Final = frozenset({"type_not_exported", "small_cells"})


@dataclass
class Preview:
    """The records an export would contain, and its counts once iterated."""

    records: Iterator[dict[str, Any]]
    result: ExportResult = field(default_factory=ExportResult)


def preview(ctx: Context, policy: Policy, *, limit: int | None = None) -> Preview:
    """What an export under ``policy`` would contain; nothing is written."""
    _may_export(ctx, policy)
    ctx.audit_now("export-preview", details={"policy": policy.name, "policy_sha256": policy.sha256})
    result = ExportResult()
    redactor = _redactor(ctx.keys, policy, None)
    records = plan_records(ExportSource(ctx), policy, redactor, result, receiving.for_export(ctx))

    def limited() -> Iterator[dict[str, Any]]:
        for n, record in enumerate(records):
            if limit is not None and n >= limit:
                # Keep counting what the full export would hold.
                for _ in records:
                    pass
                return
            yield record

    return Preview(limited(), result)


def list_exports(ctx: Context) -> list[ExportInfo]:
    """Past exports: id, time, custodian, policy and hash, recipient, counts."""
    ctx.require("admin", "exporter", "auditor")
    with ctx.read() as conn:
        rows = conn.execute(
            select(*ExportRecord.__table__.c).order_by(ExportRecord.created_at)
        ).all()
    return [
        {
            "export_id": r.id,
            "created_at": as_utc(r.created_at).isoformat(),
            "custodian": r.custodian,
            "policy": r.policy,
            "policy_sha256": r.policy_sha256,
            "recipient": r.recipient,
            "recipient_fingerprint": r.recipient_fingerprint,
            "counts": json.loads(r.counts),
            "recipients": json.loads(r.recipients) if r.recipients else [r.recipient],
        }
        for r in rows
    ]


def release_export(ctx: Context, export_id: str) -> ExportInfo:
    """Record that an export file is handed out (only to its maker or an admin)."""
    ctx.require("admin", "exporter")
    for row in list_exports(ctx):
        if row["export_id"] == export_id and (ctx.role == "admin" or row["custodian"] == ctx.actor):
            ctx.audit_now("export-released", details={"export_id": export_id})
            return row
    raise NotFoundError(f"no export {export_id} for {ctx.actor!r}")
