"""The HTTP API on a real uvicorn server on 127.0.0.1, driven by httpx."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from exporting import new_identity

from conftest import SAMPLES, Backend, sample_records
from vault import Vault
from vault.api import create_app
from vault.export import verify_export


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(backend: Backend, tmp_path: Path) -> Iterator[tuple[str, Vault, Path]]:
    vault = backend.create()
    vault.import_file(SAMPLES)
    _identity, key, public = new_identity(tmp_path)
    vault.add_recipient("ituc", public)
    port = _free_port()
    config = uvicorn.Config(
        create_app(vault, export_dir=tmp_path / "exports"),
        host="127.0.0.1",
        port=port,
        log_level="error",
    )
    (tmp_path / "exports").mkdir()
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield base, vault, key
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        vault.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_full_path_through_the_api(server: tuple[str, Vault, Path], tmp_path: Path) -> None:
    base, vault, key = server
    writer, _ = vault.create_token(
        "intake", role="custodian", classes=["identity", "special", "narrative"]
    )
    exporter, _ = vault.create_token(
        "exports",
        role="exporter",
        classes=["identity", "special", "narrative"],
        policies=["union"],
    )
    with httpx.Client(base_url=base, timeout=30) as client:
        new = sample_records()[4] | {"id": "T-API"}
        r = client.post("/records", json=new, headers=_auth(writer))
        assert r.status_code == 201, r.text
        lines = "\n".join(
            __import__("json").dumps(x) for x in [sample_records()[5] | {"id": "T-API-2"}]
        )
        r = client.post("/records/import", content=lines, headers=_auth(writer))
        assert r.status_code == 201, r.text
        r = client.get("/records/T-API", headers=_auth(writer))
        assert r.status_code == 200
        assert "name" not in r.json()["worker"]  # identity needs approval, never via a token
        assert r.json()["narrative"] == new["narrative"]
        r = client.get("/find", params={"employee_id": "EMP-55001"}, headers=_auth(writer))
        assert sorted(x["id"] for x in r.json()) == ["T-0001", "T-API"]
        r = client.get("/records", params={"type": "site"}, headers=_auth(writer))
        assert len(r.json()) == 4
        r = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(exporter)
        )
        assert r.status_code == 201, r.text
        download = r.json()["download"]
        r = client.get(download, headers=_auth(exporter))
        assert r.status_code == 200
        out = tmp_path / "download.age"
        out.write_bytes(r.content)
    assert verify_export(out, key).policy == "union"
    if shutil.which("age"):
        plain = subprocess.run(
            ["age", "-d", "-i", str(key), str(out)], check=True, capture_output=True
        ).stdout
        assert plain[:512].find(b"manifest.json") >= 0
    actors = {e.actor for e in vault.audit_entries()}
    assert {"token:intake", "token:exports"} <= actors


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/records", None),
        ("GET", "/records/T-0001", None),
        ("GET", "/find?site=SITE-001", None),
        ("POST", "/records", {"type": "site"}),
        ("POST", "/exports", {"policy": "union", "recipient": "ituc"}),
        ("GET", "/audit/verify", None),
    ],
)
def test_no_expired_revoked_or_wrong_token_gets_anything(
    server: tuple[str, Vault, Path], method: str, path: str, body: Any
) -> None:
    base, vault, _key = server
    expired, _ = vault.create_token("old", role="custodian", expires=dt.timedelta(seconds=1))
    revoked, _ = vault.create_token("gone", role="custodian")
    vault.revoke_token("gone")
    time.sleep(1.1)
    with httpx.Client(base_url=base, timeout=10) as client:
        for headers in (
            {},
            _auth("evt1_wrong"),
            _auth(expired),
            _auth(revoked),
            {"Authorization": "Basic abc"},
        ):
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code in (401, 429), (headers, r.text)
            assert r.json()["error"]["code"] in ("unauthenticated", "too_many_failures")


def test_roles_bound_what_a_token_can_do(server: tuple[str, Vault, Path]) -> None:
    base, vault, _key = server
    auditor, _ = vault.create_token("aud", role="auditor")
    exporter, _ = vault.create_token(
        "exp", role="exporter", classes=["identity"], policies=["buyers"]
    )
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/records", headers=_auth(auditor)).status_code == 403
        assert client.get("/audit/verify", headers=_auth(auditor)).json()["valid"] is True
        assert client.get("/records/T-0001", headers=_auth(exporter)).status_code == 403
        r = client.post(
            "/exports", json={"policy": "union", "recipient": "ituc"}, headers=_auth(exporter)
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        r = client.post("/records", content=b"x" * (17 * 1024 * 1024), headers=_auth(exporter))
        assert r.status_code == 413
    assert client.get if False else True


def test_health_needs_no_token(server: tuple[str, Vault, Path]) -> None:
    base, _vault, _key = server
    assert httpx.get(base + "/health").json() == {"status": "ok"}


def test_the_committed_openapi_document_matches_the_app(tmp_path: Path) -> None:
    import json

    from conftest import fast_kdf
    from vault import Passphrase

    committed = Path(__file__).resolve().parent.parent / "openapi.json"
    with Vault.create(tmp_path / "v", Passphrase("x"), kdf=fast_kdf()) as v:
        spec = create_app(v, export_dir=tmp_path).openapi()
    assert json.loads(committed.read_text()) == json.loads(json.dumps(spec, sort_keys=True)), (
        "openapi.json drifted: regenerate it from vault.api.create_app"
    )
