"""The words the detectors look for, as data, and the helpers that compile them.

Every list is lower case and NFC, written as people type it. Words of scripts written
with spaces (Latin, Vietnamese, Cyrillic) match as whole words only; Thai and CJK
words match inside running text, since those scripts put no space between words.
:func:`loose` adds the spelling without diacritics (many workers type Vietnamese,
Czech or Spanish without them) where that spelling means nothing else: ``thẻ`` has no
loose form, since ``the`` is English.

The lists cover Vietnamese, Thai, Chinese, Czech, Spanish, French, Indonesian and
English, and where it costs one line, German and Russian.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

__all__ = [
    "AGE",
    "BIRTH_AFTER",
    "BIRTH_BEFORE",
    "CURRENCY_AFTER",
    "CURRENCY_BEFORE",
    "DIGIT_WORDS",
    "EMAIL_AT",
    "EMPLOYEE_ID",
    "ID_CONNECTORS",
    "MESSAGING",
    "MONTHS",
    "NATIONAL_ID",
    "ONLY",
    "PHONE",
    "PLACE_CONNECTORS",
    "PLACE_SUFFIX",
    "ROLE",
    "ROOM",
    "TOP_LEVEL_DOMAINS",
    "UNITS",
    "URL_STARTS",
    "VILLAGE",
    "WEBMAIL_HOSTS",
    "WORK_UNIT",
    "alternation",
    "fold_marks",
    "loose",
    "words",
]

_FOLD: Final = str.maketrans({"đ": "d", "Đ": "D", "ł": "l", "ø": "o"})


def fold_marks(word: str) -> str:
    """``word`` without diacritics (``mã nhân viên`` -> ``ma nhan vien``)."""
    decomposed = unicodedata.normalize("NFD", word.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def loose(*items: str) -> tuple[str, ...]:
    """Each word, and its spelling without diacritics."""
    out: list[str] = []
    for item in items:
        out.append(item)
        folded = fold_marks(item)
        if folded != item:
            out.append(folded)
    return tuple(out)


def _spaced(c: str) -> bool:
    """A letter of a script that separates words with spaces."""
    return c.isalnum() and (ord(c) < 0x0E00 or 0x1E00 <= ord(c) < 0x2000)


def alternation(items: Iterable[str]) -> str:
    """A regex matching any of ``items`` (literal words, longest first). A space
    matches any run of spaces; spaced-script words match only as whole words."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for item in sorted({unicodedata.normalize("NFC", i.lower()) for i in items}):
        key = (_spaced(item[0]), _spaced(item[-1]))
        groups.setdefault(key, []).append(item)
    parts: list[str] = []
    for (left, right), members in sorted(groups.items(), reverse=True):
        members.sort(key=lambda w: (-len(w), w))
        body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in members)
        parts.append(("(?<!\\w)" if left else "") + f"(?:{body})" + ("(?!\\w)" if right else ""))
    return "(?:" + "|".join(parts) + ")"


def words(*lists: Iterable[str]) -> tuple[str, ...]:
    """The lists joined into one."""
    return tuple(w for lst in lists for w in lst)


