"""The fault-injection harness: commands run in processes that can be killed at a
chosen point, and the checks every fault ends with.

Every command runs as ``evault`` would, in a process of its own. To keep a run of
hundreds of commands quick, the processes are forked from one that imported the
vault and every command once (:class:`Forks`); each fork sets its own environment, standard streams
and temporary folder, runs the CLI's ``main`` and exits with its code.

A kill point is a count of the line events the fork executes inside ``vault/``
(``sys.settrace``): a first, complete run counts the command's events, then a seeded
``random.Random`` picks the event at which a run kills itself with SIGKILL (or, for
PostgreSQL, has the server end its connections). The same seed kills at the same
place, and every line of the code path can be hit.

What holds after every fault (``observe``): the vault opens, its audit chain
verifies, what it holds is wholly the state before the command or wholly the state
after it, and once it is closed its folder holds no write-ahead log and no stray
file, and the temporary folder no plaintext snapshot. A failure the user sees is
one line, ``evault: error: ...`` (a JSON object with --json), with its documented exit
code (``one_line``).

``EVAULT_FAULTS=full`` runs the full suite (more kill points, PostgreSQL too);
``EVAULT_FAULTS_LOG=FILE`` appends one JSON line per fault and outcome to FILE.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from exporting import new_identity
from sqlalchemy import create_engine, text

from conftest import (
    PASSPHRASE,
    PG_URL,
    SAMPLES,
    Backend,
    fast_kdf,
    sample_records,
    served_url,
)
from vault import AuthenticationError, Passphrase, Vault

FULL = os.environ.get("EVAULT_FAULTS") == "full"
_LOG = os.environ.get("EVAULT_FAULTS_LOG")

DRIVER_NAMES = (
    "OperationalError",
    "IntegrityError",
    "DatabaseError",
    "InterfaceError",
    "ProgrammingError",
    "psycopg",
    "sqlite3",
    "sqlalchemy",
)

# What an SQLite vault folder may hold once the vault is closed.
# vault.db-writers: empty; a writer waiting for the write lock holds a lock on it.
VAULT_FILES = frozenset({"vault.db", "vault.db-writers", "audit-witness.json", "policies"})


def log(fault: str, target: str, backend: str, outcome: str) -> None:
    """One line of the faults-and-outcomes table (only when EVAULT_FAULTS_LOG is set)."""
    if _LOG:
        line = {"fault": fault, "target": target, "backend": backend, "outcome": outcome}
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


# Forked commands ----------------------------------------------------------------------

_FORKS = r"""
import atexit, importlib, json, linecache, os, signal, sys, tempfile, threading, traceback
import vault
import vault.cli
import vault.core
from vault.cli import COMMANDS, main

# The command line loads its commands and the library on first use; load them all
# here, once, so that each fork starts with them (as a process that imported the
# vault before forking should).
for _module, _help in COMMANDS.values():
    importlib.import_module(f"vault.cli.{_module}")

ROOT = os.path.dirname(vault.__file__) + os.sep


def end_connections(url, name):
    # The server ends every connection of this application name: what a restarted
    # server, a failover or an administrator's pg_terminate_backend does. It signals;
    # wait until they are gone, so that the command meets a dead connection.
    import time
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        for _ in range(500):
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                (name,),
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.01)


def child(req):
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    os.environ.clear()
    os.environ.update(req["env"])
    tempfile.tempdir = None
    os.chdir(req["cwd"])
    at, action = req.get("at") or 0, req.get("action") or "kill"
    # Or a named place: the n-th time a line of one file holding a text is reached
    # (before it runs).
    where = req.get("where") or ("", "", 0)
    seen = reached = 0

    def lines(frame, event, arg):
        nonlocal seen, reached
        if event == "line":
            seen += 1
            hit = seen == at
            name = frame.f_code.co_filename
            if where[1] and name.endswith(where[0]):
                if where[1] in linecache.getline(name, frame.f_lineno):
                    reached += 1
                    hit = hit or reached == where[2]
            if hit:
                if action == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                else:
                    end_connections(*action)
        return lines

    def calls(frame, event, arg):
        return lines if frame.f_code.co_filename.startswith(ROOT) else None

    if req.get("trace"):
        threading.settrace(calls)
        sys.settrace(calls)
    sys.argv = ["evault", *req["argv"]]
    code = 0
    try:
        if req.get("code"):
            # A program of the test's own, with the vault imported already.
            exec(compile(req["code"], "<fault-program>", "exec"), {"__name__": "__main__"})
        else:
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.settrace(None)
        threading.settrace(None)
    if req.get("count_to"):
        with open(req["count_to"], "w") as fh:
            fh.write(str(seen))
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "spawn":
        pid = os.fork()
        if pid == 0:
            try:
                child(req)
            finally:
                os._exit(70)
        print(json.dumps({"pid": pid}), flush=True)
    else:
        _, status = os.waitpid(req["pid"], 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)
