"""Exports as jobs through the HTTP API, on a real uvicorn server on 127.0.0.1: the
server goes on answering while one is built, a token has only so many under way, a
failed job says why in one line, and a job's file waits encrypted, in a private
folder, until it is fetched, expires or the server stops."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyrage
import pytest
from exporting import new_identity, open_export
from sqlalchemy import text
from test_api import ALL_CLASSES, _auth, _exporter, _finished, _serving, _until_finished

from conftest import SAMPLES, Backend
from vault import Vault
from vault.api import create_app
from vault.partial import sweep
from vault.policy import find_policy

UNION = {"policy": "union", "recipient": "ituc"}


def _job(client: httpx.Client, url: str, token: str) -> dict[str, Any]:
    r = client.get(url, headers=_auth(token))
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    return job


@contextlib.contextmanager
def _vault(backend: Backend, folder: Path) -> Iterator[tuple[Vault, pyrage.x25519.Identity]]:
    with backend.create() as vault:
        vault.import_file(SAMPLES)
        identity, _key, public = new_identity(folder)
        vault.add_recipient("ituc", public)
        yield vault, identity


def test_an_export_job_never_holds_up_other_requests(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    """On SQLite, which has one writer at a time: while an export of a few thousand
    records is built, a read that commits its own audit entry is answered, and that
    entry lands in the log between the export's first and last entries (so the
    export held no write lock meanwhile, and the read did not wait it out)."""
    findings = [
        {
            "type": "finding",
            "id": f"F-{i:05d}",
            "site_id": f"SITE-00{i % 4 + 1}",
            "audit_date": "2026-09-01",
            "severity": "high",
            "status": "open",
            "summary": f"Finding {i}.",
        }
        for i in range(2000)
    ]
    with _vault(sqlite_backend, tmp_path) as (vault, _identity):
        vault.import_records(findings)
        exporter = _exporter(vault, "x")
        reader, _ = vault.create_token("reader", role="custodian", classes=["narrative"])
        app = create_app(vault, failed_auth_limit=10_000)
        folder = app.state.export_jobs.folder
        with _serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            url = client.post("/exports", json=UNION, headers=_auth(exporter)).headers["location"]
            job = _job(client, url, exporter)
            while job["state"] == "queued" or job["progress"]["done"] == 0:
                assert job["state"] != "done", "the export ended before it was seen under way"
                job = _job(client, url, exporter)
            assert job["state"] == "running"
            assert 0 < job["progress"]["done"] < job["progress"]["total"] == 2011
            r = client.get("/records", params={"limit": 5}, headers=_auth(reader))
            assert r.status_code == 200, r.text
            assert len(r.json()) == 5
            assert _job(client, url, exporter)["state"] == "running"  # answered before it ended
            done = _until_finished(client, url, exporter)
            assert done["state"] == "done", done
            assert done["progress"] == {"done": 2011, "total": 2011}
            # A second job, stopped with the server while it is built: nothing stays.
            client.post("/exports", json=UNION, headers=_auth(exporter))
        assert not folder.exists()
        actions = [(e.actor, e.action) for e in vault.audit_entries()]
    started = actions.index(("token:x", "export-started"))
    ended = actions.index(("token:x", "export"))
    assert started < actions.index(("token:reader", "list")) < ended


@pytest.fixture
def locked(sqlite_backend: Backend, tmp_path: Path) -> Iterator[tuple[str, Vault, Any]]:
    """A server whose database another process holds the write lock of, until the
    test says ``COMMIT``: an export job waits at its first write meanwhile."""
    with _vault(sqlite_backend, tmp_path) as (vault, _identity):
        app = create_app(vault, export_dir=tmp_path, export_jobs=1, failed_auth_limit=10_000)
        with _serving(app) as base:
            other = sqlite3.connect(str(vault._ctx.engine.url.database), isolation_level=None)
            try:
                yield base, vault, other
            finally:
                other.close()


def test_a_token_has_only_so_many_jobs_under_way(locked: tuple[str, Vault, Any]) -> None:
    base, vault, other = locked
    first, second = _exporter(vault, "first"), _exporter(vault, "second")
    with httpx.Client(base_url=base, timeout=60) as client:
        for token in (first, second):  # known to the server before the lock is taken
            assert client.get("/exports/" + "A" * 43, headers=_auth(token)).status_code == 404
        other.execute("BEGIN IMMEDIATE")
        made = client.post("/exports", json=UNION, headers=_auth(first))
        assert made.status_code == 202, made.text
        refused = client.post("/exports", json=UNION, headers=_auth(first))
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_jobs"
        assert int(refused.headers["retry-after"]) > 0
        beside = client.post("/exports", json=UNION, headers=_auth(second))
        assert beside.status_code == 202, beside.text
        assert _job(client, made.headers["location"], first)["state"] in ("queued", "running")
        other.execute("COMMIT")
        assert _finished(client, made, first)["state"] == "done"
        assert _finished(client, beside, second)["state"] == "done"
        again = client.post("/exports", json=UNION, headers=_auth(first))
        assert _finished(client, again, first)["state"] == "done"
    assert len(vault.exports()) == 3


def test_a_failed_job_says_why_in_one_line_and_leaves_no_file(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    with _vault(sqlite_backend, tmp_path) as (vault, _identity):
        exporter = _exporter(vault, "x")
        summary = vault.get("F-0001")["summary"]
        # A sealed part moved onto another record: it no longer opens there.
        codec = vault._ctx.codec
        moved, onto = codec.reference("T-0001"), codec.reference("F-0001")
        with vault._ctx.engine.begin() as conn:
            part = conn.execute(
                text("SELECT operational_data FROM record_versions WHERE record_ref = :r"),
                {"r": moved},
            ).scalar_one()
            conn.execute(
                text("UPDATE record_versions SET operational_data = :d WHERE record_ref = :r"),
                {"d": part, "r": onto},
            )
        exports = tmp_path / "exports"
        exports.mkdir()
        app = create_app(vault, export_dir=exports, failed_auth_limit=10_000)
        with _serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            made = client.post("/exports", json=UNION, headers=_auth(exporter))
            job = _finished(client, made, exporter)
            assert job["state"] == "failed"
            assert job["error"].startswith("integrity check failed for record ref ")
            assert "\n" not in job["error"]
            assert (job["file"], job["export_id"], job["counts"]) == (None, None, None)
            assert client.get(job["url"] + "/file", headers=_auth(exporter)).status_code == 404
            assert list(exports.iterdir()) == []
            served = json.dumps(job)
            assert summary[:20] not in served
            assert "Traceback" not in served
        assert vault.exports() == []
        assert "export-started" in [e.action for e in vault.audit_entries()]


def test_a_job_file_waits_encrypted_in_a_private_folder_until_fetched(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    with _vault(sqlite_backend, tmp_path) as (vault, identity):
        exporter = _exporter(vault, "x")
        app = create_app(vault, failed_auth_limit=10_000)
        folder = app.state.export_jobs.folder
        # Without --export-dir: a new folder of the system's temporary ones, this
        # user's only.
        assert folder.parent == Path(tempfile.gettempdir())
        assert folder.name.startswith("evault-exports-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        narrowed = UNION | {"site": ["SITE-003"], "country": ["cz"], "since": "2026-01-01"}
        with _serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            made = client.post("/exports", json=narrowed, headers=_auth(exporter))
            assert made.headers["location"] == made.json()["url"]
            job = _finished(client, made, exporter)
            assert job["state"] == "done", job
            # Waiting: the one file in the folder, this user's only, and age-encrypted
            # to the recipient (no plaintext spool or partial file beside it).
            (waiting,) = folder.iterdir()
            assert waiting.name == f"{job['export_id']}.age"
            assert stat.S_IMODE(waiting.stat().st_mode) == 0o600
            held = waiting.read_bytes()
            assert held.startswith(b"age-encryption.org/v1\n")
            manifest = json.loads(open_export(waiting, identity)["manifest.json"])
            assert manifest["policy"]["filters"]["sites"] == ["SITE-003"]
            assert manifest["policy"]["filters"]["countries"] == ["CZ"]
            assert manifest["policy"]["filters"]["since"] == "2026-01-01"
            got = client.get(job["file"], headers=_auth(exporter))
            assert got.status_code == 200
            assert got.content == held
            # Fetched whole: gone from the server.
            assert list(folder.iterdir()) == []
            assert _job(client, job["url"], exporter)["file"] is None
            assert client.get(job["file"], headers=_auth(exporter)).status_code == 404
            # Not fetched: removed, with the folder, when the server stops.
            made = client.post("/exports", json=UNION, headers=_auth(exporter))
            left = _finished(client, made, exporter)
            assert (folder / f"{left['export_id']}.age").is_file()
        assert not folder.exists()
        assert len(vault.exports()) == 2


def test_export_requests_are_checked_first_and_finished_jobs_expire(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    with _vault(sqlite_backend, tmp_path) as (vault, _identity):
        exporter = _exporter(vault, "x")
        custodian, _ = vault.create_token("c", role="custodian", classes=ALL_CLASSES)
        exports = tmp_path / "exports"
        exports.mkdir()
        # Jobs are kept a fifth of a second after they finish.
        app = create_app(vault, export_dir=exports, export_days=0.2 / 86400)
        with _serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            # What the export would refuse is refused before any job exists.
            cases = [
                (exporter, UNION | {"recipient": "nobody"}, 404),
                (exporter, UNION | {"policy": "monitor"}, 403),  # not granted to it
                (exporter, UNION | {"country": ["CZE"]}, 422),
                (exporter, UNION | {"since": "yesterday"}, 422),
                (exporter, UNION | {"until": "2026-02-30"}, 422),
                (custodian, UNION, 403),
            ]
            for token, body, status in cases:
                r = client.post("/exports", json=body, headers=_auth(token))
                assert r.status_code == status, (body, r.text)
            assert list(exports.iterdir()) == []
            assert "export-started" not in [e.action for e in vault.audit_entries()]
            # A job that is not fetched goes, with its file, once its time is up.
            url = client.post("/exports", json=UNION, headers=_auth(exporter)).headers["location"]
            for _ in range(600):
                r = client.get(url, headers=_auth(exporter))
                if r.status_code == 404:
                    break
                time.sleep(0.05)
            assert r.status_code == 404, r.text
            assert list(exports.iterdir()) == []
        assert len(vault.exports()) == 1  # it was made, and its file is gone


def test_a_finished_export_waiting_to_be_recorded_is_no_leftover(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    """Jobs write into one folder. An export whose file is written but not yet
    recorded (its commit waits for the write lock) still holds its lock on the file,
    so another export's sweep of killed writers' leftovers does not take it."""
    exports = tmp_path / "exports"
    exports.mkdir()
    with _vault(sqlite_backend, tmp_path) as (vault, _identity):
        other = sqlite3.connect(
            str(vault._ctx.engine.url.database), isolation_level=None, check_same_thread=False
        )

        locked = threading.Event()

        def progress(_stage: str, done: int, total: int) -> None:
            if done == total and not locked.is_set():
                # All records out: the file is written next, then recorded.
                other.execute("BEGIN IMMEDIATE")
                locked.set()

        result: list[object] = []
        worker = threading.Thread(
            target=lambda: result.append(
                vault.export(find_policy("union"), "ituc", exports / "a.age", progress=progress)
            )
        )
        worker.start()
        assert locked.wait(60)
        # Another export's sweep, again and again while this one waits for the lock.
        for _ in range(50):
            sweep(exports, ".evault-export-")
            time.sleep(0.01)
        other.execute("COMMIT")
        other.close()
        worker.join(30)
    assert result, "the export failed"
    assert (exports / "a.age").is_file()
