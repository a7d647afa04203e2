"""The HTTP API on a real uvicorn server on 127.0.0.1, driven by httpx."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from exporting import new_identity
from fastapi import FastAPI
from sqlalchemy import text

from conftest import PASSPHRASE, SAMPLES, Backend, require_tool, sample_records
from vault import AuthenticationError, RecordSummary, Vault
from vault.api import FAILED_AUTH_LIMIT, MAX_BODY, create_app, openapi_document
from vault.export import verify_export


@contextlib.contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server for ``app`` on a free loopback port (bound here and handed
    over, so that no other test's server can take it in between)."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = int(listening.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        listening.close()


@pytest.fixture
def server(backend: Backend, tmp_path: Path) -> Iterator[tuple[str, Vault, Path]]:
    vault = backend.create()
    vault.import_file(SAMPLES)
    _identity, key, public = new_identity(tmp_path)
    vault.add_recipient("ituc", public)
    (tmp_path / "exports").mkdir()
    app = create_app(vault, export_dir=tmp_path / "exports", failed_auth_limit=10_000)
    try:
        with _serving(app) as base:
            yield base, vault, key
    finally:
        vault.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ALL_CLASSES = ["identity", "special", "narrative"]


def _exporter(vault: Vault, name: str) -> str:
    """An exporter token for the union policy, holding the classes that policy reads."""
    token, _ = vault.create_token(name, role="exporter", classes=ALL_CLASSES, policies=["union"])
    return token


def _finished(client: httpx.Client, response: httpx.Response, token: str) -> dict[str, Any]:
    """The export job ``response`` (to POST /exports) queued, once it has finished."""
    assert response.status_code == 202, response.text
    url = response.headers["location"]
    assert response.json()["url"] == url
    return _until_finished(client, url, token)


def _until_finished(client: httpx.Client, url: str, token: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = client.get(url, headers=_auth(token)).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the export job did not finish")


def test_the_full_path_through_the_api(server: tuple[str, Vault, Path], tmp_path: Path) -> None:
    base, vault, key = server
    writer, _ = vault.create_token("intake", role="custodian", classes=ALL_CLASSES)
    exporter = _exporter(vault, "exports")
    with httpx.Client(base_url=base, timeout=30) as client:
        new = sample_records()[4] | {"id": "T-API"}
        r = client.post("/records", json=new, headers=_auth(writer))
        assert r.status_code == 201, r.text
        lines = "\n".join(json.dumps(x) for x in [sample_records()[5] | {"id": "T-API-2"}])
        r = client.post("/records/import", content=lines, headers=_auth(writer))
        assert r.status_code == 201, r.text
        r = client.get("/records/T-API", headers=_auth(writer))
        assert r.status_code == 200
        assert "name" not in r.json()["worker"]  # identity needs approval, never via a token
        assert r.json()["narrative"] == new["narrative"]
        r = client.post("/find", json={"employee_id": "EMP-55001"}, headers=_auth(writer))
        assert sorted(x["id"] for x in r.json()) == ["T-0001", "T-API"]
        r = client.get("/records", params={"type": "site"}, headers=_auth(writer))
        assert len(r.json()) == 4
        r = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(exporter)
        )
        job = _finished(client, r, exporter)
        assert job["state"] == "done", job
        r = client.get(job["file"], headers=_auth(exporter))
        assert r.status_code == 200
        out = tmp_path / "download.age"
        out.write_bytes(r.content)
    assert verify_export(out, key).policy == "union"
    actors = {e.actor for e in vault.audit_entries()}
    assert {"token:intake", "token:exports"} <= actors
    # Last: where the tool is missing (and not under CI) the test stops here, skipped.
    age = require_tool("age")
    plain = subprocess.run([age, "-d", "-i", str(key), str(out)], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(plain.stdout), mode="r:") as tar:
        assert "manifest.json" in tar.getnames()


# The authorisation matrix: every endpoint, every role, every kind of bad token.
ROLES = ("admin", "custodian", "exporter", "auditor")
BAD_TOKENS = ("none", "not bearer", "malformed", "unknown", "expired", "revoked")
# (method, path, body, roles that may call it); bodies use {role} to stay unique.
ENDPOINTS: list[tuple[str, str, object, set[str]]] = [
    ("POST", "/records", "site", {"admin", "custodian"}),
    ("POST", "/records/import", "import", {"admin", "custodian"}),
    ("GET", "/records", None, {"admin", "custodian"}),
    ("GET", "/records/T-0001", None, {"admin", "custodian"}),
    ("GET", "/records/T-0001/versions", None, {"admin", "custodian"}),
    ("GET", "/records/T-0001/attachments", None, {"admin", "custodian"}),
    ("POST", "/find", {"site": "SITE-001"}, {"admin", "custodian"}),
    ("POST", "/records/T-0001/attachments?name=photo.jpg", b"%PDF-1.4 x", {"admin", "custodian"}),
    ("POST", "/exports", {"policy": "union", "recipient": "ituc"}, {"admin", "exporter"}),
    ("GET", "/exports/{job}", None, {"admin", "exporter"}),
    ("GET", "/audit/verify", None, {"admin", "auditor"}),
]


def _body(body: object, role: str) -> dict[str, Any]:
    if body == "site":
        record = {"type": "site", "id": f"SITE-{role}", "name": "Plant", "kind": "mine"}
        return {"json": record | {"country": "CD"}}
    if body == "import":
        record = {"type": "site", "id": f"SITE-I-{role}", "name": "Plant", "kind": "smelter"}
        return {"content": json.dumps(record | {"country": "CD"}).encode()}
    if isinstance(body, bytes):
        return {"content": body}
    return {} if body is None else {"json": body}


def test_the_authorisation_matrix(server: tuple[str, Vault, Path]) -> None:
    base, vault, _key = server
    tokens = {
        role: vault.create_token(
            f"t-{role}",
            role=role,
            classes=ALL_CLASSES,
            policies=["union"] if role == "exporter" else [],
        )[0]
        for role in ROLES
    }
    expired, _ = vault.create_token("old", role="custodian", expires=dt.timedelta(seconds=1))
    revoked, _ = vault.create_token("gone", role="custodian")
    vault.revoke_token("gone")
    prefix = tokens["admin"].split("_")[0]
    bad = {
        "none": {},
        "not bearer": {"Authorization": f"Basic {tokens['admin']}"},
        "malformed": _auth("not-a-token"),
        "unknown": _auth(prefix + "_" + "A" * 43),
        "expired": _auth(expired),
        "revoked": _auth(revoked),
    }
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post(
            "/exports",
            json={"policy": "union", "recipient": "ituc"},
            headers=_auth(tokens["exporter"]),
        )
        job = _finished(client, made, tokens["exporter"])["job"]
        time.sleep(1.1)  # let "old" expire
        results: dict[tuple[str, str, str], int] = {}
        for method, path, body, allowed in ENDPOINTS:
            url = path.format(job=job)
            for role in ROLES:
                r = client.request(method, url, headers=_auth(tokens[role]), **_body(body, role))
                results[(method, url, role)] = r.status_code
                if role in allowed:
                    assert r.status_code in (200, 201, 202), (method, url, role, r.text)
                else:
                    assert r.status_code == 403, (method, url, role, r.text)
                    assert r.json()["error"]["code"] == "forbidden"
            for kind in BAD_TOKENS:
                r = client.request(method, url, headers=bad[kind], **_body(body, "bad"))
                assert r.status_code == 401, (method, url, kind, r.text)
                assert r.json()["error"]["code"] == "unauthenticated"
                assert r.headers["content-type"] == "application/json"
        assert len(results) == len(ENDPOINTS) * len(ROLES)
        assert client.get("/health").json() == {"status": "ok"}
    # Nothing a refused request asked for was written.
    ids = {s.id for s in vault.list(type="site")}
    assert {"SITE-admin", "SITE-custodian", "SITE-I-admin", "SITE-I-custodian"} <= ids
    assert not {"SITE-exporter", "SITE-auditor", "SITE-bad", "SITE-I-bad"} & ids
    actors = {e.actor for e in vault.audit_entries()}
    assert {"token:t-admin", "token:t-custodian", "token:t-exporter", "token:t-auditor"} <= actors


def test_an_export_file_goes_only_to_the_token_that_made_it(
    server: tuple[str, Vault, Path],
) -> None:
    base, vault, _key = server
    maker = _exporter(vault, "maker")
    other = _exporter(vault, "other")
    admin, _ = vault.create_token("boss", role="admin", classes=ALL_CLASSES)
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(maker)
        )
        job = _finished(client, made, maker)
        # The id is a secret: 256 random bits, never the export's own id.
        assert len(job["job"]) == 43
        assert job["export_id"] not in job["job"]
        for url in (job["url"], job["file"]):
            r = client.get(url, headers=_auth(other))
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "not_found"
            assert job["export_id"] not in r.text
        assert client.get(job["url"], headers=_auth(admin)).json() == job
        assert client.get(job["file"], headers=_auth(maker)).status_code == 200
        r = client.get("/exports/..%2F..%2Fetc%2Fpasswd", headers=_auth(maker))
        assert r.status_code in (404, 422)
        again = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(maker)
        )
        second = _finished(client, again, maker)
        assert second["job"] != job["job"]
        assert client.get(second["file"], headers=_auth(admin)).status_code == 200
    released = [e for e in vault.audit_entries() if e.action == "export-released"]
    assert [e.actor for e in released] == ["token:maker", "token:boss"]


def test_versions_and_files_are_listed_as_the_record_is_read(
    server: tuple[str, Vault, Path],
) -> None:
    base, vault, _key = server
    writer, _ = vault.create_token("w", role="custodian", classes=ALL_CLASSES)
    clerk, _ = vault.create_token("clerk", role="custodian", classes=["special"])
    exporter = _exporter(vault, "x")
    vault.update("T-0001", {"channel": "hotline"})
    data = b"%PDF-1.4\n" + b"0" * 100
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.patch("/records/T-0001", json={"channel": "union"}, headers=_auth(writer))
        assert r.status_code == 200, r.text
        url = "/records/T-0001/attachments?name=Nguyen-Thi-Huong-interview.pdf"
        made = client.post(url, content=data, headers=_auth(writer)).json()
        r = client.get("/records/T-0001/versions", headers=_auth(writer))
        assert r.status_code == 200, r.text
        listed = r.json()
        assert [(x["version"], x["stored_by"]) for x in listed] == [
            (1, vault.custodian),
            (2, vault.custodian),
            (3, "token:w"),
        ]
        assert [x.created_at.isoformat() for x in vault.versions("T-0001")] == [
            x["created_at"] for x in listed
        ]
        r = client.get("/records/T-0001/attachments", headers=_auth(writer))
        assert r.status_code == 200, r.text
        assert r.json() == [
            {
                "id": made["id"],
                "media_type": "application/pdf",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "created_at": vault.attachments("T-0001")[0].created_at,
            }
        ]
        assert "Nguyen" not in r.text  # the sealed file name is never listed
        assert client.get("/records/T-0002/attachments", headers=_auth(writer)).json() == []
        # As GET /records/{id}: 404 for no such record, 403 for a role that may not read.
        for what in ("versions", "attachments"):
            r = client.get(f"/records/T-NOPE/{what}", headers=_auth(writer))
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
            for record in ("T-0001", "T-NOPE"):
                r = client.get(f"/records/{record}/{what}", headers=_auth(exporter))
                assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        # The files are sealed under the narrative class: without it, no listing at all.
        assert client.get("/records/T-0001/versions", headers=_auth(clerk)).status_code == 200
        for record in ("T-0001", "T-0002"):
            r = client.get(f"/records/{record}/attachments", headers=_auth(clerk))
            assert r.status_code == 403, r.text
    logged = [(e.actor, e.action) for e in vault.audit_entries()]
    assert ("token:w", "versions") in logged
    assert ("token:w", "attachments-listed") in logged


def test_repeated_failed_authentications_are_answered_with_429(
    backend: Backend, tmp_path: Path
) -> None:
    vault = backend.create()
    token, _ = vault.create_token("ok", role="auditor")
    with _serving(create_app(vault, export_dir=tmp_path)) as base, httpx.Client(base_url=base) as c:
        for _ in range(FAILED_AUTH_LIMIT):
            assert c.get("/audit/verify", headers=_auth("evt1_wrong")).status_code == 401
        r = c.get("/audit/verify", headers=_auth(token))
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "too_many_failures"
        assert c.get("/health").status_code == 200
    vault.close()


def test_bodies_over_the_limit_are_refused_even_without_a_length(
    server: tuple[str, Vault, Path],
) -> None:
    base, vault, _key = server
    writer, _ = vault.create_token("w", role="custodian", classes=["narrative"])

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // (1 << 20) + 2):
            yield b"\xff" * (1 << 20)

    with httpx.Client(base_url=base, timeout=60) as client:
        for path in ("/records/T-0001/attachments", "/records/import", "/records"):
            r = client.post(path, content=chunks(), headers=_auth(writer))
            assert r.status_code == 413, (path, r.text)
            assert r.json()["error"]["code"] == "too_large"
            assert "content-length" not in {k.lower() for k in r.request.headers}
    assert vault.attachments("T-0001") == []
    assert not [e for e in vault.audit_entries() if e.actor == "token:w"]


def test_error_bodies_never_echo_what_was_sent(server: tuple[str, Vault, Path]) -> None:
    base, vault, _key = server
    writer, _ = vault.create_token("w", role="custodian", classes=["identity", "narrative"])
    canary = "Nguyen Thi Canary 0912345678"
    with httpx.Client(base_url=base, timeout=30, headers=_auth(writer)) as client:
        attempts = [
            client.post("/records", json=[canary]),
            client.post("/records", content=b'{"narrative": "' + canary.encode()),
            client.post("/records", json={"type": "testimony", "narrative": canary}),
            client.post("/find", json={"phone": canary, canary: 1}),
            client.post("/find", json={"phone": [canary]}),
            client.post("/exports", json={"policy": canary, "recipient": "x"}),
            client.post("/records/import", content=f'{{"x": "{canary}"'.encode()),
            client.get("/records/T-0001", params={"version": canary}),
            client.get("/records/T-0001", params={"version": str(2**70)}),
            client.request("DELETE", "/records/T-0001"),
            client.get("/nowhere/" + canary),
            client.post("/records", json={"type": "testimony", "worker": {canary: "x"}}),
            client.post("/records", json={"type": "site", canary: "x"}),
            client.post("/records/import", content=json.dumps({canary: 1}).encode()),
            client.get("/records/" + canary),
            client.post(f"/records/{canary}/attachments", content=b"x"),
        ]
    for r in attempts:
        assert 400 <= r.status_code < 500, r.text
        body = r.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message"}, body
        assert "Canary" not in r.text, r.text
        assert "0912345678" not in r.text, r.text


def test_the_committed_openapi_document_matches_the_app() -> None:
    committed = Path(__file__).resolve().parent.parent / "openapi.json"
    assert json.loads(committed.read_text()) == json.loads(json.dumps(openapi_document())), (
        "openapi.json drifted: regenerate it with `evault openapi > openapi.json`"
    )


def test_evault_openapi_prints_the_document() -> None:
    from click.testing import CliRunner

    from vault.cli import cli

    result = CliRunner().invoke(cli, ["openapi"])
    assert result.exit_code == 0
    assert json.loads(result.output) == openapi_document()


def test_the_served_document_is_the_committed_one(server: tuple[str, Vault, Path]) -> None:
    base, _vault, _key = server
    committed = Path(__file__).resolve().parent.parent / "openapi.json"
    assert httpx.get(base + "/openapi.json").json() == json.loads(committed.read_text())


def test_a_revoked_or_expired_token_stops_at_once_even_when_known(
    server: tuple[str, Vault, Path],
) -> None:
    base, vault, _key = server
    token, _ = vault.create_token("soon", role="custodian", classes=["narrative"])
    brief, _ = vault.create_token(
        "brief", role="custodian", classes=["narrative"], expires=dt.timedelta(seconds=1)
    )
    view = vault.for_token(token)  # handed out while the token is live
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/records/T-0001", headers=_auth(token)).status_code == 200
        assert client.get("/records/T-0001", headers=_auth(brief)).status_code == 200
        vault.revoke_token("soon")
        time.sleep(1.1)
        # Every endpoint, including those a live custodian token would be refused
        # (403) or told off (400) by before any transaction, answers 401.
        for t in (token, brief):
            for method, path, body, _allowed in ENDPOINTS:
                url = path.format(job="A" * 43)
                r = client.request(method, url, headers=_auth(t), **_body(body, "late"))
                assert r.status_code == 401, (method, url, r.text)
            r = client.post("/find", json={}, headers=_auth(t))
            assert r.status_code == 401, r.text
            # Refusals by the HTTP layer itself, too: no route, a malformed body.
            assert client.get("/nowhere", headers=_auth(t)).status_code == 401
            r = client.post("/find", json={"phone": [1]}, headers=_auth(t))
            assert r.status_code == 401, r.text
    with pytest.raises(AuthenticationError):
        view.get("T-0001")
    with pytest.raises(AuthenticationError):
        list(view.list())


def test_a_token_row_given_more_is_refused_with_403(server: tuple[str, Vault, Path]) -> None:
    base, vault, _key = server
    token, _ = vault.create_token("intake", role="custodian", classes=["narrative"])
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/records/T-0001", headers=_auth(token)).status_code == 200
        with vault._ctx.engine.begin() as conn:
            conn.execute(text("UPDATE api_tokens SET role = 'admin' WHERE name = 'intake'"))
        r = client.get("/records/T-0001", headers=_auth(token))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "integrity_failure"
        assert "narrative" not in r.text
    assert "row-refused" in [e.action for e in vault.audit_entries()]


def test_authentication_comes_before_the_body_is_read(server: tuple[str, Vault, Path]) -> None:
    base, _vault, _key = server

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"[" * (1 << 20)

    with httpx.Client(base_url=base, timeout=60) as client:
        for path in ("/records", "/find", "/records/import"):
            # Over any body limit, and not JSON: a 401 shows nothing was read first.
            r = client.post(path, content=chunks(), headers=_auth("evt1_" + "x" * 43))
            assert r.status_code == 401, (path, r.text)


def test_an_unexpected_error_is_a_json_500_that_names_no_value(
    server: tuple[str, Vault, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, vault, _key = server
    token, _ = vault.create_token("w", role="custodian", classes=["narrative"])

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("Nguyen Thi Canary 0912345678")

    monkeypatch.setattr(Vault, "get_with_version", broken)
    r = httpx.get(base + "/records/T-0001", headers=_auth(token), timeout=30)
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal", "message": "internal error (RuntimeError)"}}


def test_the_failure_throttle_forgets_old_clients_and_stays_bounded() -> None:
    from vault.api import auth as api

    throttle = api._Throttle(3)
    for i in range(api._THROTTLE_CLIENTS + 500):
        throttle.fail(f"198.51.{i // 256}.{i % 256}")
    assert len(throttle._failures) <= api._THROTTLE_CLIENTS
    for _ in range(3):
        throttle.fail("203.0.113.9")
    assert throttle.blocked("203.0.113.9")
    assert not throttle.blocked("203.0.113.10")


def test_long_vault_work_never_holds_up_the_server(
    server: tuple[str, Vault, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    base, vault, _key = server
    token, _ = vault.create_token("w", role="custodian", classes=["narrative"])
    started, release = threading.Event(), threading.Event()
    real = Vault.list

    def slow_list(self: Vault, **kw: Any) -> Iterator[RecordSummary]:
        started.set()
        assert release.wait(30)
        return real(self, **kw)

    monkeypatch.setattr(Vault, "list", slow_list)
    with (
        httpx.Client(base_url=base, headers=_auth(token), timeout=30) as client,
        ThreadPoolExecutor(2) as pool,
    ):
        listing = pool.submit(client.get, "/records")
        try:
            assert started.wait(10)
            t0 = time.monotonic()
            assert httpx.get(base + "/health", timeout=5).status_code == 200
            assert time.monotonic() - t0 < 2
            reading = pool.submit(client.get, "/records/T-0001")
            if vault.backend == "sqlite":
                # One request at a time works on an SQLite vault: the read waits its
                # turn (in a thread, not on the event loop) instead of running beside.
                time.sleep(0.3)
                assert not reading.done()
            else:
                assert reading.result(timeout=10).status_code == 200
        finally:
            release.set()
        assert listing.result(timeout=30).status_code == 200
        assert reading.result(timeout=30).status_code == 200


def test_a_read_never_waits_on_the_event_loop_for_another_writer(
    server: tuple[str, Vault, Path],
) -> None:
    import sqlite3
    import threading

    base, vault, _key = server
    if vault.backend != "sqlite":
        pytest.skip("the event loop serves reads itself on SQLite only")
    token, _ = vault.create_token("r", role="custodian", classes=["narrative"])
    with httpx.Client(base_url=base, headers=_auth(token), timeout=30) as client:
        assert client.get("/records/T-0001").status_code == 200  # the token is known now
        # Another process (here: another connection) holds the write lock.
        other = sqlite3.connect(str(vault._ctx.engine.url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        result: list[int] = []
        reader = threading.Thread(
            target=lambda: result.append(client.get("/records/T-0002").status_code)
        )
        reader.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        assert httpx.get(base + "/health", timeout=5).status_code == 200
        assert time.monotonic() - t0 < 1
        assert not result  # the read waits for the lock, in a thread
        other.execute("COMMIT")
        other.close()
        reader.join(timeout=30)
    assert result == [200]


def test_a_known_token_gets_through_while_its_address_is_blocked(
    backend: Backend, tmp_path: Path
) -> None:
    vault = backend.create()
    token, _ = vault.create_token("ok", role="auditor")
    with _serving(create_app(vault, export_dir=tmp_path)) as base, httpx.Client(base_url=base) as c:
        assert c.get("/audit/verify", headers=_auth(token)).status_code == 200
        for _ in range(FAILED_AUTH_LIMIT):
            assert c.get("/audit/verify", headers=_auth("evt1_wrong")).status_code == 401
        assert c.get("/audit/verify", headers=_auth("evt1_wrong")).status_code == 429
        assert c.get("/audit/verify", headers=_auth(token)).status_code == 200
    vault.close()


def test_export_requests_echo_no_recipient_and_no_policy_file(
    server: tuple[str, Vault, Path], tmp_path: Path
) -> None:
    base, vault, _key = server
    exporter = _exporter(vault, "x")
    auditor, _ = vault.create_token("a", role="auditor")
    canary = "Maria Nguyen +84 912"
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post(
            "/exports", json={"policy": "union", "recipient": canary}, headers=_auth(exporter)
        )
        assert r.status_code == 404
        assert "Maria" not in r.text
        # Not an exporter: refused before any policy is looked up.
        r = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(auditor)
        )
        assert r.status_code == 403
        r = client.post(
            "/exports", json={"policy": "nosuch", "recipient": "ituc"}, headers=_auth(auditor)
        )
        assert r.status_code == 403


def _raw_request(base: str, head: str, body: bytes = b"", wait: float = 10) -> bytes:
    """Send a request's head and part of a body on a raw socket; return what comes back."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunks[-1]:
                    break
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_a_revoked_token_is_forgotten_throttled_and_holds_no_body_slot(
    backend: Backend, tmp_path: Path
) -> None:
    vault = backend.create()
    vault.import_file(SAMPLES)
    token, _ = vault.create_token("gone", role="custodian", classes=["narrative"])
    with _serving(create_app(vault, export_dir=tmp_path, bodies=1)) as base:
        with httpx.Client(base_url=base, headers=_auth(token), timeout=10) as c:
            assert c.get("/records/T-0001").status_code == 200
            vault.revoke_token("gone")
            # A body that never comes: refused at once, before it could hold the slot.
            t0 = time.monotonic()
            reply = _raw_request(
                base,
                "POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n",
            )
            assert reply.startswith(b"HTTP/1.1 401"), reply[:80]
            assert time.monotonic() - t0 < 5
            codes = [c.get("/records/T-0001").status_code for _ in range(FAILED_AUTH_LIMIT + 1)]
        assert set(codes[: FAILED_AUTH_LIMIT - 1]) == {401}
        assert codes[-1] == 429
    vault.close()