# Numbers and ids. Keywords stay in the text; the value after them is the span.
EMPLOYEE_ID: Final = words(
    ("badge", "badge number", "badge no", "id badge", "employee id", "employee number"),
    ("employee no", "employee code", "employee card", "staff id", "staff number", "staff no"),
    ("staff card", "worker id", "worker number", "work card", "work id", "payroll number"),
    ("clock number", "clock card", "personnel number"),
    ("thẻ", "thẻ số", "số thẻ", "thẻ nhân viên", "thẻ công nhân"),
    loose("mã nhân viên", "mã số nhân viên", "mã số", "mã nv", "mã công nhân"),
    ("msnv", "mscn"),
    ("工号", "工牌", "工牌号", "员工号", "员工编号", "员工卡", "工卡", "厂牌", "编号", "卡号"),
    loose("osobní číslo", "číslo zaměstnance", "zaměstnanecké číslo", "průkaz"),
    loose("zaměstnanecký průkaz", "zaměstnanecká karta"),
    loose("ficha", "número de empleado", "número de trabajador", "número de nómina"),
    ("no. de empleado", "núm. de empleado", "credencial", "gafete"),
    loose("matricule", "numéro de badge", "numéro d'employé", "numéro de matricule"),
    ("nomor induk karyawan", "nomor karyawan", "nomor pegawai", "nomor induk", "id karyawan"),
    ("nik karyawan", "no karyawan", "kartu karyawan", "kartu pegawai"),
    ("บัตรพนักงาน", "รหัสพนักงาน", "เลขประจำตัวพนักงาน", "รหัส"),
    ("personalnummer", "mitarbeiternummer", "табельный номер"),
)
NATIONAL_ID: Final = words(
    ("id", "id card", "id number", "id no", "identity card", "identity number", "card"),
    ("citizen id", "national id", "passport", "passport number", "social security"),
    ("ssn",),
    ("cccd", "cmnd", "cmt", "bhxh", "số cccd", "số cmnd", "sổ bhxh"),
    loose("căn cước", "số căn cước", "chứng minh nhân dân", "số chứng minh", "hộ chiếu"),
    loose("số hộ chiếu", "số sổ bảo hiểm", "mã số bảo hiểm", "mã số thuế"),
    ("身份证", "身份证号", "身份证号码", "护照", "护照号", "社保号", "证件号"),
    loose("číslo", "rodné číslo", "číslo op", "občanský průkaz", "občanka", "číslo pasu"),
    loose("número", "dni", "nie", "curp", "rfc", "nss", "pasaporte", "cédula", "tarjeta"),
    loose("numéro", "carte", "carte d'identité", "passeport", "sécurité sociale"),
    ("nomor", "nik", "ktp", "no ktp", "nomor ktp", "kartu", "paspor", "bpjs", "nomor bpjs"),
    ("บัตร", "บัตรประชาชน", "เลขบัตรประชาชน", "เลขบัตร", "หนังสือเดินทาง", "เลขที่", "หมายเลข"),
    ("ausweis", "ausweisnummer", "паспорт"),
    # Bank accounts: wages are paid into them.
    ("account number", "bank account", "iban", "stk", "银行卡号", "银行账号", "银行卡"),
    loose("số tài khoản", "tài khoản ngân hàng", "číslo účtu", "número de cuenta", "clabe"),
    ("rib", "numéro de compte", "nomor rekening", "rekening", "เลขที่บัญชี", "บัญชี"),
)
PHONE: Final = words(
    ("phone", "phone number", "tel", "tel.", "telephone", "mobile", "cell", "hotline"),
    ("sđt", "sdt", "đt", "số đt", "số máy"),
    loose("điện thoại", "số điện thoại", "di động"),
    ("电话", "手机", "手机号", "手机号码", "电话号码", "联系电话"),
    loose("telefon", "telefonní číslo", "mobil", "číslo telefonu"),
    loose("teléfono", "celular", "cel", "móvil", "tel"),
    loose("téléphone", "portable", "tél", "numéro de téléphone"),
    ("telepon", "hp", "no hp", "no. hp", "nomor hp", "ponsel", "nomor telepon"),
    ("โทร", "เบอร์", "เบอร์โทร", "โทรศัพท์", "มือถือ", "เบอร์มือถือ"),
    ("телефон",),
)
# Between a keyword and its value: "thẻ số 4471", "工号是 A7731", "ID: 55 001".
ID_CONNECTORS: Final = words(
    ("no", "no.", "nr", "nr.", "n°", "nº", "num", "num.", "number", "#", "is", "was", "of"),
    ("my", "her", "his", "their", "was", "card", "code"),
    ("số", "so", "là", "của", "tôi", "em", "chị", "anh", "mình", "cô"),
    ("是", "为", "為", "码", "号码", "：", "號"),
    ("č.", "c.", "je", "bylo", "moje", "její", "jeho"),
    ("de", "es", "era", "mi", "su", "est", "était", "mon", "ma", "son", "sa", "le", "la", "el"),
    ("adalah", "saya", "nya", "dia", "nomor", "no", "id", "kartu"),
    ("karty", "kartou", "čísla", "číslem", "id"),
    ("คือ", "ของ", "ฉัน", "ผม", "เขา", "เธอ", "ที่", "เลขที่", "หมายเลข", "เลข"),
)