"""


@dataclass
class Run:
    """How a command ended: its exit status (negative: the signal) and its output."""

    status: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.status == -signal.SIGKILL


class Forks:
    """One process that imported the vault, forking a process per command."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def _ask(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _FORKS],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                # The same seed in every fork: the same run counts the same events.
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            atexit.register(self.close)
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        if timeout is not None and not select.select([self._proc.stdout], [], [], timeout)[0]:
            # A command that hangs is killed (it is ours), then reported as such.
            os.kill(int(request["pid"]), signal.SIGKILL)
            raise AssertionError(f"the command did not finish in {timeout} s")
        answer: dict[str, Any] = json.loads(self._proc.stdout.readline())
        return answer

    def spawn(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        folder: Path,
        *,
        trace: bool = False,
        at: int = 0,
        action: str | tuple[str, str] = "kill",
        where: tuple[str, str, int] | None = None,
        count_to: Path | None = None,
        code: str | None = None,
    ) -> tuple[int, Path, Path]:
        """A command (or, with ``code``, a Python program given ``argv``) in a fork."""
        out = folder / f"out-{secrets.token_hex(4)}"
        err = out.with_suffix(".err")
        answer = self._ask(
            {
                "op": "spawn",
                "code": code,
                "argv": [str(a) for a in argv],
                "env": env,
                "cwd": str(folder),
                "stdout": str(out),
                "stderr": str(err),
                "trace": trace or bool(at) or where is not None,
                "at": at,
                "action": action,
                "where": where,
                "count_to": str(count_to) if count_to else None,
            }
        )
        return int(answer["pid"]), out, err

    def wait(self, spawned: tuple[int, Path, Path], timeout: float = 300) -> Run:
        pid, out, err = spawned
        try:
            status = int(self._ask({"op": "wait", "pid": pid}, timeout)["status"])
        except AssertionError:
            self._proc = None
            raise
        run = Run(status, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))
        out.unlink()
        err.unlink()
        return run

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


FORKS = Forks()


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a command: this run's, a passphrase, a temporary folder of
    the command's own (where a backup keeps its plaintext snapshot)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EVAULT_DIR", "EVAULT_SESSION", "EVAULT_DATABASE_URL", "EVAULT_CUSTODIAN")
    }
    env.update(EVAULT_PASSPHRASE=PASSPHRASE, TMPDIR=str(tmp), PYTHONHASHSEED="0")
    env.update(extra)
    return env


def evault(
    argv: Sequence[str],
    tmp: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    **kw: Any,
) -> Run:
    """Run one ``evault`` command in a fork, to its end (or its kill point)."""
    spawned = FORKS.spawn(argv, env or child_env(tmp), tmp.parent, **kw)
    return FORKS.wait(spawned, timeout)


def count_events(argv: Sequence[str], tmp: Path, env: dict[str, str] | None = None) -> int:
    """Run a command to its end, counting its line events inside ``vault/``."""
    counted = tmp.parent / f"count-{secrets.token_hex(4)}"
    run = evault(argv, tmp, env=env, trace=True, count_to=counted)
    assert run.status == 0, run.stderr
    n = int(counted.read_text(encoding="utf-8"))
    counted.unlink()
    return n


