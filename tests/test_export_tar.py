"""The export's tar reads the same in ``verify-export`` as in ``tar -x``.

An archive that is not exactly the members the manifest names, in order, as plain
ustar headers with valid checksums and nothing after the end-of-archive blocks, is
refused, so what a recipient extracts is always what was verified.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import pyrage
import pytest
from click.testing import CliRunner
from exporting import new_identity

from conftest import SAMPLES, Backend
from vault import IntegrityError
from vault.cli import cli
from vault.export import verify_export
from vault.policy import find_policy

BLOCK = tarfile.BLOCKSIZE
FORGED = b'{"type":"site","id":"FORGED"}\n'

# The export, the identity file, the identity, its public key.
Sample: TypeAlias = tuple[Path, Path, pyrage.x25519.Identity, str]
# Builds a forged tar from the genuine one.
Attack: TypeAlias = Callable[[bytes], bytes]


@pytest.fixture
def sample(sqlite_backend: Backend, tmp_path: Path) -> Sample:
    identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        out = tmp_path / "union.age"
        v.export(find_policy("union"), "ituc", out)
    return out, key, identity, public


def _plain(sample: Sample) -> bytes:
    out, _key, identity, _public = sample
    return bytes(pyrage.decrypt(out.read_bytes(), [identity]))


def _seal(plain: bytes, sample: Sample, path: Path) -> Path:
    path.write_bytes(pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(sample[3])]))
    return path


def _header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    info.mode = 0o600
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _member(name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> bytes:
    return _header(name, len(data), kind) + data + b"\0" * (-len(data) % BLOCK)


def _end_of_members(plain: bytes) -> int:
    """Where the genuine archive's end-of-archive blocks begin."""
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        last = tar.getmembers()[-1]
    return last.offset_data + last.size + (-last.size % BLOCK)


def _bad_checksum(header: bytes) -> bytes:
    block = bytearray(header)
    block[148:156] = b"000000\0 "
    return bytes(block)


def _forged_after_a_bad_header(plain: bytes) -> bytes:
    # A header whose checksum is wrong ends the archive for Python's tarfile; GNU tar
    # skips it and extracts the forged records.jsonl that follows over the real one.
    end = _end_of_members(plain)
    bad = _bad_checksum(_header("records.jsonl", 0))
    return plain[:end] + bad + _member("records.jsonl", FORGED) + b"\0" * (2 * BLOCK)


def test_a_forged_member_behind_a_bad_checksum_is_refused(sample: Sample, tmp_path: Path) -> None:
    forged_tar = _forged_after_a_bad_header(_plain(sample))
    forged = _seal(forged_tar, sample, tmp_path / "forged.age")
    with pytest.raises(IntegrityError, match=r"forged\.age: the tar header at byte \d+ .*checksum"):
        verify_export(forged, sample[1])
    r = CliRunner().invoke(cli, ["verify-export", str(forged), "--identity", str(sample[1])])
    assert r.exit_code == 4
    assert r.output.count("\n") == 1
    assert "Traceback" not in r.output
    assert r.output.startswith(f"evault: error: {forged}: the tar header at byte ")
    # For the record: what a recipient running tar -x would have been handed.
    tar_cmd = shutil.which("tar")
    if (
        tar_cmd is None
        or b"GNU tar"
        not in subprocess.run([tar_cmd, "--version"], capture_output=True, check=False).stdout
    ):
        pytest.skip("no GNU tar to show what it extracts")
    dest = tmp_path / "extracted"
    dest.mkdir()
    # GNU tar says "Skipping to next header" and exits with 2, having extracted it.
    tar = subprocess.run(
        [tar_cmd, "-x", "-C", str(dest)], input=forged_tar, capture_output=True, check=False
    )
    assert tar.returncode != 0
    assert (dest / "records.jsonl").read_bytes() == FORGED


def _member_after_the_end(plain: bytes) -> bytes:
    end = _end_of_members(plain)
    return plain[:end] + b"\0" * (2 * BLOCK) + _member("records.jsonl", FORGED)


def _garbage_after_the_end(plain: bytes) -> bytes:
    return plain + b"trailing bytes" + b"\0" * (BLOCK - 14)


def _duplicate_records(plain: bytes) -> bytes:
    end = _end_of_members(plain)
    return plain[:end] + _member("records.jsonl", FORGED) + b"\0" * (2 * BLOCK)


