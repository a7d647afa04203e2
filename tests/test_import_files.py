"""``import --files DIR|ZIP`` takes only plain files from inside the folder or archive.

Refused, with the record's place and the item (never the file's name, which may
name a worker), and nothing written: hard links and symbolic links anywhere on the
path in a folder; zip members that are links, encrypted, compressed with another
method than stored or deflate, larger than the member limit or expanding more than
the ratio allows; archives whose members repeat a name or hold more than the total
limit.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Backend, sample_records
from vault import InvalidInputError
from vault.filesource import AttachmentSource

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2
AUDIO = os.urandom(3000)
MiB = 2**20
GiB = 2**30


def _records(tmp_path: Path) -> Path:
    records = sample_records()
    rec = copy.deepcopy(records[5])
    rec["id"] = "T-FILES"
    rec["attachments"] = ["photos/room.jpg", "audio/interview.bin"]
    data = tmp_path / "records.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in [*records, rec]]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "audio").mkdir()
    (folder / "photos" / "room.jpg").write_bytes(JPEG)
    (folder / "audio" / "interview.bin").write_bytes(AUDIO)
    return folder


def _refused(backend: Backend, tmp_path: Path, files: Path, message: str) -> None:
    with backend.create() as v:
        with pytest.raises(InvalidInputError, match=message) as caught:
            v.import_file(_records(tmp_path), files=files)
        assert v.stats() == {}
    assert caught.value.exit_code == 5
    assert "\n" not in str(caught.value)
    assert "room" not in str(caught.value)
    assert "interview" not in str(caught.value)


def test_a_plain_folder_and_zip_still_import(
    sqlite_backend: Backend, tmp_path: Path, opening: str
) -> None:
    folder = _folder(tmp_path)
    archive = tmp_path / "survey.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("photos/room.jpg", JPEG)
        # Highly compressible but small: under the size the ratio applies from.
        zf.writestr("audio/interview.bin", bytes(MiB - 1))
    with sqlite_backend.create() as v:
        assert v.import_file(_records(tmp_path), files=folder).count == 12
    (tmp_path / "vault").rename(tmp_path / "vault1")
    with sqlite_backend.create() as v:
        assert v.import_file(_records(tmp_path), files=archive).count == 12
        assert sorted(f.size for f in v.attachments("T-FILES")) == [len(JPEG), MiB - 1]


@pytest.fixture(params=["folder descriptors", "paths"])
def opening(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Files opened relative to folder descriptors, or (as on Windows) by path."""
    if request.param == "paths":
        monkeypatch.setattr(os, "supports_dir_fd", set())
    return str(request.param)


def test_a_hard_link_to_a_file_outside_is_refused(
    sqlite_backend: Backend, tmp_path: Path, opening: str
) -> None:
    folder = _folder(tmp_path)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"not meant for the vault")
    (folder / "audio" / "interview.bin").unlink()
    os.link(outside, folder / "audio" / "interview.bin")
    _refused(
        sqlite_backend,
        tmp_path,
        folder,
        r"records\.jsonl:line 12: field 'attachments' item 2: .*hard link.* in export",
    )


def _file_link(folder: Path) -> None:
    (folder / "photos" / "real.jpg").write_bytes(JPEG)
    (folder / "photos" / "room.jpg").unlink()
    (folder / "photos" / "room.jpg").symlink_to("real.jpg")


def _folder_link(folder: Path) -> None:
    (folder / "photos").rename(folder / "pictures")
    (folder / "photos").symlink_to("pictures", target_is_directory=True)


@pytest.mark.parametrize("link", [_file_link, _folder_link])
def test_a_symbolic_link_on_the_path_is_refused_even_inside(
    sqlite_backend: Backend, tmp_path: Path, link: Callable[[Path], None], opening: str
) -> None:
    folder = _folder(tmp_path)
    link(folder)
    _refused(
        sqlite_backend,
        tmp_path,
        folder,
        r"records\.jsonl:line 12: field 'attachments' item 1: .*symbolic link.* in export",
    )


def _zip(tmp_path: Path, *extra: tuple[zipfile.ZipInfo, bytes]) -> Path:
    archive = tmp_path / "survey.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("audio/interview.bin", AUDIO)
        for info, data in extra:
            zf.writestr(info, data)
        if not extra:
            zf.writestr("photos/room.jpg", JPEG)
    return archive


# Byte offsets of the fields patched, in a central directory header and in a local
# header, with their struct formats.
CENTRAL = {"flags": (8, "<H"), "compressed": (20, "<I"), "size": (24, "<I")}
LOCAL = {"flags": (6, "<H"), "compressed": (18, "<I"), "size": (22, "<I")}


