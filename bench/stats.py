"""Statistics over N testimonies vs. decrypting the same columns without counting.

Imports N synthetic testimonies over 200 sites (default 100,000; not timed), then
in the same run, each phase in a fresh subprocess:

* decrypt-only: the operational class of every testimony's latest version (the
  columns statistics read: site, dates, channel, gender, migrant status,
  allegations, consent, and the sealed links to the worker), nothing else
* exact:        `evault stats --by site,month` for an admin (no policy)
* policy:       the same under the `monitor` policy: consent gate, people counted
                through the sealed links, every small cell suppressed with its
                complements (the suppression is checked before it is returned)

Each phase runs twice, interleaved, and the faster run counts. Prints
testimonies/s for each, the ratios (target >= 0.5) and seconds (target under 10 s
for the policy run).

    python bench/stats.py [--n 100000] [--by site,month]
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


def _decrypt_only(folder: str, by: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with Vault.open(folder, PASS) as v:
        start = time.perf_counter()
        n = sum(
            1
            for _ref, _subject, r, _links in ExportSource(v._ctx).export_linked(
                frozenset({"testimony"}), classes=frozenset({"operational"})
            )
            if r is not None
        )
        out.put((n, time.perf_counter() - start, _rss(), None))


def _stats(folder: str, by: str, policy: str | None, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with Vault.open(folder, PASS) as v:
        start = time.perf_counter()
        result = v.stats(
            by,
            policy=find_policy(policy) if policy else None,
            count=("testimonies", "workers"),  # the synthetic vault holds no findings
        )
        elapsed = time.perf_counter() - start
    testimonies = result.table("testimonies")
    n = (testimonies.total.value or 0) + sum(result.left_out.values())
    summary = {
        t.measure: {"cells": len(t.rows) * len(t.columns), "suppressed": t.suppressed}
        for t in result.tables
    }
    out.put((n, elapsed, _rss(), summary))


def _exact(folder: str, by: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    _stats(folder, by, None, out)


def _monitor(folder: str, by: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    _stats(folder, by, "monitor", out)


def _run(target: object, folder: Path, by: str) -> tuple:  # type: ignore[type-arg]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(str(folder), by, q))
    p.start()
    p.join()
    if p.exitcode != 0:
        raise SystemExit(f"{getattr(target, '__name__', target)} failed (exit {p.exitcode})")
    return q.get()  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--by", default="site,month")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        print(f"preparing a vault with {args.n:,} synthetic testimonies (not timed) ...")
        folder = vault_of(tmp, args.n, PASS)
        # Each phase twice, interleaved, the faster run kept: on a shared machine
        # the load of others shifts between phases.
        runs = [
            (
                _run(_decrypt_only, folder, args.by),
                _run(_exact, folder, args.by),
                _run(_monitor, folder, args.by),
            )
            for _ in range(2)
        ]
        dn, dt_, drss, _ = min((r[0] for r in runs), key=lambda x: x[1])
        en, et, erss, _ = min((r[1] for r in runs), key=lambda x: x[1])
        pn, pt, prss, tables = min((r[2] for r in runs), key=lambda x: x[1])
        d_rate, e_rate, p_rate = dn / dt_, en / et, pn / pt
        print(
            f"decrypt only     : {d_rate:>9,.0f} testimonies/s  {dt_:5.1f} s  peak RSS {drss:6.1f} MiB"
        )
        print(
            f"stats, exact     : {e_rate:>9,.0f} testimonies/s  {et:5.1f} s  peak RSS {erss:6.1f} MiB"
        )
        print(
            f"stats, monitor   : {p_rate:>9,.0f} testimonies/s  {pt:5.1f} s  peak RSS {prss:6.1f} MiB"
        )
        print(f"ratio exact/decrypt   : {e_rate / d_rate:.3f}  (target >= 0.5)")
        print(f"ratio monitor/decrypt : {p_rate / d_rate:.3f}  (target >= 0.5)")
        print(f"seconds under monitor : {pt:.1f}  (target < 10)")
        print(f"tables (--by {args.by}): {tables}")


if __name__ == "__main__":
    main()
