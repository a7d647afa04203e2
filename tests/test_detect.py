"""Rule-based detectors: ids, contacts, dates of birth, small places and risk cues, in
Vietnamese, Thai, Chinese, Czech, Spanish, French, Indonesian and English — and what
they must leave alone (amounts, hours, counts, event dates, ordinary words)."""

from __future__ import annotations

import unicodedata
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.detect import FLAG_KINDS, KINDS, Span, find_spans, residual_flags


def _found(text: str, birth_years: frozenset[int] = frozenset()) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.kind) for s in find_spans(text, birth_years=birth_years)]


def _redact(text: str, birth_years: frozenset[int] = frozenset()) -> str:
    """What a scrubber writes: leftmost, then longest span wins."""
    out: list[str] = []
    cursor = 0
    for s in sorted(find_spans(text, birth_years=birth_years), key=lambda s: (s.start, -s.end)):
        if s.start < cursor:
            continue
        out.append(text[cursor : s.start])
        out.append(f"[{s.kind}]")
        cursor = s.end
    out.append(text[cursor:])
    return "".join(out)


def _assert_found(
    text: str, value: str, kind: str, birth_years: frozenset[int] = frozenset()
) -> None:
    found = _found(text, birth_years)
    assert (value, kind) in found, (text, found)


# --- ids and badges after a keyword ----------------------------------------------------

IDS = [
    # English
    ("My badge number is A-7731.", "A-7731", "EMPLOYEE-ID"),
    ("badge 4471 was taken", "4471", "EMPLOYEE-ID"),
    ("Employee ID: RJ 49.06", "RJ 49.06", "EMPLOYEE-ID"),
    ("staff no. 55 001, night shift", "55 001", "EMPLOYEE-ID"),
    ("her staff number 6-0-9-2", "6-0-9-2", "EMPLOYEE-ID"),
    ("ID card 079123456789", "079123456789", "NUMBER"),
    ("passport number B1234567", "B1234567", "NUMBER"),
    ("badge emp-55001", "emp-55001", "EMPLOYEE-ID"),
    # Vietnamese
    ("Chị ấy có thẻ số 4471.", "4471", "EMPLOYEE-ID"),
    ("mã nhân viên: 55 001", "55 001", "EMPLOYEE-ID"),
    ("số thẻ của tôi là A-7731", "A-7731", "EMPLOYEE-ID"),
    ("ma so nhan vien 6-0-9-2", "6-0-9-2", "EMPLOYEE-ID"),
    ("mã số 12.34.56", "12.34.56", "EMPLOYEE-ID"),
    ("số CCCD 001094012345", "001094012345", "NUMBER"),
    # Chinese
    ("我的工号是A7731，在三车间。", "A7731", "EMPLOYEE-ID"),
    ("工牌：55 001", "55 001", "EMPLOYEE-ID"),
    ("员工号 6-0-9-2", "6-0-9-2", "EMPLOYEE-ID"),
    ("编号RJ 49.06", "RJ 49.06", "EMPLOYEE-ID"),
    ("卡号为 4471", "4471", "EMPLOYEE-ID"),
    ("身份证号：41272219940312", "41272219940312", "NUMBER"),
    # Czech
    ("Moje osobní číslo je RJ 49.06.", "RJ 49.06", "EMPLOYEE-ID"),
    ("číslo zaměstnance 55 001", "55 001", "EMPLOYEE-ID"),
    ("průkaz č. 4471", "4471", "EMPLOYEE-ID"),
    ("číslo 6-0-9-2", "6-0-9-2", "NUMBER"),
    # Spanish
    ("Mi número de empleado es 6-0-9-2.", "6-0-9-2", "EMPLOYEE-ID"),
    ("ficha 4471", "4471", "EMPLOYEE-ID"),
    ("gafete A-7731", "A-7731", "EMPLOYEE-ID"),
    ("credencial: 55 001", "55 001", "EMPLOYEE-ID"),
    ("CURP GOMA940312MDFRRR09", "GOMA940312MDFRRR09", "NUMBER"),
    # French
    ("mon matricule est le 55 001", "55 001", "EMPLOYEE-ID"),
    ("numéro de badge A-7731", "A-7731", "EMPLOYEE-ID"),
    ("badge n° 4471", "4471", "EMPLOYEE-ID"),
    # Indonesian
    ("nomor induk karyawan 2019 0412", "2019 0412", "EMPLOYEE-ID"),
    ("NIK 3174 0512 9400 0123", "3174 0512 9400 0123", "NUMBER"),
    ("kartu karyawan saya A-7731", "A-7731", "EMPLOYEE-ID"),
    ("nomor karyawan: 55.001", "55.001", "EMPLOYEE-ID"),
    # Thai
    ("รหัสพนักงาน 55 001", "55 001", "EMPLOYEE-ID"),
    ("บัตรพนักงานเลขที่ 4471", "4471", "EMPLOYEE-ID"),
    ("รหัสพนักงานของฉันคือ A-7731", "A-7731", "EMPLOYEE-ID"),
    ("เลขบัตรประชาชน 1-2345-67890-12-3", "1-2345-67890-12-3", "NUMBER"),
    # bank accounts, where wages are paid
    ("số tài khoản 0071 0004 56789", "0071 0004 56789", "NUMBER"),
    ("เลขที่บัญชี 123-4-56789-0", "123-4-56789-0", "NUMBER"),
    ("nomor rekening 1234 5678 90", "1234 5678 90", "NUMBER"),
]


