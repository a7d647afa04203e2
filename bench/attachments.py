"""Evidence files: sealing, and rebuilding for export.

* seal: encrypt and decrypt a generated file through the vault, against raw
  AES-256-GCM from `cryptography` over the same bytes in the same chunk size, and
  against a durable copy of the same bytes (written to a new file and fsync'd: the
  storage limit for attach, and for extract, which writes a file too); prints MiB/s,
  the ratios, and the peak RSS (the vault streams: memory does not follow the file's
  size).
* rebuild (``bench/rebuilds.py``): for each type an export may send, a generated file
  of realistic size is rebuilt from its content (vault.rebuild: detection, decoding,
  encoding) and, in the same run, copied as it is (the same bytes through SHA-256
  into memory, which is what sending an original costs before encryption); prints
  MiB/s of original for both and the ratio, and pages/s for PDF.

    python bench/attachments.py [--mib 1024] [--part seal|rebuild|all]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault import KdfParams, Passphrase, Vault
from vault.crypto import STREAM_CHUNK

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _durable_copy(src: Path, dst: Path) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(STREAM_CHUNK):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())


def bench_seal(mib: int) -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        src = tmp / "evidence.bin"
        block = os.urandom(1 << 20)
        with src.open("wb") as fh:
            for _ in range(mib):
                fh.write(block)
        size = mib

        key = AESGCM.generate_key(256)
        aead = AESGCM(key)
        sealed = tmp / "raw.bin"
        start = time.perf_counter()
        with src.open("rb") as fin, sealed.open("wb") as fout:
            i = 0
            while chunk := fin.read(STREAM_CHUNK):
                fout.write(aead.encrypt(i.to_bytes(12, "big"), chunk, b"aad"))
                i += 1
        raw_enc = size / (time.perf_counter() - start)
        start = time.perf_counter()
        with sealed.open("rb") as fin, (tmp / "raw.out").open("wb") as fout:
            i = 0
            while chunk := fin.read(STREAM_CHUNK + 16):
                fout.write(aead.decrypt(i.to_bytes(12, "big"), chunk, b"aad"))
                i += 1
        raw_dec = size / (time.perf_counter() - start)
        sealed.unlink()
        (tmp / "raw.out").unlink()
        # The storage limit: the same bytes copied to a new file and made durable
        # (fsync'd), as attach must, and read back into another such file, as
        # extract does.
        copy = tmp / "copy.bin"
        start = time.perf_counter()
        _durable_copy(src, copy)
        plain_write = size / (time.perf_counter() - start)
        start = time.perf_counter()
        _durable_copy(copy, tmp / "copy.out")
        plain_read = size / (time.perf_counter() - start)
        copy.unlink()
        (tmp / "copy.out").unlink()

        # A light KDF here: Argon2id's 64 MiB would count in the peak RSS measured.
        kdf = KdfParams(memory_kib=1024, time_cost=1, parallelism=1)
        with Vault.create(
            tmp / "v", Passphrase("benchmark passphrase"), kdf=kdf, identity_approvals=0
        ) as v:
            v.add({"type": "site", "id": "S", "name": "Plant", "kind": "mine", "country": "CD"})
            start = time.perf_counter()
            info = v.attach("S", src)
            vault_enc = size / (time.perf_counter() - start)
            out = tmp / "out.bin"
            start = time.perf_counter()
            v.extract(info.id, out)
            vault_dec = size / (time.perf_counter() - start)
        assert out.stat().st_size == src.stat().st_size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {size} MiB in {STREAM_CHUNK // 1024} KiB chunks")
    print(f"raw AES-GCM   encrypt {raw_enc:8.1f} MiB/s   decrypt {raw_dec:8.1f} MiB/s")
    print(f"durable copy  write   {plain_write:8.1f} MiB/s   read    {plain_read:8.1f} MiB/s")
    print(f"vault attach  encrypt {vault_enc:8.1f} MiB/s   extract {vault_dec:8.1f} MiB/s")
    print(
        f"vs AES-GCM    encrypt {vault_enc / raw_enc:8.3f}         decrypt {vault_dec / raw_dec:8.3f}"
    )
    print(
        f"vs durable    attach  {vault_enc / plain_write:8.3f}         extract "
        f"{vault_dec / plain_read:8.3f}   (target >= 0.7)"
    )
    print(f"peak RSS {rss:.1f} MiB (target < 100 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--part", choices=("seal", "rebuild", "all"), default="all")
    args = parser.parse_args()
    if args.part in ("seal", "all"):
        # Sealing first: its peak RSS is measured before the rebuild inputs exist.
        bench_seal(args.mib)
    if args.part in ("rebuild", "all"):
        # Loaded only now: its imaging and audio libraries must not count in the
        # sealing run's peak RSS.
        from rebuilds import bench_rebuild  # noqa: PLC0415

        bench_rebuild()


if __name__ == "__main__":
    main()
