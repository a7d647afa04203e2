"""SIGKILL at seeded points of every write path: nothing committed is lost, nothing
half-written shows, the audit chain verifies, the next open leaves no stray file, and
running the command again finishes the job (or says, in one line, that it is done).

Each write path is first run to its end once, counting its line events inside
``vault/`` (the reference run, which also gives the state after it); each fault then
kills a fresh copy of the same vault at a seeded event (``faultkit.kill_point``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultkit import FULL, Case, backends, child_env, evault, kill_point, log, one_line
from writepaths import OPS, Op, dest_files, differences, observe, reference, world

KILLS = 7 if FULL else 1


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("op", OPS, ids=str)
@pytest.mark.parametrize("i", range(KILLS))
def test_a_kill_at_any_point_loses_nothing(
    op: Op, backend: str, i: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if op.sqlite_only and backend != "sqlite":
        pytest.skip("PostgreSQL vaults are backed up with pg_dump")
    count, before, after = reference(op, backend, tmp_path_factory)
    with world(tmp_path, backend, op) as case:
        env = child_env(case.tmp, **op.env(case))
        at = kill_point(count, f"{op.name}/{backend}", i)
        run = evault(op.argv(case), case.tmp, env=env, at=at)
        assert run.killed or run.status == 0, run.stderr

        state, stray = observe(case, op)
        assert not stray, f"left behind after a kill at event {at} of {count}"
        assert op.allowed(state, before, after), (
            f"half-written at event {at} of {count}: {differences(state, before, after)}"
        )
        done = state != before

        op.before_rerun(case)
        again = evault(op.argv(case), case.tmp, env=env)
        if again.status != 0:
            one_line(again, *(op.done_codes if done else ()))
        final, stray = observe(case, op)
        assert not stray, f"left behind after the re-run (kill at event {at} of {count})"
        if not op.repeatable:
            assert final == after
        left = dest_files(case)
        assert set(left) <= set(op.dest), left
    outcome = "killed" if run.killed else "finished before the kill point"
    log("SIGKILL", op.name, backend, f"{outcome}; {'took effect' if done else 'rolled back'}")


# Faults the vault does not survive yet ---------------------------------------------------


def _op(name: str) -> Op:
    return next(op for op in OPS if op.name == name)


def _kill_at(case: Case, op: Op, where: tuple[str, str, int]) -> None:
    run = evault(op.argv(case), case.tmp, env=child_env(case.tmp, **op.env(case)), where=where)
    if not run.killed:
        # Not the fault under test: the place named is gone from the code path.
        pytest.fail(f"never reached {where}: {run.status} {run.stderr}")


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("extract", ("vault/attachments.py", "sink.write(chunk)", 3)),
        ("export", ("vault/export/archive.py", "yield _padding(spooled.size)", 1)),
        ("backup", ("vault/backup.py", "os.fsync(sink.fileno())", 1)),
    ],
)
def test_a_killed_write_leaves_no_partial_file_once_run_again(
    name: str, where: tuple[str, str, int], tmp_path: Path
) -> None:
    op = _op(name)
    with world(tmp_path, "sqlite", op) as case:
        _kill_at(case, op, where)
        observe(case, op)
        again = evault(op.argv(case), case.tmp)
        assert again.status == 0, again.stderr
        assert dest_files(case) == list(op.dest)


def test_a_kill_while_the_witness_is_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    op = _op("add")
    with world(tmp_path, "sqlite", op) as case:
        _kill_at(case, op, ("vault/audit.py", "os.replace(tmp, path)", 1))
        _state, stray = observe(case, op)
        assert not stray


def test_a_killed_recovery_split_keeps_a_working_set_of_shares(tmp_path: Path) -> None:
    op = _op("recovery-split")
    with world(tmp_path, "sqlite", op) as case:
        _kill_at(case, op, ("vault/cli/_custody.py", 'fh.write(share + "\\n")', 2))
        state, _stray = observe(case, op)
        assert state["outputs"]["opens"] != "none", state["outputs"]


def test_recovery_split_run_again_into_its_folder_keeps_working_shares(tmp_path: Path) -> None:
    op = _op("recovery-split")
    with world(tmp_path, "sqlite", op) as case:
        first = evault(op.argv(case), case.tmp)
        assert first.status == 0, first.stderr
        again = evault(op.argv(case), case.tmp)
        if again.status != 0:
            line = one_line(again, *range(2, 15))
            assert "internal error" not in line
        state, _stray = observe(case, op)
        assert state["outputs"] == {"shares": "whole", "opens": "new"}