@pytest.mark.parametrize(("text", "value", "kind"), IDS)
def test_ids_after_keywords(text: str, value: str, kind: str) -> None:
    _assert_found(text, value, kind)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("Chị ấy có thẻ số 4471.", "thẻ số"),
        ("我的工号是A7731", "工号"),
        ("osobní číslo RJ 49.06", "osobní číslo"),
        ("matricule 55 001", "matricule"),
        ("รหัสพนักงาน 55 001", "รหัสพนักงาน"),
    ],
)
def test_keywords_stay(text: str, keyword: str) -> None:
    out = _redact(text)
    assert keyword in out
    assert "[EMPLOYEE-ID]" in out


@pytest.mark.parametrize(
    "text",
    [
        "ID cards were taken from 300 workers",
        "thẻ ATM của tôi bị giữ",
        "the card cost 300 USD",
        "mã số 1 trong danh sách",
        "บัตร 2 ใบ ราคา 300 บาท",
        "工牌丢了，罚款50元",
        "číslo 5 v seznamu",
        "el número 3 de la lista",
        "numéro 7",
        "nomor 1 sampai 5",
        "ficha de 200 pesos",
        "badge 2",
        "Tel: see below",
    ],
)
def test_id_keywords_without_an_id_stay(text: str) -> None:
    assert find_spans(text) == [], _found(text)


def test_counts_after_an_id_are_not_part_of_it() -> None:
    assert _redact("thẻ 4471 3 lần") == "thẻ [EMPLOYEE-ID] 3 lần"
    assert _redact("badge 4471 8 hours") == "badge [EMPLOYEE-ID] 8 hours"
    # "and" is a word, not a prefix like "RJ".
    assert (
        _redact("He took my badge and 300 workers left") == "He took my badge and 300 workers left"
    )


# --- digit sequences split by separators -----------------------------------------------

SEQUENCES = [
    ("it was 55 001, I think", "55 001"),
    ("the code 6-0-9-2 opened it", "6-0-9-2"),
    ("write 001.23.4567 down", "001.23.4567"),
    ("numbers 12.34.5678", "12.34.5678"),
    ("call 0912.345.678", "0912.345.678"),
    ("0912 345 678 is hers", "0912 345 678"),
    ("4471/22 was on the form", "4471/22"),
    ("gọi 0 9 1 2 3 4 5", "0 9 1 2 3 4 5"),
]


@pytest.mark.parametrize(("text", "value"), SEQUENCES)
def test_split_digit_sequences(text: str, value: str) -> None:
    found = _found(text)
    assert any(v == value and k in ("NUMBER", "PHONE") for v, k in found), found


