"""People a narrative names that the vault does not know: those a title or a role
introduces ("Mr Tan", "chị Lan", "老王", "王组长", "คุณสมศรี", "paní Nováková",
"Pak Budi", "la señora Pérez", "M. Dupont", "my cousin Ana", "a man named Ali").

:func:`find_persons` returns where each such name stands, the name only: the title
stays, so a reader still learns that a supervisor or a broker spoke. Nothing here
knows any worker; a title alone ("the supervisor", "anh ấy", "组长说") names no one.

A capitalised word in the middle of a sentence, with no title before it, is not
taken for a name: in the vault's languages those are as often places, companies,
months and institutions (Bắc Ninh, Samsung, Ministerio de Trabajo), and replacing
them would take away what a testimony is about.

Invariant: spans are in the indices of the text given, never overlap, and cover
letters only; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Final

__all__ = ["continue_names", "find_persons"]

# --- Latin script: titles and roles, then one to four capitalised words ------------

_TITLES_ANY_CASE: Final = (
    # en
    "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "madam", "supervisor", "manager",
    "recruiter", "agent", "broker", "foreman", "forewoman", "leader", "boss", "husband",
    "wife", "sister", "brother", "cousin", "friend", "co-worker", "coworker", "colleague",
    "uncle", "aunt", "auntie", "neighbour", "neighbor", "named", "called", "landlord",
    # vi
    "anh", "chị", "em", "cô", "bà", "ông", "chú", "bác", "dì", "cậu", "bạn", "vợ", "chồng",
    "tên", "tổ trưởng", "tổ phó", "quản đốc", "trưởng ca", "trưởng chuyền", "chuyền trưởng",
    "trưởng phòng", "giám đốc", "môi giới", "quản lý", "đội trưởng", "tên là", "gọi là",
    # cs (with the case forms a title takes before a name)
    "pan", "pana", "panu", "panem", "paní", "slečna", "slečny", "slečně", "slečnu",
    "slečnou", "mistr", "mistra", "mistrovi", "mistrem", "vedoucí", "vedoucího",
    "vedoucímu", "vedoucím", "předák", "předáka", "předákovi", "předákem", "kolega",
    "kolegy", "kolegovi", "kolegou", "kolegu", "kolegyně", "kolegyni", "kolegyní",
    "manžel", "manžela", "manželovi", "manželem", "manželka", "manželky", "manželce",
    "manželku", "manželkou", "jménem", "bratr", "bratra", "sestra", "sestry", "kamarád",
    "kamaráda", "kamarádka", "kamarádky",
    # es
    "señor", "señora", "señorita", "sr.", "sra.", "srta.", "don", "doña", "supervisora",
    "jefe", "jefa", "encargado", "encargada", "reclutador", "reclutadora", "compañero",
    "compañera", "capataz", "gerente", "esposo", "esposa", "marido", "hermano", "hermana",
    "primo", "prima", "amigo", "amiga", "llamado", "llamada", "de nombre",
    # id
    "pak", "bu", "bapak", "ibu", "mbak", "mandor", "agen", "calo", "bernama", "teman",
    "suami", "istri", "kakak", "adik", "atasan",
    # fr
    "mme", "mlle", "monsieur", "madame", "mademoiselle", "chef", "contremaître",
    "recruteur", "recruteuse", "collègue", "mari", "femme", "frère", "sœur", "cousine",
    "ami", "amie", "nommé", "nommée", "appelé", "appelée", "patron", "patronne",
    "responsable",
)  # fmt: skip
# Titles that are ordinary words in lower case elsewhere: capitalised only.
_TITLES_CAPITALISED: Final = ("Mas", "Kak", "Bang", "M", "Sr", "Sra", "Srta")
# Capitalised words that follow a title without being a name.
_NOT_NAMES: Final = frozenset(
    re.findall(
        r"\S+",
        """
    i the a an he she it we they his her their my our you your this that there then and
    but or if when on in at to from of for with who what where which is was has had
    el la los las un una y pero que cuando en de del al por para con se lo le les me mi
    su sus yo él ella ellos ellas nos usted
    le la les un une et mais il elle ils elles on je nous vous ce cette du des au aux
    dans sur pour par avec qui
    dan yang di ke dari ini itu saya dia kami kita mereka tidak akan sudah juga
    a ale na v ve do z ze s se je to ten ta že když on ona oni já my vy
    tôi và nhưng khi thì là của có không ấy đó này kia
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre lunes martes miércoles jueves viernes sábado domingo
    janvier février mars avril mai juin juillet août septembre octobre novembre décembre
    lundi mardi mercredi jeudi vendredi samedi dimanche
    januari februari maret mei juni juli agustus oktober desember senin selasa rabu
    kamis jumat sabtu minggu
    leden únor březen duben květen červen červenec srpen září říjen listopad prosinec
    pondělí úterý středa čtvrtek pátek sobota neděle
    hr qc it ceo ngo id ok ppe kpi ot hse
    """,
    )
)
# Lower-case particles inside a name: María de la Cruz, Ahmad bin Yusuf.
_PARTICLES: Final = frozenset(
    re.findall(r"\S+", "de del la las los da do dos das van von der den di du bin binti")
)
_MAX_WORDS: Final = 4
_ABBREVIATIONS: Final = frozenset(re.findall(r"\S+", "mr mrs ms mx dr sr sra srta m mme mlle"))


def _trie(words: Iterable[str]) -> str:
    """One regex for many words, as a trie: the engine tries a title's letters only
    where its first letters stand, whatever the number of titles."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for c in word:
            node = node.setdefault(c, {})
        node[""] = {}

    def walk(node: dict[str, Any]) -> str:
        branches = []
        optional = "" in node
        for c in sorted(k for k in node if k):
            branches.append((r"\s+" if c == " " else re.escape(c)) + walk(node[c]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if optional else body

    return walk(tree)


def _forms(words: Iterable[str]) -> set[str]:
    # Decomposed too: a text may spell chị as c, h, i and a combining dot.
    return {f for w in words for f in (w, unicodedata.normalize("NFD", w))}


_ABBREVIATED: Final = _forms(f"{a}." for a in _ABBREVIATIONS) | _forms(
    t for t in _TITLES_ANY_CASE if t.endswith(".")
)
# Latin capitals, spelled out: ``re`` has no class for upper case.
_UPPER: Final = "".join(
    chr(c)
    for r in ((0x41, 0x24F), (0x1E00, 0x1EFF))
    for c in range(r[0], r[1] + 1)
    if chr(c).isupper()
)
_LETTER: Final = r"(?:[^\W\d_]|[\u0300-\u036f])"
# A title, then spaces, then a capital: the only places a title introduces a name.
_TITLE: Final = re.compile(
    rf"(?<![^\W\d_])(?:(?i:{_trie(_forms(t.rstrip('.') for t in _TITLES_ANY_CASE))})"
    rf"|{_trie(_forms(t.rstrip('.') for t in _TITLES_CAPITALISED))})"
    rf"(?![^\W\d_\u0300-\u036f])(?:(\.)[ \t\u00a0]*|[ \t\u00a0]+)(?=[{_UPPER}])"
)
_WORD: Final = re.compile(rf"[A-Z]\.|{_LETTER}+(?:['’\-]{_LETTER}+)*")


def _nfc_lower(word: str) -> str:
    return (word if word.isascii() else unicodedata.normalize("NFC", word)).lower()


def _name_like(word: str) -> bool:
    if not word[:1].isupper():
        return False
    if _nfc_lower(word).rstrip(".") in _NOT_NAMES:
        return False
    return not (len(word) == 1 and word.isascii())


def _latin(text: str, found: list[tuple[int, int]]) -> None:
    for title in _TITLE.finditer(text):
        if title.group(1) and _nfc_lower(text[title.start() : title.end(1)]) not in _ABBREVIATED:
            continue  # "the supervisor. Then": a full stop, not an abbreviation
        pos = title.end()
        words: list[tuple[int, int]] = []
        pending: list[tuple[int, int]] = []  # particles waiting for a name after them
        while len(words) < _MAX_WORDS:
            m = _WORD.match(text, pos)
            if m is None:
                break
            word = m.group()
            if _name_like(word):
                words.extend(pending)
                pending.clear()
                words.append(m.span())
            elif words and word in _PARTICLES:
                pending.append(m.span())
            else:
                break
            pos = m.end()
            if text[pos : pos + 1] not in (" ", "\u00a0"):
                break
            pos += 1
        if words:
            found.append((words[0][0], words[-1][1]))


_CAPITALISED: Final = re.compile(
    r"(?<![\w\[@./_-])[A-ZÀ-ÖØ-ÞĀ-ſ][^\W\d_]*(?:['’\-][^\W\d_]+)*(?![\w@\]])"
)
_OPENS_SENTENCE: Final = re.compile(r"(?:^|[.!?…:;\n]|[.!?…:]['\"“”’)\]])[\s\"“‘'(\[«—–-]*$")


def _proper_nouns(text: str, found: list[tuple[int, int]]) -> None:
    """Capitalised words inside a sentence, in a script that has capitals: names of
    people and places the vault does not know ("told Mizan", "from Thulogaun")."""
    for m in _CAPITALISED.finditer(text):
        word = m.group()
        if len(word) < 2 or not word[0].isupper() or (word.isupper() and len(word) <= 4):
            continue
        low = _nfc_lower(word)
        if low in _NOT_NAMES or low in _TITLE_WORDS or low in _COMMON_CAPITALISED:
            continue
        if _OPENS_SENTENCE.search(text, max(0, m.start() - 6), m.start()):
            continue
        if low in _VI_ALONE and not _beside_capital(text, m.start(), m.end()):
            continue
        found.append(m.span())


def _beside_capital(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 30) : start].rstrip(" ").rsplit(" ", 1)[-1]
    after = text[end : end + 30].lstrip(" ").split(" ", 1)[0]
    return bool(
        (text[start - 1 : start] == " " and before[:1].isupper())
        or (text[end : end + 1] == " " and after[:1].isupper())
    )


# Vietnamese syllables that are middle names and ordinary words alike: alone, one of
# them names no one (Thị, Văn); beside another capitalised syllable it is a name.
_VI_ALONE: Final = frozenset(
    unicodedata.normalize("NFC", w)
    for w in [
        "thị",
        "văn",
        "đức",
        "thanh",
        "ngọc",
        "hữu",
        "công",
        "quốc",
        "xuân",
        "kim",
        "thu",
        "minh",
        "hồng",
    ]
)


# Words written with a capital inside a sentence that name no one: nationalities,
# languages, weekdays and the like (months and weekdays are in _NOT_NAMES).
_COMMON_CAPITALISED: Final = frozenset(
    re.findall(
        r"\S+",
        """
    vietnamese thai chinese czech spanish indonesian french english filipino nepali
    bangladeshi burmese cambodian malaysian mexican ukrainian russian indian korean
    japanese african asian european american muslim christian buddhist catholic
    facebook zalo line wechat whatsapp telegram tiktok instagram messenger viber gmail
    google internet covid
    kč rp rm usd eur vnd thb rmb cny czk idr mxn php baht rupiah euro euros dollar
    dollars peso pesos yuan dong
    vietnam thailand china czechia spain indonesia france mexico philippines nepal
    bangladesh myanmar cambodia malaysia korea japan taiwan ukraine india
    """,
    )
)


# --- Chinese -----------------------------------------------------------------------

_SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程"
    "苏魏吕丁沈姚卢姜崔钟谭陆汪范金廖贾夏韦付白邹孟熊秦邱尹薛闫雷侯龙陶黎贺顾毛郝龚邵钱覃"
    "戴莫孔汤欧阮"
    "陳楊黃趙吳孫馬劉張鄭謝許韓馮鄧蕭葉蘇呂盧鍾譚陸範賈韋鄒閆龍賀顧龔錢湯"
)
_CJK: Final = r"[\u4e00-\u9fff]"
# Characters after 阿 that make a word, not a name: 阿姨, 阿拉伯, 阿根廷.
_NOT_AFTER_A: Final = frozenset("姨拉根富尔里联塞曼姆巴波克米伯萨胶们")
# Characters before 姐/哥 that make a word: 大姐, 表哥, 帅哥, 小姐.
_NOT_BEFORE_SIBLING: Final = frozenset(
    "大小老表堂帅美亲师姐哥二三四五六七八九十一两的了是在和跟对给说叫找问让被把我你他她它位个空靓富嫂军歌"
)
# Characters that end a name read after a title: verbs and particles.
_NOT_IN_NAME: Final = frozenset(
    "说是的在和让要把被给也都就不没对跟叫打骂扣告问来去又还很了们等讲话会有用说过着从向与及吗呢吧"
)
_HONORIFICS: Final = ("先生", "女士", "小姐", "太太", "姐", "哥")
_HAN_ROLES: Final = "组长|主管|经理|班长|中介|师傅|主任|厂长|线长|领班|老板|课长|科长"
_HAN_AFTER_TITLE: Final = re.compile(
    rf"(?:{_HAN_ROLES}|名叫|叫做|叫)([{_SURNAMES}])({_CJK})({_CJK})?"
)
# A family name before a role (王组长, 陈总); a whole name before an honorific
# (王芳女士) — not before a role, where 高级经理 is a senior manager.
_HAN_BEFORE_ROLE: Final = re.compile(
    rf"[{_SURNAMES}](?={_HAN_ROLES}|总)|[{_SURNAMES}]{_CJK}?(?=先生|女士|小姐|太太)"
)
_HAN_FAMILIAR: Final = re.compile(rf"(?<=[老小])[{_SURNAMES}]|(?<=阿){_CJK}|{_CJK}(?=[姐哥])")
# Family names that make a word after 老 or 小: 老毛病, 小钱, 小龙虾, 小白菜, 小孔, 小金库.
_NOT_FAMILIAR: Final = frozenset("毛钱龙白孔金")
# A family name is not one after these: 向主管 is "to the supervisor", 对方经理
# "the other side's manager".
_NOT_BEFORE_ROLE: Final = frozenset("向于任方万余和与及同")


