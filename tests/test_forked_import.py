"""A file import sealed in a second process (``jobs=2``) stores what one process
stores, sends nothing plain or secret through its pipe, and fails as one error.

Each import that must fork runs in a fresh interpreter: a process forks only while
it has one thread, and a test worker may hold threads other tests left behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import PASSPHRASE, fast_kdf
from vault import Passphrase, Vault
from vault.crypto import SecretKey, random_key
from vault.errors import VaultError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")

SITES = 7
# Each worker gives testimonies far apart in the file: in other batches and chunks.
WORKERS = 160


# A worker first met late in the file: testimonies at these places only.
LATE = (700, 1000, 1300)


def _records(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "site",
            "id": f"S-{s}",
            "name": f"Plant {s}",
            "kind": "manufacturing",
            "country": "VN",
        }
        for s in range(SITES)
    ]
    for i in range(n):
        w = WORKERS + 1 if i in LATE else i % WORKERS
        out.append(
            {
                "type": "testimony",
                "id": f"T-{i:05d}",
                "site_id": f"S-{w % SITES}",
                "received_on": "2026-03-14",
                "channel": "interview",
                "language": "vi",
                "worker": {
                    "name": f"Nguyễn Văn Hùng{w:03d}",
                    "employee_id": f"EMP-{w:04d}",
                    "phone": f"+84 912 {w:03d} 678",
                    "email": f"worker{w:03d}@example.org",
                },
                "allegations": ["wages"],
                "narrative": f"Anh Hùng{w:03d} kể rằng ca làm việc kéo dài {i % 9 + 8} giờ.",
                "consent": {"share_with": ["union"], "recorded_on": "2026-03-14"},
            }
        )
    return out


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _new_vault(folder: Path) -> Path:
    with Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0):
        pass
    return folder


# Runs in a fresh interpreter: imports FILE into VAULT with JOBS and chunks of PER
# records, records every fork and every message the second process sent, and prints
# a JSON summary (the result or the error, the records of each chunk's audit entry,
# the forks, the messages pickled). After the first chunk, PLAN "kill" kills the
# second process; "other" has another writer add OTHER (a testimony); "move" has
# another writer correct record OTHER to another worker; "stop" stops the second
# process and has a thread measure how long another connection waits for the write
# lock, then let the process go on.
_PROBE = textwrap.dedent(
    """
    import json, os, pickle, signal, sqlite3, sys, threading, time
    from vault import Passphrase, Vault, forked, ingest

    folder, path, jobs, per, plan, other = sys.argv[1:7]
    ingest._QUIET_SECONDS = 5.0  # a wait for nothing shows within the test's time
    forks, messages, done, out = [], [], [], {}
    opened = forked.Forked.__init__
    received = forked.Forked.receive

    def init(self, work):
        opened(self, work)
        forks.append(self)

    def receive(self, *args, **kwargs):
        message = received(self, *args, **kwargs)
        if message is not forked.WAITING:
            messages.append(message)
        return message

    forked.Forked.__init__ = init
    forked.Forked.receive = receive

    def measure(pid):
        time.sleep(1.5)  # the first process is back at its next chunk by now
        started = time.monotonic()
        db = sqlite3.connect(os.path.join(folder, "vault.db"), timeout=30)
        db.execute("BEGIN IMMEDIATE")
        db.rollback()
        db.close()
        out["lock_wait"] = time.monotonic() - started
        os.kill(pid, signal.SIGCONT)

    def progress(n):
        if plan == "kill" and forks and forks[-1].pid:
            os.kill(forks[-1].pid, signal.SIGKILL)
        if done:
            return
        done.append(1)
        if plan == "other":
            time.sleep(1.0)  # the second process has sealed its next batches by now
            with Vault.open(folder, Passphrase(PASSPHRASE)) as o:
                o.add(json.loads(other))
        elif plan == "move":
            time.sleep(1.0)
            with Vault.open(folder, Passphrase(PASSPHRASE)) as o:
                o.update(other, {"worker": {"employee_id": "EMP-9999"}})
        elif plan == "stop":
            time.sleep(0.5)
            os.kill(forks[-1].pid, signal.SIGSTOP)
            threading.Thread(target=measure, args=(forks[-1].pid,)).start()

    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        try:
            result = v.import_file(
                path, jobs=int(jobs), chunk_records=int(per), progress=progress
            )
            out["result"] = result.to_dict()
        except Exception as exc:
            out["error"] = [type(exc).__name__, str(exc)]
        entries = [e for e in v.audit_entries() if e.action == "import"]
        out["chunks"] = [sum(e.details["records"].values()) for e in entries]
        out["last"] = [e.details.get("last") for e in entries]
    out["forks"] = len(forks)
    out["sent"] = pickle.dumps(messages).hex()
    print(json.dumps(out))
    """
).replace("PASSPHRASE", repr(PASSPHRASE))


def _probe(
    folder: Path,
    path: Path,
    plan: str = "",
    *,
    jobs: int = 2,
    per: int = 600,
    other: str = "",
    code: str = _PROBE,
) -> dict[str, Any]:
    args = [str(folder), str(path), str(jobs), str(per), plan, other]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _subjects(folder: Path) -> list[tuple[str, ...]]:
    """Which testimonies share a worker's identity key, as groups of record refs."""
    db = sqlite3.connect(folder / "vault.db")
    try:
        rows = db.execute(
            "SELECT subject_id, group_concat(ref) FROM records WHERE subject_id IS NOT NULL "
            "GROUP BY subject_id"
        ).fetchall()
    finally:
        db.close()
    return sorted(tuple(sorted(refs.split(","))) for _sid, refs in rows)


