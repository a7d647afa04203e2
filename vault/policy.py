"""Redaction policies: a declarative YAML file per audience, validated on load.

A policy says, per record type, what each field becomes in an export. Invariants:

* **Deny by default.** A field that no rule names is dropped. A rule names a field
  (``worker.name``) or a sensitivity class (``identity``, ``quasi``, ``special``,
  ``narrative``, ``operational``); a field rule wins over a class rule. An evidence
  file of a kind no rule names stays in the vault (see :mod:`vault.filerules`).
* **Empty or unknown is an error, never "allow".** An unknown key, action, field,
  class or record type, an empty rule, a missing audience: each is refused with the
  file, line and key.
* Loading never executes anything: YAML is read with the safe loader, node by node,
  so every error can name its line.

The file format (see the shipped policies in ``policies/`` for commented examples)::

    policy: union                  # name, must match the file name
    audience: union                # who receives it; consent must cover it
    description: ...
    k_anonymity: {k: 5, quasi_identifiers: [...], max_suppression: 0.2}
    filters: {sites: [...], countries: [...], from: 2026-01-01, to: ..., status: [...]}
    records:
      testimony:
        rules: {identity: drop, narrative: scrub, worker.birth_year: {generalize: 5}}
        high_risk: {narrative: drop}        # replaces rules when retaliation is high;
                                            # its files leave only if it names them
                                            # (high_risk: {attachments: ...})
        attachments: {image: rebuild, document: rebuild}   # see vault.filerules
      finding: {rules: {...}, attachments: rebuild}
      site: {rules: {...}}
    aggregate: {by: [...], suppress_at_or_below: 3}   # counts only, instead of records
    onward: none                   # or same-audience, or {audiences: [...]}: what the
                                   # recipient may pass on (see vault.terms)
    stats: {threshold: 5}          # statistics: cells of fewer people are suppressed
    formats: [jsonl, csv, report]  # what an export carries beside records.jsonl
                                   # (default [jsonl]; see vault.export.format)

``stats.threshold`` defaults to the largest of 5, ``k_anonymity.k`` and one more
than ``aggregate.suppress_at_or_below``, and is never below ``k_anonymity.k``:
statistics are never less cautious than the policy's own records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from vault import crypto
from vault.errors import InvalidInputError, NotFoundError, UsageError
from vault.filerules import FILE_ACTIONS, FILE_KINDS, REBUILDABLE, SHORT_FORM_KINDS, FileRules
from vault.presets import vault_policy_dirs
from vault.schema import AUDIENCES, FIELDS, RECORD_TYPES, STATUSES, FieldSpec, Sensitivity
from vault.terms import Terms

__all__ = [
    "ACTIONS",
    "DEFAULT_STATS_THRESHOLD",
    "Action",
    "Aggregate",
    "KAnonymity",
    "Policy",
    "TypeRules",
    "check_policy_dirs",
    "find_policy",
    "load_policy",
    "parse_policy",
    "policy_names",
    "shipped_policies",
    "vault_policy_dirs",
]

ACTIONS: Final = ("keep", "drop", "mask", "pseudonymize", "generalize", "scrub")
CLASS_NAMES: Final = tuple(s.value for s in Sensitivity)
DATE_LEVELS: Final = ("month", "quarter", "year")
SITE_LEVELS: Final = ("region", "country")
GRID_DEGREES: Final = (0.1, 0.5, 1, 5)
"""The grids (in degrees) a location may be generalized to: 0.1 degree is about 11 km."""
TEXT_FIELDS: Final = frozenset({"narrative", "summary", "details", "remediation.plan"})
_TOP_KEYS: Final = frozenset(
    {
        "policy",
        "audience",
        "description",
        "k_anonymity",
        "filters",
        "records",
        "aggregate",
        "scrub_tokens",
        "ner",
        "review",
        "review_by_exporters",
        "onward",
        "stats",
        "formats",
    }
)
DEFAULT_STATS_THRESHOLD: Final = 5
EXPORT_FORMATS: Final = ("jsonl", "csv", "report")
REVIEW_MODES: Final = ("required", "flagged", "none")
# Audiences further from the workplace see free text only once a person has read it.
_REVIEW_DEFAULT: Final = {
    "union": "none",
    "monitor": "none",
    "buyers": "required",
    "public": "required",
}
AGGREGATE_KEYS: Final = (
    "type",
    "site.country",
    "site.kind",
    "allegation",
    "category",
    "severity",
    "status",
    "year",
)


@dataclass(frozen=True)
class Action:
    """What one field becomes: ``kind`` and its one parameter, if any."""

    kind: str
    param: Any = None

    def describe(self) -> str:
        if self.kind == "mask":
            return f"mask (keep the last {self.param} characters)"
        if self.kind == "pseudonymize":
            scope = "stable per recipient" if self.param == "recipient" else "fresh per export"
            return f"pseudonymize (keyed HMAC, {scope})"
        if self.kind == "generalize":
            return f"generalize to {self.param}"
        if self.kind == "scrub":
            limit = f", cut to {self.param} characters" if self.param else ""
            return f"scrub identity terms, phones, e-mails, long numbers{limit}"
        return self.kind


@dataclass(frozen=True)
class TypeRules:
    """The rules for one record type; fields not covered are dropped, and so are
    evidence files of kinds not covered (of a high-risk testimony: all of them,
    unless its ``high_risk`` rules name them)."""

    rules: dict[str, Action]
    high_risk: dict[str, Action] = field(default_factory=dict)
    attachments: FileRules = field(default_factory=FileRules)
    high_risk_attachments: FileRules = field(default_factory=FileRules)

    def files_for(self, *, high_risk: bool) -> FileRules:
        """The rules for a record's evidence files: a high-risk testimony's follow
        its ``high_risk`` rules, which drop every file they do not name."""
        return self.high_risk_attachments if high_risk else self.attachments

    def action_for(self, rtype: str, path: str, *, high_risk: bool = False) -> Action:
        """The action for a field: high-risk override, field rule, class rule, else drop."""
        spec = FIELDS[rtype][path]
        for table in (self.high_risk, self.rules) if high_risk else (self.rules,):
            if path in table:
                return table[path]
            if spec.sensitivity.value in table:
                return table[spec.sensitivity.value]
        return Action("drop")


@dataclass(frozen=True)
class KAnonymity:
    k: int
    quasi_identifiers: tuple[str, ...]
    max_suppression: float


@dataclass(frozen=True)
class Aggregate:
    by: tuple[str, ...]
    suppress_at_or_below: int


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``sha256`` is of the exact file text."""

    name: str
    audience: str
    description: str
    types: dict[str, TypeRules]
    k_anonymity: KAnonymity | None
    sites: frozenset[str] | None
    countries: frozenset[str] | None
    date_from: dt.date | None
    date_to: dt.date | None
    statuses: frozenset[str] | None
    aggregate: Aggregate | None
    source: str
    sha256: str
    text: str = field(repr=False)
    scrub_tokens: str = "record"
    ner: bool = False
    review: str = "none"
    review_by_exporters: bool = False
    # What the recipient may pass on, carried in the signed manifest (deny by default).
    onward: Terms = field(default_factory=Terms)
    # Statistics under this policy suppress cells counting fewer people than this.
    stats_threshold: int = DEFAULT_STATS_THRESHOLD
    # What an export under this policy carries: always jsonl, then csv and report.
    formats: tuple[str, ...] = ("jsonl",)

    def narrowed(
        self,
        *,
        sites: Iterable[str] = (),
        countries: Iterable[str] = (),
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Policy:
        """This policy with its filters narrowed for one export: only these sites,
        countries and dates, within what the policy itself lets through (never
        wider). The text and its hash stay the policy's own."""
        site_set = frozenset(sites) or None
        country_set = frozenset(countries) or None
        return dataclasses.replace(
            self,
            sites=_meet(self.sites, site_set),
            countries=_meet(self.countries, country_set),
            date_from=max((d for d in (self.date_from, since) if d), default=None),
            date_to=min((d for d in (self.date_to, until) if d), default=None),
        )

    def needs_identity(self) -> bool:
        """Whether an export under this policy opens workers' identity fields: to
        pseudonymize one, or to scrub free text of the identity terms the vault knows
        (scrubbing anywhere reads the testimonies of the sites it scrubs)."""
        if self.aggregate is not None:
            return False
        if any(
            a.kind == "scrub"
            for rules in self.types.values()
            for a in (*rules.rules.values(), *rules.high_risk.values())
        ):
            return True
        rules = self.types.get("testimony")
        return rules is not None and any(
            rules.action_for("testimony", path, high_risk=high).kind != "drop"
            for path, spec in FIELDS["testimony"].items()
            if spec.sensitivity is Sensitivity.IDENTITY
            for high in (False, True)
        )

    def key_classes(self) -> frozenset[str]:
        """The key classes an export under this policy opens, and so those an exporter
        granted it must hold: operational always; the class of every field a rule
        lets out in any form; identity where :meth:`needs_identity` says; narrative
        where evidence files may leave (their keys are of that class)."""
        classes = {"operational"}
        if self.aggregate is not None:
            return frozenset(classes)
        for rtype, rules in self.types.items():
            for path, spec in FIELDS[rtype].items():
                if spec.kind != "group" and any(
                    rules.action_for(rtype, path, high_risk=high).kind != "drop"
                    for high in (False, True)
                ):
                    classes.add(spec.key_class.value)
            if rules.attachments.any_leave() or rules.high_risk_attachments.any_leave():
                classes.add("narrative")
        if self.needs_identity():
            classes.add("identity")
        return frozenset(classes)

    def explain(self) -> list[str]:
        """Field by field, what the policy does: for `evault policy explain`."""
        out = [f"policy {self.name} (audience: {self.audience}; sha256 {self.sha256[:16]}…)"]
        out.append(
            "  scrubbed names are numbered "
            + (
                "consistently across the whole export"
                if self.scrub_tokens == "export"
                else "afresh in each record (no link between records)"
            )
        )
        out.append(
            "  free text leaves "
            + {
                "required": "only once a custodian has reviewed it (else it is withheld)",
                "flagged": "unreviewed only when the scrubber flags no risk cue in it",
                "none": "as the scrubber leaves it, without review",
            }[self.review]
        )
        if self.ner:
            out.append(
                "  free text also goes through the named-entity pass (people and small "
                "places, for the languages whose model is installed)"
            )
        out.append(f"  onward: {self.onward.describe()}")
        if self.description:
            out.append(f"  {self.description}")
        out.append(
            "  an exporter granted it needs the classes: " + ", ".join(sorted(self.key_classes()))
        )
        out.append("  default: every field not named below is dropped")
        gates = [
            "consent: testimonies only if consent.share_with covers "
            f"{self.audience!r} and consent is not withdrawn"
        ]
        if self.k_anonymity:
            ka = self.k_anonymity
            gates.append(
                f"k-anonymity: k={ka.k} over {', '.join(ka.quasi_identifiers)}; smaller "
                f"groups are generalized further or suppressed (at most "
                f"{ka.max_suppression:.0%} suppressed before coarsening)"
            )
        for label, value in (
            ("sites", self.sites),
            ("countries", self.countries),
            ("finding status", self.statuses),
        ):
            if value:
                gates.append(f"only {label}: {', '.join(sorted(value))}")
        if self.date_from or self.date_to:
            gates.append(f"dates from {self.date_from or '…'} to {self.date_to or '…'}")
        out += [f"  gate: {g}" for g in gates]
        out.append(
            f"  statistics: cells counting fewer than {self.stats_threshold} people are "
            "suppressed, and others with them so that no total gives one back"
        )
        if self.aggregate:
            out.append(
                f"  output: counts only, by {', '.join(self.aggregate.by)}; cells of "
                f"{self.aggregate.suppress_at_or_below} or fewer are suppressed"
            )
            return out
        for rtype in RECORD_TYPES:
            rules = self.types.get(rtype)
            if rules is None:
                out.append(f"  {rtype}: not exported")
                continue
            out.append(f"  {rtype}:")
            for path, spec in FIELDS[rtype].items():
                if spec.kind == "group" or path == "type":
                    continue
                action = rules.action_for(rtype, path)
                line = f"    {path:<24} {spec.sensitivity.value:<12} {_describe(spec, action)}"
                if rules.high_risk:
                    risky = rules.action_for(rtype, path, high_risk=True)
                    if risky != action:
                        line += f"; if retaliation risk is high: {_describe(spec, risky)}"
                out.append(line)
            testimony = rtype == "testimony"
            for line in rules.attachments.describe(testimony=testimony):
                out.append(f"    {'(attachments)':<24} {'files':<12} {line}")
            if testimony and (
                rules.attachments.any_leave() or rules.high_risk_attachments.any_leave()
            ):
                for line in rules.high_risk_attachments.describe(testimony=True):
                    out.append(
                        f"    {'(attachments)':<24} {'files':<12} "
                        f"if retaliation risk is high: {line}"
                    )
        return out


def _describe(spec: FieldSpec, action: Action) -> str:
    if spec.kind == "geo" and action.kind == "generalize":
        return f"generalize to a grid of {action.param:g} degrees (the cell's centre)"
    return action.describe()


class _Loader(yaml.SafeLoader):
    """The safe loader; we walk its node tree ourselves to keep line numbers."""


def _err(source: str, node: yaml.Node | None, key: str, message: str) -> InvalidInputError:
    line = f":line {node.start_mark.line + 1}" if node is not None else ""
    return InvalidInputError(f"{key}: {message}" if key else message, where=f"{source}{line}")


def _mapping(source: str, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        raise _err(source, node, key, "is empty; a policy must say what it exports")
    if not isinstance(node, yaml.MappingNode):
        raise _err(source, node, key, "must be a mapping")
    out: list[tuple[str, yaml.Node, yaml.Node]] = []
    seen: set[str] = set()
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise _err(source, k, key, "keys must be plain names")
        if k.value in seen:
            raise _err(source, k, f"{key}.{k.value}" if key else k.value, "appears twice")
        seen.add(k.value)
        out.append((k.value, k, v))
    return out


def _scalar(source: str, node: yaml.Node, key: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise _err(source, node, key, "must be a single value")
    # The safe constructor turns the node into int, float, bool, date or str, and
    # refuses any other tag (no object is ever built from a policy file).
    try:
        return _Loader("").construct_object(node)
    except yaml.YAMLError:
        raise _err(source, node, key, "malformed YAML value (unsupported tag)") from None


def _string(source: str, node: yaml.Node, key: str) -> str:
    value = _scalar(source, node, key)
    if not isinstance(value, str) or not value.strip():
        raise _err(source, node, key, "must be a non-empty string")
    return value


def _string_list(source: str, node: yaml.Node, key: str) -> list[str]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise _err(source, node, key, "must be a non-empty list")
    return [_string(source, item, key) for item in node.value]


def _date(source: str, node: yaml.Node, key: str) -> dt.date:
    value = _scalar(source, node, key)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _err(source, node, key, "must be a date YYYY-MM-DD") from None


def _action(source: str, rtype: str, path: str, node: yaml.Node, key: str) -> Action:
    if isinstance(node, yaml.ScalarNode):
        name = _scalar(source, node, key)
        if name in ("keep", "drop"):
            return Action(name)
        if name == "scrub":
            return _check_action(source, rtype, path, Action("scrub"), node, key)
        if name in ("mask", "pseudonymize", "generalize"):
            raise _err(source, node, key, f"{name!r} needs a parameter, e.g. {{{name}: …}}")
        raise _err(source, node, key, f"unknown action {name!r}; use one of {', '.join(ACTIONS)}")
    items = _mapping(source, node, key)
    if len(items) != 1:
        raise _err(source, node, key, "a rule is one action")
    name, knode, vnode = items[0]
    if name not in ACTIONS:
        raise _err(source, knode, key, f"unknown action {name!r}; use one of {', '.join(ACTIONS)}")
    param = _scalar(source, vnode, f"{key}.{name}")
    return _check_action(source, rtype, path, Action(name, param), vnode, key)


def _check_action(
    source: str, rtype: str, path: str, action: Action, node: yaml.Node, key: str
) -> Action:
    kind, param = action.kind, action.param
    specs = FIELDS[rtype]
    targets = (
        [p for p, s in specs.items() if s.sensitivity.value == path and s.kind != "group"]
        if path in CLASS_NAMES
        else [path]
    )
    if kind == "mask":
        if isinstance(param, bool) or not isinstance(param, int) or not 0 <= param <= 8:
            raise _err(source, node, key, "mask keeps 0 to 8 trailing characters")
        for target in targets:
            if specs[target].kind not in ("text", "id"):
                raise _err(source, node, key, f"mask applies to short text, not {target!r}")
    elif kind == "pseudonymize":
        if param not in ("recipient", "export"):
            raise _err(source, node, key, "pseudonymize scope is 'recipient' or 'export'")
        for target in targets:
            if specs[target].kind not in ("text", "id", "ids"):
                raise _err(
                    source, node, key, f"pseudonymize applies to ids and short text, not {target!r}"
                )
    elif kind == "scrub":
        if param is not None and (
            isinstance(param, bool) or not isinstance(param, int) or param < 20
        ):
            raise _err(source, node, key, "scrub takes a maximum length of 20 or more")
        for target in targets:
            if target not in TEXT_FIELDS:
                raise _err(source, node, key, f"scrub applies to free text, not {target!r}")
    elif kind == "generalize":
        for target in targets:
            spec = specs[target]
            if target.endswith("birth_year"):
                ok = param in (5, 10, 20)
                hint = "a band of 5, 10 or 20 years"
            elif spec.kind == "date":
                ok = param in DATE_LEVELS
                hint = "month, quarter or year"
            elif target == "site_id":
                ok = param in SITE_LEVELS
                hint = "region or country"
            elif spec.kind == "geo":
                ok = not isinstance(param, bool) and param in GRID_DEGREES
                hint = "a grid of 0.1, 0.5, 1 or 5 degrees"
            else:
                raise _err(source, node, key, f"{target!r} cannot be generalized")
            if not ok:
                raise _err(source, node, key, f"generalize {target!r} to {hint}")
    return action


def _file_action(source: str, node: yaml.Node, key: str) -> str:
    value = _scalar(source, node, key)
    if value == "strip":
        raise _err(
            source,
            node,
            key,
            "'strip' is now 'rebuild': files are rebuilt from their content, not stripped",
        )
    if value not in FILE_ACTIONS:
        raise _err(source, node, key, f"must be {', '.join(FILE_ACTIONS[:-1])} or original")
    return str(value)


def _file_rules(source: str, node: yaml.Node, key: str) -> FileRules:
    """``attachments``: one action for images and documents, or one per kind."""
    if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":null"):
        action = _file_action(source, node, key)
        return FileRules(dict.fromkeys(SHORT_FORM_KINDS, action))
    entries = _mapping(source, node, key)
    if not entries:
        raise _err(source, node, key, "is empty; name a kind of file, or say drop")
    actions: dict[str, str] = {}
    for kind, knode, vnode in entries:
        sub = f"{key}.{kind}"
        if kind not in FILE_KINDS:
            raise _err(source, knode, sub, f"unknown kind of file; use {', '.join(FILE_KINDS)}")
        action = _file_action(source, vnode, sub)
        if action == "rebuild" and kind not in REBUILDABLE:
            raise _err(source, vnode, sub, f"{kind} cannot be rebuilt; use drop or original")
        actions[kind] = action
    return FileRules(actions)


def _type_rules(source: str, rtype: str, node: yaml.Node, key: str) -> TypeRules:
    rules: dict[str, Action] = {}
    high_risk: dict[str, Action] = {}
    files = FileRules()
    high_risk_files = FileRules()
    for name, knode, vnode in _mapping(source, node, key):
        sub = f"{key}.{name}"
        if name == "attachments":
            files = _file_rules(source, vnode, sub)
            continue
        if name == "high_risk" and rtype != "testimony":
            raise _err(source, knode, sub, "only testimonies carry a retaliation risk")
        if name not in ("rules", "high_risk"):
            raise _err(source, knode, sub, "unknown key; use rules, high_risk or attachments")
        target = rules if name == "rules" else high_risk
        entries = _mapping(source, vnode, sub)
        if not entries:
            raise _err(source, vnode, sub, "is empty; a policy must say what it exports")
        for path, pnode, anode in entries:
            psub = f"{sub}.{path}"
            if name == "high_risk" and path == "attachments":
                high_risk_files = _file_rules(source, anode, psub)
                continue
            spec = FIELDS[rtype].get(path)
            if path not in CLASS_NAMES and (spec is None or spec.kind == "group"):
                raise _err(source, pnode, psub, f"unknown field or class for {rtype}")
            if path == "type":
                raise _err(source, pnode, psub, "the record type is always exported")
            target[path] = _action(source, rtype, path, anode, psub)
    if not rules:
        raise _err(source, node, key, "needs rules")
    return TypeRules(rules, high_risk, files, high_risk_files)


def parse_policy(text: str, source: str) -> Policy:
    """Validate policy text; errors name ``source``, the line and the key."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"malformed YAML: {exc.problem}", where=f"{source}{line}") from None
    except yaml.YAMLError:
        raise InvalidInputError("malformed YAML", where=source) from None
    if root is None:
        raise InvalidInputError(
            "the policy is empty; an empty policy exports nothing and is refused", where=source
        )
    top = {name: (knode, vnode) for name, knode, vnode in _mapping(source, root, "")}
    for name, (knode, _v) in top.items():
        if name not in _TOP_KEYS:
            raise _err(source, knode, name, f"unknown key; use {', '.join(sorted(_TOP_KEYS))}")
    for required in ("policy", "audience"):
        if required not in top:
            raise _err(source, root, required, "is required")
    name = _string(source, top["policy"][1], "policy")
    audience = _string(source, top["audience"][1], "audience")
    if audience not in AUDIENCES:
        raise _err(source, top["audience"][1], "audience", f"must be one of {', '.join(AUDIENCES)}")
    description = (
        _string(source, top["description"][1], "description") if "description" in top else ""
    )

    if ("records" in top) == ("aggregate" in top):
        raise _err(source, root, "records", "a policy has either records or aggregate")
    types: dict[str, TypeRules] = {}
    if "records" in top:
        for rtype, knode, vnode in _mapping(source, top["records"][1], "records"):
            if rtype not in RECORD_TYPES:
                raise _err(source, knode, f"records.{rtype}", "unknown record type")
            types[rtype] = _type_rules(source, rtype, vnode, f"records.{rtype}")
        if not types:
            raise _err(source, top["records"][1], "records", "is empty")

    ka = None
    if "k_anonymity" in top:
        ka = _k_anonymity(source, top["k_anonymity"][1], types)
    elif "testimony" in types:
        raise _err(
            source,
            root,
            "k_anonymity",
            "is required when testimonies are exported (default k is 5)",
        )

    filters = _filters(source, top["filters"][1]) if "filters" in top else {}
    statuses = _statuses(source, filters)
    agg = None
    if "aggregate" in top:
        agg = _aggregate(source, top["aggregate"][1])
    scrub_tokens, ner = _scrub_options(source, top)
    review, review_by_exporters = _review_options(source, top, audience)
    onward = _onward(source, top["onward"][1], audience) if "onward" in top else Terms()
    threshold = max(
        DEFAULT_STATS_THRESHOLD,
        ka.k if ka else 0,
        agg.suppress_at_or_below + 1 if agg else 0,
    )
    if "stats" in top:
        threshold = _stats(source, top["stats"][1])
        if ka is not None and threshold < ka.k:
            raise _err(
                source,
                top["stats"][1],
                "stats.threshold",
                f"must be at least k_anonymity.k ({ka.k}): statistics are never less "
                "cautious than the policy's records",
            )
    _check_floor(source, top, audience, types, ka)
    return Policy(
        name=name,
        audience=audience,
        description=description,
        types=types,
        k_anonymity=ka,
        sites=frozenset(_string_list(source, filters["sites"][1], "filters.sites"))
        if "sites" in filters
        else None,
        countries=frozenset(_string_list(source, filters["countries"][1], "filters.countries"))
        if "countries" in filters
        else None,
        date_from=_date(source, filters["from"][1], "filters.from") if "from" in filters else None,
        date_to=_date(source, filters["to"][1], "filters.to") if "to" in filters else None,
        statuses=statuses,
        aggregate=agg,
        source=source,
        sha256=crypto.sha256(text.encode("utf-8")).hex(),
        text=text,
        scrub_tokens=scrub_tokens,
        ner=ner,
        review=review,
        review_by_exporters=review_by_exporters,
        onward=onward,
        stats_threshold=threshold,
        formats=_formats(source, top["formats"][1]) if "formats" in top else ("jsonl",),
    )


def _formats(source: str, node: yaml.Node) -> tuple[str, ...]:
    names = _string_list(source, node, "formats")
    for name in names:
        if name not in EXPORT_FORMATS:
            raise _err(source, node, "formats", f"use {', '.join(EXPORT_FORMATS)}")
    if "jsonl" not in names:
        raise _err(source, node, "formats", "must include jsonl (records.jsonl is the export)")
    if len(set(names)) != len(names):
        raise _err(source, node, "formats", "names a format twice")
    return tuple(n for n in EXPORT_FORMATS if n in names)


def _meet(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def _scrub_options(source: str, top: Mapping[str, tuple[yaml.Node, yaml.Node]]) -> tuple[str, bool]:
    scrub_tokens = "record"
    if "scrub_tokens" in top:
        scrub_tokens = _string(source, top["scrub_tokens"][1], "scrub_tokens")
        if scrub_tokens not in ("record", "export"):
            raise _err(source, top["scrub_tokens"][1], "scrub_tokens", "must be record or export")
    ner = False
    if "ner" in top:
        ner = _scalar(source, top["ner"][1], "ner")
        if not isinstance(ner, bool):
            raise _err(source, top["ner"][1], "ner", "must be true or false")
    return scrub_tokens, ner


def _onward(source: str, node: yaml.Node, audience: str) -> Terms:
    """``none``, ``same-audience`` or ``{audiences: [...]}`` (see :mod:`vault.terms`)."""
    if isinstance(node, yaml.MappingNode):
        listed: list[str] = []
        for key, knode, vnode in _mapping(source, node, "onward"):
            if key != "audiences":
                raise _err(source, knode, f"onward.{key}", "unknown key; use audiences")
            listed = _string_list(source, vnode, "onward.audiences")
            for name in listed:
                if name not in AUDIENCES:
                    raise _err(
                        source, vnode, "onward.audiences", f"must be among {', '.join(AUDIENCES)}"
                    )
        if not listed:
            raise _err(source, node, "onward.audiences", "is required")
        return Terms.resolve("audiences", listed, audience)
    kind = _string(source, node, "onward")
    if kind not in ("none", "same-audience"):
        raise _err(source, node, "onward", "must be none, same-audience or {audiences: [...]}")
    return Terms.resolve(kind, (), audience)


def _review_options(
    source: str, top: Mapping[str, tuple[yaml.Node, yaml.Node]], audience: str
) -> tuple[str, bool]:
    review = _REVIEW_DEFAULT.get(audience, "required")
    if "review" in top:
        review = _string(source, top["review"][1], "review")
        if review not in REVIEW_MODES:
            raise _err(
                source, top["review"][1], "review", f"must be one of {', '.join(REVIEW_MODES)}"
            )
    by_exporters = False
    if "review_by_exporters" in top:
        by_exporters = _scalar(source, top["review_by_exporters"][1], "review_by_exporters")
        if not isinstance(by_exporters, bool):
            raise _err(
                source,
                top["review_by_exporters"][1],
                "review_by_exporters",
                "must be true or false",
            )
    return review, by_exporters


def _check_floor(
    source: str,
    top: Mapping[str, tuple[yaml.Node, yaml.Node]],
    audience: str,
    types: Mapping[str, TypeRules],
    ka: KAnonymity | None,
) -> None:
    """What no policy may do, whatever it says: the floor under every audience."""
    where = top["records"][1] if "records" in top else None
    for rtype, type_rules in types.items():
        for high, table in (
            (False, type_rules.attachments),
            (True, type_rules.high_risk_attachments),
        ):
            originals = [k for k in FILE_KINDS if table.action(k) == "original"]
            if originals and audience not in ("union", "monitor"):
                where_key = f"records.{rtype}.{'high_risk.' if high else ''}attachments"
                raise _err(
                    source,
                    where,
                    f"{where_key}.{originals[0]}",
                    "original files go only to the union and the monitor; use rebuild or drop",
                )
    # Identity never leaves, whatever the record type: a type added later is covered
    # (testimonies are checked below, together with their quasi-identifiers).
    for rtype, type_rules in types.items():
        if rtype == "testimony":
            continue
        for path, spec in FIELDS[rtype].items():
            if spec.sensitivity is not Sensitivity.IDENTITY or spec.kind == "group":
                continue
            if type_rules.action_for(rtype, path).kind in ("keep", "mask"):
                raise _err(
                    source,
                    where,
                    f"records.{rtype}.rules.{path}",
                    "identity fields may only be dropped or pseudonymized",
                )
    rules = types.get("testimony")
    if rules is None:
        return
    if audience == "public":
        raise _err(
            source,
            where,
            "records.testimony",
            "the public audience receives testimonies only as aggregate counts",
        )
    quasi = set(ka.quasi_identifiers) if ka else set()
    for path, spec in FIELDS["testimony"].items():
        if spec.kind == "group":
            continue
        for high in (False, True):
            action = rules.action_for("testimony", path, high_risk=high)
            if spec.sensitivity is Sensitivity.IDENTITY and action.kind in ("keep", "mask"):
                raise _err(
                    source,
                    where,
                    f"records.testimony.rules.{path}",
                    "identity fields may only be dropped or pseudonymized",
                )
            if spec.kind == "geo" and action.kind != "drop" and path not in quasi:
                raise _err(
                    source,
                    where,
                    f"records.testimony.rules.{path}",
                    "a generalized location must be listed in k_anonymity.quasi_identifiers",
                )
            if (
                spec.sensitivity is Sensitivity.QUASI
                and action.kind != "drop"
                and path not in quasi
            ):
                raise _err(
                    source,
                    where,
                    f"records.testimony.rules.{path}",
                    "an exported quasi-identifier must be listed in k_anonymity.quasi_identifiers",
                )


def _filters(source: str, node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    filters = {n: (k, v) for n, k, v in _mapping(source, node, "filters")}
    for fname, (knode, _v) in filters.items():
        if fname not in ("sites", "countries", "from", "to", "status"):
            raise _err(
                source,
                knode,
                f"filters.{fname}",
                "unknown filter; use sites, countries, from, to or status",
            )
    return filters


def _statuses(
    source: str, filters: Mapping[str, tuple[yaml.Node, yaml.Node]]
) -> frozenset[str] | None:
    if "status" not in filters:
        return None
    node = filters["status"][1]
    statuses = frozenset(_string_list(source, node, "filters.status"))
    for status in statuses:
        if status not in STATUSES:
            raise _err(source, node, "filters.status", f"unknown status {status!r}")
    return statuses


def _k_anonymity(source: str, node: yaml.Node, types: Mapping[str, TypeRules]) -> KAnonymity:
    items = {n: (k, v) for n, k, v in _mapping(source, node, "k_anonymity")}
    for name, (knode, _v) in items.items():
        if name not in ("k", "quasi_identifiers", "max_suppression"):
            raise _err(source, knode, f"k_anonymity.{name}", "unknown key")
    k = 5
    if "k" in items:
        k = _scalar(source, items["k"][1], "k_anonymity.k")
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise _err(source, items["k"][1], "k_anonymity.k", "must be an integer of 2 or more")
    if "quasi_identifiers" not in items:
        raise _err(source, node, "k_anonymity.quasi_identifiers", "is required")
    qnode = items["quasi_identifiers"][1]
    quasi = _string_list(source, qnode, "k_anonymity.quasi_identifiers")
    for q in quasi:
        spec = FIELDS["testimony"].get(q)
        # A location is identity, but once generalized to a grid it is a quasi-identifier.
        if spec is None or (spec.sensitivity is not Sensitivity.QUASI and spec.kind != "geo"):
            raise _err(
                source,
                qnode,
                "k_anonymity.quasi_identifiers",
                f"{q!r} is not a quasi-identifier of a testimony",
            )
    max_sup = 0.2
    if "max_suppression" in items:
        max_sup = _scalar(source, items["max_suppression"][1], "k_anonymity.max_suppression")
        if (
            isinstance(max_sup, bool)
            or not isinstance(max_sup, (int, float))
            or not 0 <= max_sup <= 1
        ):
            raise _err(
                source,
                items["max_suppression"][1],
                "k_anonymity.max_suppression",
                "must be a fraction between 0 and 1",
            )
    return KAnonymity(k, tuple(quasi), float(max_sup))


def _aggregate(source: str, node: yaml.Node) -> Aggregate:
    items = {n: (k, v) for n, k, v in _mapping(source, node, "aggregate")}
    for name, (knode, _v) in items.items():
        if name not in ("by", "suppress_at_or_below"):
            raise _err(source, knode, f"aggregate.{name}", "unknown key")
    if "by" not in items:
        raise _err(source, node, "aggregate.by", "is required")
    by = _string_list(source, items["by"][1], "aggregate.by")
    for key in by:
        if key not in AGGREGATE_KEYS:
            raise _err(
                source,
                items["by"][1],
                "aggregate.by",
                f"unknown dimension {key!r}; use {', '.join(AGGREGATE_KEYS)}",
            )
    threshold = 3
    if "suppress_at_or_below" in items:
        threshold = _scalar(
            source, items["suppress_at_or_below"][1], "aggregate.suppress_at_or_below"
        )
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise _err(
                source,
                items["suppress_at_or_below"][1],
                "aggregate.suppress_at_or_below",
                "must be an integer of 1 or more",
            )
    return Aggregate(tuple(by), threshold)


def _stats(source: str, node: yaml.Node) -> int:
    items = {n: (k, v) for n, k, v in _mapping(source, node, "stats")}
    for name, (knode, _v) in items.items():
        if name != "threshold":
            raise _err(source, knode, f"stats.{name}", "unknown key; use threshold")
    if "threshold" not in items:
        raise _err(source, node, "stats.threshold", "is required")
    vnode = items["threshold"][1]
    threshold = _scalar(source, vnode, "stats.threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 2 <= threshold <= 1000:
        raise _err(source, vnode, "stats.threshold", "must be an integer from 2 to 1000")
    return threshold


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=str(p)) from None
    if len(raw) > 1_000_000:
        raise InvalidInputError("policy file larger than 1 MB", where=str(p))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=str(p)) from None
    policy = parse_policy(text, str(p))
    if p.suffix in (".yaml", ".yml") and p.stem != policy.name:
        raise InvalidInputError(
            f"policy: the name {policy.name!r} does not match the file name {p.name!r}",
            where=str(p),
        )
    return policy


def shipped_policies() -> dict[str, str]:
    """Names and texts of the policies shipped with Evidence Vault."""
    folder = resources.files("vault.shipped_policies")
    return {
        entry.name.removesuffix(".yaml"): entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def policy_names(extra_dirs: tuple[Path, ...] = ()) -> list[str]:
    """Every name :func:`find_policy` may find: the shipped policies' and the
    ``NAME.yaml`` files in ``extra_dirs`` (for listings and shell completion)."""
    names = set(shipped_policies())
    for folder in extra_dirs:
        if folder.is_dir():
            names.update(path.stem for path in folder.glob("*.yaml"))
    return sorted(names)


def find_policy(name_or_path: str | os.PathLike[str], extra_dirs: tuple[Path, ...] = ()) -> Policy:
    """A policy by file path, by name in ``extra_dirs``, or by shipped name.

    A file in ``extra_dirs`` that has the name of a shipped policy (in any case) is
    refused, neither used nor passed over: whoever can write those folders must not
    decide unseen what a shipped name exports, nor its author believe it in force.
    Named by its path, such a file is an explicit choice and is used.
    """
    if not isinstance(name_or_path, str | os.PathLike) or not os.fspath(name_or_path):
        raise UsageError("a policy is named by a non-empty name or path")
    name = os.fspath(name_or_path)
    candidate = Path(name)
    # A bare name is only ever a name: a stray file called "union" in the working
    # folder must not stand in for the shipped policy.
    if candidate.suffix in (".yaml", ".yml") or os.sep in name:
        return load_policy(candidate)
    shipped = shipped_policies()
    for folder in extra_dirs:
        path = folder / f"{name}.yaml"
        if path.is_file():
            _refuse_shadow(path, shipped)
            return load_policy(path)
    if name in shipped:
        return parse_policy(shipped[name], f"policies/{name}.yaml")
    raise NotFoundError(f"no policy {name!r}; shipped policies: {', '.join(sorted(shipped))}")


def check_policy_dirs(extra_dirs: tuple[Path, ...]) -> None:
    """Refuse folders of policies that hold a file named like a shipped policy (see
    :func:`find_policy`), so that a server refuses them when it starts."""
    shipped = shipped_policies()
    for folder in extra_dirs:
        for path in sorted(folder.glob("*.yaml")):
            _refuse_shadow(path, shipped)


def _refuse_shadow(path: Path, shipped: Mapping[str, str]) -> None:
    folded = {name.casefold(): name for name in shipped}
    name = folded.get(path.stem.casefold())
    if name is not None:
        raise InvalidInputError(
            f"policy: has the name of the shipped policy {name!r}; "
            "rename it, or name it by its path to use it",
            where=str(path),
        )
