"""Review before release: a custodian's last word on free text that leaves.

The items are what an export under the policy would do to each free text — the same
gates, k-anonymity, site terms and scrubber — so the reviewer reads exactly what
would leave. A decision names spans by offset in that text (never its words), is
sealed to the record version, audience and field, audited with its spans, and used
by every later export to the same audience while the text stays the same.

Only custodians (and admins) cleared for the narrative class review; an exporter
may review only if the policy allows it (``review_by_exporters: true``) and it holds
that clearance.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select

from vault import crypto
from vault.context import Context
from vault.decisions import Decision, check_spans, text_digest
from vault.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from vault.export import ExportResult, plan_records
from vault.keys import KeyClass
from vault.policy import TEXT_FIELDS, Policy
from vault.redaction import Redactor, TextSeen
from vault.schema import flatten, shown_id
from vault.scrub import Scrubber
from vault.sharing import ExportSource
from vault.store import Record, RecordVersion, Review, sealed_columns, utcnow

__all__ = ["ReviewItem", "apply_decisions", "decide", "review_items"]

STATUSES: Final = ("awaiting", "flagged", "reviewed", "clear")


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One free text as it would leave under a policy, for a reviewer."""

    record_id: str
    path: str
    text: str = field(repr=False)
    spans: tuple[tuple[int, int, str], ...]
    flags: tuple[str, ...]
    digest: str
    status: str
    rendered: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "field": self.path,
            "status": self.status,
            "flags": list(self.flags),
            "digest": self.digest,
            "text": self.text,
            "spans": [[s, e, k] for s, e, k in self.spans],
            "rendered": self.rendered,
        }


def _may_review(ctx: Context, policy: Policy) -> None:
    if ctx.role == "exporter":
        if not policy.review_by_exporters:
            raise PermissionDeniedError(
                f"custodian {ctx.actor!r} (exporter) may not review under policy "
                f"{policy.name!r}; it needs the role custodian, or the policy's "
                "review_by_exporters: true"
            )
        # Only under a policy it may export with, exactly as granted: a policy file of
        # its own saying review_by_exporters would otherwise let it release text.
        if f"{policy.name}:{policy.sha256}" not in ctx.grant.policies:
            raise PermissionDeniedError(
                f"custodian {ctx.actor!r} is not granted the policy {policy.name!r} "
                "(with this exact text)"
            )
    else:
        ctx.require("admin", "custodian")
    missing = [kc.value for kc in _REVIEW_CLASSES if not ctx.keys.holds_class(kc)]
    if missing:
        raise PermissionDeniedError(
            f"custodian {ctx.actor!r} has no clearance for the {', '.join(missing)} "
            "class; a reviewer reads the text as an export would make it, which takes the "
            "site's names (identity) and the text itself (narrative)"
        )


_REVIEW_CLASSES: Final = (KeyClass.IDENTITY, KeyClass.SPECIAL, KeyClass.NARRATIVE)


def review_items(ctx: Context, policy: Policy, *, every: bool = False) -> list[ReviewItem]:
    """The free texts an export under ``policy`` would send: those that wait for a
    review (under ``review: required`` every one; under ``flagged``, and with
    ``every`` False, those with a risk cue), or with ``every`` all of them."""
    _may_review(ctx, policy)
    seen: list[TextSeen] = []
    redactor = Redactor(
        policy,
        crypto.random_key(),
        Scrubber(policy.scrub_tokens, ner=policy.ner),
        export_key=crypto.random_key(),
        review_key=ctx.keys.review_key(),
    )
    redactor.on_text = seen.append
    source = ExportSource(ctx)
    try:
        for _record in plan_records(source, policy, redactor, ExportResult()):
            pass
    finally:
        source.close()
    key = ctx.keys.review_key()
    items: list[ReviewItem] = []
    for s in seen:
        if s.decision is not None:
            status = "reviewed"
        elif policy.review == "required":
            status = "awaiting"
        elif s.flags:
            status = "flagged"
        else:
            status = "clear"
        if not every and status not in ("awaiting", "flagged"):
            continue
        items.append(
            ReviewItem(
                s.record_id,
                s.path,
                s.text,
                s.spans,
                tuple(sorted(s.flags)),
                text_digest(key, s.path, s.text),
                status,
                redactor.scrubber.render(s.text, list(s.spans), None),
            )
        )
    # In a stable order (an export writes each site's records shuffled).
    items.sort(key=lambda item: (item.record_id, item.path))
    ctx.audit_now(
        "review-listed",
        details={"policy": policy.name, "audience": policy.audience, "items": len(items)},
    )
    return items


