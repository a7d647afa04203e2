"""Encrypted import through the library vs. plaintext JSON rows with plain sqlite3.

Generates N synthetic testimonies (default 100,000) into a JSONL file, then in the
same run, each in a fresh subprocess so peak memory is its own:

* vault:    Vault.import_file (the file checked whole, then validation, sealing and
            blind indexes, committed in chunks of about a second, as SQLite vaults do),
            in one process (jobs=1, the library's default) and sealed in a second
            process (jobs=2, what `evault import` does on two cores)
* baseline: the same lines parsed and inserted as JSON text rows with sqlite3

Prints records/s for both, the ratio, and each side's peak RSS. With --memory-check
it also imports N/4 records to show that peak memory does not grow with N.

    python bench/ingest.py [--n 100000] [--memory-check]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import SITES, write_jsonl

from vault import KdfParams, Passphrase, Vault


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vault_import(path: str, folder: str, out: mp.Queue, jobs: int = 1) -> None:  # type: ignore[type-arg]
    # The KDF cost is paid once at unlock and is not what this measures.
    kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
    with Vault.create(folder, Passphrase("benchmark passphrase"), kdf=kdf) as v:
        start = time.perf_counter()
        result = v.import_file(path, jobs=jobs)
        elapsed = time.perf_counter() - start
    out.put((result.count, elapsed, _peak_rss_mib()))


def plain_insert(path: str | Path, db_file: Path) -> tuple[int, float]:
    """The baseline: the JSON lines of ``path`` parsed and inserted as text rows with
    plain ``sqlite3`` into a new database ``db_file``, in one transaction; returns the
    rows inserted and the seconds it took."""
    db = sqlite3.connect(str(db_file), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE records (id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)")
    start = time.perf_counter()
    count = 0
    db.execute("BEGIN")
    with open(path, encoding="utf-8") as fh:
        batch = []
        for line in fh:
            rec = json.loads(line)
            batch.append((rec["id"], rec["type"], json.dumps(rec, ensure_ascii=False)))
            if len(batch) >= 2000:
                db.executemany("INSERT INTO records VALUES (?, ?, ?)", batch)
                count += len(batch)
                batch = []
        db.executemany("INSERT INTO records VALUES (?, ?, ?)", batch)
        count += len(batch)
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return count, elapsed


def _sqlite_baseline(path: str, folder: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    count, elapsed = plain_insert(path, Path(folder) / "plain.db")
    out.put((count, elapsed, _peak_rss_mib()))


def _run(target: object, path: Path, *extra: object) -> tuple[int, float, float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    with tempfile.TemporaryDirectory() as folder:
        proc = ctx.Process(target=target, args=(str(path), str(Path(folder) / "v"), out, *extra))
        Path(folder, "v").mkdir()
        proc.start()
        result = out.get()
        proc.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="testimonies to import")
    parser.add_argument("--memory-check", action="store_true", help="also import N/4")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "testimonies.jsonl"
        write_jsonl(path, args.n)
        size = path.stat().st_size / 2**20
        print(f"input: {args.n:,} testimonies + {SITES} sites, {size:.1f} MiB JSONL")
        base_n, base_t, base_rss = _run(_sqlite_baseline, path)
        one_n, one_t, one_rss = _run(_vault_import, path, 1)
        vault_n, vault_t, vault_rss = _run(_vault_import, path, 2)
        base_rate, one_rate, vault_rate = base_n / base_t, one_n / one_t, vault_n / vault_t
        print(
            f"sqlite3 plaintext rows : {base_rate:>10,.0f} records/s  peak RSS {base_rss:6.1f} MiB"
        )
        print(f"vault, one process     : {one_rate:>10,.0f} records/s  peak RSS {one_rss:6.1f} MiB")
        print(
            f"vault, jobs=2          : {vault_rate:>10,.0f} records/s  peak RSS {vault_rss:6.1f} MiB"
            f"  ({vault_rate / one_rate:.2f}x one process)"
        )
        print(f"ratio vault/plaintext  : {vault_rate / base_rate:.3f}  (target >= 0.25)")
        print(f"vault testimonies/s    : {vault_rate:,.0f}  (target >= 10,000)")
        if args.memory_check:
            small = Path(tmp) / "small.jsonl"
            write_jsonl(small, args.n // 4)
            _, _, small_rss = _run(_vault_import, small, 2)
            print(f"peak RSS at N/4        : {small_rss:6.1f} MiB  (at N: {vault_rss:.1f} MiB)")


if __name__ == "__main__":
    main()
