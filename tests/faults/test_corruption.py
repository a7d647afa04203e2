"""Corrupt data at rest: a flipped byte in a sealed column of each table, and a page of
each table and index of the SQLite file overwritten with garbage.

What must hold: a command that needs the damaged value fails with one line, exit 4
(integrity) or 14 (damaged file), never a traceback, a driver name or wrong
plaintext; the commands that do not need it keep working (another record, the list);
a failed extract or export leaves no file behind.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faultkit import (
    FULL,
    Case,
    Run,
    backends,
    child_env,
    evault,
    log,
    one_line,
    pg_backend,
    scratch,
)
from sqlalchemy import create_engine, text

from conftest import Backend
from vault import VaultError
from vault.store import sqlite_url

# A command, as (name, arguments after the vault options); names read in reports.
Probe = tuple[str, tuple[str, ...]]


@dataclass
class World:
    case: Case
    attachment: str
    session: str
    token: str

    def probes(self) -> dict[str, tuple[str, ...]]:
        return {
            "list": ("list", "--json"),
            "show T-0001": ("show", "T-0001", "--json"),
            "show T-0001 --identity": ("show", "T-0001", "--identity", "--json"),
            "show T-0002": ("show", "T-0002", "--json"),
            "attachments T-0002": ("attachments", "T-0002", "--json"),
            "extract": ("extract", self.attachment, "--out", str(self.case.dest / "copy.bin")),
            "verify-attachment": ("verify-attachment", self.attachment),
            "export": (
                "export",
                "--policy",
                "union",
                "--recipient",
                "ituc",
                "--out",
                str(self.case.dest / "union.age"),
            ),
            "audit verify": ("audit", "verify"),
            "identity list": ("identity", "list", "--json"),
            "session list": ("list", "--json"),
        }

    def run(self, name: str) -> Run:
        if name == "token use":
            # What the HTTP API does with a bearer token, as one line would say it.
            try:
                with self.case.open() as v:
                    v.for_token(self.token).close()
            except VaultError as exc:
                return Run(exc.exit_code, "", f"evault: error: {exc}\n")
            return Run(0, "", "")
        args = self.probes()[name]
        env = child_env(self.case.tmp)
        if name.startswith("session"):
            env["EVAULT_SESSION"] = self.session
            del env["EVAULT_PASSPHRASE"]
        return evault(self.case.argv(*args), self.case.tmp, env=env)


# The files probes write.
_OUTPUTS = {"extract": "copy.bin", "export": "union.age"}
# Outputs that must be the same before and after the damage when a command succeeds.
_EXACT = ("list", "show T-0001", "show T-0001 --identity", "show T-0002", "attachments T-0002")


@contextlib.contextmanager
def damaged_world(root: Path, backend: str) -> Iterator[World]:
    """A vault with the samples, an evidence file, a token, an unlock session and an
    identity request: a row in every table that holds a sealed value."""
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(scratch(root))
        if backend == "sqlite":
            be = Backend("sqlite", root / "vault", None)
        else:
            be = stack.enter_context(pg_backend(root / "vault"))
        case = Case(root, be)
        case.create()
        evidence = case.inputs / "evidence.bin"
        evidence.write_bytes(random.Random(3).randbytes(300_000))  # noqa: S311 - test bytes
        with case.open() as v:
            info = v.attach("T-0002", evidence, description="dormitory")
            token, _ = v.create_token("tool", role="custodian", classes=["narrative"])
            session, _ = v.unlock()
            v.request_identity("T-0002", "follow-up interview agreed with the union")
        yield World(case, info.id, session, token)


def _ref(world: World, record_id: str) -> str:
    with world.case.open() as v:
        return v._ctx.codec.reference(record_id)


def _check(world: World, pristine: dict[str, Run], name: str, run: Run, codes: set[int]) -> str:
    """A probe's run after the damage: what ``codes`` allow (0: the same output as
    before the damage), always one line when it fails; returns a word for the table."""
    if run.status == 0:
        assert 0 in codes, f"{name} succeeded on damaged data"
        if name in _EXACT:
            assert run.stdout == pristine[name].stdout, f"{name}: different output"
        return "ok"
    one_line(run, *(codes - {0}))
    left = [p.name for p in world.case.dest.iterdir()]
    assert _OUTPUTS.get(name) not in left, f"{name} failed, yet wrote its file"
    assert not [n for n in left if n.startswith(".evault-")], f"{name} left {left}"
    return f"exit {run.status}"


# Byte flips in sealed columns ----------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    """A byte flipped in ``column`` of the ``table`` row that ``where`` picks; which
    probes must fail (exit 4, or 3 where the damage reads as a wrong passphrase) and
    which must keep working."""

    table: str
    column: str
    where: str
    fail: tuple[str, ...]
    work: tuple[str, ...]
    codes: frozenset[int] = frozenset({4})
    known: str = ""

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


_T1 = "record_ref = :t1 AND version = 1"
_OTHERS = ("list", "show T-0002")
FLIPS = [
    # The list goes on past the damaged record and names it at the end (exit 4).
    Flip("record_versions", "operational_data", _T1, ("show T-0001", "list"), ("show T-0002",)),
    Flip("record_versions", "operational_key", _T1, ("show T-0001", "list"), ("show T-0002",)),
    Flip("record_versions", "narrative_data", _T1, ("show T-0001",), _OTHERS),
    Flip("record_versions", "narrative_key", _T1, ("show T-0001",), _OTHERS),
    Flip("record_versions", "special_data", _T1, ("show T-0001",), _OTHERS),
    Flip("record_versions", "identity_data", _T1, ("show T-0001 --identity",), _OTHERS),
    Flip(
        "subjects",
        "wrapped_key",
        "id = (SELECT subject_id FROM records WHERE ref = :t1)",
        ("show T-0001 --identity",),
        (*_OTHERS, "show T-0001"),
    ),
    Flip(
        "attachments",
        "sealed_meta",
        "id = :file",
        ("attachments T-0002", "extract", "verify-attachment"),
        _OTHERS,
    ),
    Flip(
        "attachments",
        "wrapped_key",
        "id = :file",
        ("attachments T-0002", "extract", "verify-attachment"),
        _OTHERS,
    ),
    Flip(
        "attachment_chunks",
        "data",
        "attachment_id = :file AND idx = 2",
        ("extract", "verify-attachment"),
        (*_OTHERS, "attachments T-0002"),
    ),
    # Signed settings are checked at every open: the vault fails closed.
    Flip("meta", "value", "key = 'signing_key'", ("export", "list"), ()),
    Flip("meta", "sig", "key = 'identity_approvals'", ("list",), ()),
    Flip("audit_log", "details", "seq = 3", ("audit verify",), _OTHERS),
    Flip("audit_log", "mac", "seq = (SELECT MAX(seq) FROM audit_log)", ("audit verify",), ()),
    Flip("recipients", "sig", "name = 'ituc'", ("export",), _OTHERS),
    Flip("api_tokens", "sig", "name = 'tool'", ("token use",), _OTHERS),
    # A damaged session reads like a wrong or expired session token.
    Flip("sessions", "keyring", "1 = 1", ("session list",), _OTHERS, frozenset({3, 4})),
    Flip("identity_requests", "reason", "1 = 1", ("identity list",), _OTHERS),
    # A damaged keyring cannot be told from a wrong passphrase (the AEAD fails alike).
    Flip(
        "custodians", "keyring", "name = 'admin'", ("list",), ("session list",), frozenset({3, 4})
    ),
]
DEFAULT_FLIPS = ("record_versions.narrative_data", "attachment_chunks.data")


def _flip_params() -> list[object]:
    out: list[object] = []
    for backend in backends():
        for flip in FLIPS:
            if not FULL and str(flip) not in DEFAULT_FLIPS:
                continue
            marks = list(getattr(backend, "marks", ()))
            if flip.known:
                marks.append(
                    pytest.mark.xfail(strict=True, raises=AssertionError, reason=flip.known)
                )
            name = _name(backend)
            out.append(pytest.param(flip, name, id=f"{flip}-{name}", marks=marks))
    return out


def _name(backend: object) -> str:
    return backend if isinstance(backend, str) else str(backend.values[0])  # type: ignore[attr-defined]


def _flip_byte(world: World, flip: Flip) -> None:
    be = world.case.backend
    engine = create_engine(be.db_url or sqlite_url(be.folder))
    params = {"t1": _ref(world, "T-0001"), "file": world.attachment}
    select = f"SELECT {flip.column} FROM {flip.table} WHERE {flip.where}"
    update = f"UPDATE {flip.table} SET {flip.column} = :value WHERE {flip.where}"
    try:
        with engine.begin() as conn:
            value = conn.execute(text(select), params).scalar_one()
            data = bytearray(value.encode() if isinstance(value, str) else value)
            data[len(data) // 2] ^= 0x01
            new: bytes | str = bytes(data) if isinstance(value, bytes) else data.decode()
            assert conn.execute(text(update), {**params, "value": new}).rowcount == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(("flip", "backend"), _flip_params())
def test_a_flipped_byte(flip: Flip, backend: str, tmp_path: Path) -> None:
    with damaged_world(tmp_path, backend) as world:
        names = set(flip.fail) | set(flip.work)
        pristine = {name: world.run(name) for name in names}
        for name, run in pristine.items():
            assert run.status == 0, (name, run.stderr)
        for out in world.case.dest.iterdir():
            out.unlink()
        _flip_byte(world, flip)
        seen = []
        for name in flip.fail:
            seen.append(_check(world, pristine, name, world.run(name), set(flip.codes)))
        for name in flip.work:
            run = world.run(name)
            assert run.status == 0, f"{name} needs nothing damaged, yet: {run.stderr}"
            _check(world, pristine, name, run, {0})
    log("byte flip", str(flip), backend, ", ".join(sorted(set(seen))))


# Pages of the SQLite file --------------------------------------------------------------


def _pages(db: Path) -> dict[str, int]:
    """The first page of each table and index, from SQLite's dbstat."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT name, MIN(pageno) FROM dbstat WHERE name != 'sqlite_schema' GROUP BY name"
        ).fetchall()
    return {str(name): int(page) for name, page in rows}