def decide(
    ctx: Context,
    policy: Policy,
    record_id: str,
    path: str,
    digest: str,
    *,
    redact: Iterable[Any] = (),
    release: Iterable[Any] = (),
    where: str = "review",
) -> Decision:
    """Seal a reviewer's decision on one field of a record's latest version: the
    spans to redact (besides the machine's) and the machine's spans to let through.
    ``digest`` is the one the item was shown with: if the text changed since, the
    decision is refused (ConflictError) rather than applied to other words."""
    _may_review(ctx, policy)
    with ctx.write() as conn:
        return _decide(ctx, conn, policy, record_id, path, digest, redact, release, where)


def _decide(
    ctx: Context,
    conn: Connection,
    policy: Policy,
    record_id: str,
    path: str,
    digest: str,
    redact: Iterable[Any],
    release: Iterable[Any],
    where: str,
) -> Decision:
    ref = ctx.codec.reference(record_id)
    what = f"record {shown_id(record_id)}"
    key = ctx.keys.review_key()
    row = conn.execute(select(Record.type).where(Record.ref == ref)).one_or_none()
    if row is None:
        raise NotFoundError(f"no record {shown_id(record_id)}")
    ver = conn.execute(
        select(*RecordVersion.__table__.c)
        .where(RecordVersion.record_ref == ref)
        .order_by(RecordVersion.version.desc())
        .limit(1)
    ).one()
    record = ctx.codec.open(
        sealed_columns(ver),
        row.type,
        ref,
        ver.version,
        None,
        what,
        classes=[KeyClass.NARRATIVE, KeyClass.OPERATIONAL],
    )
    text = dict(flatten(record)).get(path) if path in TEXT_FIELDS else None
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} has no free text {path!r}", where=where)
    if not hmac.compare_digest(text_digest(key, path, text), str(digest)):
        raise ConflictError(
            f"the text of {what} ({path}) changed since it was shown; review it again"
        )
    decision = Decision(
        record_id=record_id,
        field=path,
        version=ver.version,
        audience=policy.audience,
        reviewer=ctx.actor,
        by_exporter=ctx.role == "exporter",
        at=utcnow(),
        digest=str(digest),
        redact=check_spans(redact, len(text), where, "redact"),
        release=check_spans(release, len(text), where, "release"),
    )
    keys = {"record_ref": ref, "version": ver.version, "audience": policy.audience}
    conn.execute(
        delete(Review).where(
            Review.record_ref == ref,
            Review.version == ver.version,
            Review.audience == policy.audience,
            Review.field == path,
        )
    )
    conn.execute(
        insert(Review).values(
            **keys,
            field=path,
            reviewer=ctx.actor,
            reviewed_at=decision.at,
            sealed=ctx.codec.seal_review(ref, decision),
        )
    )
    # Which spans, never which words.
    ctx.audit(
        conn,
        "review-decided",
        refs=[ref],
        details={
            "policy": policy.name,
            "audience": policy.audience,
            "field": path,
            "version": ver.version,
            "redact": [list(s) for s in decision.redact],
            "release": [list(s) for s in decision.release],
        },
    )
    return decision


def apply_decisions(
    ctx: Context, policy: Policy, entries: Iterable[Mapping[str, Any]], *, source: str
) -> int:
    """Decisions from a file (``evault review apply``): each entry names
    ``record_id``, ``field``, ``digest`` and optional ``redact``/``release`` lists.
    The file is applied in one transaction: wholly, or not at all."""
    checked: list[tuple[str, str, str, list[Any], list[Any], str]] = []
    for i, entry in enumerate(entries):
        where = f"{source}, decision {i + 1}"
        if not isinstance(entry, Mapping):
            raise InvalidInputError("a decision must be an object", where=where)
        unknown = set(entry) - {"record_id", "field", "digest", "redact", "release"}
        if unknown:
            raise InvalidInputError(f"unknown key {sorted(unknown)[0]!r}", where=where)
        for name in ("record_id", "field", "digest"):
            if not isinstance(entry.get(name), str):
                raise InvalidInputError(f"{name!r} is required (a string)", where=where)
        redact, release = entry.get("redact", []), entry.get("release", [])
        if not isinstance(redact, list) or not isinstance(release, list):
            raise InvalidInputError("'redact' and 'release' must be lists", where=where)
        shown_field = entry["field"] if entry["field"] in TEXT_FIELDS else "an unknown field"
        where = f"{where} (record {shown_id(entry['record_id'])}, {shown_field})"
        checked.append(
            (entry["record_id"], entry["field"], entry["digest"], redact, release, where)
        )
    _may_review(ctx, policy)
    with ctx.write() as conn:
        for record_id, path, digest, redact, release, where in checked:
            _decide(ctx, conn, policy, record_id, path, digest, redact, release, where)
    return len(checked)
