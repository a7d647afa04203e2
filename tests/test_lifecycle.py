"""Key rotation (crash-safe), retirement, erasure of a worker, and retention."""

from __future__ import annotations

import copy
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import IntegrityError, UsageError, lifecycle
from vault.policy import find_policy
from vault.store import sqlite_url


def _engine(backend: Backend) -> Engine:
    return create_engine(backend.db_url or sqlite_url(backend.folder))


def _many(n: int) -> list[dict[str, Any]]:
    records = sample_records()
    base = records[4]
    for i in range(n):
        r = copy.deepcopy(base)
        r["id"] = f"R-{i:05d}"
        r["worker"]["employee_id"] = f"E-{i:05d}"
        records.append(r)
    return records


def test_rotation_rewraps_everything_and_old_versions_can_retire(backend: Backend) -> None:
    with backend.create() as v:
        v.import_records(_many(120))
        before = {r["id"]: v.get(r["id"], identity=True) for r in _many(120)}
        report = v.rotate_keys(batch=25)
        assert report.target == 2
        assert report.records == len(before)
        assert report.subjects == 125
        for rid, rec in before.items():
            assert v.get(rid, identity=True) == rec
        v.add(sample_records()[4] | {"id": "AFTER"})
        v.retire_keys(2)
        for rid, rec in list(before.items())[:10]:
            assert v.get(rid, identity=True) == rec
        with pytest.raises(UsageError):
            v.retire_keys(3)
        engine = _engine(backend)
        with engine.connect() as conn:
            blobs = conn.execute(text("SELECT DISTINCT kek_version FROM record_versions"))
            versions = blobs.scalars().all()
        engine.dispose()
        assert versions == [2]
        report = v.rotate_keys(reencrypt=True)
        assert report.target == 3
        for rid, rec in list(before.items())[:10]:
            assert v.get(rid, identity=True) == rec


def test_a_retired_version_cannot_come_back(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        engine = _engine(backend)
        with engine.connect() as conn:
            old = conn.execute(
                text(
                    "SELECT record_ref, narrative_key FROM record_versions "
                    "WHERE narrative_key IS NOT NULL"
                )
            ).first()
        assert old is not None
        v.rotate_keys()
        v.retire_keys(2)
        ref = v._ctx.codec.reference("T-0001")
    with engine.begin() as conn:
        # Put a version-1 wrapped key back (a rollback by someone with the file).
        conn.execute(
            text("UPDATE record_versions SET narrative_key = :k WHERE record_ref = :r"),
            {"k": old.narrative_key, "r": old.record_ref},
        )
    engine.dispose()
    with backend.open() as v:
        rid = next(s.id for s in list(v.list()) if v._ctx.codec.reference(s.id) == old.record_ref)
        with pytest.raises(IntegrityError):
            v.get(rid)
    assert ref


ROTATE = """
import sys
from vault import Passphrase, Vault
with Vault.open(sys.argv[1], Passphrase(sys.argv[2])) as v:
    v.rotate_keys(batch=40)
"""


@pytest.mark.slow
def test_rotation_survives_being_killed_at_any_point(sqlite_backend: Backend) -> None:
    records = _many(1500)
    with sqlite_backend.create() as v:
        v.import_records(records)
        sample = {r["id"]: v.get(r["id"], identity=True) for r in records[::97]}
    rng = random.Random(7)  # noqa: S311 - timing jitter, not a secret
    kills = 0
    for _attempt in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", ROTATE, str(sqlite_backend.folder), PASSPHRASE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        with sqlite_backend.open() as v:
            for rid, rec in sample.items():
                assert v.get(rid, identity=True) == rec
    assert kills >= 3, "the test must actually interrupt rotations"
    with sqlite_backend.open() as v:
        v.rotate_keys(batch=200)
        for rid, rec in sample.items():
            assert v.get(rid, identity=True) == rec
        v.audit_verify()
    engine = _engine(sqlite_backend)
    with engine.connect() as conn:
        current = int(
            conn.execute(text("SELECT value FROM meta WHERE key = 'kek_version'")).scalar_one()
        )
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM record_versions WHERE kek_version < :c"), {"c": current}
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(text("SELECT value FROM meta WHERE key = 'rotation_target'")).first()
            is None
        )


def _folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_erasure_destroys_the_worker_key_everywhere(backend: Backend) -> None:
    records = sample_records()
    follow_up = copy.deepcopy(records[4]) | {"id": "T-0001-b"}
    follow_up["narrative"] = "A second account by the same worker."
    with backend.create() as v:
        v.import_records([*records, follow_up])
        engine = _engine(backend)
        with engine.connect() as conn:
            sid, wrapped = conn.execute(
                text(
                    "SELECT s.id, s.wrapped_key FROM subjects s JOIN records r ON r.subject_id = s.id "
                    "WHERE r.ref = :r"
                ),
                {"r": v._ctx.codec.reference("T-0001")},
            ).one()
        assert v.find(employee_id="EMP-55001")
        assert v.erase_subject(employee_id="EMP-55001") == 1
        # No call of the live vault opens the identity any more ...
        for rid in ("T-0001", "T-0001-b"):
            record = v.get(rid, identity=True)
            assert "name" not in record["worker"]
            assert "persons_mentioned" not in record
        # ... its blind indexes no longer match ...
        assert v.find(employee_id="EMP-55001") == []
        assert v.find(phone="+84 912 345 678") == []
        # ... the rest of the testimony still reads ...
        assert v.get("T-0001-b")["narrative"] == "A second account by the same worker."
        assert v.get("T-0001")["worker"]["birth_year"] == 1994
        # ... other workers are untouched ...
        assert v.get("T-0002", identity=True) == records[5]
        with pytest.raises(Exception, match="no worker matches"):
            v.erase_subject(employee_id="EMP-55001")
        assert "subject-erased" in [e.action for e in v.audit_entries()]
        v.audit_verify()
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT wrapped_key FROM subjects WHERE id = :s"), {"s": sid}
        ).scalar_one()
    engine.dispose()
    assert left is None
    if backend.db_url is None:
        data = _folder_bytes(backend.folder)
        assert wrapped not in data
        assert wrapped[-16:] not in data  # not even the tag