def _page_targets() -> list[str]:
    # The names are those of the current schema; the test finds their pages itself.
    names = [
        "alembic_version",
        "api_tokens",
        "attachment_chunks",
        "attachments",
        "audit_log",
        "blind_index",
        "custodians",
        "exports",
        "identity_decisions",
        "identity_requests",
        "meta",
        "recipients",
        "record_links",
        "record_versions",
        "records",
        "sessions",
        "subjects",
        "ix_records_site_ref",
        "ix_blind_index_kind_mac",
        "sqlite_autoindex_records_1",
        "sqlite_autoindex_record_versions_1",
    ]
    return names if FULL else ["record_versions", "audit_log"]


PROBES = (
    "list",
    "show T-0001",
    "show T-0002",
    "attachments T-0002",
    "extract",
    "export",
    "audit verify",
)


@pytest.mark.parametrize("table", _page_targets())
def test_a_damaged_page(table: str, tmp_path: Path) -> None:
    with damaged_world(tmp_path, "sqlite") as world:
        pristine = {name: world.run(name) for name in PROBES}
        for name, run in pristine.items():
            assert run.status == 0, (name, run.stderr)
        for out in world.case.dest.iterdir():
            out.unlink()
        db = world.case.folder / "vault.db"
        page = _pages(db)[table]
        size = 4096
        with contextlib.closing(sqlite3.connect(db)) as conn:
            size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        with db.open("r+b") as fh:
            fh.seek((page - 1) * size)
            fh.write(random.Random(table).randbytes(size))  # noqa: S311 - reproducible garbage
        seen = {}
        for name in PROBES:
            seen[name] = _check(world, pristine, name, world.run(name), {0, 4, 14})
    failed = sorted(f"{n}: {w}" for n, w in seen.items() if w != "ok")
    log("damaged page", table, "sqlite", "; ".join(failed) or "nothing needed it")
