"""Synthetic, clearly fictional records for benchmarks (seeded, reproducible)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vault import KdfParams, Passphrase, Vault
from vault.export import write_age_identity

FIRST = ["Nguyễn", "Trần", "Lê", "Somchai", "Wang", "Jiří", "Ana", "Ibrahim", "Mai", "Petra"]
LAST = ["Thị Hoa", "Văn Minh", "Jaidee", "Xiaoming", "Dvořák", "Kowalska", "Okafor", "Sato"]
COUNTRIES = ["VN", "TH", "CN", "CZ", "ID", "MY", "PH", "CD"]
ALLEGATIONS = ["wages", "working_hours", "health_safety", "forced_labour", "harassment"]
SITES = 200


def sites() -> Iterator[dict[str, Any]]:
    for i in range(SITES):
        yield {
            "type": "site",
            "id": f"BS-{i:04d}",
            "name": f"Synthetic Plant {i}",
            "kind": "manufacturing",
            "country": COUNTRIES[i % len(COUNTRIES)],
            "region": f"Region {i % 17}",
        }


def testimonies(n: int, seed: int = 7, start: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` testimonies numbered from ``start`` (a later batch of the same vault)."""
    rng = random.Random(seed + start)
    for i in range(start, start + n):
        site = rng.randrange(SITES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield {
            "type": "testimony",
            "id": f"BT-{i:07d}",
            "site_id": f"BS-{site:04d}",
            "received_on": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "channel": "interview",
            "language": "vi",
            "worker": {
                "name": f"{first} {last} {i}",
                "employee_id": f"E-{i:07d}",
                "phone": f"+84 9{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                "gender": rng.choice(["female", "male"]),
                "birth_year": rng.randint(1970, 2005),
                "nationality": COUNTRIES[site % len(COUNTRIES)],
                "job_title": "line operator",
                "department": f"line {rng.randint(1, 9)}",
                "union_member": rng.random() < 0.3,
            },
            "persons_mentioned": [
                {"name": f"{rng.choice(FIRST)} Supervisor", "role": "supervisor"}
            ],
            "allegations": rng.sample(ALLEGATIONS, 2),
            "narrative": (
                f"{first} {last} {i} says the shift lasted {rng.randint(10, 16)} hours and "
                f"overtime was unpaid; the supervisor threatened dismissal. (Synthetic.)"
            ),
            "consent": {"share_with": ["union", "monitor"], "withdrawn": False},
            "risk": {"retaliation": rng.choice(["low", "medium", "high"])},
        }


def write_jsonl(path: Path, n: int, start: int = 0) -> None:
    """The sites (with the first batch only) and ``n`` testimonies from ``start``."""
    with path.open("w", encoding="utf-8") as fh:
        if start == 0:
            for rec in sites():
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        for rec in testimonies(n, start=start):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def vault_of(tmp: Path, n: int, passphrase: Passphrase, *, recipient: str | None = None) -> Path:
    """A vault (real Argon2id parameters) holding the sites and ``n`` testimonies,
    imported from a JSONL file removed afterwards; with ``recipient``, an age identity
    of that name is written to ``tmp`` and the vault exports to it."""
    data = tmp / f"in-{n}.jsonl"
    write_jsonl(data, n)
    folder = tmp / f"vault-{n}"
    kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
    with Vault.create(folder, passphrase, kdf=kdf) as v:
        v.import_file(data)
        if recipient is not None:
            v.add_recipient(recipient, write_age_identity(tmp / f"key-{n}.txt"))
    data.unlink()
    return folder
