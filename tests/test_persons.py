"""People the vault does not know, named by a title or a role, in eight languages.

Positives give the name only (the title stays); negatives are titles alone,
pronouns, and the ordinary words that follow titles.
"""

from __future__ import annotations

import itertools
import unicodedata

import pytest

from vault.persons import continue_names, find_persons
from vault.scrub import Scrubber, SiteTerms, site_terms_from


def _names(text: str) -> list[str]:
    return [text[a:b] for a, b in find_persons(text)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # en
        ("My supervisor Tom Harris shouted at us.", ["Tom Harris"]),
        ("Mr. Tan and Mrs Lee and Ms. O'Brien came.", ["Tan", "Lee", "O'Brien"]),
        ("The recruiter Ahmed took our passports.", ["Ahmed"]),
        ("my husband Tom and my cousin Ana", ["Tom", "Ana"]),
        ("a man named Ali Khan called", ["Ali Khan"]),
        ("The foreman J. Smith left.", ["J. Smith"]),
        # vi
        ("Chị Lan nói rằng tổ trưởng Nguyễn Văn Hùng đánh tôi.", ["Lan", "Nguyễn Văn Hùng"]),
        ("ông Trần Minh và bà Ba đến.", ["Trần Minh", "Ba"]),
        ("Quản đốc Lê Thị Hoa và môi giới Tuấn.", ["Lê Thị Hoa", "Tuấn"]),
        ("Người đó tên là Bình.", ["Bình"]),
        # th
        ("คุณสมศรีบอกว่านายจ้างไม่จ่าย", ["สมศรี"]),
        ("นายหน้าชื่อสมชายเล่าว่า", ["สมชาย"]),
        ("หัวหน้างานแดงด่าเรา", ["แดง"]),
        ("นางสาว มาลี มาด้วย", ["มาลี"]),
        # zh
        ("组长王芳说押金不退。", ["王芳"]),
        ("老王和小李都知道。", ["王", "李"]),
        ("王组长骂人。陈总不在。", ["王", "陈"]),
        ("王芳女士来了。经理陈先生扣了护照。", ["王芳", "陈"]),
        ("阿芳和芳姐都说了。", ["芳", "芳"]),
        ("中介名叫张伟的人", ["张伟"]),
        # cs
        ("Mistr Novák řekl, že paní Nováková odešla.", ["Novák", "Nováková"]),
        ("Pana Nováka jsem neviděl, kolega Jiří Dvořák ano.", ["Nováka", "Jiří Dvořák"]),
        ("Muž jménem Karel přišel.", ["Karel"]),
        # es
        (
            "La señora Pérez y el supervisor Juan García de la Cruz.",
            ["Pérez", "Juan García de la Cruz"],
        ),
        ("Sr. López dijo que doña Rosa y mi compañera Ana no cobraron.", ["López", "Rosa", "Ana"]),
        ("un hombre llamado Pedro", ["Pedro"]),
        # id
        ("Pak Budi dan Bu Sri bilang mandor Agus marah.", ["Budi", "Sri", "Agus"]),
        ("Mas Joko dan Mbak Wati datang. Agen bernama Rudi.", ["Joko", "Wati", "Rudi"]),
        # fr
        ("M. Dupont et Mme Martin, le chef Pierre.", ["Dupont", "Martin", "Pierre"]),
        ("Mon collègue nommé Ahmed et le recruteur Karim.", ["Ahmed", "Karim"]),
    ],
)
def test_titled_names(text: str, names: list[str]) -> None:
    assert _names(text) == names
    # The same in decomposed letters.
    nfd = unicodedata.normalize("NFD", text)
    assert [unicodedata.normalize("NFC", n) for n in _names(nfd)] == names


@pytest.mark.parametrize(
    "text",
    [
        "The supervisor said no. The manager left.",
        "I told the supervisor. Then we went home.",
        "Anh ấy và chị ấy không biết; em ấy cũng vậy.",
        "Mr. [WORKER-1] and Ms [PERSON-2] came.",
        "The manager HR said the QC team leader approved it.",
        "My friend The Boss came in March.",
        "组长说押金不退。小时工资很低。老板和老师都在。阿姨来了。大姐和表哥也来了。",
        "他向主管报告。高级经理说了。对方经理不同意。",
        "ขอบคุณมาก นายจ้างยึดหนังสือเดินทาง พี่ชายของผมถูกไล่ออก คุณภาพไม่ดี หัวหน้าใจดีมาก",
        "mas ini murah, kak tidak datang.",
        "Le chef a dit non. Pan Twardowski.",
    ],
)
def test_titles_alone_name_no_one(text: str) -> None:
    if text.endswith("Twardowski."):
        # "Pan" is a title in Czech: the name after it counts.
        assert _names(text) == ["Twardowski"]
        return
    assert _names(text) == []


