"""Export planning: which records leave the vault, and in what shape.

Everything here decides and nothing writes: records come from a :class:`RecordSource`
(the vault, or an in-memory source in tests), redacted records and aggregate cells
come out as a stream, and evidence files chosen for the export (by
:mod:`vault.export.files`, rebuilt from their content) go to the ``files`` sink of
the :class:`ExportResult` (the archive writer's spool).

Invariants: every record left out is counted by reason in ``ExportResult.excluded``,
and every record let through in ``ExportResult.included``; testimonies leave only
with the consent of the policy's audience; under k-anonymity the lowest
generalization level that suppresses at most ``max_suppression`` is chosen, and a
testimony in a group of fewer than ``k`` workers is left out; aggregate cells at or
below the policy's threshold are held back; records are written site by site in
random order, and sites apart from their testimonies. Memory grows with the largest
site, not with the vault.

Records received from partners come last, each only if the terms its sender signed
let it go to this policy's audience (else counted as ``onward_terms``), then
through this policy like any record: they can only lose fields, never gain one
(they hold no identity to add). Under k-anonymity they are grouped among
themselves, one record counting as one person (the sender gives no link between
one worker's testimonies). They never enter aggregate counts. The terms of an export
that carries any are the meet of the policy's and theirs (``ExportResult.terms``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from vault.export.files import export_files
from vault.policy import Policy
from vault.redaction import MAX_LEVEL, Redactor, SiteInfo, high_risk
from vault.schema import DATE_FIELDS, FIELDS, Sensitivity
from vault.scrub import SiteTerms, site_terms_from
from vault.terms import Terms

if TYPE_CHECKING:
    # Only the type: planning hands files to the spool and never writes them itself.
    from vault.export.archive import FileSpool

__all__ = ["ExportResult", "Received", "RecordSource", "gate", "people_of", "plan_records"]

_SHUFFLE: Final = random.SystemRandom()
_OPERATIONAL: Final = frozenset({"operational"})
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

    def export_linked(
        self, types: frozenset[str], *, classes: frozenset[str]
    ) -> Iterator[tuple[str, str | None, dict[str, Any] | None, frozenset[str]]]:
        """As ``export_records``, with each testimony's links to its worker: opaque
        strings (keyed identifiers, subject id) that testimonies of one worker share."""
        ...

    def review_decisions(self, site_ref: str, audience: str) -> Mapping[str, Mapping[str, Any]]:
        """Record id -> field -> review decision on the latest version."""
        ...

    def export_attachments(self, record_id: str) -> list[Any]: ...

    def attachment_chunks(self, attachment_id: str) -> Iterator[bytes]: ...

    def attachment_digest(self, info: Any) -> str:
        """The keyed digest of a file's original, as its intake entry in the audit
        log holds it."""
        ...


class Received(Protocol):
    """A record received from a partner, with the onward terms its sender signed."""

    @property
    def record(self) -> dict[str, Any]: ...

    @property
    def terms(self) -> Terms: ...


@dataclass
class ExportResult:
    """Counts of one export (or preview)."""

    included: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    level: int = 0
    evidence_links_removed: bool = False
    files: FileSpool | None = None
    # Records let through whose scrubbed free text still carries a risk cue, by kind
    # (a record counts once per kind); ``records`` counts records with any.
    flagged: Counter[str] = field(default_factory=Counter)
    # Free texts that went out as a reviewer decided, and those held back because
    # the policy wants a review that has not happened.
    review: Counter[str] = field(default_factory=Counter)
    # The meet of the onward terms of every received record let through (None: none).
    terms: Terms | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "included": dict(sorted(self.included.items())),
            "excluded": dict(sorted(self.excluded.items())),
            "risk_flags": dict(sorted(self.flagged.items())),
            "review": {k: self.review[k] for k in ("reviewed", "awaiting_review")},
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


def gate(policy: Policy, record: Mapping[str, Any], site: SiteInfo | None) -> str | None:
    """Why a record is left out, or None when the filters and consent let it through."""
    rtype = record["type"]
    site_id = record["id"] if rtype == "site" else record.get("site_id")
    if policy.sites is not None and site_id not in policy.sites:
        return "site_filter"
    if policy.countries is not None and (site is None or site.country not in policy.countries):
        return "country_filter"
    date_field = DATE_FIELDS.get(rtype)
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
            date_field = DATE_FIELDS.get(rtype)
            dims.append([record[date_field][:4] if date_field else None])
        else:
            dims.append([record.get(dim)])
    keys: list[tuple[Any, ...]] = [()]
    for values in dims:
        keys = [(*k, v) for k in keys for v in values]
    return keys


def plan_records(
    source: RecordSource,
    policy: Policy,
    redactor: Redactor,
    result: ExportResult,
    received: Iterable[Received] = (),
) -> Generator[dict[str, Any]]:
    """Yield the redacted records (or aggregate cells) of an export, counting as it
    goes; ``received``, records received from partners, come last."""
    sites = source.export_sites()
    types = (
        frozenset(policy.types) if policy.aggregate is None else frozenset({"testimony", "finding"})
    )
    for rtype, count in source.export_counts().items():
        if rtype not in types and count:
            result.excluded["type_not_exported"] += count

    if policy.aggregate is not None:
        yield from _aggregate(source, policy, sites, types, result)
        for item in received:
            allowed = item.terms.allows(policy.audience)
            result.excluded["onward_terms" if not allowed else "received_not_aggregated"] += 1
        return

    scrubbing = any(
        a.kind == "scrub"
        for rules in policy.types.values()
        for a in (*rules.rules.values(), *rules.high_risk.values())
    )
    # Testimonies whose identity cannot be opened (erased) cannot be scrubbed of it:
    # they are left out, and so must not count towards any group.
    identity_required = policy.needs_identity()
    # Only the classes the policy lets out (what an exporter's grant was checked
    # against when the policy was granted): identity exactly when required.
    classes = policy.key_classes()
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
        yield from _sites(source, policy, redactor, sites, result, classes - {"identity"})

    # Pass 2, site by site: the site's records are read once (the largest site
    # bounds memory) and written in random order; its testimonies' identity terms
    # feed the scrubber first.
    scan = (types | {"testimony"} if scrubbing else types) - {"site"}
    rows = source.export_records(frozenset(scan), classes=classes)
    for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
        batch = [(subject, record) for _ref, subject, record in site_rows]
        _SHUFFLE.shuffle(batch)
        site = sites.get(site_ref)
        if scrubbing:
            people = (r for _s, r in batch if r is not None and r["type"] == "testimony")
            redactor.scrubber.load_site(site_terms_from(people, site.country if site else None))
            if redactor.reviews_readable:
                redactor.decisions = source.review_decisions(site_ref, policy.audience)
        for subject, record in batch:
            if record is None or (
                identity_required and record["type"] == "testimony" and subject is None
            ):
                if "testimony" in types:
                    result.excluded["identity_unavailable"] += 1
                continue
            if record["type"] not in types:
                continue
            reason = gate(policy, record, site)
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
    yield from _received(policy, redactor, received, result)


def _received_gate(policy: Policy, record: Mapping[str, Any]) -> str | None:
    """Why a received record is left out by this policy's filters, or None. A filter
    that cannot be shown to hold (a site of the partner's, a generalized date) holds
    it back."""
    rtype = record["type"]
    if policy.sites is not None:
        return "site_filter"
    if policy.countries is not None:
        return "country_filter"
    date_field = DATE_FIELDS.get(rtype)
    if date_field and (policy.date_from or policy.date_to):
        try:
            day = dt.date.fromisoformat(str(record.get(date_field)))
        except ValueError:
            return "date_filter"
        if (policy.date_from and day < policy.date_from) or (
            policy.date_to and day > policy.date_to
        ):
            return "date_filter"
    if (
        rtype == "finding"
        and policy.statuses is not None
        and record.get("status") not in policy.statuses
    ):
        return "status_filter"
    if rtype == "testimony" and "consent" in record:
        return _consent_reason(record, policy.audience)
    return None


def _received(
    policy: Policy, redactor: Redactor, received: Iterable[Received], result: ExportResult
) -> Iterator[dict[str, Any]]:
    held: list[Received] = []
    for item in received:
        rtype = item.record["type"]
        if rtype not in policy.types:
            result.excluded["type_not_exported"] += 1
        elif not item.terms.allows(policy.audience):
            result.excluded["onward_terms"] += 1
        elif reason := _received_gate(policy, item.record):
            result.excluded[reason] += 1
        else:
            held.append(item)
    if not held:
        return
    ka = policy.k_anonymity
    groups: Counter[tuple[Any, ...]] = Counter()
    if ka is not None:
        for item in held:
            if item.record["type"] == "testimony":
                groups[redactor.quasi_key(item.record, 0, None)] += 1
    # Nothing is known here of the partner's sites and people: free text is scrubbed
    # by the rules alone, and no review decision of this vault applies to it.
    redactor.scrubber.load_site(SiteTerms())
    redactor.decisions = {}
    for item in held:
        record = item.record
        if (
            ka is not None
            and record["type"] == "testimony"
            and groups[redactor.quasi_key(record, 0, None)] < ka.k
        ):
            result.excluded["k_anonymity"] += 1
            continue
        result.included[record["type"]] += 1
        result.terms = item.terms if result.terms is None else result.terms.meet(item.terms)
        out = redactor.redact(record)
        if redactor.flags:
            result.flagged["records"] += 1
            result.flagged.update(redactor.flags)
        result.review["reviewed"] += len(redactor.reviewed)
        result.review["awaiting_review"] += len(redactor.withheld)
        yield out


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
    if redactor.flags:
        result.flagged["records"] += 1
        result.flagged.update(redactor.flags)
    result.review["reviewed"] += len(redactor.reviewed)
    result.review["awaiting_review"] += len(redactor.withheld)
    if drop_evidence and record["type"] == "finding":
        out.pop("evidence", None)
    rules = policy.types[record["type"]]
    if result.files is not None and (
        rules.attachments.any_leave() or rules.high_risk_attachments.any_leave()
    ):
        risky = record["type"] == "testimony" and high_risk(record)
        names = export_files(
            source, record, out, rules.files_for(high_risk=risky), risky, redactor, result
        )
        if names:
            out["attachments"] = names
    return out


def _sites(
    source: RecordSource,
    policy: Policy,
    redactor: Redactor,
    sites: Mapping[str, SiteInfo],
    result: ExportResult,
    classes: frozenset[str],
) -> Iterator[dict[str, Any]]:
    for ref, _subject, record in source.export_records(frozenset({"site"}), classes=classes):
        assert record is not None
        reason = gate(policy, record, sites.get(ref))
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
    classes = _OPERATIONAL
    if any(
        FIELDS["testimony"][q].sensitivity is Sensitivity.IDENTITY for q in ka.quasi_identifiers
    ):
        # A location is identity until generalized: its cells are counted from it.
        classes = _OPERATIONAL | {"identity"}
    rows = source.export_linked(frozenset({"testimony"}), classes=classes)
    for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
        site = sites.get(site_ref)
        batch = [
            (record, links)
            for _ref, subject, record, links in site_rows
            if record is not None and not (identity_required and subject is None)
        ]
        people = people_of([links for _record, links in batch])
        seen: set[tuple[int, tuple[Any, ...], int]] = set()
        for (record, _links), worker in zip(batch, people, strict=True):
            if gate(policy, record, site) is None:
                keys = redactor.quasi_keys(record, site, range(MAX_LEVEL + 1))
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


def people_of(links: list[frozenset[str]]) -> list[int]:
    """One number per testimony of a site, the same for testimonies that share any
    link (employee id, phone, e-mail, name, subject) directly or through others: a
    hotline caller who gave a phone three times is one person, not three."""
    parent = list(range(len(links)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, keys in enumerate(links):
        for key in keys:
            j = first.setdefault(key, i)
            if j != i:
                parent[root(i)] = root(j)
    return [root(i) for i in range(len(links))]


def _aggregate(
    source: RecordSource,
    policy: Policy,
    sites: Mapping[str, SiteInfo],
    types: frozenset[str],
    result: ExportResult,
) -> Iterator[dict[str, Any]]:
    assert policy.aggregate is not None
    threshold = policy.aggregate.suppress_at_or_below
    cells: Counter[tuple[Any, ...]] = Counter()
    # Who a cell counts, kept only until it holds more than the threshold: a cell
    # of one worker's three testimonies is one person's, however many records.
    people: dict[tuple[Any, ...], set[tuple[str, int]]] = {}
    rows = source.export_linked(types, classes=_OPERATIONAL)
    for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
        site = sites.get(site_ref)
        batch = [(record, links) for _ref, _subject, record, links in site_rows if record]
        workers = people_of(
            [links or frozenset({f"record:{i}"}) for i, (_r, links) in enumerate(batch)]
        )
        for (record, _links), worker in zip(batch, workers, strict=True):
            reason = gate(policy, record, site)
            if reason is not None:
                result.excluded[reason] += 1
                continue
            for key in _aggregate_keys(policy, record, site):
                cells[key] += 1
                who = people.setdefault(key, set())
                if len(who) <= threshold:
                    who.add((site_ref, worker))
    for key, count in sorted(cells.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        if len(people[key]) <= threshold:
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