def test_a_forked_import_stores_what_one_process_stores(tmp_path: Path) -> None:
    records = _records(1500)
    path = _write(tmp_path / "in.jsonl", records)
    one = _new_vault(tmp_path / "one")
    two = _new_vault(tmp_path / "two")
    with Vault.open(one, Passphrase(PASSPHRASE)) as v:
        alone = v.import_file(path, jobs=1, chunk_records=600).to_dict()
    probe = _probe(two, path)
    assert probe["forks"] == 1
    assert probe["result"] == alone
    assert alone["imported"] == len(records)
    assert alone["chunks"] >= 3
    with Vault.open(two, Passphrase(PASSPHRASE)) as v:
        for record in records[:: len(records) // 40]:
            assert v.get(record["id"], identity=True) == record
        # One worker's testimonies, in batches and chunks apart, share one key.
        found = {s.id for s in v.find(employee_id="EMP-0007")}
        given = {r["id"] for r in records if r.get("worker", {}).get("employee_id") == "EMP-0007"}
        assert found == given
        assert len(found) > 5
        assert v.audit_verify().size > 0
        chunks = [e for e in v.audit_entries() if e.action == "import"]
        assert len(chunks) == alone["chunks"]
    groups = _subjects(two)
    assert len(groups) == WORKERS + 1
    # References are keyed per vault: compare the shapes of the groups.
    assert sorted(len(g) for g in groups) == sorted(len(g) for g in _subjects(one))


def test_nothing_plain_or_secret_crosses_the_pipe(tmp_path: Path) -> None:
    records = _records(600)
    path = _write(tmp_path / "in.jsonl", records)
    probe = _probe(_new_vault(tmp_path / "v"), path)
    assert probe["forks"] == 1
    assert "error" not in probe
    sent = bytes.fromhex(probe["sent"])
    assert len(sent) > 100_000  # the sealed rows did cross
    for record in [r for r in records if r["type"] == "testimony"][::37]:
        worker = record["worker"]
        for value in (worker["name"], worker["phone"], worker["email"], record["narrative"]):
            assert value.encode("utf-8") not in sent
            assert value.encode("utf-16-le") not in sent
        assert worker["employee_id"].encode() not in sent
    # A key put in a message by mistake stops the work instead of crossing.
    with pytest.raises(TypeError):
        __import__("pickle").dumps(random_key())
    assert isinstance(random_key(), SecretKey)


def test_a_line_bad_only_at_the_second_reading_stops_with_what_was_committed(
    tmp_path: Path,
) -> None:
    # Another program edits the file once the check has read it: after the first
    # chunk committed, in place, a line the second process has not read yet (it
    # runs at most a batch or two ahead of what is stored).
    records = _records(2500)
    path = _write(tmp_path / "in.jsonl", records)
    lines = path.read_bytes().splitlines(keepends=True)
    at = 2300  # line 2301
    good = lines[at]
    bad = good.replace(b'"channel": "interview"', b'"channel": 12345678901')
    assert len(bad) == len(good)
    assert bad != good
    offset = sum(len(line) for line in lines[:at])
    folder = _new_vault(tmp_path / "v")
    probe_code = _PROBE.replace(
        "def progress(n):\n",
        "def progress(n):\n"
        "    if plan == 'edit' and 'edited' not in messages:\n"
        "        with open(path, 'r+b') as fh:\n"
        f"            fh.seek({offset})\n"
        f"            fh.write({bad!r})\n"
        "        messages.append('edited')\n",
    )
    assert probe_code != _PROBE
    out = _probe(folder, path, "edit", code=probe_code)
    assert out["forks"] == 1
    assert "error" in out, out.get("result")
    name, message = out["error"]
    assert name == "InvalidInputError"
    assert "line 2301" in message
    assert "channel" in message
    assert "were committed in" in message
    assert "run the same import again" in message
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        stored = sum(1 for _ in v.list())
    assert 0 < stored < len(records)


def test_a_killed_second_process_is_one_error_and_a_rerun_finishes(tmp_path: Path) -> None:
    records = _records(1500)
    path = _write(tmp_path / "in.jsonl", records)
    folder = _new_vault(tmp_path / "v")
    out = _probe(folder, path, "kill")
    name, message = out["error"]
    assert name == "VaultError"
    assert "second process stopped" in message
    assert "were committed in" in message
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        stored = sum(1 for _ in v.list())
        assert 0 < stored < len(records)
        again = v.import_file(path, jobs=2, chunk_records=600)
        assert again.count + again.unchanged == len(records)
        assert sum(1 for _ in v.list()) == len(records)


def test_a_process_with_another_thread_does_not_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault import forked

    forks: list[object] = []
    monkeypatch.setattr(forked.Forked, "__init__", lambda self, work: forks.append(work))
    records = _records(300)
    path = _write(tmp_path / "in.jsonl", records)
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait, daemon=True)
    beside.start()
    try:
        with Vault.create(
            tmp_path / "v", Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0
        ) as v:
            result = v.import_file(path, jobs=2)
            assert result.count == len(records)
    finally:
        stop.set()
        beside.join()
    assert forks == []


