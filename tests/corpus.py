"""A generated multilingual corpus with canary identity values, for leak tests."""

from __future__ import annotations

from typing import Any

# Every value here must never appear in plaintext at rest (and, later, in exports).
CANARY_WORKERS: list[dict[str, str]] = [
    {
        "name": "Nguyễn Thị Canaryhoa",
        "employee_id": "EMPCANARY-9911",
        "phone": "+84 913 777 111",
        "email": "canary.hoa@example.org",
        "address": "Số 7 Đường Canarylane",
        "lang": "vi",
        "site": "CS-VN",
        "nat": "VN",
    },
    {
        "name": "สมศรี คานารีทอง",
        "employee_id": "THCANARY-4422",
        "phone": "089 555 0199",
        "email": "somsri.canary@example.net",
        "address": "99 ซอยคานารี",
        "lang": "th",
        "site": "CS-TH",
        "nat": "TH",
    },
    {
        "name": "李金丝雀",
        "employee_id": "CNCANARY-7733",
        "phone": "+86 139 1234 5678",
        "email": "li.canary@example.cn",
        "address": "金丝雀路88号",
        "lang": "zh",
        "site": "CS-CN",
        "nat": "CN",
    },
    {
        "name": "Šárka Kanárková",
        "employee_id": "CZCANARY-1188",
        "phone": "+420 777 888 999",
        "email": "sarka.kanarkova@example.cz",
        "address": "Kanárí 12, Ostrava",
        "lang": "cs",
        "site": "CS-CZ",
        "nat": "CZ",
    },
]

CANARY_PERSONS = ["Trần Văn Canarysup", "Петров Канарейкин", "Ōtsuka Canarymori"]
CANARY_NARRATIVE = "The supervisor said CANARYNARRATIVEPHRASE would never be paid."
# A worker's GPS point: its digits must not show at rest either.
CANARY_LAT = 21.0278123
CANARY_LON = 105.8341987


def canary_records() -> list[dict[str, Any]]:
    sites = [
        {
            "type": "site",
            "id": w["site"],
            "source_key": f"CanarySourceS{i}",
            "name": f"Site {w['site']}",
            "kind": "manufacturing",
            "country": w["nat"],
        }
        for i, w in enumerate(CANARY_WORKERS)
    ]
    testimonies = []
    for i, w in enumerate(CANARY_WORKERS):
        testimonies.append(
            {
                "type": "testimony",
                "id": f"CT-{i}",
                "source_key": f"CanarySourceT{i}",
                "site_id": w["site"],
                "received_on": "2026-01-0" + str(i + 1),
                "language": w["lang"],
                "worker": {
                    "name": w["name"],
                    "employee_id": w["employee_id"],
                    "phone": w["phone"],
                    "email": w["email"],
                    "address": w["address"],
                    "aliases": [f"Canarynick{i}"],
                    "gender": "female",
                    "birth_year": 1990 + i,
                    "union_member": True,
                    "union_name": "CanaryUnionName",
                    "location": {"lat": CANARY_LAT + i, "lon": CANARY_LON, "precision": 4.5},
                },
                "persons_mentioned": [
                    {"name": CANARY_PERSONS[i % len(CANARY_PERSONS)], "role": "supervisor"}
                ],
                "allegations": ["wages"],
                "narrative": f"{w['name']} says: {CANARY_NARRATIVE} Call {w['phone']}.",
                "consent": {"share_with": ["union"], "withdrawn": False},
            }
        )
    # A source key, as a survey tool's submission uuid comes in, on every type.
    finding = {
        "type": "finding",
        "id": "CF-0",
        "source_key": "CanarySourceF0",
        "site_id": CANARY_WORKERS[0]["site"],
        "audit_date": "2026-01-09",
        "severity": "high",
        "evidence": ["CT-0"],
        "status": "open",
    }
    return [*sites, *testimonies, finding]


