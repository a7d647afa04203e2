"""Evidence files in exports: rebuilt from their content or left out and counted,
neutral names, the keyed digest of each original."""

from __future__ import annotations

import hashlib
import io
import json
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import mutagen
import pikepdf
import pyrage
import pytest
from clean import EXIFTOOL, assert_clean, exiftool, marks_in, unexpected_tags
from exporting import new_identity, open_export, repack
from hostile import HOSTILE, jpeg, wav_bytes
from PIL import Image

from conftest import SAMPLES, Backend
from vault import IntegrityError
from vault.export import verify_export
from vault.policy import find_policy, parse_policy
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
) -> tuple[dict[str, bytes], ExportSummary, Path, Path, dict[str, str]]:
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
        # The union's policy rebuilds recordings of findings, never of testimonies.
        v.attach("F-0002", files / "Nguyen_Thi_Huong_interview.wav")
        intake = {
            e.details["attachment"]: e.details["keyed_digest"]
            for e in v.audit_entries()
            if e.action == "attachment-added"
        }
        originals = {
            info.sha256: intake[info.id] for r in ("T-0002", "F-0002") for info in v.attachments(r)
        }
        v.add_recipient("ituc", public)
        out = tmp_path / "union.age"
        manifest = v.export(find_policy("union"), "ituc", out)
    return open_export(out, identity), manifest, out, key, originals


def test_rebuilt_files_carry_no_metadata_and_still_open(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path, dict[str, str]],
) -> None:
    members, manifest, _out, _key, _originals = exported
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
    listed = {e["name"]: e for e in json.loads(members["manifest.json"])["files"]}
    for name in names:
        assert_clean(members[name], listed[name]["media_type"])
    # The testimony's recording and the opaque file stay in the vault.
    excluded = manifest["counts"]["excluded"]
    assert excluded["attachment_not_allowed"] == 2
    assert manifest["counts"]["included"]["attachment"] == 3


def test_manifest_lists_files_with_the_originals_keyed_digest(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path, dict[str, str]],
) -> None:
    members, _manifest, out, key, originals = exported
    manifest = json.loads(members["manifest.json"])
    files = {f["name"]: f for f in manifest["files"]}
    for name, entry in files.items():
        assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"]
        assert entry["copy"] == "rebuilt"
        # The digest the audit log holds for the original's intake: custodians tie
        # the copy to it, a recipient cannot test a candidate file against it.
        assert entry["original_keyed_digest"] in originals.values()
        assert entry["original_keyed_digest"] != entry["sha256"]
    blob = b"".join(members.values())
    for plain in originals:
        assert plain.encode() not in blob
    record = next(
        json.loads(x) for x in members["records.jsonl"].splitlines() if b'"attachments"' in x
    )
    assert set(record["attachments"]) <= set(files)
    assert verify_export(out, key).lines == manifest["records"]["lines"]


def test_a_changed_file_fails_verification(
    exported: tuple[dict[str, bytes], dict[str, Any], Path, Path, dict[str, str]],
    tmp_path: Path,
) -> None:
    members, _manifest, _out, key, _originals = exported
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


# Every hostile file, one finding each, under a policy that rebuilds every kind it can.

_PARTNER = """
policy: partner
audience: {audience}
records:
  finding:
    attachments: {attachments}
    rules: {{id: keep}}
"""


def _finding(name: str) -> str:
    return "F-" + name.replace("_", "-")


@pytest.fixture(scope="module")
def hostile_vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Backend, Any, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    backend = Backend("sqlite", folder / "vault", None)
    identity, _key, public = new_identity(folder)
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("partner", public)
        for name, case in HOSTILE.items():
            v.add(
                {
                    "type": "finding",
                    "id": _finding(name),
                    "site_id": "SITE-001",
                    "audit_date": "2026-08-15",
                    "severity": "low",
                    "status": "open",
                }
            )
            v.attach(_finding(name), io.BytesIO(case.build()), name=f"{name}.bin")
    return backend, identity, folder


def _export(
    hostile_vault: tuple[Backend, Any, Path], audience: str, attachments: str
) -> tuple[dict[str, bytes], dict[str, Any], dict[str, dict[str, Any]]]:
    backend, identity, folder = hostile_vault
    policy = parse_policy(
        _PARTNER.format(audience=audience, attachments=attachments), "partner.yaml"
    )
    out = folder / f"{audience}-{len(list(folder.glob('*.age')))}.age"
    with backend.open() as v:
        v.export(policy, "partner", out)
    members = open_export(out, identity)
    records = {r["id"]: r for r in map(json.loads, members["records.jsonl"].splitlines())}
    return members, json.loads(members["manifest.json"]), records


@pytest.fixture(scope="module")
def rebuilt(
    hostile_vault: tuple[Backend, Any, Path],
) -> tuple[dict[str, bytes], dict[str, Any], dict[str, dict[str, Any]]]:
    return _export(hostile_vault, "monitor", "{image: rebuild, document: rebuild, audio: rebuild}")


