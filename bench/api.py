"""HTTP API on loopback vs. the Python API in-process: adds and reads.

Starts `evault serve` on 127.0.0.1 in a process of its own, as a deployment runs it,
then C concurrent clients (threads with httpx) add records and read them back; in the
same run, the same operations go through the Python API directly (a token's view, in
this process). Reads are timed in rounds over all records on both sides, and the
median round counts (this machine's speed varies from second to second). Prints
requests/s, p50/p99 latency, and the ratio of reads.

    python bench/api.py [--requests 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from vault import KdfParams, Passphrase, Vault


def _record(i: int, prefix: str) -> dict[str, Any]:
    return {
        "type": "finding",
        "id": f"{prefix}-{i:06d}",
        "site_id": "S",
        "audit_date": "2026-09-01",
        "severity": "high",
        "status": "open",
        "summary": f"Finding {i}.",
    }


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return (
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Read every record this many times on each side; the median round counts.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        kdf = KdfParams(memory_kib=1024, time_cost=1, parallelism=1)
        vault = Vault.create(
            Path(t) / "v", Passphrase("benchmark passphrase"), kdf=kdf, identity_approvals=0
        )
        vault.add({"type": "site", "id": "S", "name": "Plant", "kind": "mine", "country": "CD"})
        token, _ = vault.create_token("bench", role="custodian", classes=["narrative"])
        vault.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        evault = Path(sys.executable).with_name("evault")
        server = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
            [str(evault), "--vault", str(Path(t) / "v"), "serve", "--port", str(port)],
            env={**os.environ, "EVAULT_PASSPHRASE": "benchmark passphrase"},
        )
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(base + "/health")
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise SystemExit("evault serve did not start") from None
                time.sleep(0.05)

        headers = {"Authorization": f"Bearer {token}"}
        results: dict[str, list[float]] = {"add": [], "read": []}
        lock = threading.Lock()

        # One client (a pool of keep-alive connections) shared by all client threads.
        shared = httpx.Client(base_url=base, headers=headers, timeout=60)

        def work(i: int) -> None:
            t0 = time.perf_counter()
            shared.post("/records", json=_record(i, "API")).raise_for_status()
            t1 = time.perf_counter()
            shared.get(f"/records/API-{i:06d}").raise_for_status()
            t2 = time.perf_counter()
            with lock:
                results["add"].append(t1 - t0)
                results["read"].append(t2 - t1)

        n = args.requests // 2
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(work, range(n)))
        api_elapsed = time.perf_counter() - start
        shared.close()
        rounds = []
        with (
            ThreadPoolExecutor(args.clients) as pool,
            httpx.Client(base_url=base, headers=headers, timeout=60) as client,
        ):
            for _ in range(args.rounds):
                start = time.perf_counter()
                list(
                    pool.map(
                        lambda i: client.get(f"/records/API-{i:06d}").raise_for_status(), range(n)
                    )
                )
                rounds.append(n / (time.perf_counter() - start))
        print("API read rounds (req/s):", " ".join(f"{r:.0f}" for r in rounds))
        api_reads = statistics.median(rounds)

        server.terminate()
        server.wait(timeout=30)
        vault = Vault.open(Path(t) / "v", Passphrase("benchmark passphrase"))
        view = vault.for_token(token)
        start = time.perf_counter()
        for i in range(n):
            view.add(_record(i, "PY"))
        py_adds = n / (time.perf_counter() - start)
        rounds = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for i in range(n):
                view.get(f"PY-{i:06d}")
            rounds.append(n / (time.perf_counter() - start))
        py_reads = statistics.median(rounds)
        vault.close()

    add50, add99 = _percentiles(results["add"])
    read50, read99 = _percentiles(results["read"])
    print(f"{args.requests} requests, {args.clients} concurrent clients, loopback")
    print(f"API mixed add+read : {args.requests / api_elapsed:8.0f} req/s")
    print(f"API add  p50 {add50:6.1f} ms  p99 {add99:6.1f} ms")
    print(f"API read p50 {read50:6.1f} ms  p99 {read99:6.1f} ms")
    print(
        f"API reads (median of {args.rounds} rounds): {api_reads:6.0f} req/s   "
        f"in-process reads {py_reads:6.0f}/s   "
        f"ratio {api_reads / py_reads:.3f} (target >= 0.5)"
    )
    print(f"in-process adds    : {py_adds:8.0f}/s")


if __name__ == "__main__":
    main()
