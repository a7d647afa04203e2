"""Records the vault holds already, met again by an import: unchanged (counted, not
stored again), refused, skipped, or a new version, matched by id or by source key;
and, on SQLite, a file checked whole and then committed in chunks, each whole."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from test_cli import FAST_INIT
from test_survey_import import KOBO_ANSWERS, KOBO_HEADER, UUIDS, _kobo_media, _write_csv

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import ConflictError, InvalidInputError, Vault
from vault.cli import cli
from vault.errors import TamperedRowError
from vault.ingest import ON_CONFLICT
from vault.store import sqlite_url


def _survey(n: int, prefix: str = "K") -> list[dict[str, Any]]:
    """``n`` fictional testimonies as a survey tool delivers them: each with the
    tool's submission uuid as its source key."""
    base = sample_records()[4]
    out = []
    for i in range(n):
        rec = copy.deepcopy(base)
        rec["worker"] = rec["worker"] | {"employee_id": f"{prefix}-E{i}", "name": f"Worker {i}"}
        out.append(rec | {"id": f"{prefix}-{i:04d}", "source_key": f"uuid-{prefix}-{i:04d}"})
    return out


def _jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def _versions(v: Vault, rid: str) -> list[int]:
    return [info.version for info in v.versions(rid)]


@pytest.fixture
def on_sqlite(sqlite_backend: Backend) -> Iterator[Vault]:
    """The samples in an SQLite vault, for what does not depend on the database."""
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        yield v


# Matched by id ------------------------------------------------------------------------


def test_a_second_download_of_the_same_file_changes_nothing(loaded: Vault, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "survey.jsonl", _survey(30))
    first = loaded.import_file(path)
    assert (first.count, first.unchanged) == (30, 0)
    for on_conflict in ON_CONFLICT:
        again = loaded.import_file(path, on_conflict=on_conflict)
        assert (again.count, again.unchanged, again.versions, again.skipped) == (0, 30, 0, 0)
    assert _versions(loaded, "K-0000") == [1]
    # The samples too: stored as they are, nothing to do.
    assert loaded.import_file(SAMPLES).unchanged == len(sample_records())


def test_fail_refuses_the_whole_file_naming_the_record(loaded: Vault, tmp_path: Path) -> None:
    records = _survey(6)
    loaded.import_file(_jsonl(tmp_path / "first.jsonl", records[:3]))
    changed = copy.deepcopy(records)
    changed[1]["narrative"] = "A corrected account."
    path = _jsonl(tmp_path / "second.jsonl", changed)
    with pytest.raises(ConflictError) as err:
        loaded.import_file(path)
    assert str(err.value).startswith(
        f"{path}:line 2, record K-0001: record K-0001 already exists and this import "
        "differs from it (--on-conflict skip or new-version"
    )
    assert "corrected" not in str(err.value)
    # Nothing of the file was written, the new records after it neither.
    assert {s.id for s in loaded.list(type="testimony")} >= {"K-0000", "K-0002"}
    with pytest.raises(Exception, match="no record"):
        loaded.get("K-0003")
    assert _versions(loaded, "K-0001") == [1]


def test_skip_keeps_what_the_vault_holds(on_sqlite: Vault, tmp_path: Path) -> None:
    records = _survey(4)
    on_sqlite.import_file(_jsonl(tmp_path / "first.jsonl", records[:2]))
    changed = copy.deepcopy(records)
    changed[0]["narrative"] = "A corrected account."
    result = on_sqlite.import_file(_jsonl(tmp_path / "second.jsonl", changed), on_conflict="skip")
    assert (result.count, result.skipped, result.unchanged, result.versions) == (2, 1, 1, 0)
    assert on_sqlite.get("K-0000")["narrative"] == records[0]["narrative"]
    assert _versions(on_sqlite, "K-0000") == [1]


