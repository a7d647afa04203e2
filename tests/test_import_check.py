"""Checking an import without writing: every bad line listed in one pass, from a file
or standard input, in JSON Lines, a JSON array or CSV; a plain import still stops at
the first, and says how many there are."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_cli import FAST_INIT
from test_input import BAD_RECORDS

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import ConflictError, InvalidInputError, Vault
from vault.cli import cli
from vault.ingest import BATCH_SIZE
from vault.sources import MAX_DEPTH, MAX_RECORD_BYTES


def _testimony(rid: str, **changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(sample_records()[4])
    rec["worker"]["employee_id"] = f"E-{rid}"
    return rec | {"id": rid} | changes


def _site(rid: str) -> dict[str, Any]:
    return {"type": "site", "id": rid, "name": "Plant", "kind": "mine", "country": "CD"}


_READS = frozenset({"list", "stats", "audit-read"})  # what _state itself logs


def _state(v: Vault) -> tuple[Any, ...]:
    """What a check must leave as it was: the records and the audit log."""
    return (
        [s.to_dict() for s in v.list()],
        v.stats(),
        [e.action for e in v.audit_entries() if e.action not in _READS],
    )


def _jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


# Every kind of bad line -----------------------------------------------------------------


def test_every_bad_line_is_listed_in_one_pass(loaded: Vault, tmp_path: Path) -> None:
    cases = list(BAD_RECORDS.values())
    lines: list[Any] = [_site("SITE-LATE")]
    for n, (bad, _message) in enumerate(cases):
        if isinstance(bad, dict) and bad.get("id") in ("T-NEW", "F-NEW", "SITE-NEW"):
            bad = bad | {"id": f"{bad['id']}-{n}"}  # noqa: PLW2901 - a fresh id per line
        lines.append(bad)
        lines.append(_testimony(f"GOOD-{n}"))
    lines.append(_testimony("FORWARD", site_id="SITE-LATER"))  # answered further down
    lines.append("{not json")
    lines.append(_site("SITE-LATER"))
    path = _jsonl(tmp_path / "in.jsonl", lines)
    before = _state(loaded)
    report = loaded.check_import(path)
    assert _state(loaded) == before
    assert not report.ok
    assert report.records == len(lines)
    messages = [message for _record, message in cases]
    # One problem per bad line, in the order of the file, naming file and line.
    assert len(report.problems) == len(cases) + 1
    for problem, message, n in zip(report.problems, messages, range(len(cases)), strict=False):
        assert message in problem.message, (problem, message)
        assert problem.line == 2 + 2 * n
        assert problem.where.startswith(f"{path}:line {problem.line}")
        assert str(problem) == f"{problem.where}: {problem.message}"
        assert problem.file == str(path)
    last = report.problems[-1]
    assert (last.line, last.field, last.id) == (len(lines) - 1, None, None)
    assert last.message.startswith("malformed JSON")
    assert report.bad == len(cases) + 1
    # The fields and ids the problems name.
    by_line = {p.line: p for p in report.problems}
    dangling = next(p for p in report.problems if "refers to a site" in p.message)
    assert (dangling.field, dangling.kind) == ("site_id", "invalid_input")
    assert (dangling.id or "").startswith("T-NEW-")
    assert by_line[dangling.line] is dangling
    assert {p.field for p in report.problems} >= {
        "mood",
        "worker.shoe_size",
        "worker.birth_year",
        "channel",
        "evidence",
        "persons_mentioned[0].name",
    }
    with pytest.raises(InvalidInputError, match=f"{len(cases) + 1} bad lines of {len(lines)}"):
        report.raise_for_problems()


def test_a_clean_file_checks_clean(loaded: Vault, tmp_path: Path) -> None:
    records = [_site("SITE-X"), _testimony("T-X", site_id="SITE-X"), _testimony("T-Y")]
    path = _jsonl(tmp_path / "ok.jsonl", records)
    report = loaded.check_import(path)
    assert report.ok
    assert (report.records, report.by_type, report.bad) == (3, {"site": 1, "testimony": 2}, 0)
    report.raise_for_problems()
    assert "3 records (1 site, 2 testimony) would be imported" in report.summary()
    # The check wrote nothing, so the import still goes through.
    assert loaded.import_file(path).count == 3


def test_conflicts_are_listed_and_exit_7_when_nothing_else_is_wrong(
    loaded: Vault, tmp_path: Path
) -> None:
    path = _jsonl(
        tmp_path / "again.jsonl", [_testimony("T-0001"), _testimony("T-Z"), _testimony("T-Z")]
    )
    report = loaded.check_import(path)
    assert [(p.line, p.id, p.field, p.kind) for p in report.problems] == [
        (1, "T-0001", "id", "conflict"),
        (3, "T-Z", "id", "conflict"),
    ]
    assert "already exists" in report.problems[0].message
    assert "appears twice" in report.problems[1].message
    with pytest.raises(ConflictError):
        report.raise_for_problems()


def test_references_are_answered_by_the_file_or_the_vault_across_look_ups(
    backend: Backend, tmp_path: Path
) -> None:
    # More records than one look-up takes, referring to sites of the vault, to sites
    # further down, to nothing, and to a record of the wrong type.
    lines: list[Any] = []
    for i in range(1_300):
        site = ("SITE-001", f"SITE-F{i % 7}", "SITE-NONE", "T-0002")[i % 4]
        lines.append(_testimony(f"R-{i}", site_id=site))
    lines += [_site(f"SITE-F{i}") for i in range(7)]
    path = _jsonl(tmp_path / "refs.jsonl", lines)
    with backend.create() as v:
        v.import_file(SAMPLES)
        report = v.check_import(path)
    dangling = [i for i in range(1_300) if i % 4 == 2]
    wrong = [i for i in range(1_300) if i % 4 == 3]
    assert [(p.line, p.id) for p in report.problems] == sorted(
        [(i + 1, f"R-{i}") for i in dangling + wrong]
    )
    for p in report.problems:
        n = int(p.id.removeprefix("R-")) if p.id else -1
        expected = "refers to a site that is not in" if n % 4 == 2 else "must refer to a site"
        assert expected in p.message
        assert p.field == "site_id"


def test_json_arrays_and_csv_are_checked_item_by_item(loaded: Vault, tmp_path: Path) -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH + 3):
        deep = [deep]
    items = [
        _testimony("A-1"),
        _testimony("A-2", channel="pigeon"),
        _testimony("A-3", persons_mentioned=deep),
        "a string",
        _testimony("A-4", site_id="SITE-NONE"),
        _testimony("A-5"),
    ]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    report = loaded.check_import(path)
    assert [(p.record, p.line) for p in report.problems] == [
        (2, None),
        (3, None),
        (4, None),
        (5, None),
    ]
    assert "nested too deep" in report.problems[1].message
    assert report.problems[0].where == f"{path}: record 2, record A-2"
    assert f"bad records of {len(items)}" in report.summary()

    csv = tmp_path / "in.csv"
    csv.write_bytes(
        b"type,id,name,kind,country\n"
        b"site,S-1,Plant,mine,CD\n"
        b"site,S-2,Plant,volcano,CD\n"
        b"site,S-3,Plant\n"
        b'site,S-4,"Pl"ant,mine,CD\n'
        b"site,S-5,Plant,mine,CD\n"
        b"site,S-1,Plant,mine,CD\n"
    )
    report = loaded.check_import(csv)
    assert [(p.line, p.id, p.field) for p in report.problems] == [
        (3, "S-2", "kind"),
        (4, None, None),
        (5, None, None),
        (7, "S-1", "id"),
    ]
    assert "row has 3 cells" in report.problems[1].message
    assert "malformed CSV" in report.problems[2].message


def test_a_line_too_long_is_skipped_and_the_next_read(loaded: Vault, tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("wb") as fh:
        fh.write(json.dumps(_testimony("L-1")).encode() + b"\n")
        fh.write(b'{"type": "site", "name": "' + b"a" * (MAX_RECORD_BYTES * 2 + 10) + b'"}\n')
        fh.write(json.dumps(_testimony("L-2", channel="pigeon")).encode() + b"\n")
    report = loaded.check_import(path)
    assert [(p.line, p.field) for p in report.problems] == [(2, None), (3, "channel")]
    assert "line longer than" in report.problems[0].message


def test_evidence_files_are_checked_with_files(loaded: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"\xff\xd8\xff")
    path = _jsonl(
        tmp_path / "with.jsonl",
        [
            _testimony("W-1") | {"attachments": ["a.jpg"]},
            _testimony("W-2") | {"attachments": ["missing.jpg", "a.jpg"]},
            _testimony("W-3") | {"attachments": "a.jpg"},
        ],
    )
    report = loaded.check_import(path, files=folder)
    assert [(p.line, p.field) for p in report.problems] == [(2, "attachments"), (3, "attachments")]
    assert "item 1" in report.problems[0].message
    # Without a folder, 'attachments' is a field the contract does not know.
    assert len(loaded.check_import(path).problems) == 3


def test_nothing_in_a_problem_quotes_a_value(loaded: Vault, tmp_path: Path) -> None:
    secret = "SECRETVALUE"
    path = _jsonl(
        tmp_path / "leak.jsonl",
        [
            _testimony("S-1", channel=secret),
            _testimony("S-2", worker={"name": secret, "shoe": secret}),
            _testimony("S-3", site_id=secret),
            "{" + json.dumps(secret) + ": [",
            {secret: 1, "type": "site"},
        ],
    )
    report = loaded.check_import(path)
    assert len(report.problems) == 5
    text = json.dumps([p.to_dict() for p in report.problems]) + report.summary()
    assert secret not in text


# A plain import ---------------------------------------------------------------------


def test_a_plain_import_names_the_first_and_counts_them_all(
    backend: Backend, tmp_path: Path
) -> None:
    lines: list[Any] = [_testimony(f"P-{i}", channel="pigeon") for i in range(100)]
    lines.insert(50, _testimony("P-OK"))
    path = _jsonl(tmp_path / "many.jsonl", lines)
    with backend.create() as v:
        v.import_file(SAMPLES)
        before = _state(v)
        with pytest.raises(InvalidInputError) as err:
            v.import_file(path)
        message = str(err.value)
        # The first error reads as it always did, then the count and the way to list them.
        assert message.startswith(f"{path}:line 1, record P-0: field 'channel' must be one of")
        assert message.endswith(
            "(100 bad lines in all, nothing imported; 'evault import --check' lists every one)"
        )
        assert len(message.splitlines()) == 1
        assert _state(v) == before
        assert len(v.check_import(path).problems) == 100


def test_a_plain_import_counts_past_its_batches_without_false_alarms(
    backend: Backend, tmp_path: Path
) -> None:
    # Sites in the first batch and in the batch being staged when the bad line comes;
    # testimonies after it refer to both, and to one more site further down.
    lines: list[Any] = [_site(f"SITE-B{i}") for i in range(BATCH_SIZE + 10)]
    lines.append(_testimony("BAD", channel="pigeon"))
    lines += [_testimony(f"AFTER-{i}", site_id=f"SITE-B{BATCH_SIZE + i % 10}") for i in range(10)]
    lines += [_testimony(f"EARLY-{i}", site_id=f"SITE-B{i * 97}") for i in range(20)]
    lines += [_testimony("LATE", site_id="SITE-LAST"), _site("SITE-LAST")]
    lines.append(_testimony("DANGLING", site_id="SITE-NONE"))
    path = _jsonl(tmp_path / "batches.jsonl", lines)
    with backend.create() as v:
        v.import_file(SAMPLES)
        before = _state(v)
        with pytest.raises(InvalidInputError) as err:
            v.import_file(path)
        assert f"line {BATCH_SIZE + 11}, record BAD" in str(err.value)
        assert "(2 bad lines in all" in str(err.value)
        assert _state(v) == before
        assert [p.id for p in v.check_import(path).problems] == ["BAD", "DANGLING"]


def test_a_plain_import_counts_unresolved_references_at_the_end(
    loaded: Vault, tmp_path: Path
) -> None:
    path = _jsonl(
        tmp_path / "refs.jsonl",
        [_testimony("U-1", site_id="SITE-NO"), _testimony("U-2"), _testimony("U-3", site_id="X")],
    )
    with pytest.raises(InvalidInputError) as err:
        loaded.import_file(path)
    assert str(err.value).startswith(f"{path}:line 1, record U-1: field 'site_id' refers to a site")
    assert "(2 bad lines in all" in str(err.value)


def test_add_and_import_records_say_nothing_of_counts(loaded: Vault) -> None:
    with pytest.raises(InvalidInputError) as err:
        loaded.add(_testimony("X-1", channel="pigeon"))
    assert "bad line" not in str(err.value)
    with pytest.raises(InvalidInputError) as err:
        loaded.import_records([_testimony("X-1", channel="pigeon"), _testimony("X-2", channel="x")])
    assert "bad line" not in str(err.value)


def test_a_stream_is_checked_as_a_file_is(loaded: Vault, tmp_path: Path) -> None:
    lines = [_testimony("Q-1", channel="pigeon"), _testimony("Q-2"), "[1,"]
    path = _jsonl(tmp_path / "q.jsonl", lines)
    from_file = loaded.check_import(path)
    from_stream = loaded.check_import(io.BytesIO(path.read_bytes()), name="q.jsonl")
    assert [p.to_dict() | {"file": "", "where": ""} for p in from_file.problems] == [
        p.to_dict() | {"file": "", "where": ""} for p in from_stream.problems
    ]
    assert from_stream.problems[0].where == "q.jsonl:line 1, record Q-1"


# The command line -------------------------------------------------------------------


@pytest.fixture
def env(sqlite_backend: Backend) -> dict[str, str]:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    return env


def test_cli_check_lists_every_line_then_fails_with_exit_5(
    env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        _testimony("C-1", channel="pigeon"),
        _testimony("C-2"),
        _testimony("C-3", site_id="SITE-NONE"),
        "{oops",
    ]
    path = _jsonl(tmp_path / "c.jsonl", lines)
    runner = CliRunner()
    r = runner.invoke(cli, ["import", str(path), "--check"], env=env)
    assert r.exit_code == 5, r.output
    assert r.stdout.splitlines() == [
        f"{path}:line 1, record C-1: field 'channel' must be one of: "
        "interview, hotline, survey, union, other",
        f"{path}:line 3, record C-3: field 'site_id' refers to a site that is not in the "
        "vault or this import",
        f"{path}:line 4: malformed JSON at column 2: Expecting property name enclosed in "
        "double quotes",
    ]
    assert r.stderr == f"evault: error: {path}: 3 bad lines of 4; nothing was written\n"
    # Standard input, as JSON: one object per problem.
    r = runner.invoke(cli, ["import", "-", "--check", "--json"], env=env, input=path.read_bytes())
    assert r.exit_code == 5, r.output
    body = json.loads(r.stdout)
    assert (body["ok"], body["records"], body["bad"]) == (False, 4, 3)
    assert body["by_type"] == {"testimony": 2}
    assert body["problems"][1] == {
        "file": "<stdin>",
        "line": 3,
        "record": None,
        "id": "C-3",
        "field": "site_id",
        "column": None,  # the column of a survey mapping (import --map)
        "kind": "invalid_input",
        "message": "field 'site_id' refers to a site that is not in the vault or this import",
        "where": "<stdin>:line 3, record C-3",
    }
    # Nothing was written by either: the import goes through once the lines are fixed.
    with Vault.open(Path(env["EVAULT_DIR"]), _passphrase()) as v:
        assert v.stats()["testimony"] == 5
    fixed = _jsonl(tmp_path / "fixed.jsonl", [_testimony("C-1"), _testimony("C-2")])
    r = runner.invoke(cli, ["import", str(fixed), "--check"], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout == f"{fixed}: 2 records (2 testimony) would be imported; nothing was written\n"
    r = runner.invoke(cli, ["import", str(fixed)], env=env)
    assert r.exit_code == 0, r.output


def test_cli_plain_import_says_how_many_and_suggests_check(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [_testimony("C-1", channel="pigeon"), "{oops"])
    r = CliRunner().invoke(cli, ["import", str(path)], env=env)
    assert r.exit_code == 5
    assert r.stdout == ""
    assert r.stderr == (
        f"evault: error: {path}:line 1, record C-1: field 'channel' must be one of: interview, "
        "hotline, survey, union, other (2 bad lines in all, nothing imported; "
        "'evault import --check' lists every one)\n"
    )


def test_cli_check_of_ids_that_exist_exits_7(env: dict[str, str], tmp_path: Path) -> None:
    # Stored already as they are: nothing to do, and nothing wrong.
    r = CliRunner().invoke(cli, ["import", str(SAMPLES), "--check"], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.endswith(
        ": 11 records (2 finding, 4 site, 5 testimony): 0 would be imported, "
        "11 stored already, unchanged; nothing was written\n"
    )
    # Stored with other content: conflicts, unless the import skips them.
    changed = [r | {"narrative": "A corrected account."} for r in sample_records()]
    changed = [r for r in changed if r["type"] == "testimony"]
    path = _jsonl(tmp_path / "changed.jsonl", changed)
    r = CliRunner().invoke(cli, ["import", str(path), "--check"], env=env)
    assert r.exit_code == 7, r.output
    assert len(r.stdout.splitlines()) == len(changed)
    assert "already exists and this import differs from it" in r.stdout
    r = CliRunner().invoke(cli, ["import", str(path), "--check", "--on-conflict", "skip"], env=env)
    assert r.exit_code == 0, r.output
    assert "0 would be imported, 5 would be skipped" in r.stdout


def _passphrase() -> Any:
    from vault import Passphrase

    return Passphrase(PASSPHRASE)
