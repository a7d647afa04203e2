"""The audit log: every operation leaves an entry; any tampering is detected."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Row, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend, fast_kdf, passphrase_of, sample_records
from corpus import canary_records, canary_strings
from vault import IntegrityError, Passphrase, StorageError, Vault
from vault.store import sqlite_url


@pytest.fixture
def logged(backend: Backend) -> Backend:
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.get("T-0001", identity=True)
        list(v.list(type="testimony"))
        v.find(employee_id="EMP-55001")
        v.update("F-0001", {**sample_records()[9], "status": "remediated"})
    return backend


def _sql(backend: Backend, sql: str, **params: object) -> Sequence[Row[Any]] | None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        rows = result.all() if result.returns_rows else None
    engine.dispose()
    return rows


def test_operations_leave_entries(logged: Backend) -> None:
    with logged.open() as v:
        entries = v.audit_entries()
        actions = [e.action for e in entries]
        assert actions[:6] == ["vault-created", "import", "identity-access", "read", "list", "find"]
        assert "update" in actions
        assert actions[-1] == "audit-read"  # reading the log is recorded too
        assert v.audit_verify().size == len(entries)
        ref = v._ctx.codec.reference("F-0001")
        assert [e.action for e in v.audit_entries(record_id="F-0001")] == ["update"]
        assert all(ref in e.refs for e in v.audit_entries(record_id="F-0001"))


def test_entries_hold_no_sensitive_value(backend: Backend) -> None:
    with backend.create() as v:
        v.import_records(canary_records())
        for r in canary_records():
            if r["type"] == "testimony":
                v.get(r["id"], identity=True)
                v.find(employee_id=r["worker"]["employee_id"], phone=r["worker"]["phone"])
    rows = _sql(backend, "SELECT actor, action, refs, details FROM audit_log")
    assert rows is not None
    blob = json.dumps([list(r) for r in rows], ensure_ascii=False).casefold()
    for canary in canary_strings():
        assert canary.casefold() not in blob
    assert "ct-0" not in blob  # record ids are kept as keyed references


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE audit_log SET action = 'read' WHERE seq = 2",
        "UPDATE audit_log SET details = '{}' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
        "UPDATE audit_log SET seq = 100 WHERE seq = 4",
        "INSERT INTO audit_log (seq, at, actor, action, refs, details, mac) SELECT 99, at, actor, action, refs, details, mac FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
        "UPDATE meta SET value = 'x' WHERE key = 'audit_head'",
    ],
)
def test_tampering_is_detected(logged: Backend, attack: str) -> None:
    _sql(logged, attack)
    with logged.open() as v, pytest.raises(IntegrityError):
        v.audit_verify()


def test_reordering_is_detected(logged: Backend) -> None:
    rows = _sql(logged, "SELECT seq, action, details, mac FROM audit_log WHERE seq IN (3, 4)")
    assert rows is not None
    a, b = rows
    _sql(
        logged,
        "UPDATE audit_log SET action = :ac, details = :d, mac = :m WHERE seq = :s",
        ac=b.action,
        d=b.details,
        m=b.mac,
        s=a.seq,
    )
    _sql(
        logged,
        "UPDATE audit_log SET action = :ac, details = :d, mac = :m WHERE seq = :s",
        ac=a.action,
        d=a.details,
        m=a.mac,
        s=b.seq,
    )
    with logged.open() as v, pytest.raises(IntegrityError):
        v.audit_verify()


def test_a_rewritten_log_is_caught_by_an_earlier_checkpoint(
    logged: Backend, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "cp.json"
    with logged.open() as v:
        checkpoint.write_text(json.dumps(v.audit_checkpoint()))
        v.get("T-0002", identity=True)
        assert v.audit_verify(checkpoint).checkpoint_size is not None
        # Someone with the audit key rewrites history: drop everything, replay
        # a shorter, self-consistent log.
        from vault import audit as audit_mod

        key = v._ctx.keys.audit_key()
    _sql(logged, "DELETE FROM audit_log")
    _sql(logged, "DELETE FROM meta WHERE key = 'audit_head'")
    engine = create_engine(logged.db_url or sqlite_url(logged.folder))
    with engine.begin() as conn:
        for _ in range(12):
            audit_mod.append(conn, key, "admin", "read")
    engine.dispose()
    with logged.open() as v:
        v_report = v.audit_verify  # the chain alone now verifies ...
        with pytest.raises(IntegrityError, match="checkpoint"):
            v_report(checkpoint)  # ... but not against what was checkpointed
    forged = json.loads(checkpoint.read_text())
    forged["size"] = 1
    checkpoint.write_text(json.dumps(forged))
    with logged.open() as v, pytest.raises(IntegrityError, match="signature"):
        v.audit_verify(checkpoint)


def test_fail_closed_when_the_entry_cannot_be_written(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        before = v.stats()
        from vault import audit as audit_mod

        def broken(*_a: object, **_k: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(audit_mod, "append", broken)
        new = sample_records()[4] | {"id": "T-NEW"}
        for call in (
            lambda: v.add(new),
            lambda: v.get("T-0001"),
            lambda: list(v.list()),
            lambda: v.update("F-0001", sample_records()[9]),
        ):
            with pytest.raises(RuntimeError):
                call()
        monkeypatch.undo()
        assert v.stats() == before
        assert [x.version for x in v.versions("F-0001")] == [1]


def test_verify_counts_grow_and_entries_are_ordered(logged: Backend) -> None:
    with logged.open() as v:
        first = v.audit_verify().size
        second = v.audit_verify().size
        assert second == first + 1  # verifying is itself recorded
        seqs = [e.seq for e in v.audit_entries()]
        assert seqs == sorted(seqs) == list(range(1, len(seqs) + 1))
    assert isinstance(Vault, type)


def test_an_auditor_can_checkpoint_and_verify(backend: Backend, tmp_path: Path) -> None:
    from conftest import fast_kdf
    from vault import Passphrase

    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_custodian("aud", Passphrase(passphrase_of("aud")), role="auditor", kdf=fast_kdf())
    with backend.open(passphrase_of("aud"), custodian="aud") as a:
        cp = tmp_path / "cp.json"
        cp.write_text(json.dumps(a.audit_checkpoint()))
        assert a.audit_verify(cp).checkpoint_size is not None
    other = tmp_path / "other"
    with (
        Vault.create(other, Passphrase(PASSPHRASE), kdf=fast_kdf()) as o,
        pytest.raises(IntegrityError),
    ):
        o.audit_verify(cp)


def test_concurrent_reads_are_each_logged_and_share_commits(backend: Backend) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event

    with backend.create() as v:
        v.import_file(SAMPLES)
        # Hold the first group's transaction open until seven more reads queue up.
        queued = threading.Event()
        first = threading.Event()
        commits: list[int] = []
        group = v._ctx.audit_group
        real = group._transaction

        def slow_first() -> contextlib.AbstractContextManager[Connection]:
            if not first.is_set():
                first.set()
                assert queued.wait(10)
            return real()

        group._transaction = slow_first
        event.listen(v._ctx.engine, "commit", lambda _c: commits.append(1))
        ids = [r["id"] for r in sample_records()][:8]
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(v.get, ids[0])]
            assert first.wait(10)
            futures += [pool.submit(v.get, i) for i in ids[1:]]
            for _ in range(1000):
                if len(group._queue) >= 7:
                    break
                threading.Event().wait(0.01)
            queued.set()
            records = [f.result(timeout=30) for f in futures]
        assert [r["id"] for r in records] == ids
        assert len(commits) == 2  # one for the first read, one for the seven queued
        v.audit_verify()
        reads = [e for e in v.audit_entries() if e.action == "read"]
        assert sorted(e.refs[0] for e in reads) == sorted(v._ctx.codec.reference(i) for i in ids)

        # A group that cannot be written fails every read in it, and returns nothing.
        def broken() -> contextlib.AbstractContextManager[Connection]:
            raise StorageError("disk full")

        group._transaction = broken
        with ThreadPoolExecutor(4) as pool:
            failures = [pool.submit(v.get, "T-0001") for _ in range(4)]
            for f in failures:
                with pytest.raises(StorageError):
                    f.result(timeout=30)
        group._transaction = real
        v.audit_verify()
        assert len([e for e in v.audit_entries() if e.action == "read"]) == 8
        assert v.get("T-0002")["id"] == "T-0002"


def test_read_entries_reach_the_disk_within_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reads' entries are committed before the read returns, without a disk flush of
    # their own; the write-ahead log is flushed soon after, and when the vault closes.
    import os
    import threading

    from vault import store

    flushed: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    v = Vault.create(tmp_path / "v", Passphrase(PASSPHRASE), kdf=fast_kdf())
    v.import_file(SAMPLES)
    engine = v._ctx.engine
    with store.write_transaction(engine, synced=False) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    # The pooled connection is back to a flush per commit for every other write.
    assert raw.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL

    first = sample_records()[1]["id"]
    v.get(first)  # not grouped: a commit of its own, flushed as it commits
    flushed.clear()
    v._ctx.audit_read("read", refs=["probe"])
    with create_engine(sqlite_url(tmp_path / "v")).connect() as other:
        assert (
            other.execute(text("SELECT count(*) FROM audit_log WHERE refs LIKE '%probe%'")).scalar()
            == 1
        )
    for _ in range(500):
        if any(p.endswith("-wal") for p in flushed):
            break
        threading.Event().wait(0.01)
    assert any(p.endswith("vault.db-wal") for p in flushed)

    flushed.clear()
    v._ctx.audit_read("read", refs=["probe-2"])
    v.close()  # disposing the engine flushes what is pending
    assert any(p.endswith("vault.db-wal") for p in flushed)
