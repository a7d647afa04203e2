"""The optional named-entity pass: real models, installed as packages."""

from __future__ import annotations

import pytest

from vault import InvalidInputError
from vault.ner import available, find_entities
from vault.policy import parse_policy

POLICY = """\
policy: t
audience: union
k_anonymity: {k: 3, quasi_identifiers: [site_id]}
records:
  testimony:
    rules:
      narrative: scrub
"""


def _found(text: str) -> set[tuple[str, str]]:
    return {(text[a:b], kind) for a, b, kind in find_entities(text)}


def test_both_models_are_installed_with_the_test_extra() -> None:
    assert set(available()) == {"zh", "vi"}


def test_chinese_people_and_a_village_but_not_a_province() -> None:
    text = "组长李强经常骂我，我老家在河南省沈丘县李庄村。押金没有退。"
    found = _found(text)
    assert ("李强", "PERSON") in found
    assert any(span == "李庄村" for span, _kind in found)
    assert not any("河南" in span or "押金" in span for span, _kind in found)


def test_vietnamese_people_and_a_dormitory_room_keyword_kept() -> None:
    text = "Tổ trưởng Trần Văn Hùng quát chị Mai ở phòng 304 ký túc xá B."
    found = _found(text)
    assert any("Trần Văn Hùng" in span for span, _kind in found)
    assert ("Mai", "PERSON") in found
    assert not any(span.startswith("phòng") for span, _kind in found)


def test_other_scripts_and_decomposed_text_are_left_to_the_rules() -> None:
    assert find_entities("Supervisor Ramírez shouted at María on line 3.") == []
    # Offsets must point into the text as given: decomposed input is not guessed at.
    assert find_entities("Chị Mai".replace("ị", "i\u0323")) == []


def test_a_policy_switches_the_pass_on() -> None:
    assert parse_policy(POLICY, "t.yaml").ner is False
    assert parse_policy(POLICY + "ner: true\n", "t.yaml").ner is True
    assert any(
        "named-entity" in line for line in parse_policy(POLICY + "ner: true\n", "t.yaml").explain()
    )
    with pytest.raises(InvalidInputError, match="ner: must be true or false"):
        parse_policy(POLICY + "ner: yes please\n", "t.yaml")
