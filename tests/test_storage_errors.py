"""Storage failures, simulated for real: each is one line saying what happened and what
to do, with its own exit code, no traceback and no driver class name."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from exporting import new_identity
from test_cli import FAST_INIT

from conftest import PASSPHRASE, PG_URL, SAMPLES, Backend
from vault import ConflictError, StorageError
from vault import store as store_module
from vault.cli import cli
from vault.store import DB_FILENAME

_DRIVER_NAMES = ("OperationalError", "IntegrityError", "DatabaseError", "InterfaceError", "psycopg")


@pytest.fixture
def env(sqlite_backend: Backend) -> dict[str, str]:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def _one_line(text: str, code: int, exit_code: int, *words: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert exit_code == code, text
    assert len(lines) == 1, text
    if lines[0].startswith("{"):
        # With --json the one line is a JSON object carrying the same code.
        assert json.loads(lines[0])["error"]["code"] == code, text
    else:
        assert lines[0].startswith("evault: error: "), text
    assert "Traceback" not in text
    for name in _DRIVER_NAMES:
        assert name not in text, text
    for word in words:
        assert word in lines[0], text


def _check(result: Result, code: int, *words: str) -> None:
    assert result.stdout == "", result.stdout
    _one_line(result.stderr, code, result.exit_code, *words)


def test_locked_database_is_retried_then_exit_12(
    env: dict[str, str], sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short busy timeout keeps the test quick; the retries and backoff are real.
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(store_module, "_BUSY_BACKOFF_S", 0.01)
    holder = sqlite3.connect(sqlite_backend.folder / DB_FILENAME, isolation_level=None)
    record = json.dumps({**json.loads(SAMPLES.read_text().splitlines()[0]), "id": "SITE-NEW"})
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = CliRunner().invoke(cli, ["add", "-"], env=env, input=record)
        _check(result, 12, "locked by another process", "run it again")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert CliRunner().invoke(cli, ["add", "-"], env=env, input=record).exit_code == 0


def test_reads_go_on_beside_a_long_write_and_their_entries_reach_the_log(
    env: dict[str, str], sqlite_backend: Backend, tmp_path: Path
) -> None:
    env = {**env, "EVAULT_STATE_DIR": str(tmp_path / "state")}
    assert CliRunner().invoke(cli, ["list"], env=env).exit_code == 0
    holder = sqlite3.connect(sqlite_backend.folder / DB_FILENAME, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # a long import, say
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["list", "--json"], env=env)
        waited = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.stdout)) == 11
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The read waited a few seconds at most, not the busy timeout and its retries.
    assert waited < 10, waited
    journals = list((tmp_path / "state").glob("*.audit-journal.jsonl"))
    assert journals
    assert journals[0].read_text().count("\n") == 1
    # Once the log takes writes again, the journaled read goes into it.
    assert CliRunner().invoke(cli, ["list"], env=env).exit_code == 0
    assert journals[0].read_text() == ""
    shown = CliRunner().invoke(cli, ["audit", "show", "--json"], env=env)
    entries = json.loads(shown.stdout)
    journaled = [e for e in entries if "journaled_at" in e["details"]]
    assert [e["action"] for e in journaled] == ["list"]


def test_lock_released_during_the_retries_succeeds(
    env: dict[str, str], sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(store_module, "_BUSY_BACKOFF_S", 0.2)
    holder = sqlite3.connect(
        sqlite_backend.folder / DB_FILENAME, isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        result = CliRunner().invoke(cli, ["list", "--json"], env=env)
    finally:
        release.join()
        holder.close()
    assert result.exit_code == 0, result.output


def test_corrupt_file_exit_14(env: dict[str, str], sqlite_backend: Backend) -> None:
    db = sqlite_backend.folder / DB_FILENAME
    with db.open("r+b") as f:
        f.write(b"this is no database header at all")
    result = CliRunner().invoke(cli, ["list", "--json"], env=env)
    _check(result, 14, "damaged", "backup")


def test_read_only_database_exit_11(env: dict[str, str], sqlite_backend: Backend) -> None:
    # The database opened read-only (as from read-only media): reads log, so they fail.
    db = sqlite_backend.folder / DB_FILENAME
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    result = CliRunner().invoke(cli, ["--db-url", url, "list", "--json"], env=env)
    _check(result, 11, "read-only")


def test_list_json_prints_nothing_before_failing(
    env: dict[str, str], sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault import Vault

    def broken(*_a: object, **_k: object) -> object:
        raise StorageError("the database cannot be read")
        yield  # a generator, as the real one is

    monkeypatch.setattr(Vault, "list", broken)
    result = CliRunner().invoke(cli, ["list", "--json"], env=env)
    _check(result, 9)


def _limited(file_size: int) -> None:
    # The process may write no file past file_size bytes: writes beyond fail EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def _evault(
    env: dict[str, str], *args: str, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from vault.cli import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=(lambda: _limited(limit)) if limit is not None else None,
    )


def test_extract_past_the_file_size_limit_exit_10(env: dict[str, str], tmp_path: Path) -> None:
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(os.urandom(3 << 20))
    runner = CliRunner()
    r = runner.invoke(cli, ["attach", "SITE-001", str(evidence), "--json"], env=env)
    assert r.exit_code == 0, r.output
    attachment_id = r.stdout.split('"id": "')[1].split('"')[0]
    out = tmp_path / "out" / "evidence.bin"
    out.parent.mkdir()
    done = _evault(env, "extract", attachment_id, "--out", str(out), limit=1 << 20)
    _one_line(done.stderr, 10, done.returncode, str(out), "free space")
    assert not out.exists()
    assert not list(out.parent.iterdir()), "a partial file was left behind"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs (needs the right to mount, else the test is skipped)."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_export_onto_a_full_disk_exit_10(
    env: dict[str, str], tmp_path: Path, small_disk: Path
) -> None:
    _identity, _key, public = new_identity(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["recipient", "add", "ituc", public], env=env).exit_code == 0
    (small_disk / "filler").write_bytes(b"\0" * 12_000)
    out = small_disk / "union.age"
    result = runner.invoke(
        cli, ["export", "--policy", "union", "--recipient", "ituc", "--out", str(out)], env=env
    )
    _check(result, 10, "no space left", "free space")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    # Nothing was recorded for an export that is not there.
    r = runner.invoke(cli, ["exports", "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "[]", r.output


def test_migration_error_names_no_driver_class(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    db.write_bytes(b"not a database, not at all, but long enough to have a header" * 100)
    engine = store_module.connect(f"sqlite:///{db}")
    try:
        with pytest.raises(StorageError, match="damaged") as info:
            store_module.schema_revision(engine)
        assert info.value.exit_code == 14
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set")
def test_unknown_database_exit_13(tmp_path: Path) -> None:
    assert PG_URL
    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_evault"
    env = {"EVAULT_DIR": str(tmp_path / "v"), "EVAULT_PASSPHRASE": PASSPHRASE}
    result = CliRunner().invoke(cli, ["--db-url", url, "list"], env=env)
    _check(result, 13, "does not exist")


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set")
def test_refused_connection_exit_13(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=5"
    env = {"EVAULT_DIR": str(tmp_path / "v"), "EVAULT_PASSPHRASE": PASSPHRASE}
    result = CliRunner().invoke(cli, ["--db-url", url, "list"], env=env)
    _check(result, 13, "cannot be reached")


def test_unique_violation_is_a_conflict() -> None:
    # The mapping itself, for a unique key both databases report.
    exc = sqlite3.IntegrityError("UNIQUE constraint failed")
    exc.sqlite_errorcode = 2067
    exc.sqlite_errorname = "SQLITE_CONSTRAINT_UNIQUE"
    from sqlalchemy.exc import IntegrityError as DriverIntegrityError

    err = store_module.driver_error(DriverIntegrityError("INSERT", {}, exc))
    assert isinstance(err, ConflictError)
    assert err.exit_code == 7
    assert "changed concurrently, retry" in str(err)


def test_concurrent_imports_of_one_id_one_wins_one_conflicts(
    backend: Backend, tmp_path: Path
) -> None:
    with backend.create():
        pass
    one = tmp_path / "one.jsonl"
    one.write_text(SAMPLES.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    barrier = threading.Barrier(4)
    outcomes: list[BaseException | int] = []
    lock = threading.Lock()

    def run() -> None:
        with backend.open() as v:
            barrier.wait()
            try:
                outcome: BaseException | int = v.import_file(one).count
            except Exception as exc:
                outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One stores the record; the others find it stored, or lose the race (exit 7).
    assert outcomes.count(1) == 1, outcomes
    for exc in outcomes:
        if not isinstance(exc, int):
            assert isinstance(exc, ConflictError), repr(exc)
            for name in _DRIVER_NAMES:
                assert name not in str(exc)
