"""Evidence files in exports: metadata stripped, neutral names, unsupported types out."""

from __future__ import annotations

import io
import json
import tarfile
import wave
from pathlib import Path
from typing import Any

import mutagen
import mutagen.id3
import mutagen.wave
import pikepdf
import pyrage
import pytest
from exporting import new_identity, open_export, repack
from PIL import Image

from conftest import SAMPLES, Backend
from vault import IntegrityError
from vault.export import verify_export
from vault.policy import find_policy
from vault.sharing import ExportSummary

CANARIES = [
    b"CanaryCam",
    b"CANARY-SERIAL-0042",
    b"Canary Author",
    b"Canary Creator",
    b"Canary Artist",
    b"Nguyen_Thi_Huong",
]


def _jpeg(path: Path) -> None:
    im = Image.new("RGB", (32, 32), "red")
    exif = im.getexif()
    exif[0x010F] = "CanaryCam"
    exif[0xA431] = "CANARY-SERIAL-0042"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (10.0, 45.0, 12.5), 3: "E", 4: (106.0, 40.0, 1.0)})
    exif[0x8825] = gps
    im.save(path, "JPEG", exif=exif)


def _pdf(path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "Canary Author"
    pdf.docinfo["/Title"] = "Canary Title"
    with pdf.open_metadata() as meta:
        meta["dc:creator"] = ["Canary Creator"]
    pdf.save(path)


def _wav(path: Path) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(8000)
        wf.writeframes(b"\0\0" * 800)
    audio = mutagen.wave.WAVE(path)
    audio.add_tags()
    # mutagen declares ``tags`` as None until tags are added; check what add_tags made.
    tags: object = audio.tags
    assert isinstance(tags, mutagen.id3.ID3)
    tags.add(mutagen.id3.TPE1(encoding=3, text=["Canary Artist"]))
    audio.save()


@pytest.fixture
def exported(
    backend: Backend, tmp_path: Path
) -> tuple[dict[str, bytes], ExportSummary, Path, Path]:
    files = tmp_path / "in"
    files.mkdir()
    _jpeg(files / "Nguyen_Thi_Huong_dormitory.jpg")
    _pdf(files / "Nguyen_Thi_Huong_contract.pdf")
    _wav(files / "Nguyen_Thi_Huong_interview.wav")
    (files / "Nguyen_Thi_Huong_notes.bin").write_bytes(b"\x00\x01 opaque notes")
    identity, key, public = new_identity(tmp_path)
    with backend.create() as v:
        v.import_file(SAMPLES)
        for f in sorted(files.iterdir()):
            v.attach("T-0002", f, description="evidence")  # T-0002: consent covers union
        v.add_recipient("ituc", public)
        out = tmp_path / "union.age"
        manifest = v.export(find_policy("union"), "ituc", out)
    return open_export(out, identity), manifest, out, key


def test_stripped_files_carry_no_metadata_and_still_open(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path],
) -> None:
    members, manifest, _out, _key = exported
    names = [n for n in members if n.startswith("attachments/")]
    assert sorted(Path(n).suffix for n in names) == [".jpg", ".pdf", ".wav"]
    blob = b"".join(members.values())
    for canary in CANARIES:
        assert canary not in blob
        assert canary.decode().encode("utf-16-be") not in blob
    jpg = next(n for n in names if n.endswith(".jpg"))
    with Image.open(io.BytesIO(members[jpg])) as im:
        assert im.size == (32, 32)
        assert dict(im.getexif()) == {}
    pdf = next(n for n in names if n.endswith(".pdf"))
    with pikepdf.open(io.BytesIO(members[pdf])) as doc:
        assert len(doc.pages) == 1
        assert "/Info" not in doc.trailer
        assert "/Metadata" not in doc.Root
    wav = next(n for n in names if n.endswith(".wav"))
    assert mutagen.File(io.BytesIO(members[wav])).tags is None
    with wave.open(io.BytesIO(members[wav])) as wf:
        assert wf.getnframes() == 800
    excluded = manifest["counts"]["excluded"]
    assert excluded["attachment_cannot_be_stripped"] == 1
    assert manifest["counts"]["included"]["attachment"] == 3


def test_manifest_lists_files_with_the_originals_hash(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path],
) -> None:
    members, _manifest, out, key = exported
    manifest = json.loads(members["manifest.json"])
    files = {f["name"]: f for f in manifest["files"]}
    import hashlib

    for name, entry in files.items():
        assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"]
        assert entry["stripped_from_sha256"] != entry["sha256"]
    record = next(
        json.loads(x) for x in members["records.jsonl"].splitlines() if b'"attachments"' in x
    )
    assert sorted(record["attachments"]) == sorted(files)
    assert verify_export(out, key).lines == manifest["records"]["lines"]


def test_a_changed_file_fails_verification(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path], tmp_path: Path
) -> None:
    members, _manifest, _out, key = exported
    name = next(n for n in members if n.endswith(".jpg"))
    data = bytearray(members[name])
    data[len(data) // 2] ^= 0x01  # same length, one bit changed
    members[name] = bytes(data)
    identity = pyrage.x25519.Identity.from_str(
        next(x for x in key.read_text().splitlines() if x.startswith("AGE-"))
    )
    forged = tmp_path / "forged.age"
    repack(members, str(identity.to_public()), forged)
    with pytest.raises(IntegrityError):
        verify_export(forged, key)
    assert tarfile
