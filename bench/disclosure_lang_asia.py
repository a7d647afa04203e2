"""Vietnamese, Thai, Chinese and Indonesian for the disclosure corpus (invented people).

Each language's names are chosen so that some fold into its everyday words: Lan and
lần, Lương and lương, Nam and năm; a Thai nickname inside a longer word (น้อย in
น้อยกว่า), the surname ใจดี that is also "kind"; one-character Chinese surnames inside
common words (金 in 押金, 马 in 马上, 李 in 行李); Bunga, Indah, Putri, Teguh.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from typing import ClassVar

from disclosure_lang import Form, Lang, Person, ascii_only, name_pieces
from disclosure_model import handle_pieces, number_pieces, word_pieces


def _thousands(x: int, sep: str) -> str:
    return f"{x:,}".replace(",", sep)


# --- Vietnamese -------------------------------------------------------------------------


class Vietnamese(Lang):
    code = "vi"
    country = "VN"
    nationalities = ("VN",)
    cc = "84"
    digit_words = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
    months = tuple(f"tháng {i}" for i in range(1, 13))
    mail_domains = ("hopthu.example", "thudientu.example", "mailviet.example")
    eid_prefixes = ("NV", "MNV", "EMP", "CN")
    FAMILY = (
        "Nguyễn",
        "Trần",
        "Lê",
        "Phạm",
        "Hoàng",
        "Vũ",
        "Đặng",
        "Bùi",
        "Đỗ",
        "Ngô",
        "Dương",
        "Lương",
        "Đinh",
        "Lâm",
        "Trịnh",
        "Hồ",
    )
    GIVEN_F = (
        "Lan",
        "Lan",
        "Hương",
        "Hoa",
        "Mai",
        "Linh",
        "Thảo",
        "Hằng",
        "Nhung",
        "Trang",
        "Yến",
        "Huyền",
        "Ngân",
        "Thu",
        "Nga",
        "Phượng",
        "Dung",
    )
    GIVEN_M = (
        "Nam",
        "Nam",
        "Công",
        "Hùng",
        "Tuấn",
        "Dũng",
        "Hải",
        "Sơn",
        "Long",
        "Quang",
        "Thắng",
        "Phúc",
        "Bình",
        "Lương",
        "Toàn",
        "Khánh",
        "Vinh",
    )
    MIDDLE: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "f": ("Thị", "Thị", "Thị", "Ngọc", "Thanh"),
        "m": ("Văn", "Văn", "Văn", "Đức", "Minh"),
    }
    NICKS = ("Bống", "Tí", "Mít", "Su", "Bin", "Út", "Xoài", "Cún", "Bi", "Híp")
    PLACE_A = ("Đông", "Tây", "Hạ", "Thượng", "Yên", "Phú", "Vĩnh", "Mỹ", "Tân", "Hòa", "Bãi")
    PLACE_B = ("Lạc", "Khê", "Trạch", "Sậy", "Xá", "Lộc", "Điền", "Thịnh", "Giang", "Sen")

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        family = self._pick(rng, self.FAMILY, taken)
        given = self._pick(rng, self.GIVEN_F if gender == "f" else self.GIVEN_M, taken)
        middle = rng.choice(self.MIDDLE[gender])
        # Thị and Văn say only "a woman", "a man"; they are no piece of who someone is.
        pieces = (family, given) if middle in ("Thị", "Văn") else (family, middle, given)
        return Person(given, family, gender, f"{family} {middle} {given}", pieces)

    def given_form(self, p: Person, rng: random.Random) -> Form:
        title = rng.choice(
            ("chị", "chị", "cô", "em") if p.gender == "f" else ("anh", "anh", "chú", "em")
        )
        return Form(f"{title} {p.given}", (p.given,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if rng.random() < 0.2:
            title = "bà" if p.gender == "f" else "ông"
            return Form(f"{title} {p.full}", p.pieces)
        title = rng.choice(("chị", "cô", "bà") if p.gender == "f" else ("anh", "chú", "ông"))
        return Form(f"{title} {p.given}", (p.given,))

    def nickname(self, p: Person, rng: random.Random, taken: set[str]) -> str | None:
        return self._pick(rng, self.NICKS, taken)

    def pronoun(self, p: Person) -> str:
        return "chị" if p.gender == "f" else "anh"

    def pronoun2(self, p: Person) -> str:
        return "chị ấy" if p.gender == "f" else "anh ấy"

    def kin_relation(self, kin: Person) -> str:
        return "em gái" if kin.gender == "f" else "anh trai"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        del forms["comma_reversed"]
        # Given name first, as forms abroad and social media write it.
        western = rng.choice((f"{p.given} {p.family}", ascii_only(f"{p.given} {p.family}")))
        forms["reversed"] = Form(western, name_pieces(western))
        return forms

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("9", "3", "8", "7")) + f"{rng.randint(0, 99_999_999):08d}"

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        text = rng.choice(
            (
                f"{d.day} tháng {d.month} năm {d.year}",
                f"{d.day}/{d.month}/{d.year}",
                f"{d.day:02d}-{d.month:02d}-{d.year}",
            )
        )
        return Form(text, number_pieces(text))

    def numeric_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}-{d.month}-{d.year}"))

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.day} tháng {d.month}", f"{d.day}/{d.month}/{d.year}"))

    def village(self, rng: random.Random) -> Form:
        name = f"{rng.choice(self.PLACE_A)} {rng.choice(self.PLACE_B)}"
        return Form(f"{rng.choice(('thôn', 'xóm', 'làng'))} {name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        commune = f"{rng.choice(self.PLACE_A)} {rng.choice(self.PLACE_B)}"
        province = rng.choice(("Thanh Hóa", "Nghệ An", "Thái Bình", "Hà Tĩnh", "Bắc Giang"))
        return f"{village.text[:1].upper()}{village.text[1:]}, xã {commune}, tỉnh {province}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(101, 520)
        text = rng.choice(
            (
                f"phòng {n} ký túc xá {rng.choice('ABCDE')}",
                f"phòng {n}, khu nhà trọ số {rng.randint(2, 9)}",
            )
        )
        return Form(text, (str(n),))

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        text = rng.choice((f"chuyền {k} ca đêm", f"tổ {k} ca ngày", f"chuyền {k}, ca ba"))
        return Form(text, (str(k),))

    def amount(self, rng: random.Random) -> str:
        return f"{_thousands(rng.randint(15, 90) * 100_000, '.')} đồng"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "người duy nhất đang mang thai ở chuyền {k}",
            "công nhân duy nhất là người Khmer trong tổ đóng gói",
            "đoàn viên công đoàn duy nhất của ca đêm",
            "người duy nhất phải đi xe lăn trong xưởng",
        ),
        "m": (
            "công nhân nam duy nhất ở tổ kiểm hàng",
            "công nhân duy nhất là người Khmer trong tổ đóng gói",
            "đoàn viên công đoàn duy nhất của ca đêm",
            "người duy nhất phải đi xe lăn trong xưởng",
        ),
    }
    hours_format = "{} tiếng"
    days_format = "{} ngày"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W}, công nhân <<may>> ở xưởng 2, kể lại sự việc với chúng tôi.",
            "Chúng tôi gặp {W} tại nhà trọ gần khu công nghiệp vào ngày {DATE}.",
            "{^W} đã <<làm>> ở <<công ty>> được ba <<năm>>.",
            "Ghi chép phỏng vấn với {W}, công nhân đóng gói.",
        ),
        "name": (
            "{^NAME} cho biết <<tổ trưởng>> thường xuyên quát mắng công nhân.",
            "Theo lời {NAME}, <<công ty>> không trả <<tiền tăng ca>> đúng hạn.",
            "{^NAME} nói: “Em <<làm>> ở đây hai <<năm>> rồi mà <<lương>> vẫn vậy.”",
            "Đồng nghiệp thường gọi {PRON2} là {NICK}.",
            "Tài khoản Facebook của {PRON2} là {HANDLE_NAME}.",
            "Trên bảng chấm công, tên {PRON2} được ghi là {DIGITS_NAME}.",
            "Trong danh sách bị phạt tháng trước có tên {NAME}.",
            "{^NAME} từng bị trừ <<lương>> vì xin nghỉ ốm.",
            "Trên thẻ ra vào in tên {CAPS}.",
        ),
        "id": (
            "Mã nhân viên của {PRON2} là {EID}.",
            "{^PRON} đưa cho chúng tôi xem thẻ số {BADGE}.",
            "{^SUP} ghi mã số {EID} vào sổ phạt.",
            "Thẻ nhân viên số {BADGE} của {PRON2} bị khóa sau khi {PRON} xin nghỉ.",
            "Trong phiếu <<lương>>, mã {EID} bị trừ {AMOUNT}.",
        ),
        "contact": (
            "Số điện thoại của {PRON2} là {PHONE}.",
            "Có thể liên lạc với {PRON2} qua Zalo số {PHONE}.",
            "Email của {PRON2}: {EMAIL}.",
            "Môi giới {AGENT} gọi từ số {PHONE_OTHER} để đòi tiền <<phí>>.",
            "{^PRON} nhắn tin cho chúng tôi qua {HANDLE_URL}.",
            "Nick Zalo của {PRON2} là {HANDLE_ID}.",
            "Trên TikTok, {PRON} có tài khoản {HANDLE_AT}.",
            "Môi giới dùng email {EMAIL_OTHER} để gửi <<hợp đồng>>.",
        ),
        "birth": (
            "{^PRON} sinh ngày {DOB}.",
            "{^PRON} sinh năm {BYEAR} ở {VILLAGE}.",
            "Trên căn cước ghi ngày {SAMEYEAR}.",
            "Ngày sinh: {DOB}.",
        ),
        "place": (
            "Quê {PRON2} ở {VILLAGE}.",
            "{^PRON} ở {ROOM} cùng <<năm>> người khác.",
            "{^PRON} <<làm>> ở {LINE}.",
            "Môi giới {AGENT} đưa người từ {PLACE} lên <<làm>> việc.",
        ),
        "people": (
            "{^SUP} là <<tổ trưởng>>, hay phạt tiền công nhân.",
            "{^COWORKER} cũng bị trừ <<lương>> như vậy.",
            "{^KINREL} của {PRON2} là {KIN}, cũng <<làm>> ở <<công ty>> này.",
            "Quản đốc {OTHER_FULL} đã dọa đuổi việc {PRON2}.",
            "{^OTHER} bên nhân sự nói không có <<hợp đồng>>.",
            "Bảo vệ {OTHER} lục soát túi của công nhân.",
            "{^PRON} và {COWORKER} cùng đi khám ở trạm y tế.",
        ),
        "only": (
            "{^PRON} là {ONLY}, nên ai cũng biết chuyện.",
            "Vì là {ONLY}, {PRON} bị <<tổ trưởng>> để ý.",
        ),
        "content": (
            "Mỗi tháng <<lương>> cơ bản chỉ {AMOUNT}, phải <<tăng ca>> {HOURS} mỗi ngày.",
            "<<Công ty>> giữ <<hộ chiếu>> và thu <<tiền đặt cọc>> {AMOUNT}.",
            "Ngày {DATE}, cả xưởng bị giữ lại <<làm>> thêm đến khuya.",
            "Nếu nghỉ ốm <<thì>> bị trừ {DAYS} <<lương>>.",
            "<<Ký túc xá>> chật, nóng và không có nước sạch.",
            "<<Tổ trưởng>> không cho đi vệ sinh quá hai <<lần>> một ca.",
            "<<Tiền tăng ca>> của <<tháng>> trước vẫn chưa được trả.",
        ),
        "closing": (
            "{^NAME} đề nghị giữ kín danh tính.",
            "Cuộc phỏng vấn kéo dài một giờ.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "lan": (
            "Mỗi tháng chỉ được về quê một <<lần>>.",
            "Đã nhiều <<lần>> công nhân xin tăng <<lương>>.",
        ),
        "nam": (
            "Công nhân <<nam>> được ưu tiên <<tăng ca>>.",
            "<<Năm>> ngoái <<công ty>> không thưởng Tết.",
        ),
        "luong": ("<<Lương>> tháng này bị trừ vì đi muộn <<năm>> phút.",),
        "cong": ("Tiền <<công>> bị chậm hai tuần.", "<<Công>> nhân phải tự mua khẩu trang."),
        "thi": ("Ai không đạt chỉ tiêu <<thì>> bị phạt.",),
        "van": ("Công nhân phải ký <<văn>> bản cam kết không tham gia công đoàn.",),
        "lam": ("<<Làm>> đủ ca mà vẫn thiếu tiền.",),
        "hai": ("Mỗi ca chỉ được nghỉ <<hai>> lần.",),
        "mai": ("Tổ trưởng nói sáng <<mai>> phải đi <<làm>> sớm.",),
        "son": ("Xưởng <<sơn>> không có quạt hút.",),
        "ngan": ("<<Ngân>> hàng báo <<lương>> về chậm.",),
        "hoa": ("Môi giới lấy tiền <<hoa>> hồng rất cao.",),
        "dinh": ("Theo quy <<định>>, phải báo trước ba ngày.",),
        "binh": ("Ca đêm <<bình>> thường kéo dài mười hai tiếng.",),
        "thu": ("Cuối tháng <<công ty>> <<thu>> thêm tiền điện nước.",),
    }


# --- Thai -------------------------------------------------------------------------------


class Thai(Lang):
    code = "th"
    country = "TH"
    nationalities = ("TH", "TH", "MM", "KH", "LA")
    cc = "66"
    phone_groups = (2, 3, 4)
    spaced = False
    digit_words = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
    word_sep = ""
    months = (
        "มกราคม",
        "กุมภาพันธ์",
        "มีนาคม",
        "เมษายน",
        "พฤษภาคม",
        "มิถุนายน",
        "กรกฎาคม",
        "สิงหาคม",
        "กันยายน",
        "ตุลาคม",
        "พฤศจิกายน",
        "ธันวาคม",
    )
    mail_domains = ("maildee.example", "praisanee.example")
    eid_prefixes = ("TH", "EMP", "P")
    phone_writings = ("stored", "local", "compact", "words", "native")
    THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
    GIVEN_F: ClassVar[Mapping[str, str]] = {
        "สมใจ": "Somjai",
        "มาลี": "Malee",
        "วันดี": "Wandee",
        "นภา": "Napha",
        "ศิริพร": "Siriporn",
        "กาญจนา": "Kanchana",
        "อรุณี": "Arunee",
        "บุษบา": "Butsaba",
        "ลำดวน": "Lamduan",
        "จันทร์เพ็ญ": "Chanphen",
    }
    GIVEN_M: ClassVar[Mapping[str, str]] = {
        "สมชาย": "Somchai",
        "สมศักดิ์": "Somsak",
        "วิชัย": "Wichai",
        "ประเสริฐ": "Prasert",
        "สุนทร": "Sunthon",
        "อนุชา": "Anucha",
        "ธนากร": "Thanakorn",
        "บุญมี": "Boonmee",
        "ชัยวัฒน์": "Chaiwat",
        "สุรชัย": "Surachai",
    }
    FAMILY: ClassVar[Mapping[str, str]] = {
        "ใจดี": "Jaidee",
        "ศรีสุข": "Srisuk",
        "ทองดี": "Thongdee",
        "บุญมา": "Boonma",
        "แก้วมณี": "Kaewmanee",
        "สุขใจ": "Sukjai",
        "พรหมมา": "Phromma",
        "แสงทอง": "Saengthong",
        "มีสุข": "Meesuk",
        "ทองคำ": "Thongkham",
    }
    NICKS = ("แดง", "น้อย", "ปู", "ส้ม", "แก้ว", "เล็ก", "ดำ", "ต่าย", "แป้ง", "นก")
    handle_words = ("moo", "nong", "sabai", "chai", "dao", "fah", "nam", "lucky", "tiger", "star")

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        given = self._pick(rng, tuple(self.GIVEN_F if gender == "f" else self.GIVEN_M), taken)
        family = self._pick(rng, tuple(self.FAMILY), taken)
        roman = {**self.GIVEN_F, **self.GIVEN_M}[given], self.FAMILY[family]
        return Person(given, family, gender, f"{given} {family}", (given, family), {"roman": roman})

    def given_form(self, p: Person, rng: random.Random) -> Form:
        title = rng.choice(("คุณ", "พี่", "น้อง", ""))
        return Form(f"{title}{p.given}", (p.given,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if role == "supervisor" and rng.random() < 0.5:
            return Form(f"หัวหน้า{p.given}", (p.given,))
        if rng.random() < 0.2:
            return Form(f"คุณ{p.full}", p.pieces)
        return Form(f"{rng.choice(('คุณ', 'พี่', 'น้อง'))}{p.given}", (p.given,))

    def nickname(self, p: Person, rng: random.Random, taken: set[str]) -> str | None:
        return self._pick(rng, self.NICKS, taken)

    def pronoun(self, p: Person) -> str:
        return "เธอ" if p.gender == "f" else "เขา"

    def kin_relation(self, kin: Person) -> str:
        return "แม่" if kin.gender == "f" else "พี่ชาย"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        for key in ("initials", "reversed", "comma_reversed", "digits"):
            forms.pop(key, None)
        roman = p.extra["roman"]
        assert isinstance(roman, tuple)
        text = rng.choice(
            (f"{roman[0]} {roman[1]}", roman[0], f"{roman[0].upper()} {roman[1].upper()}")
        )
        forms["romanized"] = Form(text, name_pieces(text))
        forms["handle"] = self._roman_handle(roman, rng)
        return forms

    def _roman_handle(self, roman: tuple[str, str], rng: random.Random) -> Form:
        g, f = roman[0].lower(), roman[1].lower()
        text = rng.choice(
            (f"{g}.{f[:1]}{rng.randint(80, 99)}", f"{g}_{f}", f"{g}{rng.randint(1, 99)}")
        )
        return Form(text, handle_pieces(text))

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("8", "9", "6")) + f"{rng.randint(0, 99_999_999):08d}"

    def phone_written(self, nsn: str, how: str, rng: random.Random) -> Form | None:
        if how == "native":
            text = f"0{nsn[:2]}-{nsn[2:5]}-{nsn[5:]}".translate(self.THAI_DIGITS)
            return Form(text, number_pieces(text))
        return super().phone_written(nsn, how, rng)

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        be = d.year + 543  # the Buddhist Era, as Thai documents write years
        text = rng.choice(
            (
                f"{d.day} {self.months[d.month - 1]} {be}",
                f"{d.day} {self.months[d.month - 1]} พ.ศ. {be}",
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                f"{d.day}/{d.month}/{be}",
            )
        )
        return Form(text, number_pieces(text))

    def birth_year(self, d: dt.date, rng: random.Random) -> Form:
        return Form(str(d.year + 543), (str(d.year + 543),))

    def numeric_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice(
            (f"{d.day:02d}/{d.month:02d}/{d.year + 543}", f"{d.day}/{d.month}/{d.year}")
        )

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice(
            (f"{d.day} {self.months[d.month - 1]}", f"{d.day}/{d.month}/{d.year + 543}")
        )

    def village(self, rng: random.Random) -> Form:
        name = rng.choice(("หนอง", "โนน", "ดอน", "ห้วย", "นา", "โคก")) + rng.choice(
            ("บัว", "แก", "สะแบง", "ยาง", "คำ", "ไผ่", "ตะโก", "หว้า")
        )
        return Form(f"บ้าน{name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        return f"{village.text} หมู่ {rng.randint(1, 15)} อำเภอเมือง จังหวัด{rng.choice(('ขอนแก่น', 'อุดรธานี', 'ยโสธร'))}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(101, 520)
        return Form(f"หอพักอาคาร {rng.choice('ABCD')} ห้อง {n}", (str(n),))

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(rng.choice((f"ไลน์ {k} กะดึก", f"ไลน์ {k} กะเช้า")), (str(k),))

    def amount(self, rng: random.Random) -> str:
        return f"{_thousands(rng.randint(30, 150) * 100, ',')} บาท"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "คนเดียวที่ตั้งท้องในไลน์ {k}",
            "ผู้หญิงพม่าคนเดียวในแผนกแพ็คกิ้ง",
            "สมาชิกสหภาพคนเดียวในกะดึก",
            "คนงานคนเดียวที่ใช้รถเข็นในโรงงาน",
        ),
        "m": (
            "ผู้ชายคนเดียวในไลน์ {k}",
            "ผู้ชายพม่าคนเดียวในแผนกแพ็คกิ้ง",
            "สมาชิกสหภาพคนเดียวในกะดึก",
            "คนงานคนเดียวที่ใช้รถเข็นในโรงงาน",
        ),
    }
    hours_format = "{} ชั่วโมง"
    days_format = "{} วัน"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{W}เป็นพนักงานฝ่ายผลิต เล่าเรื่องให้เราฟังเมื่อวันที่ {DATE}",
            "เราพบ{W}ที่หอพักใกล้นิคมอุตสาหกรรม",
            "{W}<<ทำงาน>>ที่บริษัทนี้มาสามปีแล้ว",
        ),
        "name": (
            "{NAME}บอกว่า<<หัวหน้างาน>>ด่าคนงานทุกวัน",
            "ตามคำบอกเล่าของ{NAME} บริษัทไม่จ่าย<<ค่าล่วงเวลา>>ตามกำหนด",
            "เพื่อนๆ เรียก{PRON}ว่า{NICK}",
            "เฟซบุ๊กของ{PRON}ชื่อ {HANDLE_NAME}",
            "{NAME}ถูกหัก<<ค่าจ้าง>>เพราะลาป่วย",
            "ในเอกสารของนายหน้าเขียนชื่อว่า {NAME}",
        ),
        "id": (
            "รหัสพนักงานของ{PRON}คือ {EID}",
            "{PRON}ให้เราดูบัตรพนักงานเลขที่ {BADGE}",
            "{SUP}จดรหัส {EID} ไว้ในสมุดลงโทษ",
            "บัตรหมายเลข {BADGE} ของ{PRON}ถูกระงับหลังจากลาป่วย",
        ),
        "contact": (
            "เบอร์โทรศัพท์ของ{PRON}คือ {PHONE}",
            "ติดต่อ{PRON}ทางไลน์ได้ที่เบอร์ {PHONE}",
            "อีเมลของ{PRON}: {EMAIL}",
            "{AGENT}ซึ่งเป็น<<นายหน้า>>โทรมาจากเบอร์ {PHONE_OTHER} เพื่อทวง<<ค่าหัว>>",
            "ไลน์ไอดีของ{PRON}คือ {HANDLE_ID}",
            "{PRON}ส่งข้อความหาเราทาง {HANDLE_URL}",
            "ใน TikTok {PRON}ใช้ชื่อ {HANDLE_AT}",
            "นายหน้าส่ง<<สัญญา>>มาจากอีเมล {EMAIL_OTHER}",
        ),
        "birth": (
            "{PRON}เกิดวันที่ {DOB}",
            "{PRON}เกิดปี พ.ศ. {BYEAR} ที่{VILLAGE}",
            "ในบัตรประชาชนเขียนว่า {SAMEYEAR}",
            "วันเกิด: {DOB}",
        ),
        "place": (
            "บ้านเกิดของ{PRON}อยู่ที่{VILLAGE}",
            "{PRON}พักอยู่ที่{ROOM}กับเพื่อนอีกห้าคน",
            "{PRON}<<ทำงาน>>ที่{LINE}",
            "{AGENT}พาคนงานมาจาก{PLACE}",
        ),
        "people": (
            "{SUP}ชอบหัก<<ค่าจ้าง>>คนงาน",
            "{COWORKER}ก็ถูกหัก<<ค่าจ้าง>>เหมือนกัน",
            "{KINREL}ของ{PRON}ชื่อ{KIN} ก็<<ทำงาน>>ที่นี่เหมือนกัน",
            "ผู้จัดการ{OTHER_FULL}ขู่ว่าจะไล่{PRON}ออก",
            "{OTHER}จากฝ่ายบุคคลบอกว่าไม่มี<<สัญญาจ้าง>>",
            "{PRON}กับ{COWORKER}ไปหาหมอด้วยกัน",
        ),
        "only": (
            "{PRON}เป็น{ONLY} ทุกคนจึงรู้จัก",
            "เพราะเป็น{ONLY} {PRON}จึงถูกจับตา",
        ),
        "content": (
            "<<ค่าจ้าง>>รายเดือนแค่ {AMOUNT} แต่ต้องทำ<<โอที>>วันละ {HOURS}",
            "บริษัทยึด<<หนังสือเดินทาง>>และเก็บ<<เงินมัดจำ>> {AMOUNT}",
            "วันที่ {DATE} ทั้งไลน์ถูกบังคับให้<<ทำงาน>>จนดึก",
            "ถ้าลาป่วยจะถูกหัก<<ค่าจ้าง>> {DAYS}",
            "<<หอพัก>>แออัดและไม่มีน้ำสะอาด",
            "<<หัวหน้างาน>>ไม่ให้เข้าห้องน้ำเกินสองครั้งต่อกะ",
        ),
        "closing": (
            "{NAME}ขอให้ปกปิดชื่อ",
            "การสัมภาษณ์ใช้เวลาหนึ่ง<<ชั่วโมง>>",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "น้อย": ("ได้<<ค่าจ้าง>><<น้อยกว่า>>ค่าแรงขั้นต่ำ",),
        "แดง": ("ทุกคนต้องใส่เสื้อ<<สีแดง>>ในวันตรวจ",),
        "ปู": ("คนงานต้องแบก<<ปูน>>ทั้งวัน",),
        "ส้ม": ("โรงงานแจก<<น้ำส้ม>>แทน<<ค่าล่วงเวลา>>",),
        "แก้ว": ("ห้ามดื่มน้ำจาก<<แก้ว>>ในไลน์",),
        "เล็ก": ("ห้องพัก<<เล็ก>>มาก",),
        "ดำ": ("บริษัทไม่<<ดำเนินการ>>อะไรเลย",),
        "ใจดี": ("<<หัวหน้างาน>>ไม่<<ใจดี>>เลย",),
        "มีสุข": ("คนงานต้อง<<มีสุขภาพ>>ดีจึงจะได้ต่อสัญญา",),
        "ทองคำ": ("ต้องถอดสร้อย<<ทองคำ>>ก่อนเข้าไลน์",),
        "วันดี": ("<<วันดีคืนดี>>หัวหน้าก็ไล่คนออก",),
    }


# --- Chinese ----------------------------------------------------------------------------


class Chinese(Lang):
    code = "zh"
    country = "CN"
    nationalities = ("CN",)
    cc = "86"
    trunk = ""
    phone_groups = (3, 4, 4)
    spaced = False
    sentence_sep = ""
    digit_words = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")
    word_sep = ""
    months = tuple(f"{i}月" for i in range(1, 13))
    mail_domains = ("youxiang.example", "qqmail.example", "163mail.example")
    eid_prefixes = ("SZ", "DG", "GZ", "A")
    phone_writings = ("stored", "local", "compact", "words", "fullwidth")
    eid_writings = ("stored", "digits", "regrouped", "fullwidth")
    FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
    FAMILY = (
        "王",
        "李",
        "张",
        "刘",
        "陈",
        "杨",
        "黄",
        "赵",
        "周",
        "吴",
        "金",
        "马",
        "林",
        "高",
        "郭",
        "何",
    )
    GIVEN_F = (
        "芳",
        "静",
        "丽",
        "敏",
        "燕",
        "红",
        "霞",
        "小红",
        "海燕",
        "秀英",
        "晓梅",
        "玉兰",
        "春花",
        "丽娟",
    )
    GIVEN_M = (
        "磊",
        "强",
        "军",
        "明",
        "涛",
        "杰",
        "勇",
        "志强",
        "建国",
        "海波",
        "国平",
        "文斌",
        "晓东",
        "建华",
    )
    PINYIN: ClassVar[Mapping[str, str]] = {
        "王": "Wang", "李": "Li", "张": "Zhang", "刘": "Liu", "陈": "Chen", "杨": "Yang",
        "黄": "Huang", "赵": "Zhao", "周": "Zhou", "吴": "Wu", "金": "Jin", "马": "Ma",
        "林": "Lin", "高": "Gao", "郭": "Guo", "何": "He", "芳": "fang", "静": "jing",
        "丽": "li", "敏": "min", "燕": "yan", "红": "hong", "霞": "xia", "小": "xiao",
        "海": "hai", "秀": "xiu", "英": "ying", "晓": "xiao", "梅": "mei", "玉": "yu",
        "兰": "lan", "春": "chun", "花": "hua", "娟": "juan", "磊": "lei", "强": "qiang",
        "军": "jun", "明": "ming", "涛": "tao", "杰": "jie", "勇": "yong", "志": "zhi",
        "建": "jian", "国": "guo", "波": "bo", "平": "ping", "文": "wen", "斌": "bin",
        "东": "dong", "华": "hua",
    }  # fmt: skip
    CN_NUM = "〇一二三四五六七八九"

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        family = self._pick(rng, self.FAMILY, taken)
        given = self._pick(rng, self.GIVEN_F if gender == "f" else self.GIVEN_M, taken)
        roman = (self.PINYIN[family], "".join(self.PINYIN[c] for c in given).capitalize())
        return Person(given, family, gender, family + given, (family, given), {"roman": roman})

    def given_form(self, p: Person, rng: random.Random) -> Form:
        if len(p.given) == 2:
            return Form(p.given, (p.given,))
        return Form(p.given + ("姐" if p.gender == "f" else "哥"), (p.given,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        choice = rng.random()
        if role == "supervisor" and choice < 0.5:
            return Form(p.family + rng.choice(("组长", "主管", "线长")), (p.family,))
        if choice < 0.3:
            return Form(rng.choice(("老", "小")) + p.family, (p.family,))
        if choice < 0.5:
            return Form(p.family + rng.choice(("师傅", "经理", "姐", "哥")), (p.family,))
        if choice < 0.65 and len(p.given) == 1:
            return Form("阿" + p.given, (p.given,))
        return Form(p.full, p.pieces)

    def nickname(self, p: Person, rng: random.Random, taken: set[str]) -> str | None:
        last = p.given[-1]
        nick = rng.choice(("小" + last, "阿" + last, last + last))
        return nick if nick != p.given else last + last

    def pronoun(self, p: Person) -> str:
        return "她" if p.gender == "f" else "他"

    def kin_relation(self, kin: Person) -> str:
        return "妹妹" if kin.gender == "f" else "哥哥"

    def worker_forms(self, p: Person, rng: random.Random) -> dict[str, Form]:
        forms = super().worker_forms(p, rng)
        for key in ("initials", "reversed", "digits"):
            forms.pop(key, None)
        forms["zwsp"] = Form(f"{p.family}\u200b{p.given}", p.pieces)
        forms["linebreak"] = Form(f"{p.family}\n{p.given}", p.pieces)
        forms["comma_reversed"] = Form(f"{p.given}, {p.family}", p.pieces)
        roman = p.extra["roman"]
        assert isinstance(roman, tuple)
        text = rng.choice(
            (f"{roman[0]} {roman[1]}", f"{roman[1]} {roman[0]}", f"{roman[0].upper()} {roman[1]}")
        )
        forms["romanized"] = Form(text, name_pieces(text))
        g, f = roman[1].lower(), roman[0].lower()
        handle = rng.choice(
            (f"{f}{g}{rng.randint(80, 99)}", f"{g}.{f}", f"{f}_{g}{rng.randint(1, 9)}")
        )
        forms["handle"] = Form(handle, handle_pieces(handle))
        return forms

    def mobile(self, rng: random.Random) -> str:
        return rng.choice(("13", "15", "18", "17")) + f"{rng.randint(0, 999_999_999):09d}"

    def phone_written(self, nsn: str, how: str, rng: random.Random) -> Form | None:
        if how == "words":
            # Read out digit by digit, 1 often as 幺 so it is not heard as 7.
            one = rng.choice(("一", "幺"))
            words = [one if d == "1" else self.digit_words[int(d)] for d in nsn]
            text, pieces = word_pieces(words, "", 4)
            return Form(text, pieces)
        if how == "fullwidth":
            text = f"{nsn[:3]} {nsn[3:7]} {nsn[7:]}".translate(self.FULLWIDTH)
            return Form(text, number_pieces(text))
        return super().phone_written(nsn, how, rng)

    def eid_written(self, stored: str, digits: str, how: str, rng: random.Random) -> Form | None:
        if how == "fullwidth":
            text = digits.translate(self.FULLWIDTH)
            return Form(text, (text,))
        return super().eid_written(stored, digits, how, rng)

    def _cn_number(self, n: int) -> str:
        tens, units = divmod(n, 10)
        head = "" if tens == 0 else ("十" if tens == 1 else self.CN_NUM[tens] + "十")
        return head + (self.CN_NUM[units] if units else "")

    def dob(self, d: dt.date, rng: random.Random) -> Form:
        style = rng.randrange(4)
        if style == 0:
            year = "".join(self.CN_NUM[int(c)] for c in str(d.year))
            md = f"{self._cn_number(d.month)}月{self._cn_number(d.day)}"
            return Form(f"{year}年{md}日", (year, md))
        text = (
            f"{d.year}年{d.month}月{d.day}日",
            f"{d.year}-{d.month:02d}-{d.day:02d}",
            f"{d.year}.{d.month}.{d.day}",
        )[style - 1]
        return Form(text, number_pieces(text))

    def numeric_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.year}-{d.month:02d}-{d.day:02d}", f"{d.year}/{d.month}/{d.day}"))

    def event_date(self, d: dt.date, rng: random.Random) -> str:
        return rng.choice((f"{d.month}月{d.day}日", f"{d.year}年{d.month}月{d.day}日"))

    def village(self, rng: random.Random) -> Form:
        name = rng.choice(
            (
                rng.choice(self.FAMILY) + rng.choice(("家", "庄", "湾")),
                rng.choice("东西南北上下") + rng.choice("河山塘坪岭沟"),
            )
        )
        return Form(f"{name}村", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        county = rng.choice(("河南省周口市", "四川省南充市", "湖南省邵阳市", "贵州省遵义市"))
        return f"{county}{rng.choice('东西南北')}平县{village.text}{rng.randint(1, 99)}号"

    def room(self, rng: random.Random) -> Form:
        block, n = rng.randint(1, 12), rng.randint(101, 620)
        if rng.random() < 0.5:
            return Form(f"宿舍{block}栋{n}", (f"{block}栋", str(n)))
        return Form(f"{block}号楼{n}室", (f"{block}号楼", str(n)))

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        if rng.random() < 0.3:
            cn = self._cn_number(k)
            return Form(f"{cn}号线夜班", (f"{cn}号",))
        return Form(rng.choice((f"{k}号线夜班", f"{k}号线白班")), (f"{k}号",))

    def amount(self, rng: random.Random) -> str:
        return f"{rng.randint(20, 80) * 100}{rng.choice(('元', '块'))}"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "{k}号线唯一的孕妇",
            "包装组唯一的少数民族工人",
            "夜班唯一的工会会员",
            "车间里唯一坐轮椅的人",
        ),
        "m": (
            "{k}号线唯一的男工",
            "包装组唯一的少数民族工人",
            "夜班唯一的工会会员",
            "车间里唯一坐轮椅的人",
        ),
    }
    hours_format = "{}个小时"
    days_format = "{}天"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{W}是电子厂的普工，{DATE}接受了我们的访谈。",
            "我们在工业区附近的出租屋见到了{W}。",
            "{W}在这家<<工厂>>已经<<工作>>了三年。",
        ),
        "name": (
            "{NAME}说<<组长>>经常骂工人。",
            "据{NAME}说，公司没有按时发<<加班费>>。",
            "工友们都叫{PRON}{NICK}。",
            "{PRON}的抖音号是{HANDLE_NAME}。",
            "{NAME}因为请<<病假>>被扣了<<工资>>。",
            "罚款名单上写的是“{COMMA}”。",
            "中介的表格上写的名字是{NAME}。",
        ),
        "id": (
            "{PRON}的工号是{EID}。",
            "{PRON}给我们看了工牌，工牌号{BADGE}。",
            "{SUP}把工号{EID}记在了罚款本上。",
            "{PRON}的厂牌编号{BADGE}在请假后被停用了。",
        ),
        "contact": (
            "{PRON}的手机号是{PHONE}。",
            "可以通过微信联系{PRON}，微信绑定的手机是{PHONE}。",
            "{PRON}的邮箱：{EMAIL}。",
            "中介{AGENT}用{PHONE_OTHER}打电话来要<<介绍费>>。",
            "{PRON}的微信号是{HANDLE_ID}。",
            "{PRON}通过{HANDLE_URL}给我们发了消息。",
            "{PRON}在抖音上的账号是{HANDLE_AT}。",
            "中介用邮箱{EMAIL_OTHER}发来<<合同>>。",
        ),
        "birth": (
            "{PRON}出生于{DOB}。",
            "{PRON}{BYEAR}年出生在{VILLAGE}。",
            "身份证上的日期是{SAMEYEAR}。",
            "出生日期：{DOB}。",
        ),
        "place": (
            "{PRON}老家在{VILLAGE}。",
            "{PRON}住在{ROOM}，一间屋住八个人。",
            "{PRON}在{LINE}上班。",
            "{AGENT}从{PLACE}招了很多人。",
        ),
        "people": (
            "{SUP}经常罚工人的钱。",
            "{COWORKER}也被扣了<<工资>>。",
            "{PRON}的{KINREL}{KIN}也在这个厂上班。",
            "车间主任{OTHER_FULL}威胁要开除{PRON}。",
            "人事部的{OTHER}说没有<<劳动合同>>。",
            "{PRON}和{COWORKER}一起去了<<医务室>>。",
        ),
        "only": (
            "{PRON}是{ONLY}，大家都认识{PRON}。",
            "因为是{ONLY}，{PRON}一直被盯着。",
        ),
        "content": (
            "每月<<底薪>>只有{AMOUNT}，每天要<<加班>>{HOURS}。",
            "公司扣了<<身份证>>，还收了{AMOUNT}<<押金>>。",
            "{DATE}，整条线被留下来<<加班>>到半夜。",
            "请<<病假>>要扣{DAYS}<<工资>>。",
            "<<宿舍>>又挤又热，没有热水。",
            "<<组长>>不让一个班上两次以上<<厕所>>。",
            "<<护照>>被公司收走了，一直没还。",
        ),
        "closing": (
            "{NAME}要求不公开姓名。",
            "访谈持续了一个<<小时>>。",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "金": (
            "公司从<<工资>>里扣<<押金>>。",
            "<<奖金>>只发<<现金>>，没有记录。",
            "罚款<<金额>>从来不说清楚。",
        ),
        "马": ("<<组长>>说请假的人<<马上>>走人。",),
        "高": ("车间<<高温>>，没有降温设备。",),
        "周": ("<<周末>>也要上班。",),
        "张": ("入职时只签了一<<张>>纸。",),
        "李": ("<<行李>>要放在宿舍门口检查。",),
        "明": ("<<组长>>说<<明天>>还要<<加班>>。",),
        "强": ("这就是<<强迫>><<加班>>。",),
        "王": ("去年有人在<<王府井>>发传单找工人。",),
        "红": ("过年只发了一个小<<红包>>。",),
        "军": ("新员工要先参加<<军训>>。",),
        "静": ("<<宿舍>>晚上从来不<<安静>>。",),
        "敏": ("有人对胶水<<过敏>>。",),
        "何": ("受伤后没有<<任何>>补偿。",),
    }


# --- Indonesian -------------------------------------------------------------------------


class Indonesian(Lang):
    code = "id"
    country = "ID"
    nationalities = ("ID",)
    cc = "62"
    phone_groups = (3, 4, 4)
    digit_words = (
        "nol",
        "satu",
        "dua",
        "tiga",
        "empat",
        "lima",
        "enam",
        "tujuh",
        "delapan",
        "sembilan",
    )
    months = (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    )
    mail_domains = ("surel.example", "posku.example")
    eid_prefixes = ("NIK", "KRY", "EMP", "P")
    GIVEN_F = (
        "Siti",
        "Sri",
        "Dewi",
        "Bunga",
        "Putri",
        "Indah",
        "Ayu",
        "Rina",
        "Wulan",
        "Intan",
        "Ratna",
        "Nur",
    )
    GIVEN_M = (
        "Budi",
        "Agus",
        "Joko",
        "Eko",
        "Wahyu",
        "Bambang",
        "Dedi",
        "Rudi",
        "Hendra",
        "Yusuf",
        "Arif",
        "Teguh",
    )
    FAMILY: ClassVar[Mapping[str, str]] = {
        "Rahayu": "Ayu",
        "Wahyuni": "Yuni",
        "Lestari": "Tari",
        "Permata": "Tata",
        "Setiawan": "Wawan",
        "Santoso": "Santo",
        "Susilo": "Silo",
        "Prasetyo": "Pras",
        "Hidayat": "Dayat",
        "Marlina": "Lina",
        "Kurniawan": "Iwan",
        "Saputra": "Putra",
        "Wulandari": "Wulan",
        "Handayani": "Yani",
    }
    MONONYMS: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "f": {"Sutini": "Tini", "Wagiyem": "Yem", "Suparmi": "Parmi", "Sumiati": "Umi"},
        "m": {"Sumarno": "Marno", "Tukiman": "Man", "Paijo": "Jo", "Sukirno": "Kirno"},
    }
    PLACE_A = ("Suka", "Mekar", "Sumber", "Karang", "Tanjung", "Cipta", "Jati", "Wono")
    PLACE_B = ("maju", "jaya", "sari", "rejo", "makmur", "wangi", "mulyo", "asih")

    def person(self, rng: random.Random, gender: str, taken: set[str]) -> Person:
        if rng.random() < 0.25:
            pool = self.MONONYMS[gender]
            name = self._pick(rng, tuple(pool), taken)
            return Person(name, "", gender, name, (name,), {"nick": pool[name]})
        given = self._pick(rng, self.GIVEN_F if gender == "f" else self.GIVEN_M, taken)
        family = self._pick(rng, tuple(self.FAMILY), taken)
        return Person(
            given,
            family,
            gender,
            f"{given} {family}",
            (given, family),
            {"nick": self.FAMILY[family]},
        )

    def given_form(self, p: Person, rng: random.Random) -> Form:
        titles = ("Mbak", "Bu", "") if p.gender == "f" else ("Mas", "Pak", "")
        title = rng.choice(titles)
        return Form(f"{title} {p.given}".strip(), (p.given,))

    def refer(self, p: Person, rng: random.Random, role: str) -> Form:
        if role == "supervisor" and rng.random() < 0.4:
            return Form(f"mandor {p.given}", (p.given,))
        if rng.random() < 0.2:
            return Form(f"{'Ibu' if p.gender == 'f' else 'Bapak'} {p.full}", p.pieces)
        titles = ("Bu", "Mbak", "Kak") if p.gender == "f" else ("Pak", "Mas", "Bang")
        return Form(f"{rng.choice(titles)} {p.given}", (p.given,))

    def pronoun(self, p: Person) -> str:
        return "dia"

    def kin_relation(self, kin: Person) -> str:
        return "adik" if kin.gender == "f" else "kakak"

    def name_handle(self, p: Person, rng: random.Random) -> Form:
        if not p.family:
            text = f"{p.given.lower()}_{rng.randint(80, 99)}"
            return Form(text, handle_pieces(text))
        return super().name_handle(p, rng)

    def mobile(self, rng: random.Random) -> str:
        return (
            rng.choice(("812", "813", "821", "852", "857", "878"))
            + f"{rng.randint(0, 99_999_999):08d}"
        )

    def village(self, rng: random.Random) -> Form:
        name = rng.choice(self.PLACE_A) + rng.choice(self.PLACE_B)
        return Form(f"{rng.choice(('Desa', 'Dusun', 'Kampung'))} {name}", (name,))

    def address(self, village: Form, rng: random.Random) -> str:
        regency = rng.choice(("Kediri", "Blitar", "Cianjur", "Lombok Timur", "Indramayu"))
        return f"{village.text} RT {rng.randint(1, 9):02d}/RW {rng.randint(1, 9):02d}, Kabupaten {regency}"

    def room(self, rng: random.Random) -> Form:
        n = rng.randint(1, 40)
        text = rng.choice(
            (f"asrama blok {rng.choice('ABCD')} kamar {n}", f"mes karyawan kamar {n}")
        )
        return Form(text, (str(n),))

    def line(self, rng: random.Random) -> Form:
        k = rng.randint(1, 12)
        return Form(rng.choice((f"line {k} shift malam", f"line {k} shift pagi")), (str(k),))

    def amount(self, rng: random.Random) -> str:
        return f"Rp {_thousands(rng.randint(15, 50) * 100_000, '.')}"

    only_phrases: ClassVar[Mapping[str, Sequence[str]]] = {
        "f": (
            "satu-satunya pekerja hamil di line {k}",
            "satu-satunya orang Flores di bagian pengepakan",
            "satu-satunya anggota serikat di shift malam",
            "satu-satunya pekerja yang memakai kursi roda",
        ),
        "m": (
            "satu-satunya pekerja laki-laki di line {k}",
            "satu-satunya orang Flores di bagian pengepakan",
            "satu-satunya anggota serikat di shift malam",
            "satu-satunya pekerja yang memakai kursi roda",
        ),
    }
    hours_format = "{} jam"
    days_format = "{} hari"

    templates: ClassVar[Mapping[str, Sequence[str]]] = {
        "intro": (
            "{^W}, buruh bagian produksi, menceritakan pengalamannya pada {DATE}.",
            "Kami bertemu {W} di kos dekat kawasan industri.",
            "{^W} sudah <<bekerja>> di pabrik ini selama tiga tahun.",
        ),
        "name": (
            "{^NAME} mengatakan <<mandor>> sering membentak pekerja.",
            "Menurut {NAME}, perusahaan tidak membayar <<upah lembur>> tepat waktu.",
            "Teman-teman memanggilnya {NICK}.",
            "Akun Facebook-nya bernama {HANDLE_NAME}.",
            "{^NAME} pernah dipotong <<gaji>> karena izin sakit.",
            "Di daftar hadir, namanya tertulis {DIGITS_NAME}.",
            "Dalam daftar denda tertulis {CAPS}.",
            "Di formulir agen tertulis {COMMA}.",
        ),
        "id": (
            "Nomor induk karyawannya {EID}.",
            "Dia menunjukkan kartu pekerja dengan nomor badge {BADGE}.",
            "{^SUP} mencatat NIK karyawan {EID} di buku denda.",
            "Kartu ID nomor {BADGE} miliknya diblokir setelah dia izin sakit.",
        ),
        "contact": (
            "Nomor HP-nya {PHONE}.",
            "Dia bisa dihubungi lewat WhatsApp di {PHONE}.",
            "Emailnya: {EMAIL}.",
            "Calo bernama {AGENT} menelepon dari nomor {PHONE_OTHER} untuk menagih <<biaya>> penempatan.",
            "Akun Instagram-nya {HANDLE_AT}.",
            "Dia mengirim pesan lewat {HANDLE_URL}.",
            "ID Line-nya {HANDLE_ID}.",
            "Agen memakai email {EMAIL_OTHER} untuk mengirim <<kontrak>>.",
        ),
        "birth": (
            "Dia lahir tanggal {DOB}.",
            "Dia lahir tahun {BYEAR} di {VILLAGE}.",
            "Di KTP tertulis {SAMEYEAR}.",
            "Tempat, tanggal lahir: Kediri, {DOB}.",
        ),
        "place": (
            "Kampung halamannya di {VILLAGE}.",
            "Dia tinggal di {ROOM} bersama lima orang lain.",
            "Dia <<bekerja>> di {LINE}.",
            "{^AGENT} merekrut banyak orang dari {PLACE}.",
        ),
        "people": (
            "{^SUP} suka memotong <<gaji>> pekerja.",
            "{^COWORKER} juga dipotong <<gajinya>>.",
            "{^KINREL}nya, {KIN}, juga <<bekerja>> di pabrik yang sama.",
            "Manajer {OTHER_FULL} mengancam akan memecatnya.",
            "{^OTHER} dari bagian HRD bilang tidak ada <<kontrak>>.",
            "Dia dan {COWORKER} pergi ke klinik bersama.",
        ),
        "only": (
            "Dia adalah {ONLY}, jadi semua orang tahu.",
            "Karena dia {ONLY}, dia selalu diawasi.",
        ),
        "content": (
            "<<Gaji>> pokoknya hanya {AMOUNT} per bulan, dan dia harus <<lembur>> {HOURS} setiap hari.",
            "Perusahaan menahan <<paspor>> dan memungut <<uang jaminan>> {AMOUNT}.",
            "Pada {DATE}, seluruh line dipaksa <<lembur>> sampai tengah malam.",
            "Kalau izin sakit, <<gaji>> dipotong {DAYS}.",
            "<<Asrama>> sempit, panas, dan tidak ada air bersih.",
            "<<Mandor>> melarang pekerja ke toilet lebih dari dua kali per shift.",
        ),
        "closing": (
            "{^NAME} meminta agar identitasnya dirahasiakan.",
            "Wawancara berlangsung satu <<jam>>.",
        ),
    }
    traps: ClassVar[Mapping[str, Sequence[str]]] = {
        "bunga": ("Utang ke agen dikenai <<bunga>> sepuluh persen per bulan.",),
        "indah": ("Kata agen, asramanya <<indah>>, ternyata tidak.",),
        "putri": ("Dia punya anak <<putri>> di kampung.",),
        "teguh": ("Serikat tetap <<teguh>> menuntut kenaikan <<upah>>.",),
        "intan": ("Pabrik itu memoles <<intan>> sintetis untuk mesin.",),
    }