def _han(text: str, found: list[tuple[int, int]]) -> None:
    for m in _HAN_AFTER_TITLE.finditer(text):
        if text.startswith(_HONORIFICS, m.start(2)):
            found.append(m.span(1))  # 经理陈先生: the family name, then "Mr"
            continue
        end = m.end(2)
        third = m.group(3)
        if third and third not in _NOT_IN_NAME and not text.startswith(_HONORIFICS, m.start(3)):
            end = m.end(3)
        found.append((m.start(1), end))
    for m in _HAN_BEFORE_ROLE.finditer(text):
        name = m.group()
        if name[0] in _NOT_BEFORE_ROLE or name[-1] in _NOT_IN_NAME:
            continue
        found.append(m.span())
    for m in _HAN_FAMILIAR.finditer(text):
        start = m.start()
        before = text[start - 1 : start]
        char = m.group()
        if before == "阿" and char in _NOT_AFTER_A:
            continue
        if before in ("老", "小") and char in _NOT_FAMILIAR:
            continue
        if before not in ("老", "小", "阿") and char in _NOT_BEFORE_SIBLING:
            continue
        # 老板, 小时 and the like never match: only family names follow 老 and 小.
        found.append(m.span())


# --- Thai --------------------------------------------------------------------------

_THAI_RUN: Final = "[\u0e01-\u0e4e]+"
_THAI_TITLE: Final = re.compile(
    r"(?<!ขอบ)(?<!บุญ)(?<!พระ)(?<!เจ้า)"
    r"(นางสาว|น\.ส\.|นายหน้า|นาย|นาง|คุณ|พี่|น้อง|หัวหน้า|ผู้จัดการ|ชื่อ)"
    r"(?:งาน|แผนก|ไลน์|กะ|ฝ่าย|ทีม|ว่า|เล่น)?\s?(" + _THAI_RUN + ")"
)
# Words that begin where a name cannot (คุณภาพ is quality, นายจ้าง the employer,
# พี่ชาย a brother), and words that end a name (บอก, ว่า: "said", "that").
_THAI_NOT_NAME: Final = (
    "ภาพ", "ค่า", "สมบัติ", "ธรรม", "แม่", "พ่อ", "ครู", "หมอ", "จ้าง", "ทุน", "ก", "ตรวจ",
    "ชาย", "สาว", "ๆ", "น้อง", "พี่", "เลี้ยง", "ฟ้า", "แบบ", "พยาบาล", "ของ", "ที่", "เขา", "เธอ",
    "ผม", "ฉัน", "มัน", "คน", "เรา", "ท่าน", "ใจดี", "ใจร้าย", "ใหญ่", "ใหม่", "เก่า", "ดุ", "โหด",
)  # fmt: skip
_THAI_ENDS: Final = (
    "บอก", "ว่า", "ได้", "ที่", "และ", "เป็น", "มา", "ไป", "ก็", "จะ", "ไม่", "ให้", "ของ", "กับ",
    "ถูก", "ซึ่ง", "เคย", "ยัง", "พูด", "สั่ง", "ทำ", "ขู่", "ด่า", "คือ", "อยู่", "เอา", "เรียก",
    "ยึด", "หัก", "จ่าย", "บังคับ", "ไล่", "ตี", "เล่า", "แจ้ง", "ขอ", "ซึ่ง", "นั้น", "นี้", "เอง",
)  # fmt: skip
# Words a name does not start with: after a title, they say the title stood alone
# ("นายหน้ายึด...", the broker seized...). Not มา or ทำ: มาลี is a name.
_THAI_VERBS: Final = tuple(w for w in _THAI_ENDS if w not in ("มา", "ไป", "ทำ", "ตี", "เอง"))
_THAI_MAX: Final = 12


