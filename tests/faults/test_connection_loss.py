"""PostgreSQL connections ended by the server (a restart, a failover, an
administrator's ``pg_terminate_backend``) in the middle of a command and of
``evault serve`` requests: the command exits 13 in one line, or finishes on a new
connection; a request answers 503 with a JSON error, or succeeds; nothing is
half-written; the next attempt works.

The CLI's connections are ended at a seeded line event of the command, from inside
it (``faultkit`` forks): reproducible, and anywhere on the code path.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultkit import (
    FULL,
    child_env,
    evault,
    kill_point,
    log,
    one_line,
    serve,
    synthetic_testimonies,
)
from sqlalchemy import create_engine, text
from writepaths import OPS, observe, reference, world

from conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="EVAULT_TEST_DATABASE_URL not set"),
]

_NAMES = ("import-jsonl", "update", "attach", "export", "rotate-keys", "erase-subject")
CUTS = [(name, i) for name in _NAMES for i in range(3)] if FULL else [("import-jsonl", 0)]


def _libpq_url() -> str:
    """The test database's URL as libpq (psycopg) takes it."""
    assert PG_URL
    return PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)


def _end_connections(app_name: str) -> int:
    """Have the server end every connection named ``app_name``; how many it ended."""
    assert PG_URL
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :n"
                    ),
                    {"n": app_name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize(("name", "i"), CUTS, ids=[f"{n}-{i}" for n, i in CUTS])
def test_connections_ended_mid_command(
    name: str, i: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    op = next(o for o in OPS if o.name == name)
    count, before, after = reference(op, "postgres", tmp_path_factory)
    app_name = "evf-" + secrets.token_hex(4)
    with world(tmp_path, "postgres", op, app_name=app_name) as case:
        env = child_env(case.tmp, **op.env(case))
        at = kill_point(count, f"cut/{name}", i)
        run = evault(op.argv(case), case.tmp, env=env, at=at, action=(_libpq_url(), app_name))
        if run.status != 0:
            one_line(run, 13, words=("connection was lost",))
        state, stray = observe(case, op)
        assert not stray
        assert op.allowed(state, before, after)
        if state == before:
            again = evault(op.argv(case), case.tmp, env=env)
            assert again.status == 0, again.stderr
            state, _stray = observe(case, op)
            assert op.repeatable or state == after
    outcome = "exit 13, one line" if run.status else "finished on a new connection"
    log("PostgreSQL connections ended", name, "postgres", f"{outcome}; then whole")


def test_a_connection_lost_in_a_bulk_insert_is_one_line(tmp_path: Path) -> None:
    op = next(o for o in OPS if o.name == "import-jsonl")
    # Whether psycopg notices the loss while sending or while reading varies from run
    # to run; four runs show the second line all but always.
    for attempt in range(4):
        app_name = "evf-" + secrets.token_hex(4)
        with world(tmp_path / str(attempt), "postgres", op, app_name=app_name) as case:
            where = ("vault/store.py", "conn.exec_driver_sql(sql, params)", 1)
            run = evault(op.argv(case), case.tmp, where=where, action=(_libpq_url(), app_name))
        if run.status != 13:
            pytest.fail(f"the connection was not lost in the bulk insert: {run.stderr}")
        one_line(run, 13)


# evault serve ---------------------------------------------------------------------------


def _storage_error(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"]["code"] == "storage", body
    assert "\n" not in body["error"]["message"]
    for name in ("OperationalError", "psycopg", "Traceback"):
        assert name not in r.text


def test_connections_ended_under_serve(tmp_path: Path) -> None:
    op = next(o for o in OPS if o.name == "import-jsonl")
    app_name = "evf-serve-" + secrets.token_hex(4)
    with world(tmp_path, "postgres", op, app_name=app_name) as case:
        with case.open() as v:
            token, _ = v.create_token(
                "tool", role="custodian", classes=["identity", "special", "narrative"]
            )
        batch = "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in synthetic_testimonies(2000, "S")
        ).encode()
        outcomes: dict[str, int] = {}
        with (
            serve(case) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as c,
        ):
            assert c.get("/records/T-0001").status_code == 200
            # Between requests: the pooled connections are dead; the next request
            # must not fail for it.
            assert _end_connections(app_name) > 0
            r = c.get("/records/T-0001")
            outcomes["between requests"] = r.status_code
            if r.status_code != 200:
                _storage_error(r)
            # During a long import: cut until the request is answered.
            answer: dict[str, Any] = {}

            def post() -> None:
                answer["r"] = c.post(
                    "/records/import",
                    content=batch,
                    headers={"Content-Type": "application/x-ndjson"},
                )

            poster = threading.Thread(target=post)
            poster.start()
            cuts = 0
            while poster.is_alive():
                time.sleep(0.2)
                cuts += _end_connections(app_name)
            poster.join()
            r = answer["r"]
            outcomes["during an import"] = r.status_code
            if r.status_code != 201:
                _storage_error(r)
            # The next requests work.
            assert c.get("/records/T-0001").status_code == 200
            listed: list[dict[str, object]] = []
            while True:  # GET /records comes a page at a time
                page = c.get("/records", params={"type": "testimony", "offset": len(listed)})
                assert page.status_code == 200, page.text
                listed += page.json()
                if len(page.json()) < 1000:
                    break
            imported = sum(1 for s in listed if str(s["id"]).startswith("S-"))
            assert imported in (0, 2000), imported
            assert (imported == 2000) == (r.status_code == 201)
        with case.open() as v:
            v.audit_verify()
    for when, status in outcomes.items():
        log("PostgreSQL connections ended", f"serve, {when}", "postgres", f"HTTP {status}")
