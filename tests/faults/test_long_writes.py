"""Long writes on SQLite commit in chunks: between two chunks of an import, other
processes read (into the audit log, not the journal) and write; a kill inside a chunk
leaves the chunks before it, whole, and running the import again finishes it with
no record twice. A large evidence file is invisible until its last chunk commits,
the write-ahead log holds about one chunk, and a killed attach leaves nothing once
the vault is next opened.

The importer stops itself (SIGSTOP) once its first chunk is committed, and goes on
when the test lets it (SIGCONT), so the order of events is fixed without a clock.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faultkit import FORKS, Case, child_env, evault, scratch, synthetic_testimonies
from sqlalchemy import create_engine, text

from conftest import Backend, sample_records
from vault.pacing import CHUNK_BYTES
from vault.store import sqlite_url

# An import through the library that stops itself after its first committed chunk.
_IMPORTER = """
import json, os, signal, sys
from vault import Passphrase, Vault
folder, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
chunks = []
def committed(records):
    chunks.append(records)
    if len(chunks) == 1:
        os.kill(os.getpid(), signal.SIGSTOP)
with Vault.open(folder, Passphrase(os.environ["EVAULT_PASSPHRASE"])) as v:
    result = v.import_file(path, chunk_records=chunk, progress=committed)
print(json.dumps(result.to_dict() | {"seen": chunks}))
"""


def _state(pid: int) -> str:
    """The kernel's state letter for a process (T: stopped); the fork is the fork
    server's child, not ours, so it is asked of /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _wait_stopped(pid: int) -> None:
    deadline = time.monotonic() + 300  # only against a hang: the order is the test
    while _state(pid) != "T":
        assert _state(pid) not in ("Z", "X"), "the importer ended before its first chunk"
        assert time.monotonic() < deadline
        time.sleep(0.01)


@contextmanager
def _vault(tmp_path: Path, records: int) -> Iterator[Case]:
    """A vault with the samples, and an import file of ``records`` testimonies."""
    with scratch(tmp_path) as root:
        case = Case(root, Backend("sqlite", root / "vault", None))
        case.create()
        with (case.inputs / "batch.jsonl").open("w", encoding="utf-8") as fh:
            for record in synthetic_testimonies(records, "L"):
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        extra = sample_records()[4] | {"id": "BESIDE-1"}
        (case.inputs / "one.json").write_text(json.dumps(extra), encoding="utf-8")
        yield case


def _imported(case: Case) -> list[str]:
    listed = evault(case.argv("list", "--type", "testimony", "--json"), case.tmp)
    assert listed.status == 0, listed.stderr
    return [s["id"] for s in json.loads(listed.stdout) if s["id"].startswith("L-")]


def test_others_read_and_write_between_the_chunks_of_an_import(tmp_path: Path) -> None:
    with _vault(tmp_path, 300) as case:
        argv = [str(case.folder), str(case.inputs / "batch.jsonl"), "100"]
        importer = FORKS.spawn(argv, child_env(case.tmp), tmp_path, code=_IMPORTER)
        try:
            _wait_stopped(importer[0])
            # The importer has committed its first chunk and not finished: other
            # processes see that chunk, read a record of it, and add one of theirs.
            assert _imported(case) == [f"L-{i:05d}" for i in range(100)]
            shown = evault(case.argv("show", "L-00099", "--json"), case.tmp)
            assert shown.status == 0, shown.stderr
            assert json.loads(shown.stdout)["id"] == "L-00099"
            added = evault(case.argv("add", case.inputs / "one.json"), case.tmp)
            assert added.status == 0, added.stderr
        finally:
            os.kill(importer[0], signal.SIGCONT)
        run = FORKS.wait(importer)
        assert run.status == 0, run.stderr
        result = json.loads(run.stdout)
        assert (result["imported"], result["seen"]) == (300, [100, 100, 100])
        assert len(_imported(case)) == 300
        with case.open() as v:
            v.audit_verify()
            log = [(e.action, e.details) for e in v.audit_entries()]
        # The first import is the samples'.
        chunks = [i for i, (a, d) in enumerate(log) if a == "import" and "chunk" in d][1:]
        beside = [
            i
            for i, (action, d) in enumerate(log)
            if action in ("list", "read") or (action == "import" and "chunk" not in d)
        ]
        # Their entries went into the log itself between the first chunk and the next
        # (a read that had waited too long would have gone to the journal instead).
        assert len(chunks) >= 2
        assert chunks[0] < min(beside), log
        assert max(beside[:3]) < chunks[1], log
        assert not any("journaled_at" in d for _action, d in log)
        assert not case.stray_files()