def _patch(archive: Path, member: int, **values: int) -> None:
    """Overwrite fields of member ``member`` (counted from 1) in both its headers."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        at_local = zf.infolist()[member - 1].header_offset
    at_central = -1
    for _ in range(member):
        at_central = data.index(b"PK\x01\x02", at_central + 1)
    for field, value in values.items():
        for base, table in ((at_central, CENTRAL), (at_local, LOCAL)):
            offset, fmt = table[field]
            struct.pack_into(fmt, data, base + offset, value)
    archive.write_bytes(bytes(data))


def _symlink_member() -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo("photos/room.jpg")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, b"../../etc/passwd"


def test_a_symbolic_link_member_is_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    archive = _zip(tmp_path, _symlink_member())
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"line 12: field 'attachments' item 1: member 2 of survey\.zip is a symbolic link",
    )


def test_an_encrypted_member_is_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    archive = _zip(tmp_path)
    _patch(archive, 2, flags=0x1)
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"line 12: field 'attachments' item 1: member 2 of survey\.zip is encrypted",
    )


def test_a_member_compressed_another_way_is_refused(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    info = zipfile.ZipInfo("photos/room.jpg")
    info.compress_type = zipfile.ZIP_BZIP2
    archive = _zip(tmp_path, (info, JPEG))
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"item 1: member 2 of survey\.zip is compressed with a method other than",
    )


def test_a_member_that_expands_too_far_is_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    info = zipfile.ZipInfo("photos/room.jpg")
    info.compress_type = zipfile.ZIP_DEFLATED
    archive = _zip(tmp_path, (info, JPEG + bytes(20 * MiB)))
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"item 1: member 2 of survey\.zip expands more than 100-fold",
    )


def test_a_member_over_the_size_limit_is_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    info = zipfile.ZipInfo("photos/room.jpg")
    info.compress_type = zipfile.ZIP_STORED
    archive = _zip(tmp_path, (info, JPEG))
    # The sizes a zip bomb would declare; stored, so the ratio is 1.
    big = GiB + 1
    _patch(archive, 2, compressed=big, size=big)
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"item 1: member 2 of survey\.zip is larger than 1 GiB",
    )


def test_members_over_the_total_limit_are_refused(sqlite_backend: Backend, tmp_path: Path) -> None:
    extra = []
    for n in range(5):
        info = zipfile.ZipInfo(f"padding/{n}.bin")
        info.compress_type = zipfile.ZIP_STORED
        extra.append((info, b"x"))
    stored = zipfile.ZipInfo("photos/room.jpg")
    archive = _zip(tmp_path, *extra, (stored, JPEG))
    for member in range(2, 7):
        _patch(archive, member, compressed=900 * MiB, size=900 * MiB)
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"survey\.zip: the members hold more than 4 GiB in all",
    )


def test_a_member_found_corrupt_while_read_is_refused(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    info = zipfile.ZipInfo("photos/room.jpg")
    archive = _zip(tmp_path, (info, JPEG))  # stored: its bytes are in the archive as they are
    data = bytearray(archive.read_bytes())
    at = data.index(JPEG)
    data[at + 100] ^= 0xFF
    archive.write_bytes(bytes(data))
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"line 12: field 'attachments' item 1: member 2 of survey\.zip is corrupt",
    )


@pytest.mark.parametrize("second", ["photos/room.jpg", "photos//room.jpg", "./photos/room.jpg"])
def test_a_repeated_name_is_refused(sqlite_backend: Backend, tmp_path: Path, second: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it writes
        archive = _zip(
            tmp_path,
            (zipfile.ZipInfo("photos/room.jpg"), JPEG),
            (zipfile.ZipInfo(second), b"\xff\xd8\xff\xe0 another photo"),
        )
    _refused(
        sqlite_backend,
        tmp_path,
        archive,
        r"survey\.zip: members 2 and 3 have the same name",
    )


def test_the_limits_are_documented() -> None:
    names = ("MAX_MEMBER", "MAX_TOTAL", "MAX_RATIO", "RATIO_FROM")
    limits = {name: getattr(AttachmentSource, name) for name in names}
    assert limits == {"MAX_MEMBER": GiB, "MAX_TOTAL": 4 * GiB, "MAX_RATIO": 100, "RATIO_FROM": MiB}
    for name in names:
        assert name in (AttachmentSource.__doc__ or "")