KEPT = [
    # money, with the currency before or after
    "Lương 5.500.000 đồng một tháng",
    "trừ 300 000 đ tiền phòng",
    "5.500.000 VND",
    "₫ 1.200.500 each month",
    "ค่าจ้าง 9 500 บาท",
    "工资3 500元",
    "18 000 Kč měsíčně",
    "1 234 korun",
    "€ 1.234",
    "1 532,50 EUR",
    "USD 1 250",
    "$ 2 345",
    "Rp 150.250 per hari",
    "4 567 rupiah",
    "2 345 pesos",
    # round amounts and counts
    "a debt of 3 200 000",
    "1 500 workers",
    "1.523 trabajadores",
    "2 345 ouvriers",
    # dates of events, years, ranges, times, decimals, percentages
    "On 14.03.2024 and 2024-03-14 and 3/14/2024",
    "from 12/03 to 15/03",
    "leave 14/3-15/3 and 1.4.-2.4.",
    "14. 3. 2024",
    "work 7.30-19.30 every day",
    "a break of 15-30 minutes",
    "20-25 workers, 1000-1500 pieces",
    "between 2019-2021 and in 2019/20",
    "in 2019 300 workers were fired",
    "12.5 % of the wage, 12.75 kg",
    "at 12.30 the line stopped",
    "12 giờ, 8 hours, 2 tháng, 5 年, 3 months",
]


@pytest.mark.parametrize("text", KEPT)
def test_amounts_dates_times_and_counts_stay(text: str) -> None:
    assert find_spans(text) == [], _found(text)


# --- spelled digits --------------------------------------------------------------------

SPELLED = [
    (
        "call zero nine one three four five six seven eight nine",
        "zero nine one three four five six seven eight nine",
        "PHONE",
    ),
    ("badge four four seven one", "four four seven one", "NUMBER"),
    (
        "oh nine one two, double five, six seven",
        "oh nine one two, double five, six seven",
        "NUMBER",
    ),
    (
        "số không chín một hai ba bốn năm sáu bảy tám",
        "không chín một hai ba bốn năm sáu bảy tám",
        "PHONE",
    ),
    ("so khong chin mot hai ba bon nam sau bay", "khong chin mot hai ba bon nam sau bay", "PHONE"),
    ("手机一三九一二三四五六七八", "一三九一二三四五六七八", "PHONE"),
    ("电话幺三九 幺二三四 五六七八", "幺三九 幺二三四 五六七八", "PHONE"),
    ("โทรศูนย์แปดเก้าห้าห้าห้าศูนย์หนึ่งเก้าเก้า", "ศูนย์แปดเก้าห้าห้าห้าศูนย์หนึ่งเก้าเก้า", "PHONE"),
    (
        "volejte nula sedm sedm sedm osm osm osm devět devět devět",
        "nula sedm sedm sedm osm osm osm devět devět devět",
        "PHONE",
    ),
    ("číslo jedna dva tři čtyři", "jedna dva tři čtyři", "NUMBER"),
    (
        "mi teléfono es cero cinco cinco uno dos tres cuatro cinco seis",
        "cero cinco cinco uno dos tres cuatro cinco seis",
        "PHONE",
    ),
    (
        "appelez zéro six un deux trois quatre cinq six sept huit",
        "zéro six un deux trois quatre cinq six sept huit",
        "PHONE",
    ),
    (
        "telepon nol delapan satu dua tiga empat lima enam tujuh",
        "nol delapan satu dua tiga empat lima enam tujuh",
        "PHONE",
    ),
    ("call 09 một hai ba bốn 567", "09 một hai ba bốn 567", "PHONE"),
]


@pytest.mark.parametrize(("text", "value", "kind"), SPELLED)
def test_spelled_digits(text: str, value: str, kind: str) -> None:
    _assert_found(text, value, kind)


@pytest.mark.parametrize(
    "text",
    [
        "One of the two workers said three more would come.",
        "Năm 2019, hai ba người bị đuổi việc.",
        "Tôi làm việc ba bốn năm ở đây.",
        "Un deux fois par semaine.",
        "二〇一九年我来到工厂。",
        "一天工作十二个小时，两三个人一组。",
        "ทำงานสองสามวันแล้วหกล้ม",
        "Dos o tres trabajadoras, una vez.",
        "Satu-satunya jalan, dua kali.",
    ],
)
def test_ordinary_number_words_stay(text: str) -> None:
    assert [k for _, k in _found(text) if k in ("NUMBER", "PHONE")] == [], _found(text)


# --- contacts --------------------------------------------------------------------------

