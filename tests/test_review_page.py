"""The review page (`evault review`) as a custodian uses it: its own process on
127.0.0.1, driven in headless Chromium (Debian's chromium and chromium-driver); and
what it refuses to anyone else."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from exporting import new_identity, open_export
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_review import MONITOR_FLAGGED

from conftest import PASSPHRASE, Backend, require_tool
from corpus import export_corpus
from vault.policy import parse_policy

MARK = "the fine was"  # ordinary words in every corpus narrative
TARGET = "XT-VN-01"
# Redacted by the machine as a phone number and, inside it, as a number: letting it
# through lets both through.
RELEASED = "(+84) 913-201-101"
# Characters outside the Basic Multilingual Plane before the marked words: the
# browser counts UTF-16 units, the vault code points, and the page converts.
ASTRAL = "🙂𠮷 "


# Texts where the vault's rendering has rules of its own, which the page's preview
# must follow: given and family name redacted apart read as one token, and a
# redaction takes the combining marks after it (decomposed Vietnamese).
RENDERING = {
    "XT-VN-R1": "Minh Trần said, and Hương Nguyễn agreed; Minh, Minh Minh came.",
    "XT-VN-R2": unicodedata.normalize("NFD", "Hỏi Vũ, Lý và Dũng."),
}


def _corpus() -> list[dict[str, Any]]:
    records = export_corpus()
    target = next(r for r in records if r["id"] == TARGET)
    target["narrative"] = ASTRAL + target["narrative"]
    model = next(r for r in records if r["id"] == "XT-VN-01")
    for record_id, narrative in RENDERING.items():
        records.append({**model, "id": record_id, "narrative": narrative})
    return records


@pytest.fixture
def reviewed(sqlite_backend: Backend, tmp_path: Path) -> tuple[Backend, Path]:
    """A vault with the multilingual corpus, and a policy that requires review."""
    with sqlite_backend.create() as v:
        v.import_records(_corpus())
    policy = tmp_path / "reviewed.yaml"
    policy.write_text(MONITOR_FLAGGED.replace("policy: monitor", "policy: reviewed"))
    return sqlite_backend, policy


@contextlib.contextmanager
def _review_page(
    backend: Backend, policy: Path, *args: str, idle_timeout: int = 60
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``evault review`` in its own process; yields the one-time URL it prints."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vault",
            "review",
            "--policy",
            str(policy),
            "--idle-timeout",
            str(idle_timeout),
            *args,
        ],
        env={**os.environ, "EVAULT_DIR": str(backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?t=[\w-]+", url), (url, proc.poll())
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=30)


def _base(url: str) -> str:
    return url.partition("/?")[0]


def _export(backend: Backend, policy: Path, tmp_path: Path) -> tuple[list[Any], dict[str, Any]]:
    with backend.open() as v:
        n = len(v.exports())
        identity, _key, public = new_identity(tmp_path, f"recipient-{n}.txt")
        out = tmp_path / f"reviewed-{n}.age"
        v.add_recipient(f"monitor-desk-{n}", public)
        manifest = v.export(parse_policy(policy.read_text(), str(policy)), f"monitor-desk-{n}", out)
    members = open_export(out, identity)
    records = [json.loads(line) for line in members["records.jsonl"].splitlines()]
    return records, dict(manifest)


def _chromium() -> webdriver.Chrome:
    install = "apt-get install chromium chromium-driver"
    chromium = require_tool("chromium", install)
    chromedriver = require_tool("chromedriver", install)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # tests may run as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(chromedriver))


def _press(driver: webdriver.Chrome, key: str) -> None:
    ActionChains(driver).send_keys(key).perform()


def _text(driver: webdriver.Chrome, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


SELECT = """
const [words] = arguments;
for (const el of document.querySelectorAll('#text span[data-s]')) {
  const node = el.firstChild;
  const i = node.textContent.indexOf(words);
  if (i < 0) continue;
  const range = document.createRange();
  range.setStart(node, i);
  range.setEnd(node, i + words.length);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return true;
}
return false;
"""
# Every item's "As it will leave", as the page computes it, against the vault's.
PREVIEWS = """
return items
  .map((item, i) => [item.record_id + ' ' + item.field, leaving(item, itemState(i)), item.rendered])
  .filter(([, page, vault]) => page !== vault);
