"""Evidence files: streamed round trips, tamper detection, constant memory, custody."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from conftest import PASSPHRASE, SAMPLES, Backend
from vault import IntegrityError, NotFoundError, Vault, attachments
from vault.crypto import STREAM_CHUNK
from vault.store import sqlite_url

SIZES = [0, 1, STREAM_CHUNK - 1, STREAM_CHUNK, STREAM_CHUNK + 1, 3 * STREAM_CHUNK + 17]


@pytest.fixture
def files_vault(backend: Backend) -> Backend:
    with backend.create() as v:
        v.import_file(SAMPLES)
    return backend


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_byte_for_byte(files_vault: Backend, tmp_path: Path, size: int) -> None:
    original = tmp_path / "Nguyen_Thi_Huong_payslip.bin"
    original.write_bytes(os.urandom(size))
    with files_vault.open() as v:
        info = v.attach("T-0001", original, description="payslip, March")
        assert info.size == size
        out = tmp_path / "out.bin"
        v.extract(info.id, out)
        assert out.read_bytes() == original.read_bytes()
        assert v.verify_attachment(info.id).sha256 == info.sha256
        listed = v.attachments("T-0001")
        assert [a.name for a in listed] == ["Nguyen_Thi_Huong_payslip.bin"]
        entries = [e for e in v.audit_entries() if e.action == "attachment-added"]
        assert entries[-1].details["keyed_digest"] == attachments.keyed_digest(v._ctx.keys, info)
        assert info.sha256 not in str(entries[-1].details)


def test_media_type_comes_from_content(files_vault: Backend, tmp_path: Path) -> None:
    fake = tmp_path / "photo.txt"
    fake.write_bytes(b"%PDF-1.4\n%...\n")
    png = tmp_path / "report.pdf"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with files_vault.open() as v:
        assert v.attach("T-0001", fake).media_type == "application/pdf"
        assert v.attach("T-0001", png).media_type == "image/png"


def _chunks(backend: Backend) -> tuple[Engine, str]:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.connect() as conn:
        aid = conn.execute(text("SELECT id FROM attachments")).scalar_one()
    return engine, aid


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE attachment_chunks SET data = :flip WHERE attachment_id = :a AND idx = 1",
        "DELETE FROM attachment_chunks WHERE attachment_id = :a AND idx = 3",
        "DELETE FROM attachment_chunks WHERE attachment_id = :a AND idx = 1",
        "UPDATE attachment_chunks SET idx = idx + 10 WHERE attachment_id = :a AND idx = 1",
        "UPDATE attachment_chunks SET data = (SELECT data FROM attachment_chunks WHERE attachment_id = :a AND idx = 0) WHERE attachment_id = :a AND idx = 1",
        "UPDATE attachments SET chunks = chunks - 1 WHERE id = :a",
    ],
)
def test_tampered_chunks_are_detected(files_vault: Backend, tmp_path: Path, attack: str) -> None:
    original = tmp_path / "audio.bin"
    original.write_bytes(os.urandom(3 * STREAM_CHUNK + 100))
    with files_vault.open() as v:
        v.attach("T-0002", original)
    engine, aid = _chunks(files_vault)
    with engine.begin() as conn:
        flip = conn.execute(
            text("SELECT data FROM attachment_chunks WHERE attachment_id = :a AND idx = 1"),
            {"a": aid},
        ).scalar_one()
        flip = flip[:-1] + bytes([flip[-1] ^ 1])
        params = {"a": aid, "flip": flip} if ":flip" in attack else {"a": aid}
        conn.execute(text(attack), params)
    engine.dispose()
    out = tmp_path / "out.bin"
    with files_vault.open() as v:
        with pytest.raises(IntegrityError):
            v.extract(aid, out)
        with pytest.raises(IntegrityError):
            v.verify_attachment(aid)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".evault-extract-")]


def test_unknown_attachment_and_record(files_vault: Backend, tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"x")
    with files_vault.open() as v:
        with pytest.raises(NotFoundError):
            v.attach("NOPE", f)
        with pytest.raises(NotFoundError):
            v.extract("0" * 32, tmp_path / "y")


def test_no_plaintext_of_a_file_at_rest(sqlite_backend: Backend, tmp_path: Path) -> None:
    canary = b"CANARY-EVIDENCE-" * 5000
    f = tmp_path / "Nguyen_Thi_Huong.txt"
    f.write_bytes(canary)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.attach("T-0001", f)
        data = b"".join(p.read_bytes() for p in sqlite_backend.folder.iterdir())
    assert b"CANARY-EVIDENCE" not in data
    assert b"Nguyen_Thi_Huong" not in data


MEMORY = """
import resource, sys
from vault import Passphrase, Vault
with Vault.open(sys.argv[1], Passphrase(sys.argv[2])) as v:
    info = v.attach("T-0001", sys.argv[3])
    v.extract(info.id, sys.argv[4])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_memory_stays_flat_whatever_the_file_size(sqlite_backend: Backend, tmp_path: Path) -> None:
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)

    def peak(size: int) -> int:
        src = tmp_path / f"in-{size}"
        with src.open("wb") as fh:
            for _ in range(size // (1 << 20)):
                fh.write(os.urandom(1 << 20))
        out = tmp_path / f"out-{size}"
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                MEMORY,
                str(sqlite_backend.folder),
                PASSPHRASE,
                str(src),
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        assert out.stat().st_size == size
        return int(result.stdout.strip())

    small, large = peak(8 << 20), peak(160 << 20)
    assert large < small + 24, f"peak RSS grew from {small} MiB to {large} MiB"
    assert isinstance(Vault, type)


def _records_with_files() -> list[dict[str, object]]:
    import copy

    from conftest import sample_records

    records = sample_records()
    rec = copy.deepcopy(records[5])
    rec["id"] = "T-FILES"
    rec["attachments"] = ["photos/room.jpg", "audio/interview.bin"]
    return [*records, rec]


def _write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    import json

    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")


@pytest.mark.parametrize("packaging", ["folder", "zip"])
def test_import_with_a_folder_or_zip_of_files(
    backend: Backend, tmp_path: Path, packaging: str
) -> None:
    import zipfile

    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "audio").mkdir()
    (folder / "photos" / "room.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300))
    (folder / "audio" / "interview.bin").write_bytes(os.urandom(STREAM_CHUNK + 5))
    source: Path = folder
    if packaging == "zip":
        source = tmp_path / "survey.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for f in folder.rglob("*"):
                if f.is_file():
                    zf.write(f, f.relative_to(folder).as_posix())
    data = tmp_path / "records.jsonl"
    _write_jsonl(data, _records_with_files())
    with backend.create() as v:
        assert v.import_file(data, files=source).count == 12
        files = v.attachments("T-FILES")
        assert sorted(f.name for f in files) == ["interview.bin", "room.jpg"]
        out = tmp_path / "room.out"
        v.extract(next(f.id for f in files if f.name == "room.jpg"), out)
        assert out.read_bytes() == (folder / "photos" / "room.jpg").read_bytes()
        assert "attachments" not in v.get("T-FILES")


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "photos/missing.jpg"])
def test_import_refuses_bad_file_paths_and_writes_nothing(
    backend: Backend, tmp_path: Path, path: str
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    records = _records_with_files()
    records[-1]["attachments"] = [path]
    data = tmp_path / "records.jsonl"
    _write_jsonl(data, records)
    from vault import InvalidInputError

    with backend.create() as v:
        with pytest.raises(InvalidInputError, match="line 12"):
            v.import_file(data, files=folder)
        assert v.stats() == {}


def test_a_rotation_while_a_file_is_written_in_chunks_is_followed(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    # 12 MiB: two chunks on SQLite. Between them, another custodian session rotates
    # the keys and rewraps everything stored; the file, pending, is passed by, and its
    # last commit wraps its key under the new version, so the old one can retire.
    original = tmp_path / "scan.bin"
    original.write_bytes(os.urandom(12 << 20))
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
    rotated: list[int] = []
    with sqlite_backend.open() as v, sqlite_backend.open() as other:

        def between_chunks(_stage: str, done: int, total: int) -> None:
            if 0 < done < total and not rotated:
                assert other.attachments("T-0001") == []
                rotated.append(other.rotate_keys().target)

        info = v.attach("T-0001", original, progress=between_chunks)
        assert rotated == [2]
        other.retire_keys(below=2)
        out = tmp_path / "out.bin"
        other.extract(info.id, out)
        assert out.read_bytes() == original.read_bytes()