def test_every_hostile_file_leaves_clean_or_not_at_all(
    rebuilt: tuple[dict[str, bytes], dict[str, Any], dict[str, dict[str, Any]]],
) -> None:
    members, manifest, records = rebuilt
    entries = {e["name"]: e for e in manifest["files"]}
    left_out: Counter[str] = Counter()
    for name, case in HOSTILE.items():
        record = records[_finding(name)]
        if case.outcome.startswith("attachment_"):
            assert "attachments" not in record, name
            left_out[case.outcome] += 1
            continue
        [copy] = record["attachments"]
        entry = entries[copy]
        assert (entry["media_type"], entry["copy"], entry["record"]) == (
            case.outcome,
            "rebuilt",
            _finding(name),
        )
        assert_clean(members[copy], case.outcome)
    counts = manifest["counts"]
    assert {k: v for k, v in counts["excluded"].items() if k.startswith("attachment_")} == dict(
        left_out
    )
    assert (
        counts["included"]["attachment"]
        == len(entries)
        == sum(not c.outcome.startswith("attachment_") for c in HOSTILE.values())
    )
    # Not one marker anywhere in the export: records, manifest or files.
    assert marks_in(b"".join(members.values())) == 0


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
def test_exiftool_finds_nothing_in_the_exported_copies(
    rebuilt: tuple[dict[str, bytes], dict[str, Any], dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    members, manifest, _records = rebuilt
    paths, types = [], []
    for n, entry in enumerate(manifest["files"]):
        path = tmp_path / f"copy-{n}"
        path.write_bytes(members[entry["name"]])
        paths.append(path)
        types.append(entry["media_type"])
    for media_type, report in zip(types, exiftool(paths), strict=True):
        assert "CANARY" not in str(report)
        assert unexpected_tags(report, media_type) == []


def test_a_video_branded_as_audio_never_leaves_as_audio(
    hostile_vault: tuple[Backend, Any, Path],
) -> None:
    # Even where a policy sends recordings as they are, a video stays in the vault,
    # whatever its brand says; the M4A that is all sound goes, typed by its content.
    members, manifest, records = _export(hostile_vault, "union", "{audio: original}")
    for name in ("mp4_video_branded_m4a", "ogg_with_video"):
        assert "attachments" not in records[_finding(name)]
    [m4a] = records[_finding("m4a")]["attachments"]
    entry = next(e for e in manifest["files"] if e["name"] == m4a)
    assert (entry["media_type"], entry["copy"]) == ("audio/mp4", "original")
    assert m4a.endswith(".m4a")
    assert members[m4a] == HOSTILE["m4a"].build()
    assert "attachments" not in records[_finding("jpeg")]  # images are not named: dropped


_TESTIMONY_FILES = """
policy: voices
audience: union
k_anonymity: {k: 2, quasi_identifiers: [site_id]}
records:
  testimony:
    attachments: {image: rebuild, audio: rebuild}
    rules: {id: keep, narrative: scrub, risk.retaliation: keep}
    high_risk: {narrative: drop}
"""


def test_a_high_risk_testimonys_recording_stays_with_its_narrative(
    backend: Backend, tmp_path: Path
) -> None:
    identity, _key, public = new_identity(tmp_path)
    policy = parse_policy(_TESTIMONY_FILES, "voices.yaml")
    assert not policy.types["testimony"].files_for(high_risk=True).any_leave()
    out = tmp_path / "voices.age"
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        for record_id in ("T-0001", "T-0002"):  # high and medium retaliation risk
            v.attach(record_id, io.BytesIO(wav_bytes(800)), name="interview.wav")
            v.attach(record_id, io.BytesIO(jpeg()), name="photo.jpg")
        manifest = v.export(policy, "ituc", out)
    records = {
        r["id"]: r
        for r in map(json.loads, open_export(out, identity)["records.jsonl"].splitlines())
    }
    assert "narrative" not in records["T-0001"]
    assert "attachments" not in records["T-0001"]
    assert "narrative" in records["T-0002"]
    assert len(records["T-0002"]["attachments"]) == 2
    assert manifest["counts"]["excluded"]["attachment_high_risk"] == 2
    assert manifest["counts"]["included"]["attachment"] == 2


def test_the_shipped_policies_keep_testimony_recordings_in_the_vault(
    backend: Backend, tmp_path: Path
) -> None:
    identity, _key, public = new_identity(tmp_path)
    out = tmp_path / "union.age"
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        v.attach("T-0002", io.BytesIO(wav_bytes(800)), name="interview.wav")
        v.attach("T-0001", io.BytesIO(jpeg()), name="photo.jpg")  # high risk
        manifest = v.export(find_policy("union"), "ituc", out)
    excluded = manifest["counts"]["excluded"]
    assert excluded["attachment_not_allowed"] == 1  # T-0002's recording
    assert excluded["attachment_high_risk"] == 1  # T-0001's photo
    assert "attachment" not in manifest["counts"]["included"]
    assert not [n for n in open_export(out, identity) if n.startswith("attachments/")]