CONTACTS = [
    ("mail huong (at) example [dot] com now", "huong (at) example [dot] com", "EMAIL"),
    ("write nguyen dot huong at gmail dot com", "nguyen dot huong at gmail dot com", "EMAIL"),
    ("name[at]host.com", "name[at]host.com", "EMAIL"),
    ("reach me: mary @ host . com", "mary @ host . com", "EMAIL"),
    ("plain x.y@z.vn", "x.y@z.vn", "EMAIL"),
    ("mary AT yahoo DOT com", "mary AT yahoo DOT com", "EMAIL"),
    ("huong at gmail", "huong at gmail", "EMAIL"),
    ("email huong a còng gmail chấm com", "huong a còng gmail chấm com", "EMAIL"),
    ("maria arroba gmail punto com", "maria arroba gmail punto com", "EMAIL"),
    ("sarka (zavináč) seznam (tečka) cz", "sarka (zavináč) seznam (tečka) cz", "EMAIL"),
    ("marie [at] orange [dot] fr", "marie [at] orange [dot] fr", "EMAIL"),
    ("siti at yahoo titik co titik id", "siti at yahoo titik co titik id", "EMAIL"),
    ("follow @huong_ng on it", "@huong_ng", "HANDLE"),
    ("IG @siti.sukamaju", "@siti.sukamaju", "HANDLE"),
    ("Zalo: 0912345678", "0912345678", "PHONE"),
    ("zalo của tôi là huong.nguyen94", "huong.nguyen94", "HANDLE"),
    ("Zalo: huongnguyen", "huongnguyen", "HANDLE"),
    ("Facebook: Hương Nguyễn, please", "Hương Nguyễn", "HANDLE"),
    ("FB huong.ng.94", "huong.ng.94", "HANDLE"),
    ("LINE: somsri99", "somsri99", "HANDLE"),
    ("Line ID somsri_t", "somsri_t", "HANDLE"),
    ("ติดต่อทางไลน์ somsri99", "somsri99", "HANDLE"),
    ("微信号：li_jin88", "li_jin88", "HANDLE"),
    ("加我微信 lijin1988", "lijin1988", "HANDLE"),
    ("QQ 12345678", "12345678", "HANDLE"),
    ("WhatsApp +84 912 345 678", "+84 912 345 678", "PHONE"),
    ("WA 0812 3456 7890", "0812 3456 7890", "PHONE"),
    ("Telegram @marie_l", "@marie_l", "HANDLE"),
    ("WeChat ID: lijin_88", "lijin_88", "HANDLE"),
    ("TikTok: maria.g.94", "maria.g.94", "HANDLE"),
    ("see https://facebook.com/huong.ng.", "https://facebook.com/huong.ng", "URL"),
    ("fb.com/huong.ng94 has it", "fb.com/huong.ng94", "URL"),
    ("zalo.me/0912345678", "zalo.me/0912345678", "URL"),
    ("line.me/ti/p/somsri", "line.me/ti/p/somsri", "URL"),
    ("t.me/marie_l", "t.me/marie_l", "URL"),
    ("wa.me/6281234567890", "wa.me/6281234567890", "URL"),
    ("instagram.com/siti.s", "instagram.com/siti.s", "URL"),
    ("tiktok.com/@maria", "tiktok.com/@maria", "URL"),
    (
        "the post http://news.example.org/2024/strike-story.",
        "http://news.example.org/2024/strike-story",
        "URL",
    ),
]


@pytest.mark.parametrize(("text", "value", "kind"), CONTACTS)
def test_contacts(text: str, value: str, kind: str) -> None:
    _assert_found(text, value, kind)


@pytest.mark.parametrize(
    "text",
    [
        "I was at work. Then the manager came at 5.30.",
        "We met at the canteen dot by dot.",
        "the line manager and the line leader",
        "ไลน์ 3 หยุดทำงาน",
        "my Facebook page and the Zalo group",
        "Facebook is popular here",
        "see https://example.org or www.company.com",
        "3 @ 5 dollars",
    ],
)
def test_ordinary_words_are_not_contacts(text: str) -> None:
    kinds = {k for _, k in _found(text)}
    assert not kinds & {"EMAIL", "HANDLE", "URL"}, _found(text)


# --- dates of birth --------------------------------------------------------------------