def _subject_ids(folder: Path, ids: set[str]) -> set[str]:
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        refs = {v._ctx.codec.reference(i) for i in ids}
    db = sqlite3.connect(folder / "vault.db")
    try:
        rows = db.execute("SELECT ref, subject_id FROM records").fetchall()
    finally:
        db.close()
    return {sid for ref, sid in rows if ref in refs}


def test_a_worker_another_writer_adds_meanwhile_is_a_conflict_not_a_second_key(
    tmp_path: Path,
) -> None:
    # The second process chose worker EMP-0161's identity key before another writer
    # stored a testimony of theirs: storing the batch would give them two keys, so
    # that erasing by one testimony would leave the others readable.
    records = _records(1500)
    path = _write(tmp_path / "in.jsonl", records)
    folder = _new_vault(tmp_path / "v")
    # Worker EMP-0161 first comes in a batch sealed before the other writer stores
    # a testimony of theirs, and stored after.
    other = {**records[SITES + LATE[0]], "id": "T-OTHER"}
    out = _probe(folder, path, "other", other=json.dumps(other))
    assert out["forks"] == 1
    assert "error" in out, out
    name, message = out["error"]
    assert name == "ConflictError"
    assert "another writer stored or erased a testimony of the same worker" in message
    assert "were committed in" in message
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        again = v.import_file(path, jobs=2, chunk_records=600)
        assert again.count + again.unchanged == len(records)
        worker = {s.id for s in v.find(employee_id="EMP-0161")}
    assert worker == {"T-OTHER", *(f"T-{i:05d}" for i in LATE)}
    assert len(_subject_ids(folder, worker)) == 1


def test_a_copied_worker_row_stops_a_forked_import(tmp_path: Path) -> None:
    # A `subject` index row copied onto another worker's testimony would have the
    # second process seal a returning worker's testimony under that other key.
    records = _records(400)
    folder = _new_vault(tmp_path / "v")
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        v.import_file(_write(tmp_path / "first.jsonl", records), jobs=1)
        a, b = (v._ctx.codec.reference(r) for r in ("T-00000", "T-00001"))
    db = sqlite3.connect(folder / "vault.db")
    with db:
        db.execute(
            "INSERT INTO blind_index (record_ref, kind, mac) SELECT ?, kind, mac "
            "FROM blind_index WHERE record_ref = ? AND kind = 'subject'",
            (b, a),
        )
    db.close()
    again = [{**r, "id": r["id"] + "-B"} for r in records[SITES:]]
    out = _probe(folder, _write(tmp_path / "again.jsonl", again))
    assert out["forks"] == 1
    name, message = out["error"]
    assert name == "TamperedRowError"
    assert "its worker's index entry" in message
    assert out["chunks"] == [len(records)]  # the first import's only


