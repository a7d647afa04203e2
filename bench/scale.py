"""One vault grown to a million testimonies: what each operation costs at each size.

Builds one SQLite vault in batches up to each size of ``--sizes`` (default 10k, 100k,
1M) and, at each size, measures in the same run:

* ingest: the batch's ``import_file`` rate, against the same lines inserted as JSON
  text rows with plain ``sqlite3`` as bench/ingest.py does (the batch alone, in a
  fresh database);
* storage: the vault's bytes per testimony (database and write-ahead log, after a
  checkpoint) against the JSON lines' own bytes;
* list: the first page (``list(limit=100)``) and a full streamed pass;
* find: p50 and p95 of ``find(employee_id=...)`` over random workers;
* show: p50 and p95 of ``get`` over random records (each read writes its audit entry);
* export: the ``union`` export's rate, up to ``--export-max`` testimonies (an export
  of a million takes long: it is left out above that size unless asked).

Keep the vault with ``--keep FOLDER`` to measure again without building it.

    python bench/scale.py [--sizes 10000,100000,1000000] [--export-max 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import plain_insert
from synthetic import SITES, write_jsonl

from vault import KdfParams, Passphrase, Vault
from vault.export import write_age_identity
from vault.policy import find_policy

PASSPHRASE = Passphrase("benchmark passphrase")
_LOOKUPS = 200


def _plain_rate(path: Path, folder: Path) -> float:
    db_file = folder / "plain.db"
    count, elapsed = plain_insert(path, db_file)
    for leftover in folder.glob("plain.db*"):
        leftover.unlink()
    return count / elapsed


def _timed(calls: list[float]) -> str:
    ms = sorted(c * 1000 for c in calls)
    return f"p50 {statistics.median(ms):7.2f} ms  p95 {ms[int(len(ms) * 0.95) - 1]:7.2f} ms"


def _storage(folder: Path) -> int:
    """The database's size once its write-ahead log is folded in."""
    db = sqlite3.connect(str(folder / "vault.db"))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sum(p.stat().st_size for p in folder.iterdir() if p.name.startswith("vault.db"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="testimonies, rising")
    parser.add_argument("--export-max", type=int, default=100_000, help="largest size exported")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the vault in this folder")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(11)

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        folder = args.keep or tmp / "vault"
        kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
        if (folder / "vault.db").exists():
            v = Vault.open(folder, PASSPHRASE)
        else:
            v = Vault.create(folder, PASSPHRASE, kdf=kdf)
            v.add_recipient("bench", write_age_identity(tmp / "key.txt"))
        with v:
            held = sum(1 for _ in v.list(type="testimony"))
            json_bytes = 0
            print(f"sizes {sizes}; the vault holds {held:,} testimonies at the start")
            for size in sizes:
                if size > held:
                    batch = tmp / "batch.jsonl"
                    write_jsonl(batch, size - held, start=held)
                    json_bytes += batch.stat().st_size
                    plain = _plain_rate(batch, tmp)
                    start = time.perf_counter()
                    v.import_file(batch)
                    rate = (size - held) / (time.perf_counter() - start)
                    batch.unlink()
                    print(
                        f"[{size:>9,}] ingest {size - held:,} testimonies: {rate:8,.0f}/s, "
                        f"{rate / plain:.3f}x plain sqlite3 ({plain:,.0f}/s)"
                    )
                    held = size
                if json_bytes:
                    stored = _storage(folder)
                    print(
                        f"[{size:>9,}] storage {stored / size:8,.0f} B per testimony, "
                        f"{stored / json_bytes:.2f}x the JSON lines (target <= 2.5x)"
                    )
                start = time.perf_counter()
                first = list(v.list(limit=100))
                page = time.perf_counter() - start
                start = time.perf_counter()
                listed = sum(1 for _ in v.list())
                whole = time.perf_counter() - start
                print(
                    f"[{size:>9,}] list   first 100 {page * 1000:7.1f} ms; all {listed:,} "
                    f"in {whole:.1f} s ({listed / whole:,.0f}/s)"
                )
                assert len(first) == 100
                picks = [rng.randrange(size) for _ in range(_LOOKUPS)]
                found = []
                for i in picks:
                    start = time.perf_counter()
                    hits = v.find(employee_id=f"E-{i:07d}")
                    found.append(time.perf_counter() - start)
                    assert len(hits) == 1
                print(f"[{size:>9,}] find   {_timed(found)}  (target p50 <= 5 ms)")
                shown = []
                for i in picks:
                    start = time.perf_counter()
                    v.get(f"BT-{i:07d}")
                    shown.append(time.perf_counter() - start)
                print(f"[{size:>9,}] show   {_timed(shown)}")
                if size <= args.export_max:
                    start = time.perf_counter()
                    summary = v.export(find_policy("union"), "bench", tmp / "union.age")
                    rate = size / (time.perf_counter() - start)
                    (tmp / "union.age").unlink()
                    print(
                        f"[{size:>9,}] export union {rate:8,.0f} testimonies/s "
                        f"(counts {json.dumps(summary['counts'])})"
                    )
    print(f"(each size also holds the {SITES} sites)")


if __name__ == "__main__":
    main()