# Places: the keyword stays, the number or name after it goes.
ROOM: Final = words(
    ("room", "room no", "rm", "dorm", "dormitory", "hostel", "block", "building", "bldg"),
    ("bed", "bunk", "apartment", "apt", "flat", "house no", "house number"),
    loose("phòng", "phòng số", "ký túc xá", "ktx", "khu", "nhà số", "tòa", "tòa nhà"),
    loose("giường", "kí túc xá", "khu nhà", "số nhà", "căn hộ"),
    ("dãy", "dãy nhà", "lô"),
    loose("pokoj", "pokoji", "pokoje", "ubytovna", "ubytovně", "blok", "bloku", "budova"),
    loose("budově", "lůžko", "byt", "bytě"),
    loose("habitación", "cuarto", "dormitorio", "bloque", "edificio", "cama", "hab."),
    loose("chambre", "dortoir", "bâtiment", "bloc", "foyer", "lit", "appartement"),
    ("kamar", "asrama", "blok", "gedung", "mess", "ranjang", "kos", "kontrakan", "rumah no"),
    ("ห้อง", "ห้องพัก", "หอ", "หอพัก", "ตึก", "อาคาร", "เตียง", "บ้านเลขที่", "ห้องเลขที่"),
    ("宿舍", "宿舍楼", "房间", "寝室", "床位", "栋", "幢", "号楼"),
    ("zimmer", "wohnheim", "комната", "общежитие"),
)
WORK_UNIT: Final = words(
    ("line", "production line", "assembly line", "shift", "team", "group", "workshop"),
    ("station", "cell", "conveyor", "workstation", "zone"),
    loose("chuyền", "dây chuyền", "ca", "xưởng", "nhóm", "bộ phận", "phân xưởng"),
    ("tổ", "tổ sản xuất"),
    loose("linka", "lince", "lince č.", "směna", "směně", "dílna", "dílně", "tým", "hala"),
    loose("línea", "turno", "equipo", "grupo", "taller", "nave", "celda"),
    loose("ligne", "équipe", "poste", "atelier", "chaîne", "îlot"),
    ("lini", "regu", "kelompok", "grup", "bagian", "sif"),
    ("ไลน์", "กะ", "แผนก", "สายการผลิต", "ทีม", "ไลน์ผลิต"),
    ("产线", "生产线", "拉线", "车间", "班组"),
    ("schicht", "linie", "смена", "линия", "цех"),
)
VILLAGE: Final = words(
    ("village", "home village", "hometown", "home town", "commune", "hamlet", "native village"),
    loose("làng", "thôn", "xóm", "quê ở", "quê quán", "quê nhà", "quê tôi ở", "quê em ở"),
    ("xã", "bản", "ấp", "quê"),
    loose("vesnice", "vesnici", "obec", "obce", "obci", "vísce", "vesničce", "rodná obec"),
    loose("pueblo", "aldea", "comunidad", "municipio", "caserío", "ranchería", "ejido"),
    ("village", "commune", "hameau", "bourg"),
    ("desa", "kampung", "kampung halaman", "dusun", "kelurahan", "kecamatan", "nagari"),
    ("หมู่บ้าน", "ตำบล", "ต.", "หมู่", "หมู่ที่", "บ้านเกิด"),
    ("老家", "家乡", "故乡", "籍贯"),
    ("dorf", "heimatdorf", "деревня", "село"),
)
# Between a place keyword and a name: "the village of X", "quê tôi ở X", "老家在X".
PLACE_CONNECTORS: Final = words(
    ("of", "called", "named", "is", "was", "in", "at", "my", "our", "her", "his", ":"),
    loose("là", "ở", "tại", "tên", "tên là", "tôi", "em", "anh", "chị", "mình", "của"),
    ("số", "so", "no", "no.", "n°", "nº", "č.", "#"),
    ("z", "ze", "v", "ve", "je", "jménem", "de", "del", "d'", "du", "la", "el", "llamado", "en"),
    ("es", "est", "appelé", "di", "dari", "bernama", "namanya", "adalah", "saya"),
    ("ที่", "ชื่อ", "คือ", "ของ", "เลขที่"),
    ("在", "是", "位于", "于", "为"),
)

