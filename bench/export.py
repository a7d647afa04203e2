"""Export under the union policy vs. decrypting the same records without policy work.

Imports N synthetic testimonies (default 100,000; not timed), then in the same run,
each phase in a fresh subprocess so that peak memory is its own:

* decrypt-only: every record's latest version opened (identity included), nothing else
* export:       the full `union` export (gates, k-anonymity, scrubbing, pseudonyms,
                signed manifest, age-encrypted archive written to disk)

Prints testimonies/s for both, the ratio, and peak RSS. With --memory-check it also
exports N/4 testimonies to show that memory stays flat in N.

    python bench/export.py [--n 100000] [--memory-check]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import vault_of

from vault import Passphrase, Vault
from vault.policy import find_policy
from vault.sharing import ExportSource

PASS = Passphrase("benchmark passphrase")


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _decrypt_only(folder: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with Vault.open(folder, PASS) as v:
        start = time.perf_counter()
        n = sum(
            1
            for _ref, _subject, r in ExportSource(
                v._ctx
            ).export_records(  # the export's own reader, no policy work
                frozenset({"testimony"}),
                classes=frozenset({"identity", "special", "narrative", "operational"}),
            )
            if r is not None
        )
        out.put((n, time.perf_counter() - start, _rss()))


def _export(folder: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with Vault.open(folder, PASS) as v:
        start = time.perf_counter()
        manifest = v.export(find_policy("union"), "bench", Path(folder) / "union.age")
        elapsed = time.perf_counter() - start
    n = manifest["counts"]["included"].get("testimony", 0) + sum(
        c for r, c in manifest["counts"]["excluded"].items() if r != "type_not_exported"
    )
    out.put((n, elapsed, _rss(), manifest["counts"]))


def _run(target: object, folder: Path) -> tuple:  # type: ignore[type-arg]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(str(folder), q))
    p.start()
    result = q.get()
    p.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--memory-check", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        print(f"preparing a vault with {args.n:,} synthetic testimonies (not timed) ...")
        folder = vault_of(tmp, args.n, PASS, recipient="bench")
        dn, dt_, drss = _run(_decrypt_only, folder)
        en, et, erss, counts = _run(_export, folder)
        d_rate, e_rate = dn / dt_, en / et
        size = (folder / "union.age").stat().st_size / 2**20
        print(f"decrypt only  : {d_rate:>9,.0f} testimonies/s  peak RSS {drss:6.1f} MiB")
        print(
            f"union export  : {e_rate:>9,.0f} testimonies/s  peak RSS {erss:6.1f} MiB  "
            f"({size:.1f} MiB file)"
        )
        print(f"ratio export/decrypt : {e_rate / d_rate:.3f}  (target >= 0.5)")
        print(f"export testimonies/s : {e_rate:,.0f}  (target >= 5,000)")
        print(f"counts: {counts}")
        if args.memory_check:
            small = vault_of(tmp, args.n // 4, PASS, recipient="bench")
            _, _, srss, _ = _run(_export, small)
            print(f"peak RSS exporting N/4 : {srss:6.1f} MiB  (at N: {erss:.1f} MiB)")


if __name__ == "__main__":
    main()
