"""What policies say of evidence files: per record type, per kind and per risk."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from vault import InvalidInputError
from vault.cli import cli
from vault.filerules import FILE_KINDS
from vault.policy import find_policy, parse_policy, shipped_policies

BASE = """\
policy: t
audience: {audience}
k_anonymity: {{k: 5, quasi_identifiers: [site_id]}}
records:
  testimony:
    attachments: {files}
    rules: {{id: keep}}
    high_risk: {high}
"""


def _policy(files: str, high: str = "{narrative: drop}", audience: str = "union") -> str:
    return BASE.format(files=files, high=high, audience=audience)


def _err(text: str) -> str:
    with pytest.raises(InvalidInputError) as err:
        parse_policy(text, "t.yaml")
    return str(err.value)


def _actions(text: str, *, high_risk: bool = False) -> dict[str, str]:
    rules = parse_policy(text, "t.yaml").types["testimony"].files_for(high_risk=high_risk)
    return {kind: rules.action(kind) for kind in FILE_KINDS}


def test_one_action_covers_images_and_documents_only() -> None:
    assert _actions(_policy("rebuild")) == {
        "image": "rebuild",
        "document": "rebuild",
        "audio": "drop",
        "video": "drop",
        "other": "drop",
    }
    assert set(_actions(_policy("drop")).values()) == {"drop"}


def test_each_kind_can_be_named() -> None:
    text = _policy("{audio: rebuild, video: original, other: original}")
    assert _actions(text) == {
        "image": "drop",
        "document": "drop",
        "audio": "rebuild",
        "video": "original",
        "other": "original",
    }


def test_a_high_risk_testimonys_files_are_dropped_unless_named() -> None:
    text = _policy("{image: rebuild, audio: rebuild}")
    assert set(_actions(text, high_risk=True).values()) == {"drop"}
    text = _policy(
        "{image: rebuild, audio: rebuild}", "{narrative: drop, attachments: {image: rebuild}}"
    )
    assert _actions(text, high_risk=True) == {
        "image": "rebuild",
        "document": "drop",
        "audio": "drop",
        "video": "drop",
        "other": "drop",
    }
    # Files named only under high_risk leave for high-risk testimonies alone.
    text = _policy("drop", "{attachments: rebuild}")
    assert set(_actions(text).values()) == {"drop"}
    assert _actions(text, high_risk=True)["image"] == "rebuild"


@pytest.mark.parametrize(
    ("files", "high", "expected"),
    [
        ("strip", "{narrative: drop}", "attachments: 'strip' is now 'rebuild'"),
        ("{image: strip}", "{narrative: drop}", "attachments.image: 'strip' is now 'rebuild'"),
        ("keep", "{narrative: drop}", "attachments: must be drop, rebuild or original"),
        ("{}", "{narrative: drop}", "attachments: is empty"),
        ("{photos: rebuild}", "{narrative: drop}", "attachments.photos: unknown kind of file"),
        ("{video: rebuild}", "{narrative: drop}", "video cannot be rebuilt; use drop or original"),
        ("{other: rebuild}", "{narrative: drop}", "other cannot be rebuilt; use drop or original"),
        ("drop", "{attachments: {audio: keep}}", "high_risk.attachments.audio: must be drop"),
    ],
)
def test_file_rules_are_checked(files: str, high: str, expected: str) -> None:
    message = _err(_policy(files, high))
    assert expected in message
    assert "t.yaml:line " in message


@pytest.mark.parametrize(
    ("files", "high"),
    [
        ("original", "{narrative: drop}"),
        ("{audio: original}", "{narrative: drop}"),
        ("drop", "{attachments: {video: original}}"),
    ],
)
def test_originals_go_only_to_the_union_and_the_monitor(files: str, high: str) -> None:
    assert parse_policy(_policy(files, high), "t.yaml").audience == "union"
    assert parse_policy(_policy(files, high, "monitor"), "t.yaml").audience == "monitor"
    assert "original files go only to the union and the monitor" in _err(
        _policy(files, high, "buyers")
    )


@pytest.mark.parametrize("name", sorted(n for n in shipped_policies() if n != "public"))
def test_shipped_policies_keep_voices_and_high_risk_files_in_the_vault(name: str) -> None:
    policy = find_policy(name)
    testimony = policy.types["testimony"]
    for kind in ("audio", "video"):
        assert testimony.attachments.action(kind) == "drop"
    assert not testimony.files_for(high_risk=True).any_leave()
    for rules in policy.types.values():
        for table in (rules.attachments, rules.high_risk_attachments):
            assert {table.action(k) for k in FILE_KINDS} <= {"drop", "rebuild"}


def test_policy_explain_says_what_becomes_of_files() -> None:
    r = CliRunner().invoke(cli, ["policy", "explain", "union"])
    assert r.exit_code == 0
    files = [line for line in r.output.splitlines() if "(attachments)" in line]
    assert any("images: rebuilt from their pixels" in line for line in files)
    assert any("documents: rebuilt as the pictures of their pages" in line for line in files)
    assert any(
        "audio: not exported (a voice can identify a worker by itself)" in line for line in files
    )
    assert any("video: not exported" in line for line in files)
    assert any("if retaliation risk is high: none leave" in line for line in files)
    # Findings' recordings are rebuilt for the union.
    assert any("audio: rebuilt from their samples" in line for line in files)
