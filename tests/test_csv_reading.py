"""CSV files as spreadsheets and survey tools write them: the delimiter and the text
encoding are sniffed (or given), and a wrong guess never imports garbage.

A byte order mark says UTF-8, UTF-16 or UTF-32; else UTF-8 if the first 64 KiB read
as UTF-8; else charset-normalizer's guess, unless another guess as good reads the
file otherwise (then the file is refused, naming both). Bytes the encoding cannot
read are an error naming their own line. The delimiter is one of , ; tab |.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conftest import sample_records
from vault import InvalidInputError, UsageError, Vault
from vault.sources import MAX_RECORD_BYTES, CsvOptions, read_records

HEADER = ["type", "id", "name", "kind", "country", "region"]
# Names a Western European spreadsheet would hold: in windows-1252 (è is č in
# windows-1250, ñ is ń), with the punctuation of the languages they come from.
ROWS = [
    [
        "site",
        "S-1",
        "Usine « Très élevée » près de l'église",
        "manufacturing",
        "FR",
        "Île-de-France",
    ],
    ["site", "S-2", "Fundición La Señora, ¿cuál?", "smelter", "MX", "Zacatecas"],
    ["site", "S-3", "Fábrica de ensamblaje del año", "manufacturing", "ES", "Cataluña"],
    ["site", "S-4", "Raffinerie à côté du fleuve", "refinery", "FR", "Grand Est"],
]


def _csv(rows: list[list[str]], delimiter: str, newline: str = "\r\n") -> str:
    def cell(text: str) -> str:
        if any(c in text for c in (delimiter, '"', "\n", "\r")):
            return '"' + text.replace('"', '""') + '"'
        return text

    return "".join(delimiter.join(cell(c) for c in row) + newline for row in rows)


def _read(
    data: bytes, *, encoding: str | None = None, delimiter: str | None = None
) -> list[dict[str, object]]:
    out = []
    options = CsvOptions(delimiter=delimiter, encoding=encoding)
    for _where, record in read_records(io.BytesIO(data), "in.csv", "csv", csv_options=options):
        assert isinstance(record, dict)
        out.append(record)
    return out


def _names(records: list[dict[str, object]]) -> list[object]:
    return [r["name"] for r in records]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),  # Excel's "Unicode text": UTF-16 with a byte order mark, tabs
        ("utf-32", "|"),
    ],
)
def test_delimiter_and_encoding_are_sniffed(encoding: str, delimiter: str) -> None:
    data = _csv([HEADER, *ROWS], delimiter).encode(encoding)
    assert _names(_read(data)) == [r[2] for r in ROWS]


def test_a_windows_1252_file_with_enough_text_is_read_as_such() -> None:
    rows = [HEADER] + [[*row[:1], f"{row[1]}-{n}", *row[2:]] for n in range(6) for row in ROWS]
    data = _csv(rows, ";").encode("cp1252")
    records = _read(data)
    assert records[0]["name"] == "Usine « Très élevée » près de l'église"
    assert records[1]["region"] == "Zacatecas"


def test_a_guess_that_ties_with_another_reading_is_refused_not_taken() -> None:
    # Too little text to tell windows-1252 from windows-1250: è would become č.
    data = _csv([HEADER, ROWS[0]], ",").encode("cp1252")
    with pytest.raises(
        InvalidInputError, match=r"in\.csv: cannot tell the text encoding.*--encoding"
    ):
        _read(data)
    assert _names(_read(data, encoding="windows-1252")) == [ROWS[0][2]]


def test_bytes_the_encoding_cannot_read_are_named_by_their_own_line() -> None:
    # Past the sample the encoding is sniffed from: read as UTF-8 until line 803.
    lines = [HEADER] + [["site", f"S-{n}", "x" * 80, "mine", "CD", "Kivu"] for n in range(1000)]
    text = _csv(lines, ",")
    data = bytearray(text.encode("utf-8"))
    at = data.index(b"S-801,") + 4
    data[at] = 0xE9  # an é in windows-1252: not UTF-8
    with pytest.raises(InvalidInputError) as caught:
        _read(bytes(data))
    assert str(caught.value) == (
        "in.csv:line 803: not valid UTF-8; pass --encoding if the file is in another"
    )
    # Given, the encoding is not second-guessed: a byte it has no letter for is refused.
    undefined = _csv([HEADER, ROWS[1]], ",").encode("cp1252").replace(b"MX", b"M\x81")
    with pytest.raises(InvalidInputError, match=r"in\.csv:line 2: not valid cp1252$"):
        _read(undefined, encoding="cp1252")


def test_a_header_that_does_not_read_as_text_is_refused() -> None:
    # ASCII text in UTF-16 without a byte order mark is valid UTF-8, with a NUL
    # after each letter.
    row = ["site", "S-1", "Plant", "mine", "CD", "Kivu"]
    data = _csv([HEADER, row], ",").encode("utf-16-le")
    with pytest.raises(
        InvalidInputError, match=r"line 1: the header does not read as text in UTF-8"
    ):
        _read(data)
    assert _names(_read(data, encoding="utf-16-le")) == ["Plant"]


def test_the_delimiter_is_told_by_the_rows_not_by_commas_in_the_text() -> None:
    # A ';' file whose header names hold commas (labels as headers) and whose
    # cells hold more commas than semicolons.
    rows = [["type", "id", "name", "kind, as chosen", "country"]] + [
        ["site", f"S-{n}", f"Plant {n}, hall {n}, line {n}", "mine", "CD"] for n in range(5)
    ]
    data = _csv(rows, ";").encode()
    records = _read(data)
    assert records[0] == {
        "type": "site",
        "id": "S-0",
        "name": "Plant 0, hall 0, line 0",
        "kind, as chosen": "mine",
        "country": "CD",
    }
    assert _read(data, delimiter=";") == records


def test_a_delimiter_or_encoding_given_wrongly_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="one character"):
        CsvOptions(delimiter=";;")
    with pytest.raises(UsageError, match="unknown text encoding 'klingon-8'"):
        CsvOptions(encoding="klingon-8")
    with pytest.raises(UsageError, match="CSV files only"):
        list(
            read_records(
                io.BytesIO(b"{}"), "x.jsonl", "jsonl", csv_options=CsvOptions(encoding="latin-1")
            )
        )


def test_hard_rows_bom_crlf_quoted_newlines_unnamed_columns(vault: Vault, tmp_path: Path) -> None:
    sites = [r for r in sample_records() if r["type"] == "site"]
    vault.import_records(sites)
    narrative = 'Line one, with a comma;\r\nline two "quoted"\n\nline four'
    rows = [
        ["type", "id", "site_id", "received_on", "narrative", "", ""],
        ["testimony", "T-CSV-1", "SITE-001", "2026-01-02", narrative, "", ""],
        ["testimony", "T-CSV-2", "SITE-001", "2026-01-03", "", "", ""],
        ["testimony", "T-CSV-3", "SITE-001", "2026-01-04", "ok", "", "stray"],
    ]
    path = tmp_path / "hard.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv(rows, ",").encode("utf-8"))
    report = vault.check_import(path)
    # Line numbers count the lines a quoted narrative runs over.
    assert [(p.line, p.message) for p in report.problems] == [
        (7, "column 7 has no name in the header but a value here")
    ]
    path.write_bytes(b"\xef\xbb\xbf" + _csv(rows[:3], ",").encode("utf-8"))
    assert vault.import_file(path).count == 2
    assert vault.get("T-CSV-1")["narrative"] == narrative


def test_a_repeated_column_is_named(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("type,id,name,name\nsite,S-1,a,b\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"line 1: CSV header repeats a column \('name'\)"):
        vault.import_file(path)


def test_a_huge_cell_is_refused_by_its_line_without_holding_the_file(
    vault: Vault, tmp_path: Path
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("type,id,name,kind,country\nsite,S-1,ok,mine,CD\n")
        fh.write('site,S-2,"' + "x" * (MAX_RECORD_BYTES + 10) + '",mine,CD\n')
    with pytest.raises(InvalidInputError, match=r"huge\.csv:line 3: line longer than"):
        vault.import_file(path)
    assert vault.stats() == {}


def test_an_attachments_column_lists_files(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"first")
    (folder / "b.txt").write_bytes(b"second")
    path = tmp_path / "sites.csv"
    path.write_text(
        "type,id,name,kind,country,attachments\nsite,S-F,Plant,mine,CD,a.txt;b.txt\n",
        encoding="utf-8",
    )
    assert vault.import_file(path, files=folder).count == 1
    assert sorted(f.size for f in vault.attachments("S-F")) == [5, 6]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "json"])
def test_progress_counts_every_byte_of_every_format(
    vault: Vault, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"sites.{suffix}"
    records = [
        json.dumps({"type": "site", "id": r[1], "name": "n", "kind": "mine", "country": "CD"})
        for r in ROWS
    ]
    if suffix == "csv":
        path.write_text(_csv([HEADER, *ROWS], ";"), encoding="utf-8")
    elif suffix == "jsonl":
        path.write_text("\n".join(records) + "\n", encoding="utf-8")
    else:
        path.write_text("[" + ",\n".join(records) + "]", encoding="utf-8")
    seen: list[int] = []
    vault.import_file(path, read_progress=seen.append)
    assert sum(seen) == path.stat().st_size