def canary_strings() -> list[str]:
    out: list[str] = []
    for w in CANARY_WORKERS:
        out += [w["name"], w["employee_id"], w["phone"], w["email"], w["address"]]
        out += w["name"].split()
    out += [f"Canarynick{i}" for i in range(len(CANARY_WORKERS))]
    out += [*CANARY_PERSONS, "CANARYNARRATIVEPHRASE", "CanaryUnionName"]
    out += [f"CanarySource{t}{i}" for t in "ST" for i in range(len(CANARY_WORKERS))]
    out += ["CanarySourceF0"]
    out += [str(CANARY_LAT), str(CANARY_LON)]  # a GPS point, also as bare digits
    return out


# --- A multilingual corpus for export leak tests -------------------------------

EXPORT_SITES = [
    {"id": "XS-VN", "country": "VN", "region": "Bắc Ninh", "lang": "vi"},
    {"id": "XS-TH", "country": "TH", "region": "Ayutthaya", "lang": "th"},
    {"id": "XS-CN", "country": "CN", "region": "Guangdong", "lang": "zh"},
    {"id": "XS-CZ", "country": "CZ", "region": "Ostrava", "lang": "cs"},
]

# (given, family, full name as written) per site language.
NAMES = {
    "vi": [
        ("Hương", "Nguyễn", "Nguyễn Thị Hương"),
        ("Minh", "Trần", "Trần Văn Minh"),
        ("Lan", "Phạm", "Phạm Ngọc Lan"),
        ("Dũng", "Đặng", "Đặng Quốc Dũng"),
        ("Thảo", "Vũ", "Vũ Phương Thảo"),
        ("Khoa", "Bùi", "Bùi Đăng Khoa"),
    ],
    "th": [
        ("สมชาย", "ใจดี", "สมชาย ใจดี"),
        ("สมหญิง", "รักไทย", "สมหญิง รักไทย"),
        ("ประยุทธ", "มั่นคง", "ประยุทธ มั่นคง"),
        ("วิไล", "ศรีสุข", "วิไล ศรีสุข"),
        ("อนันต์", "พรหมมา", "อนันต์ พรหมมา"),
        ("มาลี", "แสงทอง", "มาลี แสงทอง"),
    ],
    "zh": [
        ("小明", "王", "王小明"),
        ("丽华", "李", "李丽华"),
        ("建国", "张", "张建国"),
        ("秀英", "刘", "刘秀英"),
        ("志强", "陈", "陈志强"),
        ("美玲", "杨", "杨美玲"),
    ],
    "cs": [
        ("Jiří", "Dvořák", "Jiří Dvořák"),
        ("Šárka", "Nováková", "Šárka Nováková"),
        ("Tomáš", "Černý", "Tomáš Černý"),
        ("Lucie", "Procházková", "Lucie Procházková"),
        ("Petr", "Svoboda", "Petr Svoboda"),
        ("Zdeňka", "Kučerová", "Zdeňka Kučerová"),
    ],
}
SUPERVISORS = {"vi": "Lý Thường Kiệt", "th": "บุญมี ศักดิ์ดี", "zh": "赵德胜", "cs": "Bohumil Hrabal"}
PHONES = {
    "VN": ["+84 913 {a} {b}", "0913{a}{b}", "(+84) 913-{a}-{b}"],
    "TH": ["+66 81 {a} {b}", "081-{a}-{b}", "0066 81 {a} {b}"],
    "CN": ["+86 139 {a} {b}", "139{a}{b}", "+86-139-{a}-{b}"],
    "CZ": ["+420 777 {a} {b}", "777 {a} {b}", "00420 777{a}{b}"],
}


def _strip_marks(text: str) -> str:
    import unicodedata

    return (
        "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        .replace("đ", "d")
        .replace("Đ", "D")
    )