def test_new_version_carries_over_what_the_file_leaves_out(loaded: Vault, tmp_path: Path) -> None:
    records = _survey(3)
    loaded.import_file(_jsonl(tmp_path / "first.jsonl", records))
    revised = copy.deepcopy(records)
    revised[0]["allegations"] = ["wages"]
    del revised[0]["narrative"]  # left out: carried over, not removed
    revised[1].pop("narrative")  # left out and nothing else: unchanged
    path = _jsonl(tmp_path / "second.jsonl", revised)
    result = loaded.import_file(path, on_conflict="new-version")
    assert (result.count, result.versions, result.unchanged) == (0, 1, 2)
    now = loaded.get("K-0000", identity=True)
    assert now["allegations"] == ["wages"]
    assert now["narrative"] == records[0]["narrative"]
    assert now["worker"] == records[0]["worker"]
    assert _versions(loaded, "K-0000") == [1, 2]
    assert _versions(loaded, "K-0001") == [1]
    # The worker is still found, and the next download of the same file is idempotent.
    assert [s.id for s in loaded.find(employee_id="K-E0")] == ["K-0000"]
    again = loaded.import_file(path, on_conflict="new-version")
    assert (again.versions, again.unchanged) == (0, 3)
    entry = next(e for e in reversed(loaded.audit_entries()) if e.details.get("versions"))
    assert entry.action == "import"
    assert len(entry.refs) == 1  # the record that got a version, by keyed reference


# Matched by source key ----------------------------------------------------------------


def test_source_key_matches_a_record_whatever_its_id_in_the_file(
    backend: Backend, tmp_path: Path
) -> None:
    records = _survey(3)
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.import_file(_jsonl(tmp_path / "first.jsonl", records))
        # The next download numbers its rows anew; the uuids stay.
        renumbered = [r | {"id": f"ROW-{i}"} for i, r in enumerate(records)]
        renumbered[2]["narrative"] = "A corrected account."
        path = _jsonl(tmp_path / "second.jsonl", renumbered)
        result = v.import_file(path, key="source_key", on_conflict="new-version")
        assert (result.count, result.unchanged, result.versions) == (0, 2, 1)
        assert v.get("K-0002")["narrative"] == "A corrected account."
        assert v.get("K-0002")["source_key"] == "uuid-K-0002"
        assert _versions(v, "K-0002") == [1, 2]
        with pytest.raises(Exception, match="no record"):
            v.get("ROW-2")
        # Matched by id instead, the renumbered rows are new records whose source keys
        # are taken: refused whole.
        with pytest.raises(ConflictError, match="its source_key is another record's"):
            v.import_file(path)
        assert v.stats()["testimony"] == 5 + 3


def test_an_id_held_under_another_source_key_already_exists(
    backend: Backend, tmp_path: Path
) -> None:
    # Matched by source key, a new source key on an id the vault holds is a record
    # that exists (nothing concurrent happened): said so, not "retry".
    records = _survey(2)
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.import_file(_jsonl(tmp_path / "first.jsonl", records))
        again = [records[0] | {"source_key": "uuid-another"}]
        with pytest.raises(ConflictError, match=r"already exists \(use 'evault update'\)"):
            v.import_file(
                _jsonl(tmp_path / "second.jsonl", again),
                key="source_key",
                on_conflict="new-version",
            )
        assert _versions(v, "K-0000") == [1]


def test_source_keys_are_required_and_unique_to_match_by_them(
    on_sqlite: Vault, tmp_path: Path
) -> None:
    records = _survey(3)
    del records[1]["source_key"]
    with pytest.raises(InvalidInputError, match="line 2, record K-0001: field 'source_key' is"):
        on_sqlite.import_file(_jsonl(tmp_path / "a.jsonl", records), key="source_key")
    twice = _survey(2)
    twice[1]["source_key"] = twice[0]["source_key"]
    with pytest.raises(ConflictError, match="its source_key appears twice in this import"):
        on_sqlite.import_file(_jsonl(tmp_path / "b.jsonl", twice))
    assert on_sqlite.stats()["testimony"] == 5
    report = on_sqlite.check_import(_jsonl(tmp_path / "c.jsonl", records), key="source_key")
    assert [(p.line, p.field, p.kind) for p in report.problems] == [
        (2, "source_key", "invalid_input")
    ]


