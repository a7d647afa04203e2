"""Disk full, for real: a small tmpfs under the vault folder for each write path, and
under each destination (export, backup and its temporary snapshot, extract, restore,
recovery shares). Each fails with exit 10 in one line, leaves nothing half-written,
and works again once space is freed.

How full: each command first runs to its end on the empty small disk, which gives the
most it held at once; the disk is then filled until a seeded fraction of that is free.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from faultkit import FULL, child_env, evault, fill, log, one_line, peak_use, small_disk
from writepaths import OPS, Op, observe, reference, world

DISK = "32m"


def _fraction(seed: str) -> float:
    return random.Random(seed).uniform(0.1, 0.6)  # noqa: S311 - seeded: reproducible


def _op(name: str) -> Op:
    return next(op for op in OPS if op.name == name)


# The default run takes three: one transaction, a stream of chunks, many batches.
_DEFAULT = ("import-jsonl", "attach", "rotate-keys")
VAULT_WRITES = [op for op in OPS if op.name != "restore" and (FULL or op.name in _DEFAULT)]


@pytest.mark.parametrize("op", VAULT_WRITES, ids=str)
def test_a_full_disk_under_the_vault(
    op: Op, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _count, before, after = reference(op, "sqlite", tmp_path_factory)
    with small_disk(tmp_path / "disk", DISK) as disk:
        with world(tmp_path / "reference", "sqlite", op, folder=disk / "reference") as ref:
            env = child_env(ref.tmp, **op.env(ref))
            # What opening the vault and logging one read take (its -shm and WAL) ...
            run, opening = peak_use(disk, ref.argv("list"), ref.tmp, env)
            assert run.status == 0, run.stderr
            # ... and what the whole command takes.
            run, need = peak_use(disk, op.argv(ref), ref.tmp, env)
            assert run.status == 0, run.stderr
        shutil.rmtree(disk / "reference")
        if need > opening:
            leave = opening + int((need - opening) * _fraction(f"vault-disk/{op.name}"))
        else:
            # The command writes no more than a read does (its audit entry): room to
            # open, none to log.
            leave = opening - 8192
        with world(tmp_path / "case", "sqlite", op, folder=disk / "vault") as case:
            env = child_env(case.tmp, **op.env(case))
            filler = fill(disk, leave)
            run = evault(op.argv(case), case.tmp, env=env)
            line = one_line(run, 10, words=("full", "free space"))
            filler.unlink()
            state, stray = observe(case, op)
            assert not stray
            assert op.allowed(state, before, after)
            op.before_rerun(case)
            again = evault(op.argv(case), case.tmp, env=env)
            assert again.status == 0 or state != before, again.stderr
            final, stray = observe(case, op)
            assert not stray
            assert op.repeatable or final == after
    log("disk full: vault folder", op.name, "sqlite", f"exit {run.status}: {line}")


def test_a_disk_too_full_to_open_the_vault_says_it_is_full(tmp_path: Path) -> None:
    op = _op("add")
    with (
        small_disk(tmp_path / "disk", DISK) as disk,
        world(tmp_path, "sqlite", op, folder=disk / "vault") as case,
    ):
        filler = fill(disk, 0)
        run = evault(case.argv("list"), case.tmp)
        filler.unlink()
        one_line(run, 10, words=("full",))


def test_a_full_disk_under_the_vault_is_named(tmp_path: Path) -> None:
    op = _op("import-jsonl")
    with (
        small_disk(tmp_path / "disk", DISK) as disk,
        world(tmp_path, "sqlite", op, folder=disk / "vault") as case,
    ):
        filler = fill(disk, 96 << 10)
        run = evault(op.argv(case), case.tmp)
        filler.unlink()
        one_line(run, 10, words=(str(disk / "vault"),))


# Destinations: (write path, which of its folders is on the small disk).
DESTINATIONS = [
    ("export", "dest"),
    ("backup", "dest"),
    ("backup", "tmp"),
    ("extract", "dest"),
    ("restore", "target"),
    ("recovery-split", "dest"),
]


@pytest.mark.parametrize(
    ("name", "place"),
    [pytest.param(n, p, id=f"{n}-{p}") for n, p in DESTINATIONS],
)
def test_a_full_destination(
    name: str, place: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    op = _op(name)
    _count, before, after = reference(op, "sqlite", tmp_path_factory)
    with small_disk(tmp_path / "disk", DISK) as disk:
        with world(tmp_path / "reference", "sqlite", op, places={place: disk / "reference"}) as ref:
            env = child_env(ref.tmp, **op.env(ref))
            run, need = peak_use(disk, op.argv(ref), ref.tmp, env)
            assert run.status == 0, run.stderr
        shutil.rmtree(disk / "reference", ignore_errors=True)
        with world(tmp_path / "case", "sqlite", op, places={place: disk / "case"}) as case:
            env = child_env(case.tmp, **op.env(case))
            filler = fill(disk, int(need * _fraction(f"{name}/{place}")))
            run = evault(op.argv(case), case.tmp, env=env)
            line = one_line(run, 10, words=(str(disk),))
            # Nothing half-written on the full disk.
            left = sorted(str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file())
            assert left == ["filler"], left
            filler.unlink()
            state, stray = observe(case, op)
            assert not stray
            assert state == before, state
            again = evault(op.argv(case), case.tmp, env=env)
            assert again.status == 0, again.stderr
            final, stray = observe(case, op)
            assert not stray
            assert op.repeatable or final == after
    log(f"disk full: {place} folder", name, "sqlite", f"exit {run.status}: {line}")