def test_a_body_that_does_not_arrive_in_time_gets_408(backend: Backend, tmp_path: Path) -> None:
    vault = backend.create()
    vault.import_file(SAMPLES)
    token, _ = vault.create_token("slow", role="custodian", classes=["narrative"])
    app = create_app(vault, export_dir=tmp_path, body_seconds=1, failed_auth_limit=10_000)
    with _serving(app) as base:
        t0 = time.monotonic()
        reply = _raw_request(
            base,
            "POST /records/T-0001/attachments HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n",
            b"x" * 10,
        )
        assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
        assert b'"timeout"' in reply
        assert time.monotonic() - t0 < 8
        # Nothing was sealed, and the server goes on serving.
        assert vault.attachments("T-0001") == []
        r = httpx.get(base + "/records/T-0001", headers=_auth(token), timeout=10)
        assert r.status_code == 200
        r = httpx.get(base + "/records/", headers=_auth(token), timeout=10)
        assert r.status_code == 404  # no redirect that would tell a token from another
    vault.close()


def test_records_come_a_page_at_a_time_and_an_unknown_type_is_422(
    server: tuple[str, Vault, Path],
) -> None:
    base, vault, _key = server
    token, _ = vault.create_token("pager", role="custodian", classes=["narrative"])
    with httpx.Client(base_url=base, headers=_auth(token), timeout=30) as client:
        everything = client.get("/records").json()
        assert len(everything) == 11
        first = client.get("/records", params={"limit": 4}).json()
        rest = client.get("/records", params={"limit": 100, "offset": 4}).json()
        assert [r["id"] for r in first + rest] == [r["id"] for r in everything]
        assert client.get("/records", params={"type": "testimonies"}).status_code == 422
        assert client.get("/records", params={"limit": 0}).status_code == 422
        assert client.get("/records", params={"limit": 100_000}).status_code == 422


def test_list_pages_on_the_command_line(sqlite_backend: Backend) -> None:
    from click.testing import CliRunner

    from vault.cli import cli

    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        ids = [s.id for s in v.list()]
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    args = [*sqlite_backend.cli_args(), "list", "--json"]
    page = CliRunner().invoke(cli, [*args, "--limit", "3", "--offset", "2"], env=env)
    assert page.exit_code == 0, page.output
    assert [r["id"] for r in json.loads(page.stdout)] == ids[2:5]