def test_an_erased_worker_is_not_stored_again_by_a_new_download(
    on_sqlite: Vault, tmp_path: Path
) -> None:
    records = _survey(2)
    path = _jsonl(tmp_path / "survey.jsonl", records)
    on_sqlite.import_file(path)
    assert on_sqlite.erase_subject(testimony_id="K-0000") == 1
    # The identity in the file would be stored for an erased worker: refused whole.
    with pytest.raises(InvalidInputError, match="was erased"):
        on_sqlite.import_file(path, key="source_key", on_conflict="new-version")
    skipped = on_sqlite.import_file(path, key="source_key", on_conflict="skip")
    assert (skipped.count, skipped.skipped, skipped.unchanged) == (0, 1, 1)
    assert "worker" not in on_sqlite.get("K-0000", identity=True) or not any(
        k in on_sqlite.get("K-0000", identity=True)["worker"] for k in ("name", "employee_id")
    )
    assert on_sqlite.stats()["testimony"] == 5 + 2


# The command line ---------------------------------------------------------------------


def test_cli_counts_what_the_import_did(sqlite_backend: Backend, tmp_path: Path) -> None:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    assert runner.invoke(cli, ["import", str(SAMPLES)], env=env).exit_code == 0
    records = _survey(4)
    path = _jsonl(tmp_path / "survey.jsonl", records)
    r = runner.invoke(cli, ["import", str(path), "--chunk-size", "3"], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout == "Imported 4 records (4 testimony); committed in 2 chunks.\n"
    records[0]["narrative"] = "A corrected account."
    path = _jsonl(tmp_path / "survey.jsonl", [*records, *_survey(1, "N")])
    r = runner.invoke(cli, ["import", str(path)], env=env)
    assert r.exit_code == 7
    assert r.stderr.startswith(f"evault: error: {path}:line 1, record K-0000: record K-0000 ")
    args = ["import", str(path), "--on-conflict", "new-version", "--key", "source_key"]
    r = runner.invoke(cli, args, env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout == "Imported 1 records (1 testimony); 1 new versions, 3 unchanged.\n"
    r = runner.invoke(cli, [*args, "--json"], env=env)
    assert json.loads(r.stdout) == {
        "imported": 0,
        "by_type": {},
        "new_versions": 0,
        "unchanged": 5,
        "skipped": 0,
        "chunks": 1,
    }


# Chunks (SQLite) ----------------------------------------------------------------------


def test_chunks_are_audited_and_never_end_before_what_they_refer_to(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    records: list[dict[str, Any]] = _survey(60)
    # A finding first that cites a testimony 50 lines further down: the chunk that
    # stores it must hold that testimony too.
    finding = copy.deepcopy(sample_records()[9]) | {"id": "F-EARLY", "evidence": ["K-0049"]}
    path = _jsonl(tmp_path / "survey.jsonl", [finding, *records])
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        result = v.import_file(path, chunk_records=20)
        entries = [e for e in v.audit_entries() if e.action == "import"][1:]
    assert result.count == 61
    assert result.chunks == len(entries) >= 2
    sizes = [sum(e.details["records"].values()) for e in entries]
    assert sizes[0] >= 51
    assert sum(sizes) == 61
    assert [e.details["chunk"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e.details["last"] for e in entries] == [False] * (len(entries) - 1) + [True]


def test_a_bad_line_after_many_chunks_writes_nothing(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    records: list[Any] = [*_survey(60), "{oops"]
    path = _jsonl(tmp_path / "survey.jsonl", records)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        with pytest.raises(InvalidInputError) as err:
            v.import_file(path, chunk_records=20)
        assert f"{path}:line 61: malformed JSON" in str(err.value)
        assert "(1 bad line in all, nothing imported" in str(err.value)
        assert v.stats()["testimony"] == 5


class _Changing(io.BytesIO):
    """A stream whose second reading differs from its first: the check passes, the
    writing meets a bad line after some chunks committed."""

    def __init__(self, first: bytes, second: bytes) -> None:
        super().__init__(first)
        self._second = second
        self._seeks = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self._seeks += 1
        if self._seeks == 2:  # the import rewinds once before each reading
            super().seek(0)
            self.truncate()
            self.write(self._second)
        return super().seek(pos, whence)


def test_a_failure_part_way_says_what_was_committed_and_a_rerun_finishes(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    records = _survey(100)
    good = "".join(json.dumps(r) + "\n" for r in records).encode()
    bad_records: list[Any] = [*records[:70], "{oops", *records[71:]]
    bad = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in bad_records)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        stream = _Changing(good, bad.encode())
        with pytest.raises(InvalidInputError) as err:
            v.import_file(stream, name="survey.jsonl", chunk_records=25)
        message = str(err.value)
        assert message.startswith("survey.jsonl:line 71: malformed JSON")
        assert message.endswith(
            "(50 records were committed in 2 chunks before this, the rest was not; run the "
            "same import again to finish: records stored already are counted unchanged)"
        )
        assert len(message.splitlines()) == 1
        held = {s.id for s in v.list(type="testimony")}
        assert {r["id"] for r in records[:50]} <= held
        assert not {r["id"] for r in records[50:]} & held
        again = v.import_file(io.BytesIO(good), name="survey.jsonl", chunk_records=25)
        assert (again.count, again.unchanged) == (50, 50)
        assert v.stats()["testimony"] == 5 + 100
        v.audit_verify()


def test_the_next_download_of_a_kobo_survey_with_its_media(
    on_sqlite: Vault, tmp_path: Path
) -> None:
    media = _kobo_media(tmp_path)
    first = _write_csv(tmp_path / "kobo.csv", KOBO_HEADER, KOBO_ANSWERS)
    on_sqlite.import_file(first, mapping="kobo", files=media)
    files = {u: sorted(a.id for a in on_sqlite.attachments(u)) for u in UUIDS}
    # The same download again: nothing changes, no file is stored twice.
    again = on_sqlite.import_file(first, mapping="kobo", files=media, on_conflict="new-version")
    assert (again.count, again.unchanged, again.versions) == (0, 3, 0)
    # A later download in which one answer was corrected.
    answers = [dict(a) for a in KOBO_ANSWERS]
    answers[0]["testimony/narrative"] = "Bản tường thuật đã sửa."
    later = _write_csv(tmp_path / "kobo-2.csv", KOBO_HEADER, answers)
    result = on_sqlite.import_file(later, mapping="kobo", files=media, on_conflict="new-version")
    assert (result.count, result.unchanged, result.versions) == (0, 2, 1)
    assert on_sqlite.get(UUIDS[0])["narrative"] == "Bản tường thuật đã sửa."
    assert _versions(on_sqlite, UUIDS[0]) == [1, 2]
    assert {u: sorted(a.id for a in on_sqlite.attachments(u)) for u in UUIDS} == files


@pytest.mark.parametrize("check_first", [False, True])
def test_a_moved_source_row_rewrites_no_other_record(
    backend: Backend, tmp_path: Path, check_first: bool
) -> None:
    # K-0000's source-key index row moved onto K-0001: the survey's next download
    # of K-0000 must not become a new version of K-0001 (another worker's testimony,
    # under their key). The import, and its check, refuse instead.
    records = _survey(2)
    with backend.create() as v:
        v.import_file(SAMPLES)
        v.import_file(_jsonl(tmp_path / "first.jsonl", records))
        a, b = (v._ctx.codec.reference(r) for r in ("K-0000", "K-0001"))
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE blind_index SET record_ref = :b WHERE record_ref = :a AND kind = 'source'"
                ),
                {"a": a, "b": b},
            )
    finally:
        engine.dispose()
    again = _jsonl(tmp_path / "again.jsonl", [records[0] | {"narrative": "Later, in other words."}])
    with backend.open() as v:
        run = v.check_import if check_first else v.import_file
        with pytest.raises(TamperedRowError, match="its source key"):
            run(again, key="source_key", on_conflict="new-version")
        assert _versions(v, "K-0001") == [1]
        assert v.get("K-0001", identity=True) == records[1]
