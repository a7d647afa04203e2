"""Statistics over the vault's records: counts by dimension and where findings
stand, exact for admins inside the vault, suppressed under a policy for anyone
they are shown to.

Invariants:

* **Who.** Exact counts (no policy) are for admins only. Under a policy, admins
  and custodians may count, and exporters under the policies they were granted
  (by exact text, as for exports). Auditors hold no record keys and count nothing.
* **What is read.** Only the operational class (with the quasi-identifiers sealed
  in it: gender, migrant status, site) and the keyed links that tie a testimony to
  its worker, through :class:`vault.sharing.ExportSource`: never identity,
  narrative or special fields, so a custodian cleared for the operational class
  alone can count, and an erased worker's testimonies still count as one person.
* **As for records.** Under a policy a record counts only if the policy would let
  it out: its filters and the consent of its audience (:func:`vault.export.plan.gate`);
  what was left out is counted by reason. Dimensions follow the policy's rules
  (:func:`vault.tables.check_policy`); every cell of fewer people than the policy's
  threshold is suppressed with enough others that no total gives it back.
* Every call is in the audit log (what was counted, by what, under which policy)
  before anything is returned.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from vault.context import Context
from vault.errors import PermissionDeniedError
from vault.export.plan import gate, people_of
from vault.policy import Policy
from vault.redaction import SiteInfo
from vault.report import VIEWS, Report, View
from vault.sharing import ExportSource
from vault.tables import (
    MEASURE_TYPE,
    Remediation,
    Statistics,
    Tally,
    TimingTally,
    check_policy,
    labels,
    measures_for,
    parse_dimensions,
)

__all__ = ["report", "statistics"]

_OPERATIONAL: Final = frozenset({"operational"})
_PENDING: Final = ("open", "in_remediation")


def _may_count(ctx: Context, policy: Policy | None) -> None:
    ctx.require("admin", "custodian", "exporter")
    if policy is None and ctx.role != "admin":
        raise PermissionDeniedError(
            f"custodian {ctx.actor!r} ({ctx.role}) may count only under a policy; "
            "exact statistics are for admins"
        )
    if (
        policy is not None
        and ctx.role == "exporter"
        and f"{policy.name}:{policy.sha256}" not in ctx.grant.policies
    ):
        raise PermissionDeniedError(
            f"custodian {ctx.actor!r} is not granted the policy {policy.name!r} "
            "(with this exact text)"
        )


def _allowed(
    policy: Policy, dims: tuple[str, ...], measures: tuple[str, ...], *, asked: bool
) -> tuple[str, ...]:
    """The measures ``policy`` allows by ``dims``: each one asked for must be; by
    default, those that are (and if none, the refusal of the first)."""
    if asked:
        check_policy(policy, dims, measures)
        return measures
    allowed: list[str] = []
    refusal: PermissionDeniedError | None = None
    for measure in measures:
        try:
            check_policy(policy, dims, (measure,))
        except PermissionDeniedError as exc:
            refusal = refusal or exc
            continue
        allowed.append(measure)
    if not allowed:
        assert refusal is not None
        raise refusal
    return tuple(allowed)


def statistics(
    ctx: Context,
    by: str | Sequence[str],
    *,
    policy: Policy | None,
    measures: Sequence[str] | None,
    as_of: dt.date | None,
) -> Statistics:
    """Counts by ``by`` (see :class:`vault.tables.Statistics`)."""
    dims = parse_dimensions(by)
    chosen = measures_for(dims, measures)
    _may_count(ctx, policy)
    if policy is not None:
        chosen = _allowed(policy, dims, chosen, asked=measures is not None)
    threshold = None if policy is None else policy.stats_threshold
    today = as_of or dt.datetime.now(dt.UTC).date()
    ctx.audit_now(
        "stats",
        details={
            "by": list(dims),
            "measures": list(chosen),
            "policy": None if policy is None else policy.name,
            "policy_sha256": None if policy is None else policy.sha256,
        },
    )
    count = _Counting(dims, chosen, threshold, policy, today)
    source = ExportSource(ctx)
    try:
        sites = source.export_sites()
        types = frozenset(MEASURE_TYPE[m] for m in chosen)
        rows = source.export_linked(types, classes=_OPERATIONAL)
        for site_ref, site_rows in itertools.groupby(rows, key=lambda row: row[0]):
            batch = [(record, links) for _ref, _s, record, links in site_rows if record]
            count.site(site_ref, sites.get(site_ref), batch)
    finally:
        source.close()
    return count.result()


def report(ctx: Context, policy: Policy, *, as_of: dt.date | None) -> Report:
    """The statistics a report shows (:data:`vault.report.VIEWS`), each under
    ``policy``; a breakdown or measure the policy refuses is named with its
    reason, not counted."""
    _may_count(ctx, policy)
    today = as_of or dt.datetime.now(dt.UTC).date()
    views: list[View] = []
    left_out: dict[str, int] = {}
    for dims in VIEWS:
        try:
            result = statistics(ctx, dims, policy=policy, measures=None, as_of=today)
        except PermissionDeniedError as exc:
            views.append(View(dims, None, (str(exc),)))
            continue
        refused: list[str] = []
        counted = {t.measure for t in result.tables}
        for measure in measures_for(dims):
            if measure not in counted:
                try:
                    check_policy(policy, dims, (measure,))
                except PermissionDeniedError as exc:
                    refused.append(str(exc))
        views.append(View(dims, result, tuple(dict.fromkeys(refused))))
        for why, n in result.left_out.items():
            left_out[why] = max(left_out.get(why, 0), n)
    return Report(
        policy=policy.name,
        policy_sha256=policy.sha256,
        threshold=policy.stats_threshold,
        as_of=today,
        views=tuple(views),
        left_out=left_out,
    )


class _Counting:
    """The tallies of one call, fed one site's records at a time (a worker's
    testimonies all belong to one site, so memory grows with the largest site)."""

    def __init__(
        self,
        dims: tuple[str, ...],
        measures: tuple[str, ...],
        threshold: int | None,
        policy: Policy | None,
        as_of: dt.date,
    ) -> None:
        self.dims = dims
        self.policy = policy
        self.threshold = threshold
        self.as_of = as_of
        self.left_out: Counter[str] = Counter()
        self.tallies = {
            m: Tally(m, dims, threshold, repeats=("allegation",) if m != "findings" else ())
            for m in measures
        }
        self.remediation = "findings" in measures
        rest = tuple(d for d in dims if d != "status")
        self.by_status = Tally("findings", (*rest, "status"), threshold)
        self.overdue = Tally("overdue findings", rest, threshold)
        self.timing = TimingTally(rest, threshold)

    def _keys(
        self, dims: Sequence[str], rtype: str, record: Mapping[str, Any], site: SiteInfo | None
    ) -> list[list[str]]:
        return [labels(d, rtype, record, site) for d in dims]

    def site(
        self,
        site_ref: str,
        site: SiteInfo | None,
        batch: list[tuple[dict[str, Any], frozenset[str]]],
    ) -> None:
        people = people_of([links for _record, links in batch])
        workers: dict[int, dict[str, Any]] = {}
        for n, ((record, _links), person) in enumerate(zip(batch, people, strict=True)):
            if self.policy is not None:
                reason = gate(self.policy, record, site)
                if reason is not None:
                    self.left_out[reason] += 1
                    continue
            if record["type"] == "finding":
                self._finding(record, site, ("finding", site_ref, n))
                continue
            who = (site_ref, person)
            if "testimonies" in self.tallies:
                keys = self._keys(self.dims, "testimony", record, site)
                self.tallies["testimonies"].add(keys, who)
            if "workers" in self.tallies:
                # Counted once, as their first testimony says; under every
                # allegation any of their testimonies names.
                seen = workers.get(person)
                alleged = set(record.get("allegations") or ())
                if seen is not None:
                    alleged |= seen["allegations"]
                if seen is None or record["received_on"] < seen["received_on"]:
                    workers[person] = {**record, "allegations": alleged}
                else:
                    seen["allegations"] = alleged
        for person, record in workers.items():
            record["allegations"] = sorted(record["allegations"])
            keys = self._keys(self.dims, "testimony", record, site)
            self.tallies["workers"].add(keys, (site_ref, person))

    def _finding(self, record: dict[str, Any], site: SiteInfo | None, unit: Hashable) -> None:
        if "findings" in self.tallies:
            self.tallies["findings"].add(self._keys(self.dims, "finding", record, site), unit)
        rest = self.overdue.dims
        keys = self._keys(rest, "finding", record, site)
        self.by_status.add([*keys, [record["status"]]], unit)
        remediation = record.get("remediation")
        due = remediation.get("due") if isinstance(remediation, dict) else None
        if record["status"] in _PENDING and due and dt.date.fromisoformat(due) < self.as_of:
            self.overdue.add(keys, unit)
        self.timing.add(keys, record)

    def result(self) -> Statistics:
        remediation = None
        if self.remediation:
            remediation = Remediation(
                by_status=self.by_status.table(),
                overdue=self.overdue.table(),
                timing=self.timing.timings(),
                as_of=self.as_of,
            )
        return Statistics(
            by=self.dims,
            policy=None if self.policy is None else self.policy.name,
            policy_sha256=None if self.policy is None else self.policy.sha256,
            threshold=self.threshold,
            tables=tuple(t.table() for t in self.tallies.values()),
            remediation=remediation,
            left_out=dict(self.left_out),
        )