def test_erasure_by_testimony_and_phone(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        assert v.erase_subject(testimony_id="T-0003") == 1
        assert "name" not in v.get("T-0003", identity=True)["worker"]
        assert v.erase_subject(phone="081 234 5678", region="TH") == 1
        assert "name" not in v.get("T-0002", identity=True)["worker"]
        with pytest.raises(UsageError):
            v.erase_subject()


def test_retention_erases_identities_after_remediation(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        with pytest.raises(UsageError):
            v.run_retention()
        v.set_retention(30)
        assert v.run_retention(dry_run=True)["due"] == 0
        finding = sample_records()[9] | {"status": "remediated"}
        finding["remediation"] = finding["remediation"] | {"updated": "2026-01-01"}
        v.update("F-0001", finding)
        # Days count from when the vault stored the remediated finding, not from the
        # date typed into it.
        assert v.run_retention(dry_run=True)["due"] == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        monkeypatch.setattr(lifecycle, "utcnow", lambda: later)
        plan = v.run_retention(dry_run=True)
        assert plan == {"days": 30, "due": 2, "erased": 0, "dry_run": True}
        assert v.get("T-0001", identity=True)["worker"]["name"]
        assert v.run_retention()["erased"] == 2
        assert "name" not in v.get("T-0001", identity=True)["worker"]
        assert v.get("T-0002", identity=True)["worker"]["name"]  # not cited
        actions = [e.action for e in v.audit_entries()]
        assert actions.count("retention-run") == 4


def test_retention_cannot_be_steered_at_other_workers(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.set_retention(30)
        # A custodian marks a finding remediated "long ago", citing a worker of another
        # site (T-0002, SITE-002) and one who spoke after the audit (a new testimony).
        late = sample_records()[4] | {"id": "T-LATE", "received_on": "2026-09-01"}
        late["worker"] = late["worker"] | {"employee_id": "EMP-LATE-1"}
        v.add(late)
        finding = sample_records()[9] | {"status": "remediated"}
        finding["evidence"] = ["T-0001", "T-0002", "T-LATE"]
        finding["remediation"] = finding["remediation"] | {"updated": "2020-01-01"}
        v.update("F-0001", finding)
        assert v.run_retention(dry_run=True)["due"] == 0  # stored just now
        # Moving the stored time back in the database does not help: it is sealed.
        with engine.begin() as conn:
            conn.execute(text("UPDATE record_versions SET created_at = '2020-01-01 00:00:00'"))
        assert v.run_retention(dry_run=True)["due"] == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        monkeypatch.setattr(lifecycle, "utcnow", lambda: later)
        assert v.run_retention()["erased"] == 1  # T-0001 only: same site, spoke before
        assert "name" not in v.get("T-0001", identity=True)["worker"]
        assert v.get("T-0002", identity=True)["worker"]["name"]
        assert v.get("T-LATE", identity=True)["worker"]["name"]
    engine.dispose()


def test_erasure_finds_a_worker_whose_index_rows_were_deleted(backend: Backend) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with backend.create() as v:
        v.import_file(SAMPLES)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM blind_index"))
        assert v.find(employee_id="EMP-55001") == []  # the rows are gone ...
        assert v.erase_subject(employee_id="EMP-55001") == 1  # ... the sealed entries not
        assert "name" not in v.get("T-0001", identity=True)["worker"]
    engine.dispose()


def test_a_moved_site_reference_is_refused(backend: Backend) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with backend.create() as v:
        v.import_file(SAMPLES)
        other = v._ctx.codec.reference("SITE-001")
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE records SET site_ref = :s WHERE ref = :r"),
                {"s": other, "r": v._ctx.codec.reference("T-0001")},
            )
        with pytest.raises(IntegrityError, match="its site"):
            list(v.list(site="SITE-001"))
        with pytest.raises(IntegrityError, match="its site"):
            list(v.preview(find_policy("union")).records)
    engine.dispose()


def test_an_erased_workers_name_leaves_no_narrative_in_clear(backend: Backend) -> None:
    records = sample_records()
    first = next(r for r in records if r["id"] == "T-0001")
    name, eid = first["worker"]["name"], first["worker"]["employee_id"]
    given = name.replace(" (fictional)", "")
    # A co-worker at the same site names the worker and their badge number.
    other = copy.deepcopy(next(r for r in records if r["id"] == "T-0005"))
    other["narrative"] = f"{given} ({eid}) was moved to the night shift after she spoke."
    with backend.create() as v:
        v.import_records([r for r in records if r["id"] != "T-0005"] + [other])
        v.update("T-0005", other | {"channel": "hotline"})  # two versions to scrub
        assert v.erase_subject(testimony_id="T-0001") == 1
        for version in (1, 2):
            text = v.get("T-0005", version=version)["narrative"]
            for part in given.split():
                assert part not in text  # the export's scrubber could not know it now
            assert eid not in text
            assert "[ERASED]" in text
        erased = [e for e in v.audit_entries() if e.action == "subject-erased"]
        assert erased[-1].details["texts_scrubbed"] >= 2