def _rewrite(plain: bytes, change: Callable[[tarfile.TarInfo], None], fmt: int) -> bytes:
    """The archive written again by tarfile, each header changed by ``change``."""
    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as src,
        tarfile.open(fileobj=buf, mode="w", format=fmt) as dst,
    ):
        for info in src.getmembers():
            data = src.extractfile(info)
            change(info)
            dst.addfile(info, data)
    return buf.getvalue()


def _pax_header(plain: bytes) -> bytes:
    def change(info: tarfile.TarInfo) -> None:
        info.pax_headers = {"comment": "read by some tools, not by others"}

    return _rewrite(plain, change, tarfile.PAX_FORMAT)


def _gnu_long_name(plain: bytes) -> bytes:
    # A GNU long-name header that names records.jsonl for the member after it.
    start = plain.index(_header("records.jsonl", 0)[:100])
    name = b"records.jsonl\0"
    long_name = _header("././@LongLink", len(name), tarfile.GNUTYPE_LONGNAME)
    block = name + b"\0" * (-len(name) % BLOCK)
    real = bytearray(plain[start : start + BLOCK])
    real[0:100] = b"other".ljust(100, b"\0")
    real[148:156] = b" " * 8
    real[148:156] = b"%06o\0 " % sum(real)
    return plain[:start] + long_name + block + bytes(real) + plain[start + BLOCK :]


def _old_gnu_magic(plain: bytes) -> bytes:
    def change(info: tarfile.TarInfo) -> None:
        pass

    return _rewrite(plain, change, tarfile.GNU_FORMAT)


def _nonzero_padding(plain: bytes) -> bytes:
    # Bytes hidden in the padding after manifest.json, which no reader shows.
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        first = tar.getmembers()[0]
    at = first.offset_data + first.size
    assert first.size % BLOCK, "the manifest happens to fill its blocks"
    return plain[:at] + b"x" + plain[at + 1 :]


def _records_size_differs(plain: bytes) -> bytes:
    # records.jsonl with one more byte than the manifest says: a blank line.
    end = _end_of_members(plain)
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        members = {m.name: m for m in tar.getmembers()}
        records = members["records.jsonl"]
        head = plain[: records.offset]
        data = plain[records.offset_data : records.offset_data + records.size]
    assert records.offset_data + records.size + (-records.size % BLOCK) == end
    return head + _member("records.jsonl", data + b"\n") + b"\0" * (2 * BLOCK)


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        (_member_after_the_end, r"after the end of the archive"),
        (_garbage_after_the_end, r"after the end of the archive"),
        (_duplicate_records, r"'records\.jsonl' where the end of the archive belongs"),
        (_pax_header, r"byte 0 .*not a plain file"),
        (_gnu_long_name, r"not a plain file"),
        (_old_gnu_magic, r"byte 0 .*not a ustar header"),
        (_nonzero_padding, r"padding after 'manifest\.json'"),
        (_records_size_differs, r"'records\.jsonl' holds \d+ bytes, the manifest lists \d+"),
    ],
)
def test_an_archive_that_is_not_exactly_the_manifest_is_refused(
    sample: Sample, tmp_path: Path, attack: Attack, message: str
) -> None:
    forged = _seal(attack(_plain(sample)), sample, tmp_path / "forged.age")
    with pytest.raises(IntegrityError, match=r"forged\.age: .*" + message):
        verify_export(forged, sample[1])


def test_the_genuine_archive_and_a_tarfile_copy_still_verify(
    sample: Sample, tmp_path: Path
) -> None:
    assert verify_export(sample[0], sample[1]).lines == 10
    # tarfile pads the archive to a 10 KiB record: zero blocks the verifier accepts.
    copy = _rewrite(_plain(sample), lambda info: None, tarfile.USTAR_FORMAT)
    assert len(copy) % tarfile.RECORDSIZE == 0
    assert verify_export(_seal(copy, sample, tmp_path / "copy.age"), sample[1]).lines == 10


def test_the_writer_emits_only_plain_ustar_headers(sample: Sample) -> None:
    plain = _plain(sample)
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "manifest.json",
        "manifest.sig",
        "signing-key.pem",
        "records.jsonl",
    ]
    for m in members:
        assert m.type == tarfile.REGTYPE
        assert m.pax_headers == {}
        assert plain[m.offset + 257 : m.offset + 265] == b"ustar\x0000"
    # Two zero blocks end it, and nothing follows.
    assert plain[_end_of_members(plain) :] == b"\0" * (2 * BLOCK)
    assert os.path.getsize(sample[0]) > len(plain)