BIRTH = [
    ("I was born on March 12, 1994 in Hanoi.", "March 12, 1994"),
    ("born 12/03/1994", "12/03/1994"),
    ("Date of birth: 1994-03-12", "1994-03-12"),
    ("DOB 12.03.1994", "12.03.1994"),
    ("born in 1994", "1994"),
    ("I was born in Thanh Hoa in 1994.", "1994"),
    ("b. 1994", "1994"),
    ("Tôi sinh ngày 12 tháng 3 năm 1994.", "12 tháng 3 năm 1994"),
    ("Tôi sinh năm 1994 ở Nghệ An.", "1994"),
    ("ngày sinh: 12/03/1994", "12/03/1994"),
    ("sinh nhật 12/3", "12/3"),
    ("Toi sinh nam 1994", "1994"),
    ("1994年3月12日出生", "1994年3月12日"),
    ("我1994年出生", "1994年"),
    ("她是1994年生的", "1994年"),
    ("出生日期：1994-03-12", "1994-03-12"),
    ("生于1994年3月", "1994年3月"),
    ("生日是3月12日", "3月12日"),
    ("一九九四年出生", "一九九四年"),
    ("narozena 12. března 1994", "12. března 1994"),
    ("Narodil jsem se 12. 3. 1994.", "12. 3. 1994"),
    ("datum narození: 12.03.1994", "12.03.1994"),
    ("nar. 1994", "1994"),
    ("Nací el 12 de marzo de 1994.", "12 de marzo de 1994"),
    ("fecha de nacimiento: 12/03/1994", "12/03/1994"),
    ("nacida en 1994", "1994"),
    ("Je suis née le 12 mars 1994.", "12 mars 1994"),
    ("né en 1994", "1994"),
    ("date de naissance : 12/03/1994", "12/03/1994"),
    ("Saya lahir 12 Maret 1994.", "12 Maret 1994"),
    ("tanggal lahir 12-03-1994", "12-03-1994"),
    ("lahir tahun 1994", "1994"),
    ("เกิดวันที่ 12 มีนาคม 2537", "12 มีนาคม 2537"),
    ("เกิด ๑๒ มี.ค. 2537", "๑๒ มี.ค. 2537"),
    ("วันเกิด 12/03/2537", "12/03/2537"),
    ("เกิดปี 2537", "2537"),
    ("เกิด พ.ศ. 2537", "พ.ศ. 2537"),
]


@pytest.mark.parametrize(("text", "value"), BIRTH)
def test_dates_of_birth(text: str, value: str) -> None:
    _assert_found(text, value, "DATE-OF-BIRTH")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("We met on 12/03/1994 at the gate.", "12/03/1994"),
        ("On 1994-03-12 she came.", "1994-03-12"),
        ("12/3/94 was the day", "12/3/94"),
        ("ngày 12 tháng 3 năm 1994", "12 tháng 3 năm 1994"),
        ("12. března 1994", "12. března 1994"),
        ("el 12 de marzo de 1994", "12 de marzo de 1994"),
        ("le 12 mars 1994", "12 mars 1994"),
        ("12 Maret 1994", "12 Maret 1994"),
        ("March 12, 1994", "March 12, 1994"),
        ("1994年3月12日", "1994年3月12日"),
        ("一九九四年三月十二日", "一九九四年三月十二日"),
        ("12 มีนาคม 2537", "12 มีนาคม 2537"),
    ],
)
def test_full_dates_in_a_birth_year(text: str, value: str) -> None:
    _assert_found(text, value, "DATE-OF-BIRTH", frozenset({1994}))
    assert (
        "DATE-OF-BIRTH" not in {k for _, k in _found(text, frozenset({1990}))}
    ) or "born" in text


@pytest.mark.parametrize(
    "text",
    [
        "The strike began on 12 March 2024.",
        "Ngày 14/03/2024, có 30 công nhân bị ngất.",
        "In 1994 the factory opened.",
        "Học sinh năm 2019 đến thăm nhà máy.",
        "Vệ sinh ngày 12/3 rất bẩn.",
        "Sinh viên năm 3 làm thêm.",
        "事故发生于2019年3月。",
        "2019年生产了很多。",
        "เกิดขึ้นเมื่อวันที่ 12 มีนาคม 2567",
        "เกิดอุบัติเหตุ 12 มีนาคม 2567",
        "The born leader of 2024 strikes.",
    ],
)
def test_event_dates_stay(text: str) -> None:
    assert "DATE-OF-BIRTH" not in {k for _, k in _found(text)}, _found(text)


