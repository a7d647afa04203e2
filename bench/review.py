"""Review before release: what reviewing N narratives costs the reviewer.

Imports N synthetic testimonies (default 1,000; not timed) under a policy that
requires review, then starts `evault review` on 127.0.0.1 in a process of its own,
as a custodian runs it, and measures:

* startup: from launch to the printed URL (unlock and listing the N items, once),
  and the first load of the items by the page;
* next: moving to the next narrative is done by the page alone (no request); with
  headless Chromium (Debian's chromium and chromium-driver) it is timed in the page,
  layout included, and the requests it made are counted;
* decide: one decision POST per narrative against the page server, one after
  another (the page sends them in the background, so the reviewer never waits on
  them; timed here all the same);
* export: the same N narratives leaving with N decisions applied, against leaving
  without review (the same policy with `review: none`); the median of --rounds.

Target: each next narrative ready in <= 50 ms.

    python bench/review.py [--n 1000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_jsonl

from vault import KdfParams, Passphrase, Vault
from vault.export import write_age_identity
from vault.policy import parse_policy

PASS = "benchmark passphrase"  # noqa: S105 - a throwaway vault in a temporary folder
TARGET_MS = 50.0
POLICY = """\
policy: bench-{review}
audience: {audience}
review: {review}
scrub_tokens: export
description: Scrubbed narratives for the review benchmark.
k_anonymity: {{k: 2, quasi_identifiers: [worker.nationality], max_suppression: 0.2}}
records:
  testimony:
    rules:
      identity: drop
      special: drop
      id: {{pseudonymize: recipient}}
      worker.nationality: keep
      allegations: keep
      narrative: scrub
"""
WORDS = "the supervisor"  # in every synthetic narrative: the reviewer's own redaction
NEXT_IN_PAGE = """
const before = performance.getEntriesByType('resource').length;
const times = [];
at = 0; show();
for (let i = 1; i < items.length; i++) {
  const t = performance.now();
  move(1);
  void document.getElementById('text').offsetHeight;  // laid out: ready to paint
  times.push(performance.now() - t);
}
return {times, requests: performance.getEntriesByType('resource').length - before};
"""


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
    }


def _prepare(tmp: Path, n: int) -> tuple[Path, Path]:
    data = tmp / "in.jsonl"
    write_jsonl(data, n)
    folder = tmp / "vault"
    kdf = KdfParams(memory_kib=64 * 1024, time_cost=3, parallelism=4)
    with Vault.create(folder, Passphrase(PASS), kdf=kdf) as v:
        v.import_file(data)
        v.add_recipient("bench", write_age_identity(tmp / "key.txt"))
    data.unlink()
    # Another audience for the baseline: no decision of the reviewed one applies to it.
    for review, audience in (("required", "monitor"), ("none", "union")):
        (tmp / f"bench-{review}.yaml").write_text(POLICY.format(review=review, audience=audience))
    return folder, tmp / "bench-required.yaml"


def _browser() -> Any:
    """Headless Chromium through WebDriver, or None if it is not installed."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        return None
    try:
        # Optional: without it, the page's own timing is left out.
        from selenium import webdriver  # noqa: PLC0415
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415
    except ImportError:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(driver))