def test_a_kill_inside_a_chunk_keeps_the_chunks_before_it_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    with _vault(tmp_path, 90) as case:
        argv = case.argv("import", case.inputs / "batch.jsonl", "--chunk-size", "30")
        # Killed in the second chunk, its rows written, before its commit.
        where = ("vault/ingest.py", "refs=tally.revised, details=details)", 2)
        killed = evault(argv, case.tmp, where=where)
        assert killed.killed, killed.stderr
        assert _imported(case) == [f"L-{i:05d}" for i in range(30)]
        with case.open() as v:
            v.audit_verify()
            first = v.get("L-00029", identity=True)
        assert first == synthetic_testimonies(30, "L")[29]
        assert not case.stray_files()
        again = evault(argv, case.tmp)
        assert again.status == 0, again.stderr
        assert again.stdout == (
            "Imported 60 records (60 testimony); 30 unchanged; committed in 3 chunks.\n"
        )
        assert _imported(case) == [f"L-{i:05d}" for i in range(90)]
        with case.open() as v:
            assert {s.version for s in v.list(type="testimony")} == {1}
            v.audit_verify()
        # Once more: nothing left to do.
        done = evault([*argv, "--json"], case.tmp)
        assert json.loads(done.stdout)["unchanged"] == 90


# An attach through the library that stops itself after each chunk but the last.
_ATTACHER = """
import json, os, signal, sys
from vault import Passphrase, Vault
folder, path = sys.argv[1], sys.argv[2]
chunks = []
def committed(stage, done, total):
    # On SQLite the bytes sealed are reported as each chunk commits.
    if 0 < done < total:
        chunks.append(done)
        os.kill(os.getpid(), signal.SIGSTOP)
with Vault.open(folder, Passphrase(os.environ["EVAULT_PASSPHRASE"])) as v:
    info = v.attach("T-0002", path, description="dormitory", progress=committed)
print(json.dumps({"id": info.id, "sha256": info.sha256, "stops": len(chunks)}))
"""


def _evidence(case: Case, mib: int) -> Path:
    path = case.inputs / "evidence.bin"
    path.write_bytes(random.Random(5).randbytes(mib << 20))  # noqa: S311 - no secret
    return path


def _count(case: Case, table: str) -> int:
    """Rows of a table, read without opening the vault (which would sweep)."""
    engine = create_engine(sqlite_url(case.folder))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _files(case: Case) -> list[dict[str, object]]:
    listed = evault(case.argv("attachments", "T-0002", "--json"), case.tmp)
    assert listed.status == 0, listed.stderr
    files: list[dict[str, object]] = json.loads(listed.stdout)
    return files


def test_others_go_between_the_chunks_of_a_large_file_and_never_see_it_half(
    tmp_path: Path,
) -> None:
    with _vault(tmp_path, 0) as case:
        path = _evidence(case, 24)  # three chunks of 8 MiB
        argv = [str(case.folder), str(path)]
        attacher = FORKS.spawn(argv, child_env(case.tmp), tmp_path, code=_ATTACHER)
        try:
            for chunk in (1, 2):
                _wait_stopped(attacher[0])
                # A third of the file is committed, then two: no reader sees any of it,
                # a writer gets in, and the write-ahead log holds about one chunk.
                assert _files(case) == []
                if chunk == 1:
                    added = evault(case.argv("add", case.inputs / "one.json"), case.tmp)
                    assert added.status == 0, added.stderr
                assert (case.folder / "vault.db-wal").stat().st_size < 2 * CHUNK_BYTES
                os.kill(attacher[0], signal.SIGCONT)
        finally:
            os.kill(attacher[0], signal.SIGCONT)
        run = FORKS.wait(attacher)
        assert run.status == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["stops"] == 2  # three chunks, and a stop between each two
        assert [f["sha256"] for f in _files(case)] == [result["sha256"]]
        with case.open() as v:
            v.verify_attachment(result["id"])
            v.audit_verify()
            actions = [e.action for e in v.audit_entries()]
        assert actions.index("import", 2) < actions.index("attachment-added")
        assert not case.stray_files()


def test_a_killed_attach_leaves_nothing_and_a_rerun_stores_the_file_once(
    tmp_path: Path,
) -> None:
    with _vault(tmp_path, 0) as case:
        path = _evidence(case, 12)  # two chunks
        argv = case.argv("attach", "T-0002", path)
        # Killed inside the second chunk, after the first chunk's commit: that chunk
        # is in the database, and the writer's lock file in the vault folder.
        killed = evault(argv, case.tmp, where=("vault/attachments.py", "bulk_insert(conn,", 6))
        assert killed.killed, killed.stderr
        assert _count(case, "attachment_chunks") > 0
        assert any(name.startswith(".evault-upload-") for name in case.stray_files())
        with case.open() as v:  # the next open removes what the killed writer left
            assert v.attachments("T-0002") == []
        assert (_count(case, "attachments"), _count(case, "attachment_chunks")) == (0, 0)
        assert not case.stray_files()
        again = evault(argv, case.tmp)
        assert again.status == 0, again.stderr
        files = _files(case)
        assert len(files) == 1
        with case.open() as v:
            v.verify_attachment(str(files[0]["id"]))
        # And once more: the same bytes are not stored twice.
        assert evault(argv, case.tmp).status == 0
        assert len(_files(case)) == 1
