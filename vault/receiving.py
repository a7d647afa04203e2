"""Receiving a partner's export into this vault, and reading what was received.

:func:`receive` checks the export with the recipient's own verifier
(:func:`vault.export.verify.verify_stream`, as ``evault verify-export`` does) and
takes its records, sealed under this vault's keys, as records of the partner.

Invariants:

* All or nothing: the records are written as the verifier vouches for each line,
  inside one transaction that commits only once the whole file has verified (every
  line, every file, the end of the archive) and the receipt is written.
* Where evidence comes from is never taken on trust: the export must be signed by
  the key pinned for a partner (:mod:`vault.partners`), its signed manifest must
  name a key given here among its recipients, and it must be newer, by the sending
  vault's signed sequence and time, than the last export received from that
  partner. Each refusal is its own error (and exit code).
* A second export that carries a record id already received from that partner
  makes a new version of that record if the record, or the terms or policy it came
  under, changed, and nothing if not; ids are the sender's pseudonyms, stable per
  recipient, namespaced by partner.
* Received records carry no identity (:func:`vault.received.received_record`), and
  each version keeps, sealed with it, where it came from and the onward terms the
  sender signed; an export of this vault reads them only through
  :func:`for_export`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, TypedDict

from sqlalchemy import Connection, func, insert, select, update

from vault import age, crypto, partners, registry
from vault.context import Context
from vault.errors import (
    InvalidInputError,
    NotFoundError,
    StaleExportError,
    TamperedRowError,
    UnpinnedSignerError,
    WrongRecipientError,
)
from vault.export.verify import verify_stream
from vault.keys import KeyClass
from vault.received import Provenance, ReceivedCodec, namespaced_id, received_record
from vault.schema import shown_id, shown_name
from vault.store import (
    PartnerReceipt,
    ReceivedRecord,
    ReceivedVersion,
    as_utc,
    utcnow,
)
from vault.terms import Terms

__all__ = [
    "ReceiveReport",
    "ReceivedItem",
    "ReceivedSummary",
    "codec",
    "for_export",
    "get_received",
    "keys_below",
    "list_received",
    "receive",
    "receive_from",
    "rewrap_keys",
    "sealed_columns",
]

_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}")
_SEALED: Final = (
    "special_key",
    "special_data",
    "narrative_key",
    "narrative_data",
    "operational_key",
    "operational_data",
)


@dataclass
class ReceiveReport:
    """What :func:`receive` took from one export."""

    partner: str
    export_id: str
    exported_at: str
    policy: str
    policy_sha256: str
    terms: dict[str, Any]
    records: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    files_left_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "export_id": self.export_id,
            "exported_at": self.exported_at,
            "policy": self.policy,
            "policy_sha256": self.policy_sha256,
            "terms": self.terms,
            "records": {k: self.records[k] for k in ("new", "updated", "unchanged")},
            "by_type": dict(sorted(self.by_type.items())),
            "files_left_out": self.files_left_out,
        }


class ReceivedSummary(TypedDict):
    """A received record as :func:`list_received` shows it: no field values."""

    id: str
    type: str
    version: int
    partner: str
    export_id: str
    received_at: str


@dataclass(frozen=True)
class ReceivedItem:
    """A received record's latest version, as an export of this vault reads it."""

    record: dict[str, Any]
    terms: Terms
    audience: str
    partner: str


def codec(ctx: Context) -> ReceivedCodec:
    return ReceivedCodec(ctx.keys, ctx.codec.kek_version, ctx.codec.min_version)


