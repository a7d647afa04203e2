"""A long write on SQLite yields between its chunks only while another writer waits
for the write lock: a thread of the same process or another process, each of which
says so while it waits (store.writers_waiting)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from vault import pacing
from vault.store import connect, wait_at_most, write_transaction, writers_waiting

_DEADLINE_S = 60.0  # only against a hang: each step waits for a state, not a time


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "vault.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (n INTEGER)")
    con.commit()
    con.close()
    return path


def test_an_uncontended_write_makes_no_file_and_nobody_waits(db: Path) -> None:
    engine = connect(f"sqlite:///{db}")
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert not writers_waiting(engine)
    assert sorted(p.name for p in db.parent.iterdir() if "-writers" in p.name) == []
    engine.dispose()


def test_a_thread_waiting_for_the_lock_is_seen(db: Path) -> None:
    engine = connect(f"sqlite:///{db}")
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def long_write() -> None:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            release.wait(_DEADLINE_S)

    def waiter() -> None:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        done.set()

    first = threading.Thread(target=long_write)
    first.start()
    assert holding.wait(_DEADLINE_S)
    assert not writers_waiting(engine)
    second = threading.Thread(target=waiter)
    second.start()
    _until(lambda: writers_waiting(engine), "the waiting thread was never seen")
    release.set()
    first.join()
    second.join()
    assert done.is_set()
    assert not writers_waiting(engine)
    # What it leaves: an empty file only its owner may open.
    writers = db.with_name("vault.db-writers")
    assert writers.stat().st_size == 0
    assert writers.stat().st_mode & 0o077 == 0
    engine.dispose()


def test_a_process_waiting_in_sqlite_is_seen(db: Path) -> None:
    engine = connect(f"sqlite:///{db}")
    # Another writer holds SQLite's lock outright (no vault lock of this process).
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    code = (
        "import sys\n"
        "from vault.store import connect, write_transaction\n"
        "e = connect('sqlite:///' + sys.argv[1])\n"
        "with write_transaction(e) as c:\n"
        "    c.exec_driver_sql('INSERT INTO t VALUES (3)')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stderr=subprocess.PIPE)
    try:
        _until(lambda: writers_waiting(engine), "the waiting process was never seen")
    finally:
        other.execute("COMMIT")
        other.close()
    _, err = proc.communicate(timeout=_DEADLINE_S)
    assert proc.returncode == 0, err
    assert not writers_waiting(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM t").scalars().all() == [3]
    engine.dispose()


def test_a_pacer_pauses_only_while_someone_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    clock = [0.0]
    # The pacer's own clock and sleep, nobody else's.
    fake = types.SimpleNamespace(sleep=slept.append, monotonic=lambda: clock[0])
    monkeypatch.setattr(pacing, "time", fake)
    waiting = [False]
    pacer = pacing.Pacer(lambda: None, lambda: waiting[0])
    for _ in range(3):  # three chunks of two seconds each, nobody waiting
        pacer.begin()
        clock[0] += 2.0
        pacer.pause()
    assert slept == []
    waiting[0] = True
    pacer.begin()
    clock[0] += 0.1  # a short chunk: held for long already, so it yields now
    pacer.pause()
    assert slept == [pytest.approx(pacing.PAUSE_SECONDS)]
    pacer.begin()
    clock[0] += 0.1  # just paused: the next short chunk does not
    pacer.pause()
    assert len(slept) == 1


def test_a_writer_that_waits_a_bounded_time_is_seen_too(db: Path) -> None:
    # As a read's audit entry does (wait_at_most): it says it waits while it does.
    engine = connect(f"sqlite:///{db}")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def bounded() -> None:
        with wait_at_most(int(_DEADLINE_S * 1000)), write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (4)")
        done.set()

    thread = threading.Thread(target=bounded)
    thread.start()
    try:
        _until(lambda: writers_waiting(engine), "the bounded waiter was never seen")
    finally:
        other.execute("COMMIT")
        other.close()
    thread.join()
    assert done.is_set()
    assert not writers_waiting(engine)
    engine.dispose()


def _in_thread(work: Callable[[], object]) -> None:
    """Run ``work`` in a thread; fail (rather than hang the suite) if it blocks."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(_DEADLINE_S)
    assert not thread.is_alive(), "it blocked"
    assert not errors, errors


def test_a_held_waiting_file_never_blocks_a_writer(db: Path) -> None:
    engine = connect(f"sqlite:///{db}")
    writers = db.with_name("vault.db-writers")
    holder = os.open(writers, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a stuck process, say

    def writes() -> None:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (5)")
        with wait_at_most(200), write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (6)")

    try:
        _in_thread(writes)
        assert writers_waiting(engine)  # it cannot tell: a long write yields
    finally:
        os.close(holder)
    assert not writers_waiting(engine)
    engine.dispose()


def test_an_uncontended_bounded_write_says_nothing(db: Path) -> None:
    engine = connect(f"sqlite:///{db}")
    with wait_at_most(200), write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (7)")
    assert not db.with_name("vault.db-writers").exists()
    engine.dispose()


@pytest.mark.parametrize("kind", ["fifo", "link", "foreign"])
def test_a_waiting_file_that_is_not_ours_is_not_trusted(db: Path, kind: str) -> None:
    engine = connect(f"sqlite:///{db}")
    writers = db.with_name("vault.db-writers")
    if kind == "fifo":
        os.mkfifo(writers)
    elif kind == "link":
        writers.symlink_to(db.with_name("elsewhere"))
    else:
        writers.touch(mode=0o600)
        if os.getuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(writers, 12345, 12345)
    verdict: list[bool] = []
    _in_thread(lambda: verdict.append(writers_waiting(engine)))
    assert verdict == [True]  # cannot tell: a long write yields, as it always did
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def contended() -> None:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (8)")
        done.set()

    thread = threading.Thread(target=contended, daemon=True)
    thread.start()
    time.sleep(0.05)  # only so that the writer meets the lock taken; not asserted
    other.execute("COMMIT")
    other.close()
    thread.join(_DEADLINE_S)
    assert done.is_set()
    if kind == "link":
        assert writers.is_symlink()  # left as it was, never followed
        assert not db.with_name("elsewhere").exists()
    engine.dispose()