def kill_point(count: int, seed: str, i: int) -> int:
    """The event to stop at for the ``i``-th fault of ``seed``. Every third point falls
    in the last tenth of the run, where commits, renames and witnesses are."""
    rng = random.Random(f"{seed}/{i}")  # noqa: S311 - seeded on purpose: reproducible
    low = 1 if i % 3 != 2 else max(1, count - count // 10)
    return rng.randint(low, max(low, count - 1))


# Errors the user sees -----------------------------------------------------------------


def one_line(run: Run, *codes: int, words: Sequence[str] = ()) -> str:
    """The run failed with one of ``codes`` and said so in one line, without a
    traceback or a driver's name; returns that line."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.status in codes, (run.status, run.stderr)
    assert len(lines) == 1, run.stderr
    if lines[0].startswith("{"):
        # A command run with --json says it as one JSON object, with the same code.
        error = json.loads(lines[0])["error"]
        assert error["code"] == run.status, run.stderr
    else:
        assert lines[0].startswith("evault: error: "), run.stderr
    assert "Traceback" not in run.stderr
    for name in DRIVER_NAMES:
        assert name not in run.stderr, run.stderr
    for word in words:
        assert word in lines[0], run.stderr
    return lines[0]


# Vaults -------------------------------------------------------------------------------


@contextlib.contextmanager
def pg_backend(folder: Path, name: str = "") -> Iterator[Backend]:
    """A PostgreSQL vault in a schema of its own, dropped afterwards. Its connections
    carry an application name (``name``, or a new one), so that a test can have the
    server end them, and so that only they are ended before the schema is dropped."""
    assert PG_URL
    schema = "evf_" + secrets.token_hex(6)
    name = name or "evf-" + secrets.token_hex(4)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={name}"
    try:
        yield Backend("postgres", folder, url)
    finally:
        try:
            with admin.begin() as conn:
                # A killed command's server process may not have noticed yet.
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": name},
                )
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        finally:
            admin.dispose()


def backends() -> list[object]:
    """SQLite always; PostgreSQL in the full run when it is configured."""
    params: list[object] = ["sqlite"]
    if FULL:
        params.append(
            pytest.param(
                "postgres",
                marks=[
                    pytest.mark.postgres,
                    pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set"),
                ],
            )
        )
    return params


@dataclass
class Case:
    """One fault's world: a vault, a private temporary folder, a destination folder,
    a folder to restore into, input files, and an age identity (recipient ``ituc``).
    Each folder can be put elsewhere (on a small disk, say)."""

    root: Path
    backend: Backend
    passphrases: list[str] = field(default_factory=lambda: [PASSPHRASE])
    tmp: Path = field(default=Path())
    dest: Path = field(default=Path())
    target: Path = field(default=Path())
    inputs: Path = field(init=False)
    key: Path = field(init=False)
    public: str = field(init=False)

    def __post_init__(self) -> None:
        self.tmp = self.tmp if self.tmp != Path() else self.root / "tmp"
        self.dest = self.dest if self.dest != Path() else self.root / "dest"
        self.target = self.target if self.target != Path() else self.root / "restored"
        self.inputs = self.root / "in"
        for folder in (self.tmp, self.dest, self.inputs):
            folder.mkdir(parents=True, exist_ok=True)
        _identity, self.key, self.public = new_identity(self.inputs)

    @property
    def folder(self) -> Path:
        return self.backend.folder

    def argv(self, *args: str | Path) -> list[str]:
        return [*self.backend.cli_args(), *(str(a) for a in args)]

    def create(self) -> None:
        """The vault every fault starts from: the samples and one recipient."""
        with Vault.create(
            self.folder,
            Passphrase(PASSPHRASE),
            db_url=self.backend.db_url,
            kdf=fast_kdf(),
            identity_approvals=0,
        ) as v:
            v.import_file(SAMPLES)
            v.add_recipient("ituc", self.public)

    @contextlib.contextmanager
    def open(self) -> Iterator[Vault]:
        """The next open, as the same user: the command's temporary folder is where a
        killed backup's snapshot would be."""
        with private_tempdir(self.tmp):
            for i, phrase in enumerate(self.passphrases):
                try:
                    v = Vault.open(self.folder, Passphrase(phrase), db_url=self.backend.db_url)
                except AuthenticationError:
                    if i == len(self.passphrases) - 1:
                        raise
                    continue
                with v:
                    yield v
                return

    def stray_files(self) -> list[str]:
        """What the vault folder and the temporary folder hold that they should not:
        a write-ahead log, snapshots, partial outputs, temporary files."""
        stray: list[str] = []
        if self.folder.is_dir():
            stray += [p.name for p in self.folder.iterdir() if p.name not in VAULT_FILES]
        stray += [p.name for p in self.tmp.iterdir() if p.name != "filler"]
        return sorted(stray)


@contextlib.contextmanager
def scratch(fallback: Path) -> Iterator[Path]:
    """A folder for one fault's files, removed afterwards: in memory (``/dev/shm``)
    where there is one, since a killed process loses nothing a disk would keep and
    syncs there cost nothing; else ``fallback``. EVAULT_FAULTS_KEEP=1 keeps it."""
    shm = Path("/dev/shm")  # noqa: S108 - only a parent: the folder is mkdtemp's (0700)
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield fallback
        return
    folder = Path(tempfile.mkdtemp(prefix="evault-faults-", dir=shm))
    try:
        yield folder
    finally:
        if os.environ.get("EVAULT_FAULTS_KEEP") != "1":
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def private_tempdir(folder: Path) -> Iterator[None]:
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def synthetic_testimonies(n: int, prefix: str) -> list[dict[str, Any]]:
    """``n`` fictional testimonies at the sample sites, each with its own worker."""
    base = next(r for r in sample_records() if r["type"] == "testimony")
    out = []
    for i in range(n):
        worker = base["worker"] | {
            "name": f"Fictional Worker {prefix} {i}",
            "employee_id": f"{prefix}-E{i:05d}",
            "phone": f"+84 91{i % 10} {100 + i % 900} {200 + i % 700}",
        }
        out.append(
            base
            | {
                "id": f"{prefix}-{i:05d}",
                "site_id": f"SITE-00{1 + i % 4}",
                "worker": worker,
                "narrative": f"Fictional account {i}: shifts of {10 + i % 6} hours, unpaid.",
            }
        )
    return out


def snapshot(v: Vault, watched: Sequence[str], files_of: Sequence[str] = ()) -> dict[str, Any]:
    """What a vault holds, as far as a fault could change it: every record's id, type
    and version, every version of the ``watched`` records (identity included), the
    evidence files of ``files_of``, and the exports made."""
    summaries = {s.id: (s.type, s.version) for s in v.list()}
    content = {
        rid: [v.get(rid, version=n, identity=True) for n in range(1, summaries[rid][1] + 1)]
        for rid in watched
        if rid in summaries
    }
    files = {
        rid: sorted((a.name, a.size, a.sha256) for a in v.attachments(rid))
        for rid in files_of
        if rid in summaries
    }
    exports = sorted((e["policy"], e["recipient"]) for e in v.exports())
    return {"records": summaries, "content": content, "files": files, "exports": exports}


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``where`` (needs the right to mount; skipped without)."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def used(disk: Path) -> int:
    """Bytes in use on the file system holding ``disk``."""
    stat = os.statvfs(disk)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def peak_use(disk: Path, argv: Sequence[str], tmp: Path, env: dict[str, str]) -> tuple[Run, int]:
    """Run a command while watching ``disk``: its result, and how many bytes more than
    before it held at the most (sampled every millisecond)."""
    base = peak = used(disk)
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, used(disk))
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run = evault(argv, tmp, env=env)
    finally:
        done.set()
        watcher.join()
    return run, max(peak, used(disk)) - base


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until only about ``leave`` bytes are free; returns the filler."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("wb") as fh:
        _write_zeros(fh, max(0, free - leave))
    return filler


def _write_zeros(fh: IO[bytes], n: int) -> None:
    block = b"\0" * (1 << 16)
    with contextlib.suppress(OSError):  # full a little early: full is what was wanted
        while n > 0:
            fh.write(block[: min(n, len(block))])
            fh.flush()
            n -= len(block)


@contextlib.contextmanager
def serve(case: Case) -> Iterator[str]:
    """`evault serve` for ``case``'s vault on a free loopback port; its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", *case.argv("serve", "--port", "0")],
        env={**os.environ, "EVAULT_PASSPHRASE": PASSPHRASE, "TMPDIR": str(case.tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    said = proc.stdout.readline()
    assert said, proc.communicate()
    base = served_url(said)
    try:
        for _ in range(400):
            assert proc.poll() is None, proc.communicate()
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, err
