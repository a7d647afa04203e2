"""Onward terms: what a policy lets its recipient pass on, deny by default."""

from __future__ import annotations

import pytest

from vault import InvalidInputError
from vault.policy import find_policy, parse_policy
from vault.terms import Terms

BASE = find_policy("union").text.replace("policy: union\n", "policy: share\n")


def _terms(onward: str) -> Terms:
    return parse_policy(BASE + f"\nonward: {onward}\n", "share.yaml").onward


def test_a_policy_passes_nothing_on_unless_it_says_so() -> None:
    for name in ("union", "monitor", "buyers", "public"):
        assert find_policy(name).onward == Terms()
        assert not find_policy(name).onward.allows(find_policy(name).audience)
    assert _terms("none") == Terms()
    assert _terms("same-audience") == Terms("same-audience", frozenset({"union"}))
    assert _terms("{audiences: [monitor, union]}").audiences == {"monitor", "union"}
    explained = "\n".join(parse_policy(BASE + "\nonward: same-audience\n", "s").explain())
    assert "onward: the recipient may pass it on only to: union" in explained


@pytest.mark.parametrize(
    ("onward", "message"),
    [
        ("everyone", "must be none, same-audience"),
        ("{audiences: [press]}", "must be among"),
        ("{audiences: []}", "non-empty list"),
        ("{}", "is required"),
        ("{people: [union]}", "unknown key"),
    ],
)
def test_bad_onward_terms_are_refused_with_their_line(onward: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as err:
        _terms(onward)
    assert "share.yaml:line" in str(err.value)


def test_terms_only_narrow_and_malformed_ones_are_refused() -> None:
    same = Terms.resolve("same-audience", (), "union")
    wide = Terms.resolve("audiences", ["union", "buyers"], "union")
    assert same.meet(wide) == Terms("audiences", frozenset({"union"}))
    assert same.meet(Terms()) == Terms()
    assert same.meet(same) == same
    assert Terms.from_manifest(None, "x") == Terms()
    assert Terms.from_manifest(wide.to_manifest(), "x") == wide
    for bad in (
        {"onward": "none", "audiences": ["union"]},
        {"onward": "audiences", "audiences": ["press"]},
        {"onward": "audiences", "audiences": "union"},
        {"onward": "same-audience"},
        ["union"],
    ):
        with pytest.raises(InvalidInputError, match="terms are malformed"):
            Terms.from_manifest(bad, "x")