# Money and units: a number next to one of these is an amount or a count, not an id.
CURRENCY_AFTER: Final = words(
    ("đồng", "đ", "vnd", "vnđ", "₫", "nghìn", "ngàn", "triệu", "tr", "k", "dong"),
    ("baht", "บาท", "฿", "thb"),
    ("元", "块", "块钱", "人民币", "rmb", "cny", "万", "千", "百", "角", "毛"),
    ("kč", "kc", "czk", "korun", "koruna", "koruny", "tisíc", "tis."),
    ("€", "eur", "euro", "euros", "$", "usd", "dollar", "dollars", "dólares", "pesos", "peso"),
    ("mxn", "rp", "rupiah", "idr", "ribu", "juta", "£", "gbp", "¥", "yen", "yuan", "francs"),
    ("%", "percent", "per cent", "por ciento", "pour cent", "procent", "procenta", "persen"),
    ("phần trăm", "เปอร์เซ็นต์"),
)
CURRENCY_BEFORE: Final = words(
    ("$", "€", "£", "¥", "₫", "฿", "usd", "eur", "vnd", "rp", "rp.", "idr", "czk", "kč"),
    ("thb", "rmb", "cny", "mxn", "us$"),
)
UNITS: Final = words(
    ("hour", "hours", "hr", "hrs", "h", "minute", "minutes", "min", "mins", "day", "days"),
    ("week", "weeks", "month", "months", "year", "years", "time", "times", "people"),
    ("person", "persons", "worker", "workers", "employees", "pieces", "pcs", "units", "kg"),
    ("km", "m", "cm", "am", "pm", "a.m.", "p.m.", "shifts", "lines"),
    loose("giờ", "tiếng", "phút", "ngày", "tuần", "tháng", "năm", "lần", "người", "công nhân"),
    loose("cái", "chiếc", "sản phẩm", "tầng", "ca"),
    ("小时", "个", "天", "年", "月", "周", "次", "人", "名", "件", "分钟", "岁", "层", "号"),
    loose("hodin", "hodiny", "hodinu", "dní", "dnů", "dny", "týdnů", "týdny", "měsíců"),
    loose("měsíce", "let", "roků", "roky", "lidí", "pracovníků", "zaměstnanců", "krát", "kusů"),
    loose("horas", "hora", "días", "semanas", "meses", "años", "veces", "personas", "piezas"),
    ("trabajadores", "trabajadoras", "obreros"),
    ("heures", "heure", "jours", "semaines", "mois", "ans", "années", "fois", "personnes"),
    ("ouvriers", "ouvrières", "travailleurs", "salariés", "pièces"),
    ("jam", "hari", "minggu", "bulan", "tahun", "kali", "orang", "pekerja", "buruh"),
    ("karyawan", "menit"),
    ("ชั่วโมง", "ชม.", "วัน", "สัปดาห์", "เดือน", "ปี", "ครั้ง", "คน", "ชิ้น", "นาที", "โมง"),
    ("stunden", "tage", "jahre", "часов", "дней", "лет"),
    # storeys: "a building 5 storeys high" counts floors, it names no building
    ("floor", "floors", "storey", "storeys", "stories", "patro", "patra", "pater", "pisos"),
    ("plantas", "étages", "lantai", "ชั้น"),
)

# Dates of birth: a keyword before the date, or (Chinese) after it.
BIRTH_BEFORE: Final = words(
    ("born", "birth", "date of birth", "birthdate", "birth date", "birthday", "dob", "d.o.b."),
    ("year of birth", "yob", "date of birth:"),
    loose("ngày sinh", "năm sinh", "sinh nhật", "ngày tháng năm sinh"),
    ("出生", "出生日期", "出生于", "出生於", "生日", "生辰", "出生年月", "诞生于"),
    loose("narozen", "narozena", "narozený", "narozená", "narodil", "narodila", "nar."),
    loose("datum narození", "rok narození", "ročník", "narozeniny"),
    loose("nació", "nací", "nacido", "nacida", "nacimiento", "fecha de nacimiento", "f. nac."),
    ("cumpleaños", "cumpleanos"),
    ("né", "née", "nés", "nées", "date de naissance", "naissance", "anniversaire"),
    ("lahir", "tanggal lahir", "tgl lahir", "tgl. lahir", "kelahiran", "ulang tahun"),
    ("วันเกิด", "ปีเกิด", "วันเดือนปีเกิด"),
    # Taken only where the words around them say birth (see dates.py).
    ("sinh", "เกิด", "生于", "b."),
    ("geboren", "geb.", "geburtsdatum", "geburtstag", "родился", "родилась", "дата рождения"),
)
BIRTH_AFTER: Final = ("出生", "生人", "出世", "生")

