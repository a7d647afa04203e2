"""Reports (`evault report`): built from the statistics of one policy only, a page
that loads nothing and shows a suppressed count as a mark, read in headless
Chromium as a person would; the workbook and the CSV for spreadsheet users."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from catalogues import WORDS
from click.testing import CliRunner
from exporting import new_identity, open_export, repack
from openpyxl import load_workbook
from test_stats import AS_OF, records

from conftest import PASSPHRASE, Backend, require_tool
from vault.cli import cli
from vault.errors import IntegrityError, InvalidInputError, UsageError
from vault.export.flat import flatten
from vault.export.verify import verify_export
from vault.policy import find_policy, parse_policy
from vault.report import (
    MARK,
    VIEWS,
    Report,
    View,
    render_csv,
    render_html,
    render_xlsx,
    translator,
)
from vault.tables import MEASURES, Statistics, Tally


def _hostile_report() -> Report:
    """A report whose labels a browser or a spreadsheet would run if they were
    not escaped."""
    tally = Tally("findings", ("site",), 5)
    for n, site in enumerate(["<script>alert(1)</script>", "=HYPERLINK(1)", "S-9"]):
        for i in range(6 if n else 2):
            tally.add([[site]], (n, i))
    stats = Statistics(("site",), "p", "ab" * 32, 5, (tally.table(),), None)
    return Report("p<b>", "ab" * 32, 5, AS_OF, (View(("site",), stats),), {"consent": 3})


def test_labels_are_escaped_and_never_run() -> None:
    report = _hostile_report()
    page = render_html(report)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "p&lt;b&gt;" in page
    assert "3 records: consent" in page
    body = render_csv(report)
    rows = list(csv.reader(io.StringIO(body)))
    assert any(row[1] == "'=HYPERLINK(1)" for row in rows)  # text, not a formula
    assert ["findings by site", "<script>alert(1)</script>", "", "true"] in rows
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    values = [c.value for row in book["findings by site"].iter_rows() for c in row]
    assert "'=HYPERLINK(1)" in values
    assert all(not str(v).startswith("=") for v in values)


def test_a_report_under_a_policy(sqlite_backend: Backend, tmp_path: Path) -> None:
    with sqlite_backend.create() as v:
        v.import_records(records())
        # The workbook and the CSV from the same statistics the command renders.
        report = v.report(find_policy("buyers"), as_of=AS_OF)
    runner = CliRunner()
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    base = [*sqlite_backend.cli_args(), "report", "--policy", "buyers", "--as-of", "2026-12-01"]
    base += ["--lang", "en"]
    outputs = {"html": tmp_path / "report.html", "xlsx": tmp_path / "report.xlsx"}
    result = runner.invoke(cli, [*base, "--out", str(outputs["html"])], env=env)
    assert result.exit_code == 0, result.output
    assert "under policy buyers" in result.output
    outputs["xlsx"].write_bytes(render_xlsx(report))
    page = outputs["html"].read_text()
    policy = find_policy("buyers")
    assert policy.sha256 in page
    assert "Suppression threshold</dt><dd>5 people" in page
    # Left out as the policy would leave them out, and why; a breakdown it refuses.
    assert "consent_excludes_audience" in page
    assert "statistics by month are refused" in page
    # Nothing of a record's text: not a worker's name, not a site's name.
    assert "Worker " not in page
    assert "Plant " not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", page, re.I)
    assert "<script" not in page

    book = load_workbook(outputs["xlsx"])
    assert book.sheetnames[:4] == [
        "about",
        "testimonies by allegation",
        "findings by allegation",
        "workers by allegation",
    ]
    assert "findings by site-status" in book.sheetnames
    about = {row[0].value: row[1].value for row in book["about"].iter_rows()}
    assert about["policy sha256"] == policy.sha256
    by_site = [[c.value for c in row] for row in book["testimonies by site"].iter_rows()]
    assert any(row[1] == MARK for row in by_site[1:])  # a site of fewer than 5 people
    lines = render_csv(report).splitlines()
    assert lines[0] == "table,allegation,site,status,month,value,suppressed"
    assert any(
        line.startswith("testimonies by site,,S-") and line.endswith(",,true") for line in lines
    )

    refused = runner.invoke(
        cli,
        [*sqlite_backend.cli_args(), "report", "--policy", "nope", "--out", str(tmp_path / "n")],
        env=env,
    )
    assert refused.exit_code == 6
    assert not (tmp_path / "n").exists()

    _in_chromium(outputs["html"], tmp_path)


def _in_chromium(page: Path, tmp_path: Path) -> None:
    """The page as a browser shows it: tables, an SVG chart, the mark where a
    count is suppressed, and not one request beyond the file itself."""
    require_tool("chromium", "apt-get install chromium chromium-driver")
    from selenium.webdriver.common.by import By
    from test_review_page import _chromium

    driver = _chromium()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.get(page.as_uri())
        assert "Monitoring report" in driver.find_element(By.TAG_NAME, "h1").text
        captions = [c.text for c in driver.find_elements(By.TAG_NAME, "caption")]
        assert "Testimonies by allegation × site" in captions
        assert "Findings by site × status" in captions
        charts = driver.find_elements(By.CSS_SELECTOR, "figure svg")
        assert len(charts) >= 4
        assert all(c.size["width"] > 200 for c in charts)
        hidden = driver.find_elements(By.CSS_SELECTOR, "td.suppressed")
        assert hidden
        assert {h.text for h in hidden} == {MARK}
        requests = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert requests == []
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()


def test_a_report_needs_no_vault_to_render() -> None:
    # The renderers take statistics only: a report of nothing still says so.
    empty = Report("p", "00" * 32, 5, dt.date(2026, 1, 1), (View(("month",), None, ("no",)),))
    assert "Not shown: no." in render_html(empty)
    assert render_csv(empty) == "table,value,suppressed\n"


def test_an_export_carries_the_formats_its_policy_asks_for(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    buyers = find_policy("buyers")
    policy = parse_policy(
        buyers.text.replace("policy: buyers", "policy: sheets") + "formats: [jsonl, csv, report]\n",
        "sheets.yaml",
    )
    identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_records(records())
        v.add_recipient("brand", public)
        v.export(policy, "brand", tmp_path / "out.age")
        v.export(buyers, "brand", tmp_path / "plain.age")
        signer = tmp_path / "signer.pem"
        signer.write_bytes(v.public_signing_key_pem())
    assert verify_export(tmp_path / "out.age", key, signer).lines > 0
    members = open_export(tmp_path / "out.age", identity)
    manifest = json.loads(members["manifest.json"])
    derived = {e["name"]: e for e in manifest["derived"]}
    assert set(derived) == {
        "records-site.csv",
        "records-testimony.csv",
        "records-finding.csv",
        "report.html",
    } & set(members)
    assert "records-testimony.csv" in derived
    assert "report.html" in derived
    for name, entry in derived.items():
        assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"]
    # The CSV holds what records.jsonl holds, one row per record, fields flattened.
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    testimonies = [r for r in lines if r["type"] == "testimony"]
    rows = list(csv.DictReader(io.StringIO(members["records-testimony.csv"].decode())))
    assert len(rows) == len(testimonies)
    assert rows[0]["id"] == testimonies[0]["id"]
    assert rows[0]["allegations"] == json.dumps(testimonies[0]["allegations"])
    assert flatten({"worker": {"gender": "f"}, "note": "=1+2", "gone": None, "ok": True}) == {
        "worker.gender": "f",
        "note": "'=1+2",
        "gone": "",
        "ok": "true",
    }
    assert policy.sha256 in members["report.html"].decode()
    assert "derived" not in json.loads(
        open_export(tmp_path / "plain.age", identity)["manifest.json"]
    )
    # A derived member is checked like every other.
    members["report.html"] = members["report.html"].replace(b"Monitoring", b"Monitorinq")
    repack(members, public, tmp_path / "forged.age")
    with pytest.raises(IntegrityError, match=r"report\.html"):
        verify_export(tmp_path / "forged.age", key, signer)
    with pytest.raises(InvalidInputError, match="formats: must include jsonl"):
        parse_policy(buyers.text + "formats: [csv]\n", "b.yaml")


def test_the_page_speaks_english_french_and_spanish() -> None:
    report = _hostile_report()
    words = {lang: render_html(report, lang) for lang in ("en", "fr", "es")}
    assert "Monitoring report" in words["en"]
    assert "Rapport de suivi" in words["fr"]
    assert "lang='fr'" in words["fr"]
    assert "Informe de seguimiento" in words["es"]
    assert "Umbral de supresión" in words["es"]
    for page in words.values():  # labels and reasons are never translated
        assert "&lt;script&gt;" in page
        assert (
            "3 records: consent" in page
            or "3 enregistrements : consent" in page
            or ("3 registros: consent" in page)
        )
    with pytest.raises(UsageError, match="unknown language"):
        translator("de")
    # Every word of the page is in each catalogue, and the compiled catalogues say
    # what tests/catalogues.py (their source) says.
    used = {m for _l, m, _c, _x in extract_from_file("python", "vault/report.py")}
    used |= {*MEASURES, "overdue findings", "allegation", "site", "month", "status"}
    used |= {View(by, None).title for by in VIEWS}
    assert used <= set(WORDS)
    for n, lang in enumerate(("fr", "es")):
        _ = translator(lang)
        assert {m: _(m) for m in WORDS} == {m: w[n] for m, w in WORDS.items()}