"""


def _open(driver: webdriver.Chrome, url: str) -> WebDriverWait[webdriver.Chrome]:
    wait = WebDriverWait(driver, 30, poll_frequency=0.05)
    driver.get(url)
    wait.until(lambda d: _text(d, "text"))
    assert driver.current_url == _base(url) + "/"  # the token left the address bar
    return wait


def _go_to(driver: webdriver.Chrome, record_id: str) -> None:
    """Press j until the page shows the record's narrative."""
    for _ in range(int(driver.execute_script("return items.length"))):
        if f"record {record_id}, narrative" in _text(driver, "item-title"):
            return
        _press(driver, "j")
    assert f"record {record_id}, narrative" in _text(driver, "item-title")


def _finish(driver: webdriver.Chrome, wait: WebDriverWait[webdriver.Chrome]) -> None:
    _press(driver, "d")
    wait.until(lambda d: "Review finished" in _text(d, "status"))


def test_a_span_marked_in_chromium_leaves_redacted(
    reviewed: tuple[Backend, Path], tmp_path: Path
) -> None:
    backend, policy = reviewed
    driver = _chromium()
    try:
        with _review_page(backend, policy) as (url, proc):
            base = _base(url)
            wait = _open(driver, url)
            # The page's preview is the vault's rendering, in every script of the corpus.
            assert driver.execute_script(PREVIEWS) == []
            _go_to(driver, TARGET)
            assert driver.execute_script(SELECT, MARK) is True
            _press(driver, "m")
            assert "said [REDACTED] 2,000,000" in _text(driver, "rendered")
            marks = driver.find_elements(By.CSS_SELECTOR, "#text mark")
            next(m for m in marks if m.text == RELEASED).click()
            assert f"called {RELEASED}." in _text(driver, "rendered")
            _press(driver, "a")
            wait.until(lambda d: _text(d, "summary").startswith("1 of"))
            assert "decision sealed" in _text(driver, "status")

            # The one-time link is spent: a second visit is refused.
            assert httpx.get(url).status_code == 403
            # Everything the page loaded came from the page's own server.
            loaded = driver.execute_script(
                "return performance.getEntriesByType('resource').map((e) => e.name)"
            )
            assert loaded
            assert all(str(name).startswith(base + "/") for name in loaded), loaded
            log = driver.get_log("browser")  # type: ignore[no-untyped-call]  # selenium's own
            severe = [e for e in log if e["level"] == "SEVERE"]
            assert severe == []  # no refused resource, no script error

            _finish(driver, wait)
            assert "1 decisions sealed" in _text(driver, "status")
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out == ""  # the URL was the only line
        assert "Review stopped (done): 1 decisions sealed." in err

        records, manifest = _export(backend, policy, tmp_path)
        # Only the reviewed narrative leaves (under a pseudonymous id); the others wait.
        narratives = [r["narrative"] for r in records if "narrative" in r]
        assert len(narratives) == 1
        narrative = narratives[0]
        assert MARK not in narrative
        assert "said [REDACTED] 2,000,000" in narrative
        assert f"called {RELEASED}." in narrative
        assert narrative.startswith(ASTRAL)
        assert manifest["counts"]["review"]["reviewed"] == 1

        # Reviewed again (--every) and accepted as shown: the reviewer's redaction
        # is shown as theirs and stays.
        with _review_page(backend, policy, "--every") as (url, proc):
            wait = _open(driver, url)
            _go_to(driver, TARGET)
            assert "(reviewed)" in _text(driver, "item-title")
            added = driver.find_elements(By.CSS_SELECTOR, "#text mark.added")
            assert [m.text for m in added] == [MARK]
            _press(driver, "a")
            wait.until(lambda d: "decision sealed" in _text(d, "status"))
            _finish(driver, wait)
            proc.communicate(timeout=30)
        assert proc.returncode == 0
    finally:
        driver.quit()
    records, _manifest = _export(backend, policy, tmp_path)
    assert [MARK not in r["narrative"] for r in records if "narrative" in r] == [True]


