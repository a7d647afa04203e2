"""Helpers for export tests: age identities, decrypting and repacking exports."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pyrage


def new_identity(folder: Path, name: str = "key.txt") -> tuple[pyrage.x25519.Identity, Path, str]:
    identity = pyrage.x25519.Identity.generate()
    path = folder / name
    path.write_text(f"# test identity\n{identity}\n", encoding="utf-8")
    return identity, path, str(identity.to_public())


def open_export(path: Path, identity: pyrage.x25519.Identity) -> dict[str, bytes]:
    plain = pyrage.decrypt(path.read_bytes(), [identity])
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name] = handle.read()
    return out


def repack(members: dict[str, bytes], recipient: str, path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    public = pyrage.x25519.Recipient.from_str(recipient)
    path.write_bytes(pyrage.encrypt(buf.getvalue(), [public]))
