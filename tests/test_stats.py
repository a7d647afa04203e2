"""Statistics: what is counted (people, not testimonies; only what a policy would
export), by which dimensions a policy allows, who may count, and that no
suppressed count of a published table can be recovered from the rest of it
(attacked with the linear program of tests/test_suppress.py)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from test_api import _serving
from test_suppress import attack

from conftest import PASSPHRASE, Backend, fast_kdf
from vault import Passphrase, PermissionDeniedError, UsageError
from vault.api import create_app
from vault.cli import cli
from vault.policy import Policy, find_policy, parse_policy
from vault.tables import Table, Tally, TimingTally, check_policy, labels, measures_for

AS_OF = dt.date(2026, 12, 1)


def records(seed: int = 5) -> list[dict[str, Any]]:
    """Three sites; workers who speak once or several times (one employee id at
    one site is one worker), consent to various audiences, and findings at every
    stage of remediation. Fictional."""
    rng = random.Random(seed)  # noqa: S311 - fictional records, not a secret
    out: list[dict[str, Any]] = [
        {
            "type": "site",
            "id": f"S-{i}",
            "name": f"Plant {i}",
            "kind": "manufacturing",
            "country": country,
        }
        for i, country in enumerate(["VN", "TH", "VN"])
    ]
    n = 0
    for w in range(40):
        site = rng.choice([0, 0, 1, 2])
        share = rng.choice(
            [["union", "monitor"], ["union", "monitor", "buyers", "public"], ["union"]]
        )
        for _ in range(rng.choice([1, 1, 1, 3])):
            n += 1
            out.append(
                {
                    "type": "testimony",
                    "id": f"T-{n:03d}",
                    "site_id": f"S-{site}",
                    "received_on": f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}",
                    "channel": rng.choice(["interview", "hotline"]),
                    "worker": {
                        "name": f"Worker {w}",
                        "employee_id": f"E-{w}",
                        "gender": rng.choice(["female", "male"]),
                        "migrant": w % 3 == 0,
                    },
                    "allegations": rng.sample(
                        ["wages", "working_hours", "forced_labour"], rng.randint(1, 2)
                    ),
                    "consent": {"share_with": share, "withdrawn": rng.random() < 0.1},
                }
            )
    for f in range(30):
        status = ["open", "in_remediation", "remediated", "disputed"][f % 4]
        finding: dict[str, Any] = {
            "type": "finding",
            "id": f"F-{f:03d}",
            "site_id": f"S-{f % 3}",
            "audit_date": f"2026-0{1 + f % 5}-10",
            "severity": ["high", "low"][f % 2],
            "category": "wages",
            "status": status,
        }
        if status != "open":
            finding["remediation"] = {
                "due": f"2026-{7 + f % 6:02d}-01",
                "updated": f"2026-0{6 + f % 3}-{10 + f % 7}",
            }
        else:
            finding["remediation"] = {"due": "2026-11-01"}
        out.append(finding)
    return out


def assert_unrecoverable(table: Table) -> None:
    """The attacker of tests/test_suppress.py against a published table: every
    suppressed count stays open, every small one may be the threshold or more."""
    assert table.threshold is not None
    r, c = len(table.rows), len(table.columns)
    if not table.by or r == 0:
        return
    grid = [[cell.value for cell in row] for row in table.cells]
    k = len(table.by)
    right = table.row_totals if k >= 2 else [None] * r
    bottom = table.column_totals if k >= 2 else [table.total]
    assert right is not None
    assert bottom is not None
    published = [[*row, tot.value if tot else None] for row, tot in zip(grid, right, strict=True)]
    published.append([*(b.value for b in bottom), table.total.value])
    hidden = {(i, j) for i in range(r + 1) for j in range(c + 1) if published[i][j] is None}
    free = {(i, c) for i in range(r + 1)} if k == 1 else set()
    hidden -= free
    # The attacker needs numbers in the places it does not know; any will do,
    # since it reads only the published ones.
    values = [[v if v is not None else 0 for v in row] for row in published]
    for pos, (low, high) in attack(values, hidden, free).items():
        assert high - low > 0.5, (table.title, pos)
        assert high >= table.threshold - 1e-6, (table.title, pos)


# Domain, in memory ----------------------------------------------------------------


def test_a_cell_counts_people_not_testimonies() -> None:
    tally = Tally("testimonies", ("month",), threshold=5)
    for _ in range(6):  # one worker, six testimonies in March
        tally.add([["2026-03"]], person="w1")
    for worker in range(5):  # five workers in April
        tally.add([["2026-04"]], person=f"w{worker + 2}")
    for worker in range(5):
        tally.add([["2026-05"]], person=f"w{worker + 9}")
    table = tally.table()
    by_month = {row[0]: cells[0].value for row, cells in zip(table.rows, table.cells, strict=True)}
    assert by_month["2026-03"] is None  # six testimonies, one person
    assert table.total.value == 16
    assert [v for v in by_month.values() if v is not None] == [5]  # one more hides March
    assert_unrecoverable(table)


def test_exact_tables_have_every_count_and_margins_that_add_up() -> None:
    tally = Tally("findings", ("severity", "status"), threshold=None)
    for sev, status in [("high", "open"), ("high", "open"), ("low", "remediated")]:
        tally.add([[sev], [status]], person=object())
    t = tally.table()
    assert t.to_dict()["cells"] == [[2, 0], [0, 1]]
    assert [c.value for c in t.row_totals or ()] == [2, 1]
    assert [c.value for c in t.column_totals or ()] == [2, 1]
    assert t.total.value == 3
    assert ("(all)", "(all)") in dict(t.long())


def test_labels_read_the_record_contract() -> None:
    t = {
        "received_on": "2026-05-20",
        "worker": {"migrant": True},
        "allegations": ["wages", "forced_labour"],
    }
    assert labels("quarter", "testimony", t, None) == ["2026-Q2"]
    assert labels("month", "testimony", t, None) == ["2026-05"]
    assert labels("migrant", "testimony", t, None) == ["yes"]
    assert labels("gender", "testimony", t, None) == ["(none)"]
    assert labels("allegation", "testimony", t, None) == ["forced_labour", "wages"]
    assert labels("allegation", "finding", {"category": "wages"}, None) == ["wages"]


def test_days_to_remediation_are_suppressed_for_few_findings() -> None:
    timing = TimingTally(("severity",), threshold=3)
    for days, sev in [(10, "high"), (20, "high"), (30, "high"), (40, "high"), (5, "low")]:
        audit = dt.date(2026, 1, 1)
        done = audit + dt.timedelta(days=days)
        finding = {
            "status": "remediated",
            "audit_date": audit.isoformat(),
            "remediation": {"updated": done.isoformat()},
        }
        timing.add([[sev]], finding)
    rows = {t.key: (t.median_days, t.p90_days) for t in timing.timings()}
    assert rows[("high",)] == (25.0, 37.0)
    assert rows[("low",)] == (None, None)
    assert rows[("(all)",)] == (20.0, 36.0)


def test_dimensions_follow_the_policy() -> None:
    check_policy(
        find_policy("monitor"), ("site", "month", "gender", "migrant"), ("testimonies", "workers")
    )
    check_policy(find_policy("buyers"), ("site", "quarter", "severity"), ("findings",))
    refused = [
        ("buyers", ("gender",), ("workers",), "worker.gender"),
        ("buyers", ("month",), ("testimonies",), "only by quarter"),
        ("union", ("site",), ("testimonies",), "pseudonymize"),
        ("public", ("site",), ("testimonies",), "counts by type, site.country, allegation only"),
        ("public", ("month",), ("findings",), "statistics by month"),
    ]
    for name, dims_refused, measures, message in refused:
        with pytest.raises(PermissionDeniedError, match=message):
            check_policy(find_policy(name), dims_refused, measures)
    check_policy(find_policy("public"), ("country", "allegation"), ("testimonies", "findings"))
    assert measures_for(("gender",)) == ("testimonies", "workers")
    assert measures_for(("severity",)) == ("findings",)
    cases: list[tuple[tuple[str, ...], list[str] | None, str]] = [
        (("gender", "severity"), None, "no records"),
        (("gender",), ["findings"], "findings cannot be counted by gender"),
    ]
    for dims, asked, message in cases:
        with pytest.raises(UsageError, match=message):
            measures_for(dims, asked)


def _policy(stats: str = "") -> Policy:
    return parse_policy("policy: t\naudience: public\naggregate: {by: [type]}\n" + stats, "t.yaml")


def test_the_threshold_comes_from_the_policy() -> None:
    assert _policy().stats_threshold == 5  # never below 5 by default
    assert _policy("stats: {threshold: 11}\n").stats_threshold == 11
    assert all(
        find_policy(n).stats_threshold == 5 for n in ("union", "monitor", "buyers", "public")
    )
    assert "fewer than 5 people" in "\n".join(find_policy("union").explain())
    monitor = find_policy("monitor").text
    with pytest.raises(Exception, match=r"at least k_anonymity.k \(5\)"):
        parse_policy(monitor.replace("threshold: 5", "threshold: 3"), "monitor.yaml")
    for bad, message in [
        ("stats: {threshold: 1}\n", "stats.threshold: must be an integer from 2 to 1000"),
        ("stats: {threshold: yes}\n", "stats.threshold"),
        ("stats: {limit: 3}\n", "stats.limit: unknown key"),
        ("stats: {}\n", "stats.threshold: is required"),
    ]:
        with pytest.raises(Exception, match=message) as info:
            _policy(bad)
        assert "t.yaml:line" in str(info.value)


# Through the vault ---------------------------------------------------------------


def _naive(recs: list[dict[str, Any]], audience: str | None) -> tuple[Counter[str], Counter[str]]:
    """Testimonies and workers by month as a person would count them by hand."""
    testimonies: Counter[str] = Counter()
    first: dict[tuple[str, str], str] = {}
    for r in recs:
        if r["type"] != "testimony":
            continue
        consent = r["consent"]
        if audience and (consent["withdrawn"] or audience not in consent["share_with"]):
            continue
        testimonies[r["received_on"][:7]] += 1
        who = (r["site_id"], r["worker"]["employee_id"])
        first[who] = min(first.get(who, "9999"), r["received_on"])
    return testimonies, Counter(day[:7] for day in first.values())


def test_stats_count_people_under_the_policys_rules(backend: Backend) -> None:
    recs = records()
    with backend.create() as v:
        v.import_records(recs)
        exact = v.stats("month", as_of=AS_OF)
        testimonies, workers = _naive(recs, None)
        assert exact.threshold is None
        rows = {
            r[0]: c[0].value
            for r, c in zip(
                exact.table("testimonies").rows, exact.table("testimonies").cells, strict=True
            )
        }
        assert rows == dict(testimonies)
        rows = {
            r[0]: c[0].value
            for r, c in zip(exact.table("workers").rows, exact.table("workers").cells, strict=True)
        }
        assert rows == dict(workers)
        assert exact.table("workers").total.value == 40
        rem = exact.remediation
        assert rem is not None
        # Disputed, in remediation, open, remediated; then what a person would count.
        assert [c.value for c in rem.by_status.column_totals or ()] == [7, 8, 8, 7]
        overdue = [
            r
            for r in recs
            if r["type"] == "finding"
            and r["status"] in ("open", "in_remediation")
            and r["remediation"]["due"] < AS_OF.isoformat()
        ]
        assert rem.overdue.total.value == len(overdue) == 13
        timing = {t.key: t.median_days for t in rem.timing}
        days = sorted(
            (
                dt.date.fromisoformat(r["remediation"]["updated"])
                - dt.date.fromisoformat(r["audit_date"])
            ).days
            for r in recs
            if r["type"] == "finding" and r["status"] == "remediated"
        )
        assert timing[("(all)",)] == days[len(days) // 2]

        shared = v.stats("month", policy=find_policy("monitor"), as_of=AS_OF)
        testimonies, _ = _naive(recs, "monitor")
        assert shared.threshold == 5
        assert shared.table("testimonies").total.value == sum(testimonies.values())
        assert set(shared.left_out) <= {"consent_excludes_audience", "consent_withdrawn"}
        assert sum(shared.left_out.values()) == sum(_naive(recs, None)[0].values()) - sum(
            testimonies.values()
        )
        tables = list(shared.tables)
        for dims in ("month,gender", "severity,month"):
            more = v.stats(dims, policy=find_policy("monitor"), as_of=AS_OF)
            tables += more.tables
            if more.remediation:
                tables += [more.remediation.by_status, more.remediation.overdue]
        assert {len(t.by) for t in tables} == {1, 2, 3}
        for table in tables:
            assert_unrecoverable(table)
        assert sum(t.suppressed for t in tables) > 0
        # The same suppressed tables, whoever renders them: no hidden value to show.
        assert "null" in json.dumps(shared.to_dict())

        entries = [e for e in v.audit_entries() if e.action == "stats"]
        assert [e.details["policy"] for e in entries] == [None, *["monitor"] * 3]
        assert entries[2].details["by"] == ["month", "gender"]


def test_who_may_count(sqlite_backend: Backend) -> None:
    with sqlite_backend.create() as v:
        v.import_records(records())
        v.add_custodian(
            "ops", Passphrase(PASSPHRASE), role="custodian", classes=["operational"], kdf=fast_kdf()
        )
        v.add_custodian(
            "exp",
            Passphrase(PASSPHRASE),
            role="exporter",
            classes=["identity", "narrative", "operational"],
            policies=["buyers"],
            kdf=fast_kdf(),
        )
        v.add_custodian("aud", Passphrase(PASSPHRASE), role="auditor", kdf=fast_kdf())
    with sqlite_backend.open(custodian="ops") as v:
        with pytest.raises(PermissionDeniedError, match="only under a policy"):
            v.stats("gender")
        # Gender and migrant status are sealed with the operational class: a
        # custodian cleared for nothing else counts by them.
        by_gender = v.stats("gender,migrant", policy=find_policy("monitor"))
        assert by_gender.table("workers").total.value
        # The monitor's policy keeps a finding's site: findings count by site too.
        by_site = v.stats("site", policy=find_policy("monitor"))
        assert [t.measure for t in by_site.tables] == ["testimonies", "findings", "workers"]
        # The union's policy gives sites only as pseudonyms: counts by site are refused.
        with pytest.raises(PermissionDeniedError, match="statistics by site are refused"):
            v.stats("site", policy=find_policy("union"))
        assert v.stats() == {"finding": 30, "site": 3, "testimony": len(records()) - 33}
    with sqlite_backend.open(custodian="exp") as v:
        assert v.stats("severity", policy=find_policy("buyers")).threshold == 5
        with pytest.raises(PermissionDeniedError, match="not granted"):
            v.stats("month", policy=find_policy("monitor"))
    with sqlite_backend.open(custodian="aud") as v, pytest.raises(PermissionDeniedError):
        v.stats("month", policy=find_policy("public"))


def test_the_command_line_and_the_http_api(sqlite_backend: Backend, tmp_path: Path) -> None:
    with sqlite_backend.create() as v:
        v.import_records(records())
    runner = CliRunner()
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    base = [*sqlite_backend.cli_args(), "stats", "--as-of", "2026-12-01"]
    text = runner.invoke(cli, [*base, "--by", "country,channel"], env=env)
    assert text.exit_code == 0, text.output
    assert "Exact counts" in text.output
    assert "Testimonies by country × channel" in text.output
    shared = runner.invoke(cli, [*base, "--by", "quarter", "--policy", "buyers", "--json"], env=env)
    assert shared.exit_code == 0, shared.output
    body = json.loads(shared.output)
    assert body["threshold"] == 5
    assert [t["measure"] for t in body["tables"]] == ["testimonies", "findings", "workers"]
    csv_out = runner.invoke(
        cli, [*base, "--by", "severity", "--policy", "buyers", "--csv"], env=env
    )
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.output.splitlines()
    assert lines[0] == "table,severity,status,value,suppressed"
    assert "findings,(all),,30,false" in lines
    refused = runner.invoke(
        cli, [*base, "--by", "month", "--policy", "buyers", "--count", "testimonies"], env=env
    )
    assert refused.exit_code == 8
    assert refused.output.count("\n") == 1  # one line, no traceback
    unknown = runner.invoke(cli, [*base, "--by", "colour"], env=env)
    assert unknown.exit_code == 2
    assert "unknown dimension 'colour'" in unknown.output

    with sqlite_backend.open() as v:
        admin, _ = v.create_token("board", role="admin")
        token, _ = v.create_token("tool", role="custodian", classes=["narrative"])
        app = create_app(v, export_dir=tmp_path, failed_auth_limit=10_000)
        with _serving(app) as url:
            exact = httpx.get(
                f"{url}/stats",
                params={"by": "severity"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert exact.status_code == 200
            assert exact.json()["exact"] is True
            headers = {"Authorization": f"Bearer {token}"}
            assert (
                httpx.get(f"{url}/stats", params={"by": "severity"}, headers=headers).status_code
                == 403
            )
            counted = httpx.get(
                f"{url}/stats", params={"by": "severity", "policy": "buyers"}, headers=headers
            )
            assert counted.status_code == 200
            assert counted.json()["threshold"] == 5
            assert (
                httpx.get(f"{url}/stats", params={"policy": "nope"}, headers=headers).status_code
                == 404
            )
