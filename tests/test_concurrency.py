"""Writers at once lose nothing: two processes importing into one PostgreSQL vault
keep the audit chain whole, and concurrent updates of one record (threads, or
processes through the CLI) each get their own version, numbered without gaps."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import PASSPHRASE, PG_URL, SAMPLES, Backend, sample_records
from vault import ConflictError
from vault.attachments import AttachmentInfo

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


WRITERS = 5


def _updated(n: int) -> dict[str, Any]:
    """T-0001 as writer ``n`` updates it: its narrative says which writer it was."""
    record = next(r for r in sample_records() if r["id"] == "T-0001")
    return record | {"narrative": f"update from writer {n}"}


def _results(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    """Exit code, stdout and stderr of every process, all waited for."""
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append((p.returncode, out, err))
    return results


def test_concurrent_updates_of_one_record_get_consecutive_versions(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
    barrier = threading.Barrier(WRITERS)
    outcomes: dict[int, int | BaseException] = {}
    lock = threading.Lock()

    def run(n: int) -> None:
        with backend.open() as v:
            barrier.wait()
            try:
                outcome: int | BaseException = v.update("T-0001", _updated(n))
            except Exception as exc:
                outcome = exc
        with lock:
            outcomes[n] = outcome

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for outcome in outcomes.values():
        assert isinstance(outcome, (int, ConflictError)), repr(outcome)
    won = {n: version for n, version in outcomes.items() if isinstance(version, int)}
    # The record row is locked before the next version is counted: nobody loses.
    assert len(won) == WRITERS
    with backend.open() as v:
        versions = [info.version for info in v.versions("T-0001")]
        assert versions == list(range(1, WRITERS + 2))
        assert sorted(won.values()) == versions[1:]
        for n, version in won.items():
            assert v.get("T-0001", version=version)["narrative"] == f"update from writer {n}"
        v.audit_verify()


def test_concurrent_cli_updates_exit_0_or_7_and_lose_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
    files = []
    for n in range(WRITERS):
        path = tmp_path / f"update-{n}.json"
        path.write_text(json.dumps(_updated(n)), encoding="utf-8")
        files.append(path)
    env = os.environ | {"EVAULT_PASSPHRASE": PASSPHRASE}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault",
                *backend.cli_args(),
                "update",
                "T-0001",
                str(path),
                "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    won: dict[int, int] = {}
    for n, (code, out, err) in enumerate(_results(procs)):
        assert code in (0, 7), err
        assert "Traceback" not in err
        if code == 0:
            won[n] = json.loads(out)["version"]
        else:
            assert "changed concurrently, retry" in err, err
    with backend.open() as v:
        versions = [info.version for info in v.versions("T-0001")]
        assert versions == list(range(1, len(won) + 2))
        assert sorted(won.values()) == versions[1:]
        for n, version in won.items():
            assert v.get("T-0001", version=version)["narrative"] == f"update from writer {n}"
        v.audit_verify()


def test_concurrent_cli_imports_of_one_file_store_it_once(backend: Backend, tmp_path: Path) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES, fmt="jsonl")
    # New records, one of them a testimony whose worker the vault knows already.
    records = [r for r in sample_records() if r["type"] == "testimony"][:3]
    one = tmp_path / "new.jsonl"
    with one.open("w", encoding="utf-8") as fh:
        for i, rec in enumerate(records):
            fh.write(json.dumps(rec | {"id": f"NEW-{i}"}) + "\n")
    env = os.environ | {"EVAULT_PASSPHRASE": PASSPHRASE}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "vault", *backend.cli_args(), "import", str(one), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WRITERS)
    ]
    results = _results(procs)
    imported = []
    for code, out, err in results:
        # One stores the file; the others find it stored (unchanged), or, writing at
        # the same moment on PostgreSQL, lose the race and say so (exit 7).
        assert code in (0, 7), err
        assert "Traceback" not in err
        if code == 0:
            imported.append(json.loads(out)["imported"])
        else:
            assert "changed concurrently, retry" in err, err
    assert sorted(imported)[-1:] == [3], results
    assert sum(imported) == 3, results
    with backend.open() as v:
        assert v.stats()["testimony"] == 5 + 3
        v.audit_verify()


def test_concurrent_attaches_of_one_file_store_it_once(backend: Backend) -> None:
    data = b"%PDF-1.4\n" + os.urandom(20_000)
    with backend.create() as v:
        v.import_file(SAMPLES)
    barrier = threading.Barrier(WRITERS)
    outcomes: list[AttachmentInfo | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        with backend.open() as v:
            barrier.wait()
            try:
                outcome: AttachmentInfo | BaseException = v.attach(
                    "T-0001", io.BytesIO(data), name="scan.pdf"
                )
            except Exception as exc:
                outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    infos = [o for o in outcomes if isinstance(o, AttachmentInfo)]
    assert len(infos) == WRITERS, outcomes
    assert [i.existing for i in infos].count(False) == 1
    assert len({i.id for i in infos}) == 1
    with backend.open() as v:
        assert [a.id for a in v.attachments("T-0001")] == [infos[0].id]
        v.audit_verify()
