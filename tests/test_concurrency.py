"""Two processes writing to one PostgreSQL vault at once lose nothing and keep the
audit chain whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PG_URL, SAMPLES, Backend, sample_records

WRITER = """
import json, sys
from vault import Passphrase, Vault
url, prefix, path = sys.argv[1], sys.argv[2], sys.argv[3]
with Vault.open(None, Passphrase("correct horse battery staple"), db_url=url) as v:
    for n, line in enumerate(open(path, encoding="utf-8")):
        record = json.loads(line)
        if n % 3 == 0:
            v.add(record)
        else:
            v.import_records([record])
        v.get("T-0001")
"""


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set")
def test_two_writers_lose_nothing(backend: Backend, tmp_path: Path) -> None:
    if backend.db_url is None:
        pytest.skip("concurrency is a PostgreSQL deployment property")
    with backend.create() as v:
        v.import_file(SAMPLES)
    files = []
    for prefix in ("A", "B"):
        path = tmp_path / f"{prefix}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(60):
                rec = sample_records()[4] | {"id": f"{prefix}-{i:03d}"}
                rec["worker"] = rec["worker"] | {"employee_id": f"{prefix}{i}"}
                fh.write(json.dumps(rec) + "\n")
        files.append((prefix, path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, backend.db_url, prefix, str(path)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix, path in files
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with backend.open() as v:
        assert v.stats()["testimony"] == 5 + 120
        for prefix in ("A", "B"):
            assert v.get(f"{prefix}-059")["id"] == f"{prefix}-059"
        report = v.audit_verify()
        actions = [e.action for e in v.audit_entries()]
    assert report.size == len(actions) - 2  # then "audit-verified" and "audit-read"
    assert actions.count("import") == 1 + 120
