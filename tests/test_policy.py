"""Policy files: every malformed variant gives one clear error with line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vault import InvalidInputError, NotFoundError
from vault.policy import find_policy, load_policy, parse_policy, shipped_policies
from vault.schema import FIELDS

BASE = """\
policy: t
audience: union
k_anonymity:
  k: 5
  quasi_identifiers: [site_id]
records:
  testimony:
    rules:
      id: keep
"""


def _err(text: str) -> str:
    with pytest.raises(InvalidInputError) as err:
        parse_policy(textwrap.dedent(text), "t.yaml")
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the policy is empty"),
        ("# only a comment\n", "the policy is empty"),
        ("policy: [unclosed\n", "t.yaml:line 2: malformed YAML"),
        ("- a list\n", "must be a mapping"),
        ("policy: t\naudience: union\nrecords: {}\n", "records: is empty"),
        ("policy: t\nrecords:\n  site: {rules: {id: keep}}\n", "audience: is required"),
        ("audience: union\nrecords:\n  site: {rules: {id: keep}}\n", "policy: is required"),
        (
            "policy: t\naudience: everyone\nrecords:\n  site: {rules: {id: keep}}\n",
            "t.yaml:line 2: audience: must be one of",
        ),
        ("policy: t\naudience: union\n", "either records or aggregate"),
        (BASE + "colour: red\n", "t.yaml:line 10: colour: unknown key"),
        (BASE + "policy: again\n", "t.yaml:line 10: policy: appears twice"),
        (BASE.replace("testimony", "rumour"), "t.yaml:line 7: records.rumour: unknown record type"),
        (BASE.replace("      id: keep\n", ""), "records.testimony.rules: is empty"),
        (BASE.replace("rules:\n      id: keep", "rules: {}"), "records.testimony.rules: is empty"),
        (
            BASE.replace("id: keep", "mood: keep"),
            "t.yaml:line 9: records.testimony.rules.mood: unknown field or class",
        ),
        (
            BASE.replace("id: keep", "worker: keep"),
            "records.testimony.rules.worker: unknown field or class",
        ),
        (BASE.replace("id: keep", "type: keep"), "the record type is always exported"),
        (
            BASE.replace("id: keep", "id: allow"),
            "t.yaml:line 9: records.testimony.rules.id: unknown action 'allow'",
        ),
        (BASE.replace("id: keep", "id:"), "unknown action None"),
        (BASE.replace("id: keep", "id: mask"), "'mask' needs a parameter"),
        (BASE.replace("id: keep", "id: {mask: 99}"), "mask keeps 0 to 8"),
        (BASE.replace("id: keep", "id: {mask: 2, keep: 1}"), "a rule is one action"),
        (BASE.replace("id: keep", "id: {pseudonymize: forever}"), "pseudonymize scope"),
        (BASE.replace("id: keep", "worker.migrant: {mask: 2}"), "mask applies to short text"),
        (
            BASE.replace("id: keep", "narrative: {pseudonymize: export}"),
            "pseudonymize applies to ids",
        ),
        (BASE.replace("id: keep", "worker.gender: {generalize: 5}"), "cannot be generalized"),
        (BASE.replace("id: keep", "worker.birth_year: {generalize: 7}"), "a band of 5, 10 or 20"),
        (BASE.replace("id: keep", "received_on: {generalize: week}"), "month, quarter or year"),
        (BASE.replace("id: keep", "site_id: {generalize: planet}"), "region or country"),
        (BASE.replace("id: keep", "id: scrub"), "scrub applies to free text"),
        (BASE.replace("id: keep", "narrative: {scrub: 5}"), "maximum length of 20"),
        (BASE.replace("id: keep", "identity: {generalize: year}"), "cannot be generalized"),
        (
            BASE.replace(
                "testimony:\n    rules:", "finding:\n    high_risk: {summary: drop}\n    rules:"
            ).replace("id: keep", "id: keep"),
            "only testimonies carry",
        ),
        (
            BASE.replace("    rules:\n", "    regulations:\n"),
            "unknown key; use rules, high_risk or attachments",
        ),
        (BASE.replace("k: 5", "k: 1"), "k_anonymity.k: must be an integer of 2 or more"),
        (BASE.replace("k: 5", "k: five"), "k_anonymity.k: must be an integer"),
        (BASE.replace("[site_id]", "[worker.name]"), "is not a quasi-identifier"),
        (BASE.replace("[site_id]", "[]"), "must be a non-empty list"),
        (BASE.replace("  k: 5\n", "  k: 5\n  max_suppression: 2\n"), "fraction between 0 and 1"),
        (
            BASE.replace("k_anonymity:\n  k: 5\n  quasi_identifiers: [site_id]\n", ""),
            "k_anonymity: is required when testimonies",
        ),
        (BASE + "filters:\n  status: [closed]\n", "unknown status 'closed'"),
        (BASE + "filters:\n  from: yesterday\n", "filters.from: must be a date"),
        (BASE + "filters:\n  planet: mars\n", "unknown filter"),
        ("policy: t\naudience: public\naggregate:\n  by: [colour]\n", "unknown dimension 'colour'"),
        (
            "policy: t\naudience: public\naggregate:\n  by: [type]\n  suppress_at_or_below: 0\n",
            "1 or more",
        ),
        (
            "policy: t\naudience: public\naggregate:\n  suppress_at_or_below: 3\n",
            "aggregate.by: is required",
        ),
        (
            "policy: t\naudience: public\naggregate: {by: [type]}\nrecords:\n  site: {rules: {id: keep}}\n",
            "either records or aggregate",
        ),
        ("policy: !!python/object:os.system ls\naudience: union\n", "malformed YAML"),
    ],
)
def test_malformed_policies(text: str, expected: str) -> None:
    message = _err(text)
    assert expected in message
    assert message.startswith("t.yaml")


def test_errors_never_echo_a_whole_file() -> None:
    message = _err(BASE.replace("id: keep", "id: allow"))
    assert "\n" not in message


def test_file_errors(tmp_path: Path) -> None:
    wrong_name = tmp_path / "other.yaml"
    wrong_name.write_text(BASE, encoding="utf-8")
    with pytest.raises(InvalidInputError, match="does not match the file name"):
        load_policy(wrong_name)
    binary = tmp_path / "t.yaml"
    binary.write_bytes(b"policy: t\n\xff\xfe")
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        load_policy(binary)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(NotFoundError, match="shipped policies: buyers, monitor, public, union"):
        find_policy("nonexistent")


@pytest.mark.parametrize("name", ["union", "monitor", "buyers", "public"])
def test_shipped_policies_are_valid_and_explain_themselves(name: str) -> None:
    text = shipped_policies()[name]
    assert text.lstrip().startswith("#"), "each shipped policy explains itself in comments"
    policy = find_policy(name)
    assert policy.name == name
    assert policy.audience == name
    lines = "\n".join(policy.explain())
    if policy.aggregate is None:
        for rtype, specs in FIELDS.items():
            if rtype in policy.types:
                for path, spec in specs.items():
                    if spec.kind != "group" and path != "type":
                        assert f"    {path} " in lines, (rtype, path)


def test_shipped_policies_never_export_identity() -> None:
    for name in shipped_policies():
        policy = find_policy(name)
        rules = policy.types.get("testimony")
        if rules is None:
            continue
        for path, spec in FIELDS["testimony"].items():
            if spec.sensitivity.value == "identity":
                for high in (False, True):
                    assert rules.action_for("testimony", path, high_risk=high).kind == "drop", (
                        name,
                        path,
                    )


def test_shipped_policies_tighten_for_high_risk() -> None:
    for name in ("union", "monitor", "buyers"):
        rules = find_policy(name).types["testimony"]
        assert rules.action_for("testimony", "narrative", high_risk=True).kind == "drop"
        assert rules.action_for("testimony", "narrative").kind == "scrub"


def test_field_rule_wins_over_class_rule() -> None:
    policy = parse_policy(
        BASE.replace("id: keep", "id: keep\n      operational: drop\n      channel: keep"), "t.yaml"
    )
    rules = policy.types["testimony"]
    assert rules.action_for("testimony", "channel").kind == "keep"
    assert rules.action_for("testimony", "language").kind == "drop"
    assert rules.action_for("testimony", "narrative").kind == "drop"  # named by nothing


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("worker.name: keep", "identity fields may only be dropped or pseudonymized"),
        ("worker.phone: {mask: 4}", "identity fields may only be dropped or pseudonymized"),
        ("identity: keep", "identity fields may only be dropped or pseudonymized"),
        ("worker.job_title: keep", "must be listed in k_anonymity.quasi_identifiers"),
        ("quasi: keep", "must be listed in k_anonymity.quasi_identifiers"),
    ],
)
def test_the_floor_under_every_policy(rules: str, expected: str) -> None:
    assert expected in _err(BASE.replace("id: keep", f"id: keep\n      {rules}"))


def test_public_audience_gets_testimonies_only_as_counts() -> None:
    assert "only as aggregate counts" in _err(BASE.replace("audience: union", "audience: public"))
    findings_only = "policy: t\naudience: public\nrecords:\n  finding: {rules: {status: keep}}\n"
    assert parse_policy(findings_only, "t.yaml").audience == "public"


def test_a_bare_name_never_loads_a_stray_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "union").write_text(
        "policy: union\naudience: union\nrecords:\n  site: {rules: {id: keep}}\n"
    )
    assert find_policy("union").sha256 == parse_policy(shipped_policies()["union"], "x").sha256
