"""Key rotation over N records (default 100,000): records/s, against decrypt-only.

python bench/rotate.py [--n 100000] [--reencrypt]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_jsonl

from vault import KdfParams, Passphrase, Vault
from vault.sharing import ExportSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--reencrypt", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "in.jsonl"
        write_jsonl(data, args.n)
        kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
        with Vault.create(Path(tmp) / "v", Passphrase("benchmark passphrase"), kdf=kdf) as v:
            print(f"preparing {args.n:,} testimonies (not timed) ...")
            v.import_file(data)
            start = time.perf_counter()
            n = sum(
                1
                for _ in ExportSource(
                    v._ctx
                ).export_records(  # the export's own reader, no policy work
                    frozenset({"site", "testimony"}),
                    classes=frozenset({"identity", "special", "narrative", "operational"}),
                )
            )
            decrypt_rate = n / (time.perf_counter() - start)
            start = time.perf_counter()
            report = v.rotate_keys(reencrypt=args.reencrypt)
            elapsed = time.perf_counter() - start
    rate = report.records / elapsed
    print(
        f"rotate-keys{' --reencrypt' if args.reencrypt else ''}: {report.records:,} record "
        f"versions and {report.subjects:,} worker keys in {elapsed:.1f} s = {rate:,.0f} records/s"
    )
    print(f"decrypt-only baseline : {decrypt_rate:,.0f} records/s; ratio {rate / decrypt_rate:.3f}")


if __name__ == "__main__":
    main()