def test_the_page_answers_only_its_reviewer_and_stops_when_idle(
    reviewed: tuple[Backend, Path],
) -> None:
    backend, policy = reviewed
    with _review_page(backend, policy, idle_timeout=4) as (url, proc):
        base = _base(url)
        host = base.removeprefix("http://")
        opened = httpx.get(url)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        jar = {"evault_review": opened.cookies["evault_review"]}
        assert httpx.get(url).status_code == 403  # once only
        assert httpx.get(base + "/").status_code == 403  # no cookie, no page
        assert httpx.get(base + "/items").status_code == 403

        page = httpx.get(base + "/", cookies=jar)
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "connect-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        referenced = re.findall(r'(?:src|href)="([^"]*)"', page.text)
        assert referenced
        assert all(r.startswith("/") and not r.startswith("//") for r in referenced)
        for asset in ("/review.js", "/review.css"):
            served = httpx.get(base + asset, cookies=jar).text
            assert "http:" not in served
            assert "https:" not in served
            assert "url(" not in served

        # DNS rebinding: a page elsewhere that resolves to 127.0.0.1 names another host.
        rebound = httpx.get(base + "/items", cookies=jar, headers={"Host": f"localhost:{host}"})
        assert rebound.status_code == 421
        # A cross-site form can send the cookie but not a custom header.
        forged = httpx.post(base + "/decide", cookies=jar, json={"index": 0})
        assert forged.status_code == 403
        write = {"X-Evault-Review": "1"}
        assert httpx.post(base + "/nowhere", cookies=jar, headers=write).status_code == 404
        assert (
            httpx.post(base + "/decide", cookies=jar, headers=write, json={"index": -1}).status_code
            == 400
        )

        items = httpx.get(base + "/items", cookies=jar).json()["items"]
        index = next(
            i for i, x in enumerate(items) if x["record_id"] == TARGET and x["field"] == "narrative"
        )
        bad = httpx.post(
            base + "/decide",
            cookies=jar,
            headers=write,
            json={"index": index, "redact": [[0, 10**9]]},
        )
        assert bad.status_code == 422
        assert "must lie inside the text" in bad.json()["error"]
        # The text changes under the reviewer: the decision is refused, not moved.
        changed = next(r for r in _corpus() if r["id"] == TARGET)
        changed["narrative"] += " More was said later."
        with backend.open() as v:
            v.update(TARGET, changed)
        stale = httpx.post(base + "/decide", cookies=jar, headers=write, json={"index": index})
        assert stale.status_code == 409
        assert "changed since it was shown" in stale.json()["error"]
        assert changed["narrative"][:30] not in stale.text
        other = next(i for i, x in enumerate(items) if x["record_id"] != TARGET)
        ok = httpx.post(base + "/decide", cookies=jar, headers=write, json={"index": other})
        assert ok.status_code == 200

        # Requests from elsewhere do not keep the page alive: it stops when idle.
        for _ in range(120):
            if proc.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                httpx.get(base + "/items", headers={"Host": "evil.example"}, timeout=1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.5)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Review stopped (idle timeout): 1 decisions sealed." in err
    assert out == ""
    with backend.open() as v:
        logged = json.dumps([e.details for e in v.audit_entries()], ensure_ascii=False)
    assert MARK not in logged


def test_an_unknown_policy_stops_the_page_before_it_serves(
    reviewed: tuple[Backend, Path], tmp_path: Path
) -> None:
    backend, _policy = reviewed
    run = subprocess.run(
        [sys.executable, "-m", "vault", "review", "--policy", "no-such-policy"],
        env={**os.environ, "EVAULT_DIR": str(backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert run.stdout == ""  # no URL
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
