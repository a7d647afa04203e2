"""Alembic migrations: they build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import vault.store
from conftest import SAMPLES, Backend, sample_records
from vault import StorageError
from vault.store import (
    DB_FILENAME,
    PAGE_SIZE,
    Base,
    connect,
    head_revision,
    migrate,
    schema_revision,
    sqlite_url,
)


def _url(backend: Backend) -> str:
    if backend.db_url:
        return backend.db_url
    backend.folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(backend.folder)


def test_upgrade_matches_the_models(backend: Backend) -> None:
    engine = connect(_url(backend))
    migrate(engine)
    assert schema_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_downgrade_to_base_and_up_again(backend: Backend) -> None:
    engine = connect(_url(backend))
    migrate(engine)
    migrate(engine, "base")
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate(engine)
    assert {"records", "record_versions", "subjects", "custodians"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_open_refuses_an_unknown_schema_revision(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
    engine = connect(_url(backend))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    engine.dispose()
    # An unknown revision is refused rather than guessed at.
    with pytest.raises(StorageError, match="newer Evidence Vault"):
        backend.open()
    engine = connect(_url(backend))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head_revision()}'")
    engine.dispose()
    with backend.open() as v:
        assert v.get("T-0001", identity=True) == sample_records()[4]


def test_a_0001_vault_upgrades_to_head_on_open(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
    engine = connect(_url(backend))
    migrate(engine, "0001")
    assert "recipients" not in inspect(engine).get_table_names()
    engine.dispose()
    # Opening upgrades the schema in place; the records are untouched.
    with backend.open() as v:
        assert v.get("T-0001", identity=True) == sample_records()[4]
        assert v.recipients() == []
        # The blind index moved with its rows (0009 rebuilds it).
        assert [s.id for s in v.find(employee_id="EMP-55001")] == ["T-0001"]
    engine = connect(_url(backend))
    assert schema_revision(engine) == head_revision()
    assert head_revision() > "0001"
    engine.dispose()


def _blind_index_layout(engine: Engine) -> tuple[list[str], bool]:
    """The blind index's key columns in order, and whether it has rows ids (SQLite)."""
    key = inspect(engine).get_pk_constraint("blind_index")["constrained_columns"]
    if engine.dialect.name != "sqlite":
        return key, False
    with engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'blind_index'"
        ).scalar_one()
    return key, "WITHOUT ROWID" not in sql.upper()


def test_the_blind_index_is_keyed_by_look_ups_new_or_migrated(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
    engine = connect(_url(backend))
    assert _blind_index_layout(engine) == (["kind", "mac", "record_ref"], False)
    with engine.connect() as conn:
        held = conn.exec_driver_sql("SELECT COUNT(*) FROM blind_index").scalar_one()
    migrate(engine, "0008")
    assert _blind_index_layout(engine) == (
        ["record_ref", "kind", "mac"],
        engine.dialect.name == "sqlite",
    )
    migrate(engine)
    assert _blind_index_layout(engine) == (["kind", "mac", "record_ref"], False)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM blind_index").scalar_one() == held
    engine.dispose()
    with backend.open() as v:
        assert [s.id for s in v.find(employee_id="EMP-55001")] == ["T-0001"]


def test_head_revision_is_alembics_head() -> None:
    # head_revision() reads the revision files' numbers so that an open needs no
    # Alembic; Alembic's own script directory must agree with it.
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(vault.store.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == head_revision()


def test_a_new_vault_is_the_migrated_schema_and_migrates_as_one(backend: Backend) -> None:
    # A new vault is built from the models and stamped, not by replaying migrations:
    # it must be the schema the migrations build, and Alembic must take it as its own.
    with backend.create() as v:
        v.import_file(SAMPLES)
    engine = connect(_url(backend))
    assert schema_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    migrate(engine, "0001")
    assert "recipients" not in inspect(engine).get_table_names()
    engine.dispose()
    with backend.open() as v:
        assert v.get("T-0001", identity=True) == sample_records()[4]


def test_a_new_vault_is_not_built_over_tables_already_there(backend: Backend) -> None:
    if backend.db_url is None:
        pytest.skip("a vault folder holds its own database file: only a server's is shared")
    engine = connect(backend.db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE records (x INTEGER)")
    engine.dispose()
    with pytest.raises(StorageError, match="cannot create the vault"):
        backend.create()
    engine = connect(backend.db_url)
    assert inspect(engine).get_table_names() == ["records"]  # nothing half-made
    engine.dispose()


def test_a_new_vault_has_large_pages_and_an_older_one_keeps_its_own(
    sqlite_backend: Backend,
) -> None:
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
    db = sqlite_backend.folder / DB_FILENAME

    def page_size() -> int:
        with closing(sqlite3.connect(db)) as conn:
            return int(conn.execute("PRAGMA page_size").fetchone()[0])

    assert page_size() == PAGE_SIZE
    # A vault made before, with SQLite's default pages, opens and writes as it did.
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA page_size=4096")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")
    assert page_size() == 4096
    with sqlite_backend.open() as v:
        assert v.get("T-0001", identity=True) == sample_records()[4]
        assert v.erase_subject(testimony_id="T-0001") == 1
    assert page_size() == 4096
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