def _field(value: Any, pattern: re.Pattern[str], what: str, label: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInputError(f"the manifest's {what} is malformed", where=label)
    return value


class _Receiver:
    """The verifier's reader: checks the manifest against this vault's pins, pins
    and receipts, then seals each verified record line."""

    def __init__(
        self,
        ctx: Context,
        conn: Connection,
        label: str,
        mine: set[str],
        only: str | None,
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._label = label
        self._mine = mine
        self._only = only
        self._codec = codec(ctx)
        self._seen: set[str] = set()
        self._provenance: Provenance | None = None
        self.report: ReceiveReport | None = None
        self.receipt: dict[str, Any] = {}

    def manifest(self, manifest: Mapping[str, Any], signer: bytes, raw: bytes) -> None:
        label = self._label
        partner = self._partner_for(signer)
        listed = manifest.get("recipients")
        if not isinstance(listed, list):
            listed = [manifest.get("recipient")]
        fingerprints = {r.get("fingerprint") for r in listed if isinstance(r, dict)}
        if not fingerprints & self._mine:
            raise WrongRecipientError(
                f"{label}: the export was made for another recipient: its signed manifest "
                "names none of the keys given here"
            )
        export_id = _field(manifest.get("export_id"), _TOKEN_RE, "export id", label)
        policy = manifest.get("policy")
        audit = manifest.get("audit")
        if not isinstance(policy, dict) or not isinstance(audit, dict):
            raise InvalidInputError("the manifest's policy or sequence is malformed", where=label)
        sequence = audit.get("size")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise InvalidInputError("the manifest's sequence is malformed", where=label)
        try:
            exported = dt.datetime.fromisoformat(str(manifest.get("created_at")))
        except ValueError:
            raise InvalidInputError("the manifest's time is malformed", where=label) from None
        if exported.tzinfo is None:
            raise InvalidInputError("the manifest's time has no time zone", where=label)
        terms = Terms.from_manifest(manifest.get("terms"), label)
        self._check_newer(partner, export_id, sequence, exported)
        now = utcnow()
        self._provenance = Provenance(
            partner=partner,
            export_id=export_id,
            manifest_sha256=crypto.sha256(raw).hex(),
            policy=_field(policy.get("name"), _TOKEN_RE, "policy name", label),
            policy_sha256=_field(policy.get("sha256"), _SHA256_RE, "policy hash", label),
            audience=_field(policy.get("audience"), _TOKEN_RE, "audience", label),
            terms=terms.to_manifest(),
            sender_vault=_field(manifest.get("vault_id"), _TOKEN_RE, "vault id", label),
            exported_at=exported.astimezone(dt.UTC).isoformat(),
            received_at=now.isoformat(),
        )
        self.report = ReceiveReport(
            partner,
            export_id,
            self._provenance.exported_at,
            self._provenance.policy,
            self._provenance.policy_sha256,
            terms.to_manifest(),
        )
        self.receipt = {
            "partner": partner,
            "export_id": export_id,
            "sequence": sequence,
            "exported_at": exported,
            "received_at": now,
            "custodian": self._ctx.actor,
            "manifest_sha256": self._provenance.manifest_sha256,
            "policy": self._provenance.policy,
            "policy_sha256": self._provenance.policy_sha256,
            "terms": json.dumps(terms.to_manifest(), sort_keys=True),
        }

    def _partner_for(self, signer: bytes) -> str:
        rows = partners.pinned(self._ctx, self._conn)
        if self._only is not None:
            rows = [r for r in rows if r.name == self._only]
            if not rows:
                raise NotFoundError(
                    f"no partner {shown_name(self._only)} (pin one with 'evault partner add')"
                )
        found = [
            r.name for r in rows if crypto.constant_time_equal(bytes.fromhex(r.signing_key), signer)
        ]
        if not found:
            fingerprint = crypto.public_key_fingerprint(signer)[:16]
            whose = (
                f"the key pinned for partner {shown_name(self._only)}"
                if self._only
                else "a pinned key"
            )
            raise UnpinnedSignerError(
                f"{self._label}: the export is signed by key {fingerprint}…, not by {whose} "
                "(see 'evault partner list')"
            )
        return str(found[0])

    def _check_newer(
        self, partner: str, export_id: str, sequence: int, exported: dt.datetime
    ) -> None:
        previous = self._conn.execute(
            select(PartnerReceipt.received_at).where(
                PartnerReceipt.partner == partner, PartnerReceipt.export_id == export_id
            )
        ).scalar_one_or_none()
        if previous is not None:
            raise StaleExportError(
                f"{self._label}: export {export_id} from partner {partner!r} was received "
                f"already, on {as_utc(previous).date().isoformat()}"
            )
        last = partners.last_receipt(self._ctx, self._conn, partner)
        if last is not None and (sequence <= last.sequence or exported < as_utc(last.exported_at)):
            raise StaleExportError(
                f"{self._label}: export {export_id} from partner {partner!r} is older than "
                f"the last one received from it (export {last.export_id}, made "
                f"{as_utc(last.exported_at).isoformat()}): a replay or a rollback is refused"
            )

    def record(self, number: int, line: bytes) -> None:
        assert self._provenance is not None
        assert self.report is not None
        where = f"{self._label}: record line {number}"
        try:
            raw = json.loads(line)
        except ValueError:
            raise InvalidInputError("not a JSON record", where=where) from None
        record, dropped = received_record(raw, where)
        self.report.files_left_out += dropped
        partner = self._provenance.partner
        rid = str(record["id"])
        if rid in self._seen:
            raise InvalidInputError(f"record {shown_id(rid)} appears twice", where=where)
        self._seen.add(rid)
        rtype = str(record["type"])
        ref = self._codec.reference(partner, rid)
        conn = self._conn
        row = conn.execute(
            select(ReceivedRecord.partner, ReceivedRecord.type).where(ReceivedRecord.ref == ref)
        ).one_or_none()
        now = utcnow()
        version = 1
        if row is None:
            conn.execute(
                insert(ReceivedRecord).values(ref=ref, partner=partner, type=rtype, created_at=now)
            )
            self.report.records["new"] += 1
        else:
            if row.partner != partner:
                raise TamperedRowError(
                    f"integrity check failed for received record ref {ref[:12]}",
                    table="received_records",
                )
            if row.type != rtype:
                raise InvalidInputError(
                    f"record {shown_id(rid)} was received before as a {row.type}", where=where
                )
            latest = _latest(conn, ref)
            before, was = self._codec.open(
                sealed_columns(latest), partner, rtype, ref, latest.version, _what(ref)
            )
            now_from = self._provenance
            # The same content under the same terms and policy is no new version;
            # terms the partner narrowed (or widened) since are.
            if before == record and (was.terms, was.audience, was.policy_sha256) == (
                now_from.terms,
                now_from.audience,
                now_from.policy_sha256,
            ):
                self.report.records["unchanged"] += 1
                self.report.by_type[rtype] += 1
                return
            version = latest.version + 1
            self.report.records["updated"] += 1
        sealed = self._codec.seal(record, partner, ref, version, self._provenance)
        conn.execute(
            insert(ReceivedVersion).values(
                record_ref=ref,
                version=version,
                export_id=self._provenance.export_id,
                created_at=now,
                kek_version=self._codec.kek_version,
                **sealed.columns,
            )
        )
        self.report.by_type[rtype] += 1


def _what(ref: str) -> str:
    return f"received record ref {ref[:12]}"


def sealed_columns(row: Any) -> dict[str, Any]:
    """The sealed columns of a received version row, as the codec opens them."""
    return {name: getattr(row, name) for name in _SEALED}


def _latest(conn: Connection, ref: str) -> Any:
    return conn.execute(
        select(*ReceivedVersion.__table__.c)
        .where(ReceivedVersion.record_ref == ref)
        .order_by(ReceivedVersion.version.desc())
        .limit(1)
    ).one()


def receive(
    ctx: Context,
    source: IO[bytes],
    identities: Sequence[Any],
    *,
    label: str,
    partner: str | None = None,
) -> ReceiveReport:
    """Verify a partner's export (opened with ``identities``, this vault's age keys)
    and take its records in; with ``partner``, only from that partner. Admins only."""
    ctx.require("admin")
    mine = {crypto.public_key_fingerprint(r) for r in age.identity_recipients(identities)}
    with ctx.write() as conn:
        ctx.refresh_key_version(conn)
        receiver = _Receiver(ctx, conn, label, mine, partner)
        verify_stream(source, identities, label=label, reader=receiver)
        report = receiver.report
        assert report is not None
        values = {**receiver.receipt, "counts": json.dumps(report.to_dict()["records"])}
        sig = registry.sign(ctx.keys, "partner_receipts", registry.receipt_fields(_Row(values)))
        conn.execute(insert(PartnerReceipt).values(**values, sig=sig))
        ctx.audit(
            conn,
            "export-received",
            details={
                "partner": report.partner,
                "export_id": report.export_id,
                "manifest_sha256": values["manifest_sha256"],
                "policy": report.policy,
                "policy_sha256": report.policy_sha256,
                "terms": report.terms,
                "records": report.to_dict()["records"],
            },
        )
    return report


def receive_from(
    ctx: Context,
    file: str | os.PathLike[str] | IO[bytes],
    identity: str | os.PathLike[str],
    *,
    partner: str | None = None,
    name: str = "the export",
) -> ReceiveReport:
    """:func:`receive` of an export file (a path, or an open binary file called
    ``name`` in messages), opened with the age identity file ``identity``."""
    ctx.require("admin")
    identities = age.load_identities(Path(identity))
    if not isinstance(file, str | os.PathLike):
        return receive(ctx, file, identities, label=name, partner=partner)
    path = Path(file)
    try:
        source = path.open("rb")
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    with source:
        return receive(ctx, source, identities, label=str(path), partner=partner)


class _Row:
    """Column values read by attribute, as a row's are."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


# Reading what was received ------------------------------------------------------------


def _split(record_id: str) -> tuple[str, str]:
    partner, sep, rid = record_id.partition(":")
    if not sep or not partner or not rid:
        raise NotFoundError(f"no received record {shown_id(record_id)} (ids read PARTNER:ID)")
    return partner, rid


def _latest_rows(ctx: Context, conn: Connection, partner: str | None) -> list[Any]:
    newest = (
        select(ReceivedVersion.record_ref, func.max(ReceivedVersion.version).label("v"))
        .group_by(ReceivedVersion.record_ref)
        .subquery()
    )
    query = (
        select(ReceivedRecord.partner, ReceivedRecord.type, *ReceivedVersion.__table__.c)
        .join(newest, newest.c.record_ref == ReceivedRecord.ref)
        .join(
            ReceivedVersion,
            (ReceivedVersion.record_ref == ReceivedRecord.ref)
            & (ReceivedVersion.version == newest.c.v),
        )
        .order_by(ReceivedRecord.seq)
    )
    if partner is not None:
        query = query.where(ReceivedRecord.partner == partner)
    return list(conn.execute(query).all())


def _opened(
    ctx: Context, row: Any, classes: frozenset[KeyClass] | None = None
) -> tuple[dict[str, Any], Provenance]:
    record, provenance = codec(ctx).open(
        sealed_columns(row),
        row.partner,
        row.type,
        row.record_ref,
        row.version,
        _what(row.record_ref),
        classes,
    )
    if provenance.export_id != row.export_id or record.get("type") != row.type:
        raise TamperedRowError(
            f"integrity check failed for {_what(row.record_ref)}", table="received_versions"
        )
    return record, provenance


def list_received(ctx: Context, *, partner: str | None = None) -> list[ReceivedSummary]:
    """The latest version of every received record (no field values shown)."""
    ctx.require("admin", "custodian")
    out: list[ReceivedSummary] = []
    with ctx.read() as conn:
        for row in _latest_rows(ctx, conn, partner):
            record, provenance = _opened(ctx, row, frozenset())
            out.append(
                {
                    "id": namespaced_id(row.partner, str(record["id"])),
                    "type": row.type,
                    "version": row.version,
                    "partner": row.partner,
                    "export_id": provenance.export_id,
                    "received_at": provenance.received_at,
                }
            )
    ctx.audit_read("received-list", details={"partner": partner, "count": len(out)})
    return out


def get_received(ctx: Context, record_id: str, *, version: int | None = None) -> dict[str, Any]:
    """One received record (``PARTNER:ID``), the field classes this custodian holds,
    and its provenance (audited)."""
    ctx.require("admin", "custodian")
    partner, rid = _split(record_id)
    ref = codec(ctx).reference(partner, rid)
    with ctx.read() as conn:
        query = (
            select(ReceivedRecord.partner, ReceivedRecord.type, *ReceivedVersion.__table__.c)
            .join(ReceivedVersion, ReceivedVersion.record_ref == ReceivedRecord.ref)
            .where(ReceivedRecord.ref == ref)
            .order_by(ReceivedVersion.version.desc())
        )
        if version is not None:
            query = query.where(ReceivedVersion.version == version)
        row = conn.execute(query.limit(1)).one_or_none()
        if row is None:
            raise NotFoundError(f"no received record {shown_id(record_id)}")
        record, provenance = _opened(ctx, row)
    ctx.audit_read("received-read", refs=[ref], details={"version": row.version})
    return {
        "id": record_id,
        "version": row.version,
        "record": record,
        "provenance": provenance.to_dict(),
    }


def _namespaced(partner: str, record: dict[str, Any]) -> dict[str, Any]:
    """A received record with its ids as this vault names them (``PARTNER:ID``), so
    that it never passes for one of this vault's own and its links still resolve."""
    out = dict(record)
    for key in ("id", "site_id"):
        if isinstance(out.get(key), str):
            out[key] = namespaced_id(partner, out[key])
    if isinstance(out.get("evidence"), list):
        out["evidence"] = [namespaced_id(partner, str(e)) for e in out["evidence"]]
    return out


def for_export(ctx: Context, classes: frozenset[KeyClass] | None = None) -> Iterator[ReceivedItem]:
    """Every received record's latest version with its signed terms, for an export
    of this vault (which decides, by those terms, whether it may leave)."""
    with ctx.read() as conn:
        rows = _latest_rows(ctx, conn, None)
    for row in rows:
        record, provenance = _opened(ctx, row, classes)
        yield ReceivedItem(
            record=_namespaced(row.partner, record),
            terms=Terms.from_manifest(provenance.terms, _what(row.record_ref)),
            audience=provenance.audience,
            partner=provenance.partner,
        )


# Key rotation -------------------------------------------------------------------------


def rewrap_keys(ctx: Context, conn: Connection, target: int, batch: int) -> int:
    """Rewrap up to ``batch`` received versions' data keys below KEK version
    ``target`` under it, in the caller's transaction; returns how many."""
    rows = conn.execute(
        select(ReceivedRecord.partner, ReceivedRecord.type, *ReceivedVersion.__table__.c)
        .join(ReceivedRecord, ReceivedRecord.ref == ReceivedVersion.record_ref)
        .where(ReceivedVersion.kek_version < target)
        .limit(batch)
    ).all()
    rotating = ReceivedCodec(ctx.keys, target, ctx.codec.min_version)
    for row in rows:
        columns = rotating.rewrap(
            sealed_columns(row), row.partner, row.type, row.record_ref, row.version
        )
        conn.execute(
            update(ReceivedVersion)
            .where(
                ReceivedVersion.record_ref == row.record_ref,
                ReceivedVersion.version == row.version,
            )
            .values(**columns, kek_version=target)
        )
    return len(rows)


def keys_below(conn: Connection, version: int) -> int:
    """How many received versions still use a KEK version below ``version``."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(ReceivedVersion)
            .where(ReceivedVersion.kek_version < version)
        ).scalar_one()
    )
