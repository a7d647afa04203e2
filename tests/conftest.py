"""Shared fixtures: fast Argon2id parameters for tests, and a vault on every backend.

The ``backend`` fixture runs store tests on SQLite always, and on PostgreSQL too
when ``EVAULT_TEST_DATABASE_URL`` is set (each test gets a schema of its own).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from vault import KdfParams, Passphrase, Vault

PASSPHRASE = "correct horse battery staple"


def passphrase_of(name: str) -> str:
    """Custodian ``name``'s passphrase in tests: above the vault's strength floor, as
    every new passphrase must be (``"NAME passphrase"`` is not)."""
    return f"{name}: {PASSPHRASE}"


# Audit witnesses go to a folder of the test run, never the user's own state folder
# (subprocesses inherit it); each test gets one of its own (``_own_state_folder``).
os.environ.setdefault("EVAULT_STATE_DIR", tempfile.mkdtemp(prefix="evault-state-"))
SAMPLES = Path(__file__).resolve().parent.parent / "vault" / "samples" / "evidence.jsonl"
PG_URL = os.environ.get("EVAULT_TEST_DATABASE_URL")


def require_tool(name: str, install: str = "") -> str:
    """The path of an external tool a test needs (``age``, ``chromium`` ...).

    Where it is missing the test is skipped and says which tool (and ``install``, how
    to get it), so the README's test command passes on a fresh machine; under CI
    (``CI`` set), where ``.ci/run`` installs every tool, a missing one fails the test
    instead of hiding it.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"the {name} tool is missing: .ci/run installs it")
        how = f" ({install})" if install else ""
        pytest.skip(f"the {name} command-line tool is not installed{how}")
    return path


def served_url(said: str) -> str:
    """The base URL in `evault serve`'s first line. Tests start it with ``--port 0``:
    it binds a free port itself and says which, so no other test's server can take
    a port between a test choosing it and the server binding it."""
    found = re.search(r"serving the HTTP API on (https?://\S+) \(", said)
    assert found, said
    return found[1]


def fast_kdf() -> KdfParams:
    # Test-only: real vaults use the RFC 9106 defaults (64 MiB, t=3, p=4).
    return KdfParams(memory_kib=1024, time_cost=1, parallelism=1)


def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]


@dataclass
class Backend:
    name: str
    folder: Path
    db_url: str | None

    def create(self, **kw: Any) -> Vault:
        kw.setdefault("kdf", fast_kdf())
        # Most tests read whole records; approvals have tests of their own.
        kw.setdefault("identity_approvals", 0)
        return Vault.create(self.folder, Passphrase(PASSPHRASE), db_url=self.db_url, **kw)

    def open(self, passphrase: str = PASSPHRASE, **kw: Any) -> Vault:
        return Vault.open(self.folder, Passphrase(passphrase), db_url=self.db_url, **kw)

    def cli_args(self) -> list[str]:
        args = ["--vault", str(self.folder)]
        if self.db_url:
            args += ["--db-url", self.db_url]
        return args


def _backends() -> list[object]:
    params: list[object] = ["sqlite"]
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


@pytest.fixture(autouse=True)
def _own_state_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A state folder per test, so that tests running side by side (``-n``) never see
    each other's audit witnesses; and the locale pinned."""
    monkeypatch.setenv("EVAULT_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    # The command line speaks the locale's language: tests read its English, whatever
    # the machine's locale (tests of the other languages set their own).
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", tmp_path / "vault", None)
        return
    assert PG_URL
    schema = "evt_" + secrets.token_hex(6)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield Backend(
            "postgres", tmp_path / "vault", f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        )
    finally:
        try:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        finally:
            admin.dispose()


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", tmp_path / "vault", None)


@pytest.fixture
def vault(backend: Backend) -> Iterator[Vault]:
    with backend.create() as v:
        yield v


@pytest.fixture
def loaded(backend: Backend) -> Iterator[Vault]:
    with backend.create() as v:
        v.import_file(SAMPLES)
        yield v