def test_birth_year_rule_needs_a_full_date() -> None:
    # A year alone, or a date in another year, is not a date of birth.
    assert _found("In 1994 the factory opened; on 12/03/1995 it closed.", frozenset({1994})) == []


# --- small places ----------------------------------------------------------------------

PLACES = [
    ("phòng 304 ký túc xá B", ["304", "B"]),
    ("room 12B in dorm 3", ["12B", "3"]),
    ("dormitory B, room 14", ["B", "14"]),
    ("宿舍5栋302", ["5", "302"]),
    ("住在302室", ["302"]),
    ("pokoj č. 12 na ubytovně", ["12"]),
    ("habitación 5", ["5"]),
    ("chambre 12", ["12"]),
    ("kamar 7 di asrama", ["7"]),
    ("ห้อง 305 ตึก B", ["305", "B"]),
    ("line 3 on the night shift", ["3"]),
    ("production line 12", ["12"]),
    ("chuyền 5, ca đêm tổ 2", ["5", "2"]),
    ("3号线", ["3"]),
    ("A线的工人", ["A"]),
    ("在二车间", ["二"]),
    ("一号线", ["一"]),
    ("linka 4", ["4"]),
    ("línea 2", ["2"]),
    ("ligne 3", ["3"]),
    ("lini 5", ["5"]),
    ("ไลน์ 3", ["3"]),
    ("กะ 2", ["2"]),
    ("shift B", ["B"]),
    ("xã Yên Phong, huyện Yên Phong", ["Yên Phong"]),
    ("quê ở Thanh Hóa", ["Thanh Hóa"]),
    ("thôn 5", ["5"]),
    ("from the village of Ban Na.", ["Ban Na"]),
    ("my hometown is Hue", ["Hue"]),
    ("老家在河南周口，", ["河南周口"]),
    ("李庄村的人", ["李庄"]),
    ("v obci Dolní Lhota", ["Dolní Lhota"]),
    ("el pueblo de San José de la Montaña", ["San José de la Montaña"]),
    ("le village de Saint-Martin", ["Saint-Martin"]),
    ("desa Sukamaju", ["Sukamaju"]),
    ("kampung halaman saya di Garut", ["Garut"]),
    ("หมู่บ้านหนองบัว ตำบลบ้านเป็ด", ["หนองบัว", "บ้านเป็ด"]),
    ("หมู่ 5", ["5"]),
]


@pytest.mark.parametrize(("text", "values"), PLACES)
def test_small_places(text: str, values: list[str]) -> None:
    found = [v for v, k in _found(text) if k == "PLACE"]
    for value in values:
        assert value in found, (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "the line manager said no",
        "we stood in line for 3 hours",
        "ca 12 tiếng mỗi ngày",
        "a room for 4 people",
        "the village chief came",
        "I went back to my village. Then it rained.",
        "in the dorm I slept badly",
        "the village I grew up in",
        "A lot of workers in the dorm A lot",
        "Tôi về quê hương.",
        "làng tôi ở gần nhà máy",
        "在农村长大",
        "一线工人三班倒",
        "phòng nhân sự nói",
        "kamar mandi",
        "ห้องน้ำ",
        "on day 3 and to 5",
        "ตึก 5 ชั้น",
        "a building 3 storeys high",
        "他去了3线城市",
        "租了一套2房1厅",
        "směna 12 hodin",
        "un turno de 12 horas, grupo de 5 personas",
        "shift 12 jam, kamar 2 orang",
    ],
)
def test_ordinary_words_are_not_places(text: str) -> None:
    assert [v for v, k in _found(text) if k == "PLACE"] == [], _found(text)


