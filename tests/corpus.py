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


def canary_records() -> list[dict[str, Any]]:
    sites = [
        {
            "type": "site",
            "id": w["site"],
            "name": f"Site {w['site']}",
            "kind": "manufacturing",
            "country": w["nat"],
        }
        for w in CANARY_WORKERS
    ]
    testimonies = []
    for i, w in enumerate(CANARY_WORKERS):
        testimonies.append(
            {
                "type": "testimony",
                "id": f"CT-{i}",
                "site_id": w["site"],
                "received_on": "2026-01-0" + str(i + 1),
                "language": w["lang"],
                "worker": {
                    "name": w["name"],
                    "employee_id": w["employee_id"],
                    "phone": w["phone"],
                    "email": w["email"],
                    "address": w["address"],
                    "gender": "female",
                    "birth_year": 1990 + i,
                    "union_member": True,
                    "union_name": "CanaryUnionName",
                },
                "persons_mentioned": [
                    {"name": CANARY_PERSONS[i % len(CANARY_PERSONS)], "role": "supervisor"}
                ],
                "allegations": ["wages"],
                "narrative": f"{w['name']} says: {CANARY_NARRATIVE} Call {w['phone']}.",
                "consent": {"share_with": ["union"], "withdrawn": False},
            }
        )
    return sites + testimonies


def canary_strings() -> list[str]:
    out: list[str] = []
    for w in CANARY_WORKERS:
        out += [w["name"], w["employee_id"], w["phone"], w["email"], w["address"]]
        out += w["name"].split()
    out += [*CANARY_PERSONS, "CANARYNARRATIVEPHRASE", "CanaryUnionName"]
    return out