def _page(folder: Path, policy: Path, n: int) -> dict[str, Any]:
    env = {**os.environ, "EVAULT_DIR": str(folder), "EVAULT_PASSPHRASE": PASS}
    start = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [sys.executable, "-m", "vault", "review", "--policy", str(policy), "--idle-timeout", "600"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    startup = time.perf_counter() - start
    if not url.startswith("http://127.0.0.1:"):
        proc.wait(timeout=60)
        assert proc.stderr is not None
        raise SystemExit(f"evault review did not start: {proc.stderr.read().strip()}")
    base = url.partition("/?")[0]
    out: dict[str, Any] = {"startup_s": startup}
    browser = _browser()
    try:
        if browser is not None:
            begin = time.perf_counter()
            browser.get(url)
            while not browser.execute_script("return items.length"):
                time.sleep(0.005)
            out["first_load_s"] = time.perf_counter() - begin
            nexts = browser.execute_script(NEXT_IN_PAGE)
            out["next_ms"] = _ms([float(t) for t in nexts["times"]])
            out["next_requests"] = int(nexts["requests"])
            cookie = browser.get_cookie("evault_review")["value"]
        else:
            opened = httpx.get(url)
            cookie = opened.cookies["evault_review"]
        jar = {"evault_review": cookie}
        write = {"X-Evault-Review": "1"}
        latencies = []
        with httpx.Client(base_url=base, cookies=jar, headers=write) as client:
            begin = time.perf_counter()
            items = client.get("/items").json()["items"]
            out["items_get_s"] = time.perf_counter() - begin
            out["items"] = len(items)
            for index, item in enumerate(items):
                at = item["text"].index(WORDS)
                body = {"index": index, "redact": [[at, at + len(WORDS)]]}
                begin = time.perf_counter()
                client.post("/decide", json=body).raise_for_status()
                latencies.append((time.perf_counter() - begin) * 1000)
            client.post("/done", json={}).raise_for_status()
        out["decide_ms"] = _ms(latencies)
        proc.wait(timeout=60)
    finally:
        if browser is not None:
            browser.quit()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    return out


def _exports(folder: Path, policies: list[Path], rounds: int) -> list[tuple[float, Any]]:
    """The median time of each policy's export, the policies taking turns."""
    parsed = [parse_policy(p.read_text(), str(p)) for p in policies]
    times: list[list[float]] = [[] for _ in policies]
    counts: list[Any] = [None for _ in policies]
    with Vault.open(folder, Passphrase(PASS)) as v:
        for r in range(rounds):
            for i, policy in enumerate(parsed):
                begin = time.perf_counter()
                manifest = v.export(policy, "bench", folder.parent / f"{policy.name}-{r}.age")
                times[i].append(time.perf_counter() - begin)
                counts[i] = dict(manifest["counts"])
    return [(statistics.median(t), c) for t, c in zip(times, counts, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if not args.json:
            print(f"preparing a vault with {args.n:,} synthetic testimonies (not timed) ...")
        folder, required = _prepare(tmp, args.n)
        page = _page(folder, required, args.n)
        (without, plain), (with_decisions, reviewed) = _exports(
            folder, [tmp / "bench-none.yaml", required], args.rounds
        )
    result = {
        "n": args.n,
        **page,
        "export_without_review_s": without,
        "export_with_decisions_s": with_decisions,
        "export_ratio": with_decisions / without,
        "exported_narratives": {
            "without_review": plain["included"].get("testimony", 0),
            "with_decisions": reviewed["review"].get("reviewed", 0),
        },
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    row = "{:<44} {:>10} {:>10} {:>10}"
    print()
    print(f"startup (launch to URL: unlock, list {page['items']:,}) : {page['startup_s']:.2f} s")
    print(f"items fetched by the page (one GET)            : {page['items_get_s'] * 1000:.0f} ms")
    if "first_load_s" in page:
        print(f"first load in Chromium (page + items)          : {page['first_load_s']:.2f} s")
    print()
    print(row.format("per narrative", "p50 ms", "p95 ms", "max ms"))
    if "next_ms" in page:
        n = page["next_ms"]
        label = f"next, in the page ({page['next_requests']} requests in all)"
        print(row.format(label, f"{n['p50']:.2f}", f"{n['p95']:.2f}", f"{n['max']:.2f}"))
    else:
        print(row.format("next, in the page (no Chromium: not timed)", "-", "-", "-"))
    d = page["decide_ms"]
    print(
        row.format(
            "decision POST (in the background)",
            f"{d['p50']:.1f}",
            f"{d['p95']:.1f}",
            f"{d['max']:.1f}",
        )
    )
    print()
    print(
        f"export, {result['exported_narratives']['without_review']:,} narratives, no review   : {without:.2f} s"
    )
    print(
        f"export, {result['exported_narratives']['with_decisions']:,} narratives, with decisions : {with_decisions:.2f} s"
    )
    print(f"ratio with/without : {result['export_ratio']:.2f}")
    if "next_ms" in page:
        verdict = "met" if page["next_ms"]["max"] <= TARGET_MS else "NOT met"
        print(f"target: each next narrative ready in <= {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