def test_forked_chunks_hold_at_most_their_records_as_one_process_does(tmp_path: Path) -> None:
    records = _records(600)
    path = _write(tmp_path / "in.jsonl", records)
    one = _probe(_new_vault(tmp_path / "one"), path, jobs=1, per=251)
    two = _probe(_new_vault(tmp_path / "two"), path, per=251)
    assert two["forks"] == 1
    assert two["chunks"] == one["chunks"] == [251, 251, 105]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_that_ends_with_a_chunk_ends_with_the_last_audit_entry(
    tmp_path: Path, jobs: int
) -> None:
    path = _write(tmp_path / "in.jsonl", _records(600 - SITES))
    probe = _probe(_new_vault(tmp_path / "v"), path, jobs=jobs, per=300)
    assert probe["forks"] == jobs - 1
    assert probe["result"]["chunks"] == 2
    assert probe["chunks"] == [300, 300]
    # The import finished: its last entry says so, as when the file ends mid-chunk.
    assert probe["last"] == [False, True]


def test_a_stopped_second_process_holds_no_lock(tmp_path: Path) -> None:
    # Stopped after the first chunk, the second process sends nothing more: the
    # chunk being written ends within its second, once the finding it holds finds
    # the testimony it cites further down, and others write meanwhile.
    records = _records(1500)
    cited = records[900]
    records[650] = {
        "type": "finding",
        "id": "F-1",
        "site_id": cited["site_id"],
        "audit_date": "2026-08-15",
        "monitor": "Example Monitor",
        "category": "working_hours",
        "severity": "high",
        "summary": "Overtime above the legal limit.",
        "evidence": [cited["id"]],
        "status": "open",
    }
    path = _write(tmp_path / "in.jsonl", records)
    out = _probe(_new_vault(tmp_path / "v"), path, "stop")
    assert out["forks"] == 1
    assert out["result"]["imported"] == len(records)
    assert out["lock_wait"] < 3.0


def test_a_second_process_leaves_the_connections_it_inherited_open(tmp_path: Path) -> None:
    # Closing an SQLite connection carried across fork is a use of it (it may fold
    # or delete the other process's log): the second process never closes one.
    import gc

    from vault import forked
    from vault.ingest import inherit

    def handles() -> set[str]:
        out = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if "vault.db" in target:
                out.add(f"{fd}:{target}")
        return out

    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: it may not fork")
    with Vault.create(
        tmp_path / "v", Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0
    ) as v:
        v.add({"type": "site", "id": "S-0", "name": "P", "kind": "manufacturing", "country": "VN"})
        engine = v._ctx.engine
        assert handles()

        def work(channel: forked.Channel) -> None:
            before = handles()
            inherit(engine)
            gc.collect()
            channel.send(sorted(before - handles()))

        with forked.Forked(work) as child:
            closed = child.receive()
            assert child.receive() is None
    assert closed == []


def test_a_key_that_moved_to_another_worker_meanwhile_is_a_conflict(tmp_path: Path) -> None:
    # The second process sealed a testimony of worker EMP-0161 under the key of the
    # vault's T-OLD; another writer then corrected T-OLD to another worker. Storing
    # the batch would put two workers under one key (erasing one erases the other).
    records = _records(1500)
    folder = _new_vault(tmp_path / "v")
    old = {**records[SITES + LATE[0]], "id": "T-OLD"}
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        v.import_records([*records[:SITES], old])
    path = _write(tmp_path / "in.jsonl", records[SITES:])  # all new to the vault
    out = _probe(folder, path, "move", other="T-OLD")
    assert out["forks"] == 1
    assert out["error"][0] == "ConflictError", out
    with Vault.open(folder, Passphrase(PASSPHRASE)) as v:
        v.import_file(path, jobs=2, chunk_records=600)
        late = {s.id for s in v.find(employee_id="EMP-0161")}
    assert late == {f"T-{i:05d}" for i in LATE}
    assert _subject_ids(folder, {"T-OLD"}).isdisjoint(_subject_ids(folder, late))


def _refuse_to_load() -> None:
    raise MemoryError("a batch too large")


class _Unreadable:
    """Pickles in the second process; reading it in the first raises."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_refuse_to_load, ())


def test_a_message_the_first_process_cannot_read_ends_the_work() -> None:
    # Whatever stops the reading of a message (memory, a broken pickle) is the end
    # of the second process's work, never a wait for ever.
    from vault import forked

    def work(channel: forked.Channel) -> None:
        channel.send(_Unreadable())
        channel.send("after")

    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: it may not fork")
    with forked.Forked(work) as child, pytest.raises(VaultError, match="stopped"):
        child.receive(timeout=10)
