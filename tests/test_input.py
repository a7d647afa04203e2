"""Bad input: one clear error naming file, line/record and field; nothing written."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Backend, sample_records
from vault import ConflictError, InvalidInputError, Vault
from vault.ingest import BATCH_SIZE


def _testimony(**changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(sample_records()[4])
    rec["id"] = "T-NEW"
    for path, value in changes.items():
        head, _, tail = path.partition("__")
        if tail:
            if value is _DELETE:
                del rec[head][tail]
            else:
                rec[head][tail] = value
        elif value is _DELETE:
            del rec[head]
        else:
            rec[head] = value
    return rec


_DELETE = object()

BAD_RECORDS = {
    "unknown field": (_testimony(mood="angry"), "unknown field 'mood'"),
    "unknown nested field": (_testimony(worker__shoe_size=44), "unknown field 'worker.shoe_size'"),
    "wrong type int": (
        _testimony(worker__birth_year="1990"),
        "'worker.birth_year' must be an integer",
    ),
    "bool is not int": (
        _testimony(worker__birth_year=True),
        "'worker.birth_year' must be an integer",
    ),
    "wrong type bool": (
        _testimony(worker__migrant="yes"),
        "'worker.migrant' must be true or false",
    ),
    "wrong type list": (_testimony(allegations="wages"), "'allegations' must be a list"),
    "wrong type group": (_testimony(worker="Jane"), "'worker' must be an object"),
    "bad date": (_testimony(received_on="2026-02-30"), "'received_on' is not a valid date"),
    "bad date format": (_testimony(received_on="14/03/2026"), "'received_on' must be a date"),
    "bad enum": (_testimony(channel="pigeon"), "'channel' must be one of"),
    "bad enum in list": (_testimony(allegations=["wages", "bad_vibes"]), "'allegations' items"),
    "bad nested enum": (
        _testimony(risk__retaliation="extreme"),
        "'risk.retaliation' must be one of",
    ),
    "bad audience": (_testimony(consent__share_with=["everyone"]), "'consent.share_with' items"),
    "bad country": (_testimony(worker__nationality="Vietnam"), "ISO 3166-1"),
    "unassigned country": (_testimony(worker__nationality="XX"), "ISO 3166-1"),
    # KELVIN SIGN + E lower-cases to "ke" (Kenya): a code is its two capitals only.
    "country that is no code": (_testimony(worker__nationality="\u212aE"), "ISO 3166-1"),
    "birth year out of range": (_testimony(worker__birth_year=1200), "out of range"),
    "missing required": (_testimony(received_on=_DELETE), "'received_on' is required"),
    "null required": (_testimony(site_id=None), "'site_id' is required"),
    "bad id": (_testimony(id="has spaces"), "'id' must be an identifier"),
    "empty text": (_testimony(narrative="   "), "'narrative' must not be empty"),
    "bad type": ({"type": "rumour", "id": "X"}, "'type' must be one of"),
    "not an object": (["a", "list"], "must be a JSON object"),
    "person without name": (
        _testimony(persons_mentioned=[{"role": "x"}]),
        "persons_mentioned[0].name",
    ),
    "dangling site": (_testimony(site_id="SITE-404"), "'site_id' refers to a site"),
    "site points at testimony": (_testimony(site_id="T-0002"), "'site_id' must refer to a site"),
}


def _finding(**changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(sample_records()[-1])
    rec["id"] = "F-NEW"
    rec.update(changes)
    return rec


BAD_RECORDS["dangling evidence"] = (
    _finding(evidence=["T-0404"]),
    "'evidence' refers to a testimony",
)
BAD_RECORDS["evidence points at a site"] = (
    _finding(evidence=["SITE-001"]),
    "'evidence' must refer to a testimony",
)

BAD_RECORDS["half a UTF-16 pair in a narrative"] = (
    _testimony(narrative="Worker said \ud800 nothing more"),
    "field 'narrative' is not valid Unicode text",
)
BAD_RECORDS["half a UTF-16 pair in a site name"] = (
    {**sample_records()[0], "id": "SITE-NEW", "name": "Plant \udcff"},
    "field 'name' is not valid Unicode text",
)


def _snapshot(v: Vault) -> list[dict[str, Any]]:
    return [s.to_dict() for s in v.list()] + [v.stats()]


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_bad_record_is_rejected_and_nothing_written(
    loaded: Vault, tmp_path: Path, case: str
) -> None:
    record, message = BAD_RECORDS[case]
    before = _snapshot(loaded)
    good = copy.deepcopy(sample_records()[4])
    good["id"] = "T-GOOD"
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as err:
        loaded.import_file(path)
    text = str(err.value)
    assert message in text
    assert f"{path}:line 2" in text
    assert _snapshot(loaded) == before


def test_error_names_the_record_id_and_never_the_value(loaded: Vault) -> None:
    rec = _testimony(worker__birth_year="SECRETVALUE")
    with pytest.raises(InvalidInputError) as err:
        loaded.add(rec, where="upload.json")
    assert "upload.json, record T-NEW" in str(err.value)
    assert "SECRETVALUE" not in str(err.value)


def test_a_late_bad_record_aborts_a_multi_batch_import(loaded: Vault, tmp_path: Path) -> None:
    before = _snapshot(loaded)
    path = tmp_path / "big.jsonl"
    base = sample_records()[4]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(BATCH_SIZE + 500):
            rec = copy.deepcopy(base)
            rec["id"] = f"BULK-{i}"
            rec["worker"]["employee_id"] = f"E-{i}"
            fh.write(json.dumps(rec) + "\n")
        fh.write(json.dumps({**base, "id": "BULK-BAD", "channel": "pigeon"}) + "\n")
    with pytest.raises(InvalidInputError, match=f"line {BATCH_SIZE + 501}"):
        loaded.import_file(path)
    assert _snapshot(loaded) == before


def test_a_duplicate_in_a_later_batch_aborts_everything(loaded: Vault, tmp_path: Path) -> None:
    before = _snapshot(loaded)
    base = sample_records()[4]
    recs = []
    for i in range(BATCH_SIZE + 10):
        rec = copy.deepcopy(base)
        rec["id"] = f"DUP-{i}"
        recs.append(rec)
    recs.append({**base, "id": "DUP-3"})
    with pytest.raises(ConflictError, match="DUP-3"):
        loaded.import_records(recs)
    assert _snapshot(loaded) == before


FILES = {
    "malformed JSONL": (
        "x.jsonl",
        b'{"type": "site", "id": "S9"\n',
        "x.jsonl:line 1: malformed JSON",
    ),
    "truncated JSONL": ("x.jsonl", b'{"type": "site"', "truncated"),
    "NaN in JSONL": ("x.jsonl", b'{"type": "site", "id": NaN}\n', "x.jsonl:line 1: malformed JSON"),
    "non-UTF-8": (
        "x.jsonl",
        b'{"type": "site", "name": "\xff"}\n',
        "x.jsonl:line 1: not valid UTF-8",
    ),
    "truncated JSON array": (
        "x.json",
        b'[{"type": "site", "id": "S9", "na',
        "malformed or truncated JSON after record 0",
    ),
    "malformed JSON array": (
        "x.json",
        b'[{"type": "site", "id": "S1", "name": "n", "kind": "mine", "country": "VN"},, ]',
        "malformed or truncated JSON after record",
    ),
    "JSON scalar": ("x.json", b'"hello"', "array of records"),
    "CSV without type": ("x.csv", b"id,name\nS1,x\n", "x.csv:line 1: CSV needs a 'type' column"),
    "CSV ragged row": ("x.csv", b"type,id\nsite,S1,extra\n", "x.csv:line 2: row has 3 cells"),
    "CSV bad int": (
        "x.csv",
        b"type,id,site_id,received_on,worker.birth_year\ntestimony,T9,SITE-001,2026-01-01,old\n",
        "x.csv:line 2: field 'worker.birth_year' must be an integer",
    ),
    "CSV unknown column": ("x.csv", b"type,id,colour\nsite,S1,red\n", "unknown field 'colour'"),
    "unknown extension": ("x.txt", b"", "cannot tell the format"),
}


@pytest.mark.parametrize("case", list(FILES))
def test_bad_files(loaded: Vault, tmp_path: Path, case: str) -> None:
    name, content, message = FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    before = _snapshot(loaded)
    with pytest.raises(InvalidInputError) as err:
        loaded.import_file(path)
    assert message in str(err.value)
    assert _snapshot(loaded) == before


def test_huge_line_is_refused_without_reading_it_all(loaded: Vault, tmp_path: Path) -> None:
    from vault.sources import MAX_RECORD_BYTES

    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"type": "site", "name": "' + b"a" * (MAX_RECORD_BYTES + 10) + b'"}\n')
    with pytest.raises(InvalidInputError, match="line 1: line longer than"):
        loaded.import_file(path)


def test_csv_import_with_dotted_columns(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "type,id,name,kind,country,site_id,received_on,worker.name,worker.birth_year,"
        "worker.migrant,allegations,persons_mentioned,consent.share_with\n"
        "site,S-1,Plant,mine,VN,,,,,,,,\n"
        "testimony,T-1,,,,S-1,2026-01-02,Lê Thị Mai,1991,yes,wages;harassment,"
        '"[{""name"": ""Ông Ba"", ""role"": ""boss""}]","[""union""]"\n',
        encoding="utf-8",
    )
    assert vault.import_file(path).by_type == {"site": 1, "testimony": 1}
    assert vault.get("T-1", identity=True) == {
        "type": "testimony",
        "id": "T-1",
        "site_id": "S-1",
        "received_on": "2026-01-02",
        "worker": {"name": "Lê Thị Mai", "birth_year": 1991, "migrant": True},
        "allegations": ["wages", "harassment"],
        "persons_mentioned": [{"name": "Ông Ba", "role": "boss"}],
        "consent": {"share_with": ["union"]},
    }


def test_json_array_import(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(sample_records(), ensure_ascii=False), encoding="utf-8")
    with backend.create() as v:
        assert v.import_file(path).count == len(sample_records())
        assert v.get("T-0004", identity=True) == sample_records()[7]