def test_spans_are_sorted_and_apart() -> None:
    text = "Mr Tan, Mrs Lee, 老王, คุณสมศรี, Pak Budi " * 3
    spans = find_persons(text)
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def _scrubber(*names: str, persons: tuple[str, ...] = (), country: str = "GB") -> Scrubber:
    records: list[dict[str, object]] = [
        {"worker": {"name": n}, "persons_mentioned": [{"name": p} for p in persons]} for n in names
    ]
    s = Scrubber()
    s.load_site(site_terms_from(records, country))
    return s


def test_unknown_persons_are_unnumbered_known_ones_numbered() -> None:
    s = _scrubber("Ana Silva", persons=("Tom Harris",))
    out = s.scrub("Supervisor Tom Harris fired Ana Silva; the recruiter Ahmed Khan watched.")
    assert out == "Supervisor [PERSON-1] fired [WORKER-2]; the recruiter [PERSON] watched."


def test_known_and_unknown_merge_leftmost_longest() -> None:
    s = _scrubber("Jiří Dvořák", country="CZ")
    # The known part and the titled name cover the same words: the known one wins.
    assert s.scrub("Mistr Dvořák přišel.") == "Mistr [WORKER-1] přišel."
    # A longer titled name holding a known part is replaced whole.
    assert s.scrub("Pan Jiří Novotný přišel.") == "Pan [PERSON] přišel."
    # A known name longer than the titled one wins.
    assert s.scrub("Mistr Jiří Dvořák přišel.") == "Mistr [WORKER-1] přišel."


def test_erasure_rewrites_known_terms_only() -> None:
    # replace_terms rewrites stored texts: it must not take out people the vault
    # does not know (that is for exports, which leave the store untouched).
    site = SiteTerms()
    site.add_worker({"name": "Ana Silva"}, "ERASED")
    s = Scrubber()
    s.load_site(site)
    assert s.replace_terms("Ana Silva met Mr Tan.") == "[ERASED] met Mr Tan."
    assert s.scrub("Ana Silva met Mr Tan.") == "[ERASED] met Mr [PERSON]."


def test_no_terms_still_finds_titled_persons() -> None:
    s = Scrubber()
    s.load_site(SiteTerms())
    assert s.scrub("Mrs Lee wrote to a@b.org") == "Mrs [PERSON] wrote to [EMAIL]"


def _found(text: str) -> list[str]:
    return [text[a:b] for a, b in find_persons(text)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("We met Maria at a hostel. She told Mizan that Lucie left.", ["Maria", "Mizan", "Lucie"]),
        ("Les ouvrières disent que Sandrine a signé.", ["Sandrine"]),
        ("Platí se 19 900 Kč měsíčně a mistr Karel křičí.", ["Karel"]),
        ("Vietnamese workers on Line 3 paid in USD.", []),
        ("Then HR said no. In March the PPE ran out.", []),
        ("Anh ấy nói Thị và Văn ở đó.", []),
        ("Họ gặp Ngọc Hà ở nhà trọ.", ["Ngọc", "Hà"]),
    ],
)
def test_capitalised_words_inside_a_sentence_are_names_the_vault_does_not_know(
    text: str, names: list[str]
) -> None:
    assert _found(text) == names


def test_the_rest_of_a_name_spelled_otherwise_follows_it() -> None:
    text = "คุณ LAMDUAN KAEWMANEE said Галина Бондаренко left. Supervisor Lamduan stayed."
    spans = [(text.index("LAMDUAN"), text.index("LAMDUAN") + 7)]
    spans.append((text.index("Бондаренко"), text.index("Бондаренко") + len("Бондаренко")))
    spans.append((text.rindex("Lamduan"), text.rindex("Lamduan") + 7))
    words = {text[a:b] for a, b in continue_names(text, spans)}
    assert words == {"KAEWMANEE", "Галина"}