def _thai(text: str, found: list[tuple[int, int]]) -> None:
    for m in _THAI_TITLE.finditer(text):
        run = m.group(2)
        start = m.start(2)
        # "นายหน้าชื่อสมชาย": a broker named Somchai.
        for lead in ("ชื่อเล่น", "ชื่อว่า", "ชื่อ"):
            if run.startswith(lead):
                run = run[len(lead) :]
                start += len(lead)
                break
        if run.startswith(_THAI_NOT_NAME) or run.startswith(_THAI_VERBS):
            continue
        cut = min(
            (i for end in _THAI_ENDS for i in [run.find(end, 2)] if i >= 2),
            default=len(run),
        )
        cut = min(cut, _THAI_MAX)
        if cut >= 2:
            found.append((start, start + cut))


_HAS_THAI: Final = re.compile("[\u0e00-\u0e7f]")
_HAS_HAN: Final = re.compile(_CJK)


def find_persons(text: str) -> list[tuple[int, int]]:
    """Where ``text`` names a person by a title, role or "named": (start, end) of
    each name, in ``text``'s indices, sorted and without overlaps."""
    found: list[tuple[int, int]] = []
    _latin(text, found)
    _proper_nouns(text, found)
    if _HAS_HAN.search(text):
        _han(text, found)
    if _HAS_THAI.search(text):
        _thai(text, found)
    if not found:
        return found
    found.sort(key=lambda s: (s[0], s[0] - s[1]))
    out: list[tuple[int, int]] = []
    for start, end in found:
        if out and start < out[-1][1]:
            continue
        out.append((start, end))
    return out


