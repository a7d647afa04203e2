"""No plaintext at rest: canary values never appear in the vault's stored bytes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import MetaData, create_engine

from conftest import Backend
from corpus import canary_records, canary_strings


def _variants(value: str) -> Iterator[bytes]:
    forms = {value, value.upper(), value.lower(), value.casefold()}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6 and not re.search(r"[A-Za-z]", value):
        forms.add(digits)
    for form in list(forms):
        for nf in ("NFC", "NFD", "NFKC", "NFKD"):
            text = unicodedata.normalize(nf, form)
            yield text.encode("utf-8")
            yield text.encode("utf-16-le")
            # Stripped of diacritics, as a scrubber or a lazy index might store it.
            yield "".join(
                c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
            ).encode()


def _assert_no_canary(blob: bytes, where: str) -> None:
    for value in canary_strings():
        if len(value) < 4:
            continue
        for needle in _variants(value):
            assert needle not in blob, f"a canary value appears in {where}"


def _stored_bytes(backend: Backend) -> Iterator[tuple[str, bytes]]:
    if backend.db_url is None:
        for path in sorted(Path(backend.folder).iterdir()):
            yield path.name, path.read_bytes()
        return
    engine = create_engine(backend.db_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                yield (
                    table.name,
                    b"".join(v if isinstance(v, bytes) else str(v).encode("utf-8") for v in row),
                )
    engine.dispose()


def test_no_canary_in_any_stored_byte(backend: Backend) -> None:
    records = canary_records()
    with backend.create() as v:
        v.import_records(records)
        # An update and lookups must not leave plaintext behind either.
        first = next(r for r in records if r["type"] == "testimony")
        v.update(first["id"], {**first, "narrative": first["narrative"] + " (corrected)"})
        assert v.find(employee_id=first["worker"]["employee_id"])
        # While open: the write-ahead log holds the newest pages.
        seen = list(_stored_bytes(backend))
        for name, blob in seen:
            _assert_no_canary(blob, name)
    if backend.db_url is None:
        names = {n for n, _ in seen}
        assert "vault.db" in names
        assert any(n.endswith("-wal") for n in names), "the WAL must be part of the check"
    for name, blob in _stored_bytes(backend):
        _assert_no_canary(blob, name)


def test_the_canary_check_itself_finds_plaintext(tmp_path: Path) -> None:
    # Guard against a vacuous test: the same check on a plaintext file must fail.
    plain = tmp_path / "plain.db"
    plain.write_bytes(canary_strings()[0].upper().encode("utf-8"))
    try:
        _assert_no_canary(plain.read_bytes(), "plain.db")
    except AssertionError:
        return
    raise AssertionError("the canary check did not find a plaintext value")


def test_vault_files_are_owner_only(sqlite_backend: Backend) -> None:
    with sqlite_backend.create() as v:
        v.import_records(canary_records())
    folder = Path(sqlite_backend.folder)
    assert folder.stat().st_mode & 0o077 == 0
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path.name
