"""Free-text scrubbing: every spelling of a known name, and contact data, goes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.scrub import Scrubber, SiteTerms, fold, site_terms_from


def _scrubber(
    *workers: dict[str, object], persons: tuple[str, ...] = (), country: str = "VN"
) -> Scrubber:
    records: list[dict[str, object]] = [
        {"worker": w, "persons_mentioned": [{"name": p} for p in persons]} for w in workers
    ]
    s = Scrubber()
    s.load_site(site_terms_from(records, country))
    return s


HUONG: dict[str, object] = {
    "name": "Nguyễn Thị Hương",
    "employee_id": "EMP-55001",
    "phone": "+84 912 345 678",
    "email": "huong@example.org",
    "address": "12 Ngõ Trạm, Hà Nội",
}


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị Hương said",
        "NGUYỄN THỊ HƯƠNG said",
        "Nguyen Thi Huong said",
        "nguyen thi huong said",
        "Hương said",
        "HUONG said",
        "Nguyễn said",
        "Hương's shift",
        "Hương’s shift",
        "(Hương)",
        '"Hương",',
        "Nguyễn Thị Hương",  # NFD: base letters and combining marks apart
    ],
)
def test_name_in_any_form(text: str) -> None:
    import unicodedata

    s = _scrubber(HUONG)
    for variant in (text, unicodedata.normalize("NFD", text)):
        out = s.scrub(variant)
        assert "[WORKER-" in out
        assert not re.search(r"(?i)nguy|huong|hương", fold(out)[0]), out


def test_contact_data_and_numbers() -> None:
    s = _scrubber(HUONG)
    out = s.scrub(
        "Call 0912 345 678, +84912345678 or (+84) 912-345-678; mail HUONG@EXAMPLE.ORG or "
        "x.y@z.vn; badge emp-55001; ID card 079123456789; lives at 12 Ngõ Trạm, Hà Nội. "
        "Met on 2026-03-14 and 14.03.2026 at 7 pm with 300 workers."
    )
    for secret in (
        "0912",
        "345 678",
        "912345678",
        "HUONG@",
        "x.y@z.vn",
        "55001",
        "079123456789",
        "Ngõ Trạm",
    ):
        assert secret not in out, secret
    assert "[PHONE]" in out
    assert "[EMAIL]" in out
    assert "[EMPLOYEE-ID]" in out
    assert "[ADDRESS]" in out
    assert "[NUMBER]" in out
    assert "2026-03-14" in out
    assert "14.03.2026" in out
    assert "300 workers" in out


def test_scripts_without_spaces() -> None:
    s = _scrubber({"name": "王小明"}, {"name": "สมชาย ใจดี"}, country="TH")
    out = s.scrub("王小明说工厂很热。小明的朋友也说。สมชายเล่าว่านายหน้ายึดหนังสือเดินทาง ใจดีบอกว่า")
    for name in ("王小明", "小明", "สมชาย", "ใจดี"):
        assert name not in out
    assert "เล่าว่า" in out  # the rest of the sentence stays


def test_numbering_is_consistent_and_typed() -> None:
    s = _scrubber(HUONG, {"name": "Trần Văn Minh"}, persons=("Lý Văn Bảo",))
    out = s.scrub("Hương told Minh that Bảo shouted at Hương. Minh agreed; Văn was there.")
    worker = re.findall(r"\[WORKER-\d+\]", out)
    assert len(worker) == 4
    assert worker[0] == worker[2] != worker[1] == worker[3]
    assert re.search(r"\[PERSON-\d+\] shouted", out)
    # "Văn" belongs to two people: it cannot name either of them.
    assert "[NAME] was there" in out


def test_other_words_are_left_alone() -> None:
    s = _scrubber({"name": "An Le"})
    # Whole words only: "Anh", "Lee" and "Ana" are other names. (A standalone "an"
    # would be replaced: over-redaction is the safe side.)
    out = s.scrub("Anh Lee and Ana planned the analysis; Le said no.")
    assert "Anh Lee and Ana planned the analysis" in out
    assert out.endswith("[WORKER-1] said no.")


def test_limit_cuts_after_scrubbing() -> None:
    s = _scrubber(HUONG)
    out = s.scrub("Nguyễn Thị Hương " + "worked late. " * 50, limit=40)
    assert len(out) <= 40
    assert out.endswith("…")
    assert "Hương" not in out


def test_no_terms_still_scrubs_contact_data() -> None:
    s = Scrubber()
    s.load_site(SiteTerms())
    assert s.scrub("write to a@b.org") == "write to [EMAIL]"


_LATIN = "abcdeghiklmnoprstuvyăâđêôơưàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵšžčřěůýáíéń"
_name_part = st.text(alphabet=_LATIN, min_size=3, max_size=8)
_cjk = st.text(
    alphabet="王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎",
    min_size=2,
    max_size=3,
)
_thai = st.text(alphabet="กขคงจฉชซญดตถทธนบปผพฟภมยรลวศสหอฮ", min_size=3, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    given_name=_name_part,
    family=_name_part,
    form=st.sampled_from(["full", "upper", "plain", "given", "family", "possessive", "comma"]),
    filler=st.sampled_from(["He said that", "Theo lời", "Podle", "Она сказала,", "—"]),
)
def test_property_latin_names_never_survive(
    given_name: str, family: str, form: str, filler: str
) -> None:
    import unicodedata

    full = f"{family.capitalize()} {given_name.capitalize()}"
    plain = "".join(c for c in unicodedata.normalize("NFD", full) if not unicodedata.combining(c))
    mention = {
        "full": full,
        "upper": full.upper(),
        "plain": plain,
        "given": given_name,
        "family": family.upper(),
        "possessive": given_name + "'s",
        "comma": full + ",",
    }[form]
    s = _scrubber({"name": full})
    out = fold(s.scrub(f"{filler} {mention} was fired."))[0]
    for part in (fold(given_name)[0], fold(family)[0]):
        assert not re.search(r"(?<![^\W_])" + re.escape(part) + r"(?![^\W_])", out), (mention, out)


@settings(max_examples=100, deadline=None)
@given(
    name=st.one_of(_cjk, _thai),
    before=st.sampled_from(["", "工人", "คนงาน"]),
    after=st.sampled_from(["说", "เล่าว่า", "。"]),
)
def test_property_unspaced_names_never_survive(name: str, before: str, after: str) -> None:
    s = _scrubber({"name": name})
    out = s.scrub(before + name + after)
    assert name not in out
    assert "[WORKER-" in out


def test_hyphenated_names_ids_addresses_and_invisible_characters() -> None:
    s = _scrubber(
        {
            "name": "Marie-Claire Dubois",
            "employee_id": "EMP-55001",
            "address": "Dormitory B Room 14, Lotus Street 5",
        },
        country="FR",
    )
    out = s.scrub(
        "Marie told us; badge 55001 was taken; she sleeps in Dormitory B Room 14. "
        "Later Cla\u00adire said Du\u200bbois was right."
    )
    for secret in ("Marie", "55001", "Dormitory B Room 14", "Cla\u00adire", "Du\u200bbois"):
        assert secret not in out, secret


def test_only_real_dates_escape_the_number_rule() -> None:
    s = _scrubber(HUONG)
    out = s.scrub("On 2026-03-14 and 14.03.2026 and 3/14/2026; ids 001.23.4567 and 12.34.5678.")
    assert "2026-03-14" in out
    assert "14.03.2026" in out
    assert "3/14/2026" in out
    assert "001.23.4567" not in out
    assert "12.34.5678" not in out


def test_numbering_per_record_does_not_link_records() -> None:
    records: list[dict[str, object]] = [
        {"worker": {"name": "Jean Dubois"}},
        {"worker": {"name": "Ana Silva"}},
    ]
    per_record = Scrubber("record")
    per_record.load_site(site_terms_from(records, "FR"))
    per_record.start_record()
    first = per_record.scrub("I, Jean Dubois, saw it.")
    per_record.start_record()
    second = per_record.scrub("Ana Silva says Dubois was fired.")
    # Each record numbers from 1: the "[WORKER-1]" of one is not the other's.
    assert first == "I, [WORKER-1], saw it."
    assert second == "[WORKER-1] says [WORKER-2] was fired."
    per_export = Scrubber("export")
    per_export.load_site(site_terms_from(records, "FR"))
    per_export.start_record()
    a = per_export.scrub("I, Jean Dubois, saw it.")
    per_export.start_record()
    b = per_export.scrub("Ana Silva says Dubois was fired.")
    assert re.findall(r"\[WORKER-\d\]", a)[0] == re.findall(r"\[WORKER-\d\]", b)[1]