# --- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("Chị ấy có thẻ số 4471.", "4471", "EMPLOYEE-ID"),
        ("Tôi sinh ngày 12 tháng 3 năm 1994.", "12 tháng 3 năm 1994", "DATE-OF-BIRTH"),
        ("quê ở Thanh Hóa", "Thanh Hóa", "PLACE"),
        (
            "không chín một hai ba bốn năm sáu bảy tám",
            "không chín một hai ba bốn năm sáu bảy tám",
            "PHONE",
        ),
        ("narozena 12. března 1994", "12. března 1994", "DATE-OF-BIRTH"),
    ],
)
def test_decomposed_input(text: str, value: str, kind: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    found = _found(nfd)
    assert (unicodedata.normalize("NFD", value), kind) in found, found


_POSITIVE_TEXTS = [t for t, *_ in (*IDS, *SPELLED, *CONTACTS, *BIRTH, *PLACES)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_POSITIVE_TEXTS), min_size=1, max_size=3))
def test_property_decomposed_text_finds_the_same(texts: list[str]) -> None:
    text = ". ".join(texts)

    def found(form: Literal["NFC", "NFD"]) -> list[tuple[str, str]]:
        t = unicodedata.normalize(form, text)
        return [(unicodedata.normalize("NFC", t[s.start : s.end]), s.kind) for s in find_spans(t)]

    assert found("NFD") == found("NFC")


@pytest.mark.parametrize("text", _POSITIVE_TEXTS)
def test_what_is_redacted_leaves_no_cue_of_its_kind(text: str) -> None:
    left = residual_flags(_redact(text))
    assert not left & {"place_number", "birth_date", "id_number", "handle", "number_words"}, (
        _redact(text),
        left,
    )


def test_fullwidth_thai_digits_and_invisible_characters() -> None:
    _assert_found("工号：５５００１", "５５００１", "EMPLOYEE-ID")
    _assert_found("手机１３９ １２３４ ５６７８", "１３９ １２３４ ５６７８", "PHONE")
    _assert_found("รหัสพนักงาน ๕๕๐๐๑", "๕๕๐๐๑", "EMPLOYEE-ID")
    _assert_found("badge\u00a04471", "4471", "EMPLOYEE-ID")
    _assert_found("ba\u200bdge 4471", "4471", "EMPLOYEE-ID")
    _assert_found("55\u00a0001 was hers", "55\u00a0001", "NUMBER")
    _assert_found("6\u20110\u20119\u20112", "6\u20110\u20119\u20112", "NUMBER")
    _assert_found("huong\uff20example.org", "huong\uff20example.org", "EMAIL")


# --- the interface ---------------------------------------------------------------------


def test_detect_needs_nothing_of_the_vault() -> None:
    from test_layers import MODULES, _vault_imports

    detect = [m for m in MODULES if m == "vault.detect" or m.startswith("vault.detect.")]
    assert len(detect) > 5
    for module in detect:
        outside = {t for t in _vault_imports(module) if not t.startswith("vault.detect")}
        assert outside <= {"vault.errors"}, module


def test_span_repr_shows_no_text() -> None:
    (span,) = find_spans("badge 4471")
    assert repr(span) == "Span(6, 10, 'EMPLOYEE-ID')"
    assert isinstance(span, Span)


def test_empty_and_plain_text() -> None:
    assert find_spans("") == []
    assert find_spans("The canteen food was bad and nobody listened.") == []
    assert residual_flags("") == frozenset()


