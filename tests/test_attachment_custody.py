"""Evidence files under attack by someone who can write the database: rotation and
retirement cover file keys, the audit log holds keyed digests only, and a file moved
to another record is refused."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from exporting import new_identity
from sqlalchemy import Engine, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import IntegrityError, PermissionDeniedError, UsageError, attachments
from vault.cli import cli
from vault.crypto import STREAM_CHUNK, blob_key_version
from vault.errors import TamperedRowError
from vault.keys import Grant
from vault.policy import find_policy
from vault.store import sqlite_url


def _engine(backend: Backend) -> Engine:
    return create_engine(backend.db_url or sqlite_url(backend.folder))


def _file(tmp_path: Path, name: str, size: int = 2 * STREAM_CHUNK + 9) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def _row(engine: Engine, attachment_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT kek_version, wrapped_key, sealed_meta FROM attachments WHERE id = :a"),
            {"a": attachment_id},
        ).one()
    return dict(row._mapping)


def _put_back(engine: Engine, attachment_id: str, row: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE attachments SET kek_version = :kek_version, wrapped_key = :wrapped_key, "
                "sealed_meta = :sealed_meta WHERE id = :a"
            ),
            {**row, "a": attachment_id},
        )


# Rotation and retirement ------------------------------------------------------------


def test_rotation_rewraps_file_keys_and_retirement_waits_for_them(
    backend: Backend, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, "photo.bin")
    with backend.create() as v:
        v.import_file(SAMPLES)
        infos = [v.attach("T-0001", path), v.attach("T-0002", path), v.attach("T-0003", path)]
        engine = _engine(backend)
        first = _row(engine, infos[0].id)
        report = v.rotate_keys(batch=2)
        assert report.attachments == 3
        assert report.to_dict()["attachments"] == 3
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kek_version, wrapped_key FROM attachments")).all()
        assert {r.kek_version for r in rows} == {2}
        assert {blob_key_version(r.wrapped_key) for r in rows} == {2}
        batches = [e.details for e in v.audit_entries() if e.action == "rotation-batch"]
        assert sum(d.get("attachments", 0) for d in batches) == 3
        # A file key put back on version 1 keeps version 1 from being retired, and
        # the message counts it like any other key.
        _put_back(engine, infos[0].id, first)
        with pytest.raises(UsageError, match="1 keys still use a version below 2"):
            v.retire_keys(2)
        assert v.rotate_keys().attachments == 3
        v.retire_keys(3)
        for info in infos:
            out = tmp_path / f"{info.id}.out"
            v.extract(info.id, out)
            assert out.read_bytes() == data
            assert v.verify_attachment(info.id).sha256 == info.sha256
        v.audit_verify()
    engine.dispose()


def test_reencrypting_rotation_rewraps_file_keys_and_leaves_chunks(
    backend: Backend, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, "audio.bin")
    with backend.create() as v:
        v.import_file(SAMPLES)
        info = v.attach("T-0001", path)
        engine = _engine(backend)
        with engine.connect() as conn:
            chunks = conn.execute(text("SELECT idx, data FROM attachment_chunks")).all()
        assert v.rotate_keys(reencrypt=True).attachments == 1
        with engine.connect() as conn:
            assert conn.execute(text("SELECT idx, data FROM attachment_chunks")).all() == chunks
        assert _row(engine, info.id)["kek_version"] == 2
        v.retire_keys(2)
        out = tmp_path / "out.bin"
        v.extract(info.id, out)
        assert out.read_bytes() == data
    engine.dispose()


def test_a_retired_file_key_cannot_come_back(backend: Backend, tmp_path: Path) -> None:
    path, _data = _file(tmp_path, "photo.bin")
    with backend.create() as v:
        v.import_file(SAMPLES)
        info = v.attach("T-0001", path)
        engine = _engine(backend)
        old = _row(engine, info.id)
        v.rotate_keys()
        v.retire_keys(2)
    # A rollback of the row by someone with the database: the version-1 key still
    # unwraps under the version-1 KEK, which the vault can derive, but is refused.
    _put_back(engine, info.id, old)
    engine.dispose()
    with backend.open() as v:
        with pytest.raises(IntegrityError, match=f"attachment {info.id}"):
            v.extract(info.id, tmp_path / "out.bin")
        with pytest.raises(IntegrityError):
            v.verify_attachment(info.id)
        with pytest.raises(IntegrityError):
            v.attachments("T-0001")
    assert not (tmp_path / "out.bin").exists()


def test_an_interrupted_rotation_of_file_keys_carries_on(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = _file(tmp_path, "photo.bin", 300)
    real = attachments.rewrap_keys
    calls: list[int] = []

    def dies_on_the_second_batch(*args: Any, **kw: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    with backend.create() as v:
        v.import_file(SAMPLES)
        infos = [v.attach(rid, path) for rid in ("T-0001", "T-0002", "T-0003")]
        monkeypatch.setattr(attachments, "rewrap_keys", dies_on_the_second_batch)
        with pytest.raises(KeyboardInterrupt):
            v.rotate_keys(batch=1)
        monkeypatch.setattr(attachments, "rewrap_keys", real)
    engine = _engine(backend)
    with engine.connect() as conn:
        versions = sorted(conn.execute(text("SELECT kek_version FROM attachments")).scalars())
    assert versions == [1, 1, 2]
    with backend.open() as v:
        for info in infos:  # every file opens half-way through
            v.verify_attachment(info.id)
        with pytest.raises(UsageError, match="unfinished"):
            v.retire_keys(2)
        report = v.rotate_keys(batch=1)
        assert (report.target, report.attachments) == (2, 2)
        v.retire_keys(2)
        out = tmp_path / "out.bin"
        v.extract(infos[0].id, out)
        assert out.read_bytes() == data
    engine.dispose()


# Keyed digests in the audit log -------------------------------------------------------


def test_the_audit_log_holds_keyed_digests_not_the_files_hash(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(5000)
    path.write_bytes(data)
    plain = hashlib.sha256(data).hexdigest()
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        first, second = v.attach("T-0001", path), v.attach("T-0002", path)
        v.verify_attachment(first.id)
        assert first.sha256 == plain  # custodians still see the real hash
        logged = [
            e for e in v.audit_entries() if e.action in ("attachment-added", "attachment-verified")
        ]
        assert [e.action for e in logged] == [
            "attachment-added",
            "attachment-added",
            "attachment-verified",
        ]
        # No hash, size or media type in clear: only the keyed digest.
        for entry in logged:
            assert set(entry.details) == {"attachment", "keyed_digest"}
        added, again, verified = (e.details["keyed_digest"] for e in logged)
        assert added == verified == attachments.keyed_digest(v._ctx.keys, first)
        assert again == attachments.keyed_digest(v._ctx.keys, second)
        # The same file attached twice does not show as the same file.
        assert added != again
        # The key is the narrative class's: a role that cannot open files cannot test
        # a candidate file against the log either.
        auditor = v._ctx.keys.restricted(Grant("auditor"))
        with pytest.raises(PermissionDeniedError):
            attachments.keyed_digest(auditor, first)
        stored = b"".join(p.read_bytes() for p in sqlite_backend.folder.iterdir())
    assert plain.encode() not in stored
    assert bytes.fromhex(plain) not in stored


def test_verify_checks_the_file_against_its_intake_entry(backend: Backend, tmp_path: Path) -> None:
    path, _data = _file(tmp_path, "photo.bin", 1000)
    with backend.create() as v:
        v.import_file(SAMPLES)
        info = v.attach("T-0001", path)
        v.verify_attachment(info.id)
    engine = _engine(backend)
    with engine.begin() as conn:
        details = json.dumps({"attachment": info.id, "keyed_digest": "0" * 64})
        conn.execute(
            text("UPDATE audit_log SET details = :d WHERE action = 'attachment-added'"),
            {"d": details},
        )
    with backend.open() as v, pytest.raises(IntegrityError, match="does not match its intake"):
        v.verify_attachment(info.id)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE action = 'attachment-added'"))
    engine.dispose()
    with backend.open() as v, pytest.raises(IntegrityError, match="no intake entry"):
        v.verify_attachment(info.id)


def test_a_file_logged_with_its_plain_hash_still_verifies(backend: Backend, tmp_path: Path) -> None:
    # Entries written before digests were keyed carry the plain SHA-256, size and type.
    path, _data = _file(tmp_path, "photo.bin", 1000)
    with backend.create() as v:
        v.import_file(SAMPLES)
        ctx = v._ctx
        ref = ctx.codec.reference("T-0001")
        with path.open("rb") as stream, ctx.write() as conn:
            info = attachments.store(conn, ctx.keys, 1, ref, "T-0001", stream, path.name, None)
            old = {"attachment": info.id, "sha256": info.sha256, "size": info.size}
            ctx.audit(conn, "attachment-added", refs=[ref], details=old | {"media_type": "x"})
        assert v.verify_attachment(info.id).sha256 == info.sha256
        with path.open("rb") as stream, ctx.write() as conn:
            other = attachments.store(conn, ctx.keys, 1, ref, "T-0001", stream, path.name, None)
            wrong = {"attachment": other.id, "sha256": "0" * 64, "size": other.size}
            ctx.audit(conn, "attachment-added", refs=[ref], details=wrong)
        with pytest.raises(IntegrityError, match="does not match its intake"):
            v.verify_attachment(other.id)


# The link between a file and its record ------------------------------------------------


def test_a_file_moved_to_another_record_is_refused_everywhere(
    backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "Nguyen_Thi_Huong.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(300))
    identity, _key, public = new_identity(tmp_path)
    policy = find_policy("union")
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        # T-0005 withdrew consent; T-0002's consent covers the union.
        info = v.attach("T-0005", path)
        target = v._ctx.codec.reference("T-0002")
    engine = _engine(backend)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE attachments SET record_ref = :r WHERE id = :a"),
            {"r": target, "a": info.id},
        )
    engine.dispose()
    out = tmp_path / "out.pdf"
    with backend.open() as v:
        with pytest.raises(TamperedRowError, match=f"attachment {info.id}"):
            v.attachments("T-0002")
        with pytest.raises(IntegrityError):
            v.extract(info.id, out)
        with pytest.raises(IntegrityError):
            v.verify_attachment(info.id)
        assert v.attachments("T-0005") == []  # it left its record: deleted, in effect
        assert policy.types["testimony"].attachments.any_leave()
        export = tmp_path / "union.age"
        with pytest.raises(IntegrityError):
            v.export(policy, "ituc", export)
        # The failed export closed its record reader and its read transaction (on
        # PostgreSQL its locks would otherwise hold up the fixture's DROP SCHEMA).
        assert v.exports() == []
        # Each refusal is in the log, naming only the table.
        refused = [e.details for e in v.audit_entries() if e.action == "row-refused"]
        assert refused
        assert all(d == {"table": "attachments"} for d in refused)
    assert not out.exists()
    assert not export.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    result = CliRunner().invoke(
        cli,
        [*backend.cli_args(), "extract", info.id, "--out", str(out)],
        env={"EVAULT_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 4, result.output
    assert identity


# Sizes at rest ------------------------------------------------------------------------


def _stored_bytes(engine: Engine, attachment_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT SUM(LENGTH(data)) FROM attachment_chunks WHERE attachment_id = :a"),
                {"a": attachment_id},
            ).scalar_one()
        )


def test_stored_files_do_not_show_their_exact_size(backend: Backend, tmp_path: Path) -> None:
    one, one_data = _file(tmp_path, "one.bin", 1_000_000)
    other, other_data = _file(tmp_path, "other.bin", 1_010_000)
    with backend.create() as v:
        v.import_file(SAMPLES)
        first, second = v.attach("T-0001", one), v.attach("T-0002", other)
        engine = _engine(backend)
        # Both are padded to the same size class (Padmé: at most 12 % more bytes).
        assert _stored_bytes(engine, first.id) == _stored_bytes(engine, second.id)
        assert _stored_bytes(engine, first.id) < 1_010_000 * 1.12
        for info, data in ((first, one_data), (second, other_data)):
            assert info.size == len(data)
            out = tmp_path / f"{info.id}.out"
            v.extract(info.id, out)
            assert out.read_bytes() == data
            v.verify_attachment(info.id)
        engine.dispose()


def _plaintext(v: Any, attachment_id: str) -> list[bytes]:
    with v._ctx.read() as conn:
        return list(attachments.iter_plaintext(conn, v._ctx.keys, attachment_id))


@pytest.mark.parametrize("size", [0, 1, 1000, STREAM_CHUNK + 1, 3 * STREAM_CHUNK + 17])
def test_padding_is_zeros_and_cannot_be_read_as_the_file(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    path, data = _file(tmp_path, "photo.bin", size)
    with backend.create() as v:
        v.import_file(SAMPLES)
        padded = v.attach("T-0001", path)
        # A file stored before files were padded: no padding at all.
        monkeypatch.setattr(attachments, "padded_size", lambda n: n)
        unpadded = v.attach("T-0001", path, again=True)
        monkeypatch.undo()
        for info in (padded, unpadded):
            assert b"".join(_plaintext(v, info.id)) == data
            v.verify_attachment(info.id)
            out = tmp_path / f"{info.id}.out"
            v.extract(info.id, out)
            assert out.read_bytes() == data