# A capitalised word written in plain Latin letters or in Cyrillic, one space from a
# name already found: the rest of that name (a Thai or Chinese name spelled in
# Latin letters, a Ukrainian name in Cyrillic), unless it is a title or a common word.
_NEXT_NAME: Final = re.compile(r" ([A-Z][A-Za-z'\-]*[a-zA-Z]|[А-ЯІЇЄҐ][\w'\-]*)")
_PREV_NAME: Final = re.compile(r"([A-Z][A-Za-z'\-]*[a-zA-Z]|[А-ЯІЇЄҐ][\w'\-]*) $")
_TITLE_WORDS: Final = frozenset(w for w in _TITLES_ANY_CASE if " " not in w) | frozenset(
    w.lower() for w in _TITLES_CAPITALISED
)
_SENTENCE_END: Final = re.compile(r"(?:^|[.!?…:\n]\s*)$")


def _joins(word: str) -> bool:
    folded = _nfc_lower(word)
    return folded not in _TITLE_WORDS and _name_like(word)


def continue_names(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Words that continue the names at ``spans``: "[Lamduan] KAEWMANEE",
    "Галина [Бондаренко]". A word before a name counts only if it does not open a
    sentence (there a capital says nothing) or is written in capitals."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        at = end
        for _ in range(2):
            m = _NEXT_NAME.match(text, at)
            if m is None or not _joins(m.group(1)):
                break
            out.append((m.start(1), m.end(1)))
            at = m.end(1)
        at = start
        for _ in range(2):
            m = _PREV_NAME.search(text, max(0, at - 40), at)
            if m is None or not _joins(m.group(1)):
                break
            word = m.group(1)
            # Only the few characters before the word say whether a sentence opens.
            window = max(0, m.start(1) - 8)
            if (
                _SENTENCE_END.search(text, window, m.start(1))
                and word.isascii()
                and not word.isupper()
            ):
                break
            out.append((m.start(1), m.end(1)))
            at = m.start(1)
    return out