def export_corpus() -> list[dict[str, Any]]:
    """Sites with twelve testimonies each and a finding; names everywhere in text."""
    records: list[dict[str, Any]] = []
    for s_i, site in enumerate(EXPORT_SITES):
        records.append(
            {
                "type": "site",
                "id": site["id"],
                "name": f"Plant {site['id']}",
                "kind": "manufacturing",
                "country": site["country"],
                "region": site["region"],
            }
        )
        names = NAMES[site["lang"]]
        tids = []
        for i in range(12):
            given, family, full = names[i % len(names)]
            coworker = names[(i + 1) % len(names)]
            a, b = f"{100 + s_i * 10 + i:03d}", f"{200 + i:03d}"
            phone = PHONES[site["country"]][i % 3].format(a=a, b=b)
            other_phone = PHONES[site["country"]][(i + 1) % 3].format(a=b, b=a)
            eid = f"{site['country']}-E{s_i}{i:04d}"
            tid = f"XT-{site['country']}-{i:02d}"
            tids.append(tid)
            forms = [full.upper(), _strip_marks(full), given, family + "'s", full + ","]
            spaced = site["lang"] in ("vi", "cs")
            # Scripts without spaces run a name into the next word.
            glued = f"{given}'s sister" if spaced else f"{family}{given}说"
            email = (
                f"{_strip_marks(given).lower()}.x{i}@example.org"
                if spaced
                else f"w{s_i}x{i}@example.org"
            )
            narrative = (
                f"{forms[i % 5]} worked nights. {coworker[2]} saw it too; "
                f"{coworker[0].upper()} and {_strip_marks(coworker[1])} agree. "
                f"Supervisor {SUPERVISORS[site['lang']]} kept badge {eid} and called "
                f"{other_phone}. Write to {email} "
                f"or ring {phone}. {glued} said the fine was 2,000,000 on 2026-03-14."
            )
            records.append(
                {
                    "type": "testimony",
                    "id": tid,
                    "site_id": site["id"],
                    "received_on": f"2026-0{1 + i % 9}-1{i % 10}",
                    "channel": "interview",
                    "language": site["lang"],
                    "worker": {
                        "name": full if i < len(names) else f"{full} ({i})",
                        "employee_id": eid,
                        "phone": phone,
                        "email": email,
                        "address": f"{10 + i} {family} Street, {site['region']}",
                        "gender": "female" if i % 2 else "male",
                        "birth_year": 1980 + (i % 4) * 5,
                        "nationality": site["country"],
                        "migrant": False,
                        "job_title": "operator",
                        "union_member": bool(i % 3),
                    },
                    "persons_mentioned": [
                        {"name": SUPERVISORS[site["lang"]], "role": "supervisor"}
                    ],
                    "allegations": ["wages", "working_hours"],
                    "narrative": narrative,
                    "consent": {
                        "share_with": ["union", "monitor", "buyers", "public"],
                        "withdrawn": False,
                    },
                    "risk": {"retaliation": "low" if i % 4 else "medium"},
                }
            )
        records.append(
            {
                "type": "finding",
                "id": f"XF-{site['country']}",
                "site_id": site["id"],
                "audit_date": "2026-09-01",
                "category": "wages",
                "severity": "high",
                "summary": f"{names[0][2]} and {SUPERVISORS[site['lang']]} confirmed unpaid wages.",
                "details": f"Payslip of {names[1][2].upper()} ({phone}) shows deductions.",
                "evidence": tids[:3],
                "status": "open",
            }
        )
    return records


def export_identity_terms(records: list[dict[str, Any]]) -> list[str]:
    """Every identity term of every worker and named person in the corpus."""
    terms: list[str] = []
    for r in records:
        if r["type"] != "testimony":
            continue
        w = r["worker"]
        terms += [w["name"], w["employee_id"], w["email"], w["address"]]
        terms += [
            p for p in w["name"].replace("(", " ").replace(")", " ").split() if not p.isdigit()
        ]
        for p in r.get("persons_mentioned", []):
            terms += [p["name"], *p["name"].split()]
    for names in NAMES.values():
        for given, family, full in names:
            terms += [given, family, full]
    return sorted(set(terms))


def export_phone_numbers(records: list[dict[str, Any]]) -> list[str]:
    import re

    out = []
    for r in records:
        if r["type"] == "testimony":
            digits = re.sub(r"\D", "", r["worker"]["phone"])
            out.append(digits[-9:])
    return out
