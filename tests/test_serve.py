"""`evault serve` as a deployment runs it: its own process, unlocked once, over TLS."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from exporting import new_identity

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records, served_url
from vault.policy import shipped_policies

# What each server said first (where it listens), by process id.
_SAID: dict[int, str] = {}


@contextlib.contextmanager
def _serve(
    backend: Backend, *args: str, scheme: str = "http", verify: ssl.SSLContext | bool = False
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    # --port 0: the server binds a free port itself and says which; a port chosen
    # here could be taken by another test's server before it binds.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", *backend.cli_args(), "serve", "--port", "0", *args],
        env={**os.environ, "EVAULT_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    said = proc.stdout.readline()
    _SAID[proc.pid] = said
    base = served_url(said) if said else f"{scheme}://127.0.0.1:1"
    try:
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                httpx.get(base + "/health", verify=verify, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=30)


def test_evault_serve_unlocks_once_and_logs_nothing_sensitive(
    backend: Backend, tmp_path: Path
) -> None:
    # A policy of the vault folder's own, found by name as 'export --policy' finds it.
    (backend.folder / "policies").mkdir(parents=True)
    ours = shipped_policies()["public"].replace("policy: public", "policy: ours")
    (backend.folder / "policies" / "ours.yaml").write_text(ours, encoding="utf-8")
    with backend.create() as v:
        v.import_file(SAMPLES)
        token, _ = v.create_token("tool", role="custodian", classes=["identity", "narrative"])
        v.add_recipient("partner", new_identity(tmp_path)[2])
    grant = ["--role", "exporter", "--policies", "ours", "--name", "exports"]
    created = subprocess.run(
        [sys.executable, "-m", "vault", *backend.cli_args(), "token", "create", *grant],
        env={**os.environ, "EVAULT_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        check=True,
    )
    exporter = {"Authorization": f"Bearer {created.stdout.strip()}"}
    testimony = sample_records()[4]
    with _serve(backend) as (base, proc):
        said = _SAID.pop(proc.pid)
        # One line: where it listens, and where export files wait (a private folder
        # it made, since no --export-dir was given).
        prefix = f"evault: serving the HTTP API on {base} (export files wait in "
        assert said.startswith(prefix), said
        assert said.endswith(")\n"), said
        folder = Path(said[len(prefix) : -2])
        assert folder.name.startswith("evault-exports-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            r = c.get(f"/records/{testimony['id']}")
            assert r.status_code == 200, r.text
            assert r.json()["narrative"] == testimony["narrative"]
            r = c.post("/find", json={"employee_id": testimony["worker"]["employee_id"]})
            assert [x["id"] for x in r.json()] == ["T-0001"]
            assert c.get("/records/NO-SUCH").status_code == 404
            assert "server" not in {k.lower() for k in r.headers}
            body = {"policy": "ours", "recipient": "partner"}
            r = c.post("/exports", json=body, headers=exporter)
            assert r.status_code == 202, r.text
            job = r.headers["location"]
            for _ in range(1200):
                state = c.get(job, headers=exporter).json()
                if state["state"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            assert state["state"] == "done", state
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert not folder.exists()  # removed when the server stopped
    logged = said + out + err
    for secret in (
        token,
        testimony["id"],
        testimony["narrative"][:20],
        testimony["worker"]["employee_id"],
        "NO-SUCH",
    ):
        assert secret not in logged, logged


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_forwarded_headers_do_not_evade_the_failure_throttle(tmp_path: Path) -> None:
    backend = Backend("sqlite", tmp_path / "vault", None)
    backend.create().close()
    with _serve(backend) as (base, _proc), httpx.Client(base_url=base, timeout=10) as c:
        codes = [
            c.get(
                "/records",
                headers={"Authorization": "Bearer evt1_wrong", "X-Forwarded-For": f"192.0.2.{i}"},
            ).status_code
            for i in range(12)
        ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


def test_evault_serve_over_tls(tmp_path: Path) -> None:
    backend = Backend("sqlite", tmp_path / "vault", None)
    with backend.create() as v:
        v.import_file(SAMPLES)
        token, _ = v.create_token("tool", role="auditor")
    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    tls = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    exports = tmp_path / "exports"
    with _serve(backend, *tls, "--export-dir", str(exports), scheme="https", verify=trust) as (
        base,
        proc,
    ):
        said = _SAID.pop(proc.pid)
        assert said == f"evault: serving the HTTP API on {base} (export files wait in {exports})\n"
        assert stat.S_IMODE(exports.stat().st_mode) == 0o700
        headers = {"Authorization": f"Bearer {token}"}
        r = httpx.get(base + "/audit/verify", headers=headers, verify=trust)
        assert r.status_code == 200
        assert r.json()["valid"] is True
        with pytest.raises(httpx.TransportError):
            # Not trusted without the certificate; plain HTTP gets no answer.
            httpx.get(base + "/health", verify=True)
        with pytest.raises(httpx.TransportError):
            httpx.get(base.replace("https", "http") + "/health", timeout=2)


def test_evault_serve_refuses_half_a_tls_setup(tmp_path: Path) -> None:
    backend = Backend("sqlite", tmp_path / "vault", None)
    backend.create().close()
    cert, _key = _self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "vault", *backend.cli_args(), "serve", "--ssl-certfile", str(cert)],
        env={**os.environ, "EVAULT_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--ssl-keyfile" in done.stderr
    assert "Traceback" not in done.stderr


def test_evault_serve_says_in_one_line_that_it_cannot_listen(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from vault.cli import cli

    backend = Backend("sqlite", tmp_path / "vault", None)
    backend.create().close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(
            cli,
            [*backend.cli_args(), "serve", "--port", str(port)],
            env={"EVAULT_PASSPHRASE": PASSPHRASE},
        )
    assert r.exit_code == 2, r.output
    assert r.output == (
        f"evault: error: cannot listen on 127.0.0.1 port {port}: Address already in use\n"
    )