_ALPHABET = st.sampled_from(
    [
        *"abcdeghiklmnoprstuvy0123456789 .,-/@:()[]#\u00a0\u200b",
        *("thẻ ", "số ", "badge ", "line ", "born ", "sinh năm ", "一", "三", "九", "号线", "年"),
        *("ห้อง ", "เกิด", "๑", "１", "e\u0301", "không ", "zero ", " at ", " dot ", "http://x.y/"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_ALPHABET, max_size=60).map("".join),
    st.frozensets(st.integers(1900, 2030), max_size=2),
)
def test_property_spans_are_well_formed(text: str, years: frozenset[int]) -> None:
    spans = find_spans(text, birth_years=years)
    assert spans == sorted(spans, key=lambda s: (s.start, -s.end))
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert s.kind in KINDS
        # A span never splits a letter from its combining mark.
        assert s.end == len(text) or not unicodedata.combining(text[s.end])
    assert residual_flags(text) <= set(FLAG_KINDS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_property_any_text_is_read_without_error(text: str) -> None:
    for s in find_spans(text, birth_years=frozenset({1994})):
        assert 0 <= s.start < s.end <= len(text)
    assert residual_flags(text) <= set(FLAG_KINDS)


# --- residual risk cues ----------------------------------------------------------------

CUES = [
    ("She is the only pregnant worker on line [NUMBER].", {"only"}),
    ("[WORKER-1] is the one who spoke to the press.", {"only"}),
    ("Chị [WORKER-1] là người duy nhất trong tổ đang mang thai.", {"only"}),
    ("车间里只有她一个孕妇。", {"only"}),
    ("[WORKER-1] je jediná těhotná žena.", {"only"}),
    ("Es la única mujer embarazada.", {"only"}),
    ("C'est la seule femme enceinte.", {"only"}),
    ("Dia satu-satunya pekerja perempuan.", {"only"}),
    ("เธอเป็นผู้หญิงคนเดียวในแผนก", {"only"}),
    ("[PERSON-2], the union president, was fired.", {"role"}),
    ("[WORKER-1] là chủ tịch công đoàn cơ sở.", {"role"}),
    ("Tổ trưởng [PERSON-2] chửi chúng tôi.", set()),
    ("[WORKER-1], 24 tuổi, làm ở đây.", {"age"}),
    ("She is 24 years old.", {"age"}),
    ("她今年24岁。", {"age"}),
    ("She works on line 3.", {"place_number"}),
    ("She lives in the village of Ban Na.", {"place_number"}),
    ("born in 1994", {"birth_date"}),
    ("badge 4471", {"id_number"}),
    ("Zalo: huong.nguyen94", {"handle"}),
    ("write to [EMAIL] or @huong_ng", {"handle"}),
    ("gọi không chín một hai ba bốn", {"number_words"}),
    (
        "[WORKER-1] worked on line [PLACE], badge [EMPLOYEE-ID], born [DATE-OF-BIRTH], "
        "call [PHONE], Zalo [HANDLE], village [PLACE], thẻ số [EMPLOYEE-ID], sinh năm [DATE-OF-BIRTH].",
        set(),
    ),
    ("The workers were paid 5.500.000 đồng for 60 hours in March 2024.", set()),
]


@pytest.mark.parametrize(("text", "flags"), CUES)
def test_residual_flags(text: str, flags: set[str]) -> None:
    assert residual_flags(text) == flags


def test_flag_kinds_are_documented() -> None:
    from vault.detect import cues

    assert cues.__doc__ is not None
    for kind in FLAG_KINDS:
        assert f"``{kind}``" in cues.__doc__, kind


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("She showed us her badge, number 22312. Rose left.", "22312", "EMPLOYEE-ID"),
        ("Ukázala nám kartu, číslo karty 24007. Pracuje", "24007", "NUMBER"),
        ("Kartu ID nomor 15023 miliknya diblokir", "15023", "NUMBER"),
        ("เธอให้เราดูบัตรพนักงานเลขที่ 82721 วันเกิด", "82721", "EMPLOYEE-ID"),
        (
            "Write to dao.job42 at praisanee dot example please",
            "dao.job42 at praisanee dot example",
            "EMAIL",
        ),
        ("Her Zalo is tiger.rain88 now", "tiger.rain88", "HANDLE"),
        ("call kitty_1143 or luckykitty446.", "kitty_1143", "HANDLE"),
        ("call kitty_1143 or luckykitty446.", "luckykitty446", "HANDLE"),
    ],
)
def test_values_the_disclosure_corpus_showed_missing(text: str, value: str, kind: str) -> None:
    spans = {(text[s.start : s.end], s.kind) for s in find_spans(text)}
    assert (value, kind) in spans


@pytest.mark.parametrize(
    "text",
    [
        "We met at 8 a.m., e.g. at the gate; the mp3 player and an A4 sheet.",
        "The fine was 3 วัน of wages.",
    ],
)
def test_abbreviations_and_short_codes_are_no_user_names(text: str) -> None:
    assert not [s for s in find_spans(text) if s.kind == "HANDLE"]


def test_a_user_name_beside_chinese_characters() -> None:
    text = "她的微信号是star_1693，抖音是@luckycloud847。"
    found = {text[s.start : s.end] for s in find_spans(text)}
    assert {"star_1693", "@luckycloud847"} <= found