MONTHS: Final = words(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september"),
    ("october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug"),
    ("sep", "sept", "oct", "nov", "dec"),
    loose("ledna", "února", "března", "dubna", "května", "června", "července", "srpna"),
    loose("září", "října", "listopadu", "prosince", "leden", "únor", "březen", "duben"),
    loose("květen", "červen", "červenec", "srpen", "říjen", "listopad", "prosinec"),
    loose("lednu", "únoru", "březnu", "dubnu", "květnu", "červnu", "červenci", "srpnu"),
    loose("říjnu", "prosinci"),
    ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre"),
    ("setiembre", "octubre", "noviembre", "diciembre", "ene", "abr", "ago", "dic"),
    loose("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"),
    loose("septembre", "octobre", "novembre", "décembre", "janv", "févr", "avr", "juil", "déc"),
    ("januari", "februari", "maret", "mei", "juni", "juli", "agustus", "oktober", "desember"),
    ("agu", "agt", "okt", "des"),
    ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม"),
    ("สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม", "ม.ค.", "ก.พ.", "มี.ค."),
    ("เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."),
    loose("januar", "februar", "märz", "dezember"),
)

# Digits read out one by one, zero to nine, per language.
DIGIT_WORDS: Final = words(
    ("zero", "oh", "nought", "one", "two", "three", "four", "five", "six", "seven", "eight"),
    ("nine",),
    loose("không", "linh", "một", "mốt", "hai", "ba", "bốn", "năm", "lăm", "sáu", "bảy", "bẩy"),
    (*loose("tám", "chín"), "tư"),
    # Chinese: 幺 and 洞, 拐, 勾 are how 1, 0, 7, 9 are read out in phone numbers.
    ("零", "〇", "洞", "一", "幺", "壹", "二", "贰", "两", "三", "叁", "四", "肆", "五", "伍"),
    ("六", "陆", "七", "柒", "拐", "八", "捌", "九", "玖", "勾"),
    ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า"),
    ("nula", "jedna", "jeden", "jedno", *loose("dva", "dvě", "tři", "čtyři", "pět", "šest")),
    ("sedm", "osm", *loose("devět")),
    ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    ("zéro", "un", "deux", "trois", "quatre", "cinq", "sept", "huit", "neuf"),
    ("nol", "kosong", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan"),
    ("sembilan",),
    ("null", "eins", "zwei", "zwo", "drei", "vier", *loose("fünf"), "sechs", "sieben", "acht"),
    ("neun", "ноль", "нуль", "один", "одна", "два", "две", "три", "четыре", "пять", "шесть"),
    ("семь", "восемь", "девять"),
)

# Messaging apps and social networks: the id after them goes.
MESSAGING: Final = words(
    ("facebook", "fb", "messenger", "zalo", "line id", "line", "wechat", "whatsapp", "wa"),
    ("telegram", "tiktok", "ig", "instagram", "insta", "viber", "qq", "signal", "skype"),
    ("twitter", "snapchat", "kakaotalk", "kakao", "discord", "weibo", "wechat id", "zalo id"),
    ("微信", "微信号", "抖音", "快手", "微博", "qq号"),
    ("ไลน์", "ไอดีไลน์", "เฟซบุ๊ก", "เฟสบุ๊ค", "เฟซ", "เฟส", "ไอจี"),
    ("вконтакте", "вк"),
)

# Chinese places whose number or name comes before the keyword: 3号线, 5栋, 302室, 李庄村.
PLACE_SUFFIX: Final = words(
    ("号线", "线", "号楼", "栋", "幢", "室", "号房", "房"),
    ("号床", "床", "村", "组", "车间", "班", "拉"),
)

# Contacts: what stands for "@" in an e-mail address written to dodge filters, and
# where a web address starts.
EMAIL_AT: Final = words(
    ("@", "at", "arroba", "arobase", "a còng", "a cong", "a móc", "a moc", "còng"),
    loose("zavináč"),
    ("แอท", "艾特", "собака"),
)
URL_STARTS: Final = (
    "http://",
    "https://",
    "www.",
    "facebook.com/",
    "m.facebook.com/",
    "fb.com/",
    "fb.me/",
    "m.me/",
    "zalo.me/",
    "line.me/",
    "t.me/",
    "wa.me/",
    "instagram.com/",
    "tiktok.com/",
    "twitter.com/",
    "x.com/",
    "vk.com/",
    "weibo.com/",
    "linkedin.com/",
    "youtube.com/",
    "youtu.be/",
    "douyin.com/",
)

# An address written with a bare "at" must end in one of these, or be a webmail host.
TOP_LEVEL_DOMAINS: Final = words(
    ("com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "me", "mobi", "eu"),
    ("vn", "th", "cn", "cz", "sk", "es", "fr", "id", "mx", "uk", "de", "us", "jp", "kr", "hk"),
    ("tw", "sg", "my", "ph", "in", "ru", "au", "ca", "br", "ar", "cl", "pe", "la", "kh", "mm"),
    ("bd", "pk", "lk", "np", "ch", "be", "nl", "pl", "hu", "ro"),
)
WEBMAIL_HOSTS: Final = words(
    ("gmail", "googlemail", "yahoo", "hotmail", "outlook", "live", "icloud", "qq", "163"),
    ("126", "sina", "foxmail", "seznam", "centrum", "protonmail", "proton", "yandex", "zoho"),
    ("aol", "gmx", "wanadoo"),
)

# Residual risk cues, looked for in text that has already been scrubbed.
ONLY: Final = words(
    ("the only", "an only", "the one who", "the sole", "only woman", "only women", "only man"),
    ("only pregnant", "only girl", "only boy", "only migrant", "only foreigner", "only one who"),
    ("only person", "only worker who", "only member"),
    loose("duy nhất", "chỉ có mình", "chỉ mình", "mỗi mình", "chỉ có một mình"),
    ("唯一", "只有我一个", "只有她一个", "只有他一个", "就我一个", "就她一个", "就他一个"),
    loose("jediná", "jediný", "jediné", "jedinou", "jediného", "jediní", "jedinej"),
    loose("la única", "el único", "única mujer", "único hombre", "la sola"),
    ("la seule", "le seul", "seule femme", "seul homme", "la seule qui", "le seul qui"),
    ("satu-satunya", "satu satunya", "hanya saya", "hanya dia", "cuma saya", "cuma dia"),
    ("คนเดียว", "เพียงคนเดียว", "แค่คนเดียว"),
    ("die einzige", "der einzige", "единственная", "единственный"),
)
# Union offices: one or two people hold each at a site, and they are the ones most at
# risk of retaliation. (Supervisors are named in most complaints; they are no cue.)
ROLE: Final = words(
    ("union president", "union chair", "union chairman", "union chairwoman", "union leader"),
    ("union secretary", "union representative", "union rep", "shop steward", "union founder"),
    ("union treasurer", "union vice president"),
    loose("chủ tịch công đoàn", "phó chủ tịch công đoàn", "cán bộ công đoàn"),
    ("工会主席", "工会副主席", "工会代表", "工会委员"),
    loose("předseda odborů", "předsedkyně odborů", "odborový předák", "odborový zástupce"),
    loose("předseda odborové organizace", "předsedkyně odborové organizace"),
    loose("delegado sindical", "delegada sindical", "representante sindical"),
    loose("secretario general del sindicato", "secretaria general del sindicato"),
    loose("délégué syndical", "déléguée syndicale", "secrétaire du syndicat"),
    ("représentant du personnel", "représentante du personnel"),
    ("ketua serikat", "pengurus serikat", "sekretaris serikat", "ketua puk"),
    ("ประธานสหภาพ", "กรรมการสหภาพ", "เลขาธิการสหภาพ", "ผู้แทนสหภาพ"),
    ("betriebsratsvorsitzender", "betriebsratsvorsitzende"),
)
# An exact age: a number of years next to one of these.
AGE: Final = words(
    ("aged", "age", "age of", "years old", "year-old", "year old", "yrs old", "y/o"),
    loose("tuổi"),
    ("岁", "周岁", "อายุ", "ขวบ"),
    loose("věku", "ve věku", "letá", "letý", "leté"),
    loose("edad", "años de edad", "de edad"),
    ("âgé", "âgée", "âgé de", "âgée de", "agé", "agée"),
    ("umur", "usia", "berumur", "berusia", "alter", "jahre alt"),
)
