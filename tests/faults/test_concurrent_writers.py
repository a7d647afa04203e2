"""Several processes updating one record at once, on SQLite and on PostgreSQL: each
either writes a version or says, in one line, that the record changed concurrently
(exit 7, run it again); never a storage error; the versions have no gap and each
holds exactly one writer's record.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import FORKS, Case, child_env, log, one_line, pg_backend, scratch

from conftest import PG_URL, Backend, sample_records

WRITERS = 8


def _backends() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set"),
            ],
        ),
    ]


@contextlib.contextmanager
def _case(root: Path, backend: str) -> Iterator[Case]:
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(scratch(root))
        if backend == "sqlite":
            be = Backend("sqlite", root / "vault", None)
        else:
            be = stack.enter_context(pg_backend(root / "vault"))
        case = Case(root, be)
        case.create()
        yield case


@pytest.mark.parametrize("backend", _backends())
def test_concurrent_updates_of_one_record(backend: str, tmp_path: Path) -> None:
    with _case(tmp_path, backend) as case:
        records = []
        for i in range(WRITERS):
            record = sample_records()[4] | {"narrative": f"Writer {i}'s account (fictional)."}
            path = case.inputs / f"writer-{i}.json"
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            records.append(record)
        env = child_env(case.tmp)
        spawned = [
            FORKS.spawn(
                case.argv("update", "T-0001", case.inputs / f"writer-{i}.json"), env, tmp_path
            )
            for i in range(WRITERS)
        ]
        runs = [FORKS.wait(s) for s in spawned]
        wrote = 0
        for run in runs:
            if run.status == 0:
                wrote += 1
            else:
                one_line(run, 7, words=("changed concurrently",))
        assert wrote >= 1
        with case.open() as v:
            versions = [x.version for x in v.versions("T-0001")]
            assert versions == list(range(1, wrote + 2))
            stored = [v.get("T-0001", version=n, identity=True) for n in versions[1:]]
            v.audit_verify()
        # Each version is one writer's record, whole, and no writer's twice.
        assert all(s in records for s in stored)
        assert len({s["narrative"] for s in stored}) == wrote
        assert not case.stray_files()
    log(
        "concurrent writers on one record",
        f"{WRITERS} x update",
        backend,
        f"{wrote} wrote a version, {WRITERS - wrote} exit 7; versions 1..{wrote + 1}",
    )
