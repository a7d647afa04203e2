"""Tampering with stored rows is detected as an integrity failure; no wrong plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from conftest import SAMPLES, Backend
from vault import AuthenticationError, IntegrityError
from vault.crypto import HEADER_SIZE
from vault.store import sqlite_url

BLOB_COLUMNS = [
    "identity_data",
    "special_key",
    "special_data",
    "narrative_key",
    "narrative_data",
    "operational_key",
    "operational_data",
]
# Offsets into a sealed blob: format byte, key version, nonce, ciphertext body, tag.
POSITIONS = {"header": 2, "key-version": 7, "nonce": 10, "body": HEADER_SIZE + 1, "tag": -1}


@pytest.fixture
def sample_vault(backend: Backend) -> Iterator[tuple[Backend, Engine]]:
    with backend.create() as v:
        v.import_file(SAMPLES)
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    yield backend, engine
    engine.dispose()


def _ref(backend: Backend, record_id: str) -> str:
    with backend.open() as v:
        return v._ctx.codec.reference(record_id)


def _get(engine: Engine, sql: str, **params: object) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _set(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _flip(blob: bytes, pos: int) -> bytes:
    b = bytearray(blob)
    b[pos] ^= 0x01
    return bytes(b)


def _assert_detected(backend: Backend, record_id: str) -> None:
    with backend.open() as v, pytest.raises(IntegrityError) as err:
        v.get(record_id, identity=True)
    assert "integrity check failed" in str(err.value)


@pytest.mark.parametrize("column", BLOB_COLUMNS)
@pytest.mark.parametrize("position", list(POSITIONS))
def test_bit_flip_in_any_sealed_column_is_detected(
    sample_vault: tuple[Backend, Engine], column: str, position: str
) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "T-0001")
    blob = _get(engine, f"SELECT {column} FROM record_versions WHERE record_ref = :r", r=ref)
    _set(
        engine,
        f"UPDATE record_versions SET {column} = :b WHERE record_ref = :r",
        b=_flip(blob, POSITIONS[position]),
        r=ref,
    )
    _assert_detected(backend, "T-0001")


@pytest.mark.parametrize("position", list(POSITIONS))
def test_bit_flip_in_wrapped_subject_key_is_detected(
    sample_vault: tuple[Backend, Engine], position: str
) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "T-0002")
    sid = _get(engine, "SELECT subject_id FROM records WHERE ref = :r", r=ref)
    blob = _get(engine, "SELECT wrapped_key FROM subjects WHERE id = :s", s=sid)
    _set(
        engine,
        "UPDATE subjects SET wrapped_key = :b WHERE id = :s",
        b=_flip(blob, POSITIONS[position]),
        s=sid,
    )
    _assert_detected(backend, "T-0002")


def test_flipped_keyring_is_refused(sample_vault: tuple[Backend, Engine]) -> None:
    backend, engine = sample_vault
    blob = _get(engine, "SELECT keyring FROM custodians WHERE name = 'admin'")
    _set(engine, "UPDATE custodians SET keyring = :b WHERE name = 'admin'", b=_flip(blob, -3))
    with pytest.raises(AuthenticationError):
        backend.open()


@pytest.mark.parametrize("column", ["narrative", "operational", "special"])
def test_swapping_a_class_between_records_is_detected(
    sample_vault: tuple[Backend, Engine], column: str
) -> None:
    backend, engine = sample_vault
    a, b = _ref(backend, "T-0001"), _ref(backend, "T-0003")
    # Move both the wrapped key and the data, as an insider copying a row would.
    for part in ("key", "data"):
        blob = _get(
            engine, f"SELECT {column}_{part} FROM record_versions WHERE record_ref = :r", r=b
        )
        _set(
            engine,
            f"UPDATE record_versions SET {column}_{part} = :v WHERE record_ref = :r",
            v=blob,
            r=a,
        )
    _assert_detected(backend, "T-0001")


def test_swapping_identity_between_records_is_detected(
    sample_vault: tuple[Backend, Engine],
) -> None:
    backend, engine = sample_vault
    a, b = _ref(backend, "T-0001"), _ref(backend, "T-0002")
    blob = _get(engine, "SELECT identity_data FROM record_versions WHERE record_ref = :r", r=b)
    _set(engine, "UPDATE record_versions SET identity_data = :v WHERE record_ref = :r", v=blob, r=a)
    _assert_detected(backend, "T-0001")
    # Pointing the record at the other worker's subject key does not help either.
    sid = _get(engine, "SELECT subject_id FROM records WHERE ref = :r", r=b)
    _set(engine, "UPDATE records SET subject_id = :s WHERE ref = :r", s=sid, r=a)
    _assert_detected(backend, "T-0001")


def test_swapping_two_fields_of_one_record_is_detected(
    sample_vault: tuple[Backend, Engine],
) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "T-0001")
    _set(
        engine,
        "UPDATE record_versions SET special_key = narrative_key, special_data = narrative_data,"
        " narrative_key = special_key, narrative_data = special_data WHERE record_ref = :r",
        r=ref,
    )
    _assert_detected(backend, "T-0001")


def test_rolling_back_to_an_older_ciphertext_is_detected(
    sample_vault: tuple[Backend, Engine],
) -> None:
    backend, engine = sample_vault
    with backend.open() as v:
        rec = v.get("T-0001", identity=True)
        v.update("T-0001", {**rec, "narrative": "second version"})
        v.update(
            "T-0003",
            {**v.get("T-0003", identity=True), "narrative": "other record, second version"},
        )
    ref, other = _ref(backend, "T-0001"), _ref(backend, "T-0003")
    # Version 1's blobs copied into version 2's row.
    for col in ("narrative_key", "narrative_data"):
        old = _get(
            engine,
            f"SELECT {col} FROM record_versions WHERE record_ref = :r AND version = 1",
            r=ref,
        )
        _set(
            engine,
            f"UPDATE record_versions SET {col} = :b WHERE record_ref = :r AND version = 2",
            b=old,
            r=ref,
        )
    _assert_detected(backend, "T-0001")
    # Another row's older ciphertext into this row.
    for col in ("operational_key", "operational_data"):
        old = _get(
            engine,
            f"SELECT {col} FROM record_versions WHERE record_ref = :r AND version = 1",
            r=other,
        )
        _set(
            engine,
            f"UPDATE record_versions SET {col} = :b WHERE record_ref = :r AND version = 2",
            b=old,
            r=ref,
        )
    _assert_detected(backend, "T-0001")
    # The earlier, untouched version still reads correctly.
    with backend.open() as v:
        assert v.get("T-0001", version=1, identity=True) == rec


def test_renumbering_a_version_is_detected(sample_vault: tuple[Backend, Engine]) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "F-0001")
    _set(engine, "UPDATE record_versions SET version = 5 WHERE record_ref = :r", r=ref)
    _assert_detected(backend, "F-0001")


def test_changing_the_record_type_is_detected(sample_vault: tuple[Backend, Engine]) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "F-0001")
    _set(engine, "UPDATE records SET type = 'site' WHERE ref = :r", r=ref)
    _assert_detected(backend, "F-0001")


@pytest.mark.parametrize("column", ["narrative_data", "identity_data", "special_data"])
def test_dropping_a_sealed_class_is_detected(
    sample_vault: tuple[Backend, Engine], column: str
) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "T-0001")
    _set(engine, f"UPDATE record_versions SET {column} = NULL WHERE record_ref = :r", r=ref)
    _assert_detected(backend, "T-0001")


def test_swapped_record_reference_is_detected_in_list(sample_vault: tuple[Backend, Engine]) -> None:
    backend, engine = sample_vault
    ref = _ref(backend, "SITE-001")
    blob = _get(engine, "SELECT operational_data FROM record_versions WHERE record_ref = :r", r=ref)
    _set(
        engine,
        "UPDATE record_versions SET operational_data = :b WHERE record_ref = :r",
        b=_flip(blob, -5),
        r=ref,
    )
    with backend.open() as v, pytest.raises(IntegrityError):
        list(v.list())


def test_a_vault_id_change_breaks_every_key(sample_vault: tuple[Backend, Engine]) -> None:
    backend, engine = sample_vault
    _set(
        engine, "UPDATE meta SET value = 'ffffffffffffffffffffffffffffffff' WHERE key = 'vault_id'"
    )
    with pytest.raises(AuthenticationError):
        backend.open()


def test_a_role_this_version_does_not_know_is_refused(
    sample_vault: tuple[Backend, Engine],
) -> None:
    backend, engine = sample_vault
    with backend.open() as v:
        token, _row = v.create_token("intake", role="custodian", classes=["narrative"])
    _set(engine, "UPDATE api_tokens SET role = 'superuser' WHERE name = 'intake'")
    with (
        backend.open() as v,
        pytest.raises(IntegrityError, match="integrity check failed for token"),
    ):
        v.for_token(token)
    # A custodian row reads like any altered key record: exit 3, as for a wrong passphrase.
    _set(engine, "UPDATE custodians SET role = 'superuser' WHERE name = 'admin'")
    with pytest.raises(AuthenticationError, match="key record was altered"):
        backend.open(custodian="admin")
