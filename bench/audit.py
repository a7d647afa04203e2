"""Audit log: appends inside transactions, then a full verification.

In the same run, the baseline inserts the same rows with plain sqlite3 and no MAC.

    python bench/audit.py [--n 1000000] [--per-transaction 1000]

Prints entries/s for appends (with the chain MAC, head update and row insert) and
for verification, and the ratio of appends to plain inserts.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from vault import KdfParams, Passphrase, Vault, audit
from vault.store import write_transaction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--per-transaction", type=int, default=1000)
    parser.add_argument(
        "--single", type=int, default=2000, help="also time this many one-entry transactions"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
        v = Vault.create(Path(tmp) / "v", Passphrase("benchmark passphrase"), kdf=kdf)
        key = v._ctx.keys.audit_key()
        engine = v._ctx.engine
        details = {"records": {"testimony": 1}, "policy_sha256": "0" * 64}
        refs = ["0123456789abcdef0123456789abcdef"]

        start = time.perf_counter()
        done = 0
        while done < args.n:
            with write_transaction(engine) as conn:
                for _ in range(min(args.per_transaction, args.n - done)):
                    audit.append(conn, key, "admin", "read", refs=refs, details=details)
                    done += 1
        append_rate = args.n / (time.perf_counter() - start)

        start = time.perf_counter()
        for _ in range(args.single):
            with write_transaction(engine) as conn:
                audit.append(conn, key, "admin", "read", refs=refs, details=details)
        single_rate = args.single / (time.perf_counter() - start)

        start = time.perf_counter()
        with engine.connect() as conn:
            report = audit.verify(conn, key)
        verify_rate = report.size / (time.perf_counter() - start)
        v.close()

        db = sqlite3.connect(str(Path(tmp) / "plain.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE log (seq INTEGER PRIMARY KEY, at TEXT, actor TEXT, "
            "action TEXT, refs TEXT, details TEXT)"
        )
        start = time.perf_counter()
        for base in range(0, args.n, args.per_transaction):
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO log VALUES (?, datetime('now'), 'admin', 'read', ?, ?)",
                [
                    (base + i + 1, str(refs), str(details))
                    for i in range(min(args.per_transaction, args.n - base))
                ],
            )
            db.execute("COMMIT")
        plain_rate = args.n / (time.perf_counter() - start)
        db.close()

    print(f"entries: {args.n:,} in transactions of {args.per_transaction}")
    print(
        f"append (chained, in transactions) : {append_rate:>10,.0f} entries/s  (target >= 10,000)"
    )
    print(f"append (one per transaction)      : {single_rate:>10,.0f} entries/s")
    print(
        f"verify                            : {verify_rate:>10,.0f} entries/s  (target >= 100,000)"
    )
    print(f"plain sqlite3 inserts (baseline)  : {plain_rate:>10,.0f} rows/s")
    print(f"ratio append/plain                : {append_rate / plain_rate:.3f}")


if __name__ == "__main__":
    main()
