"""Exports: no identity leaks under any shipped policy, gates, pseudonyms, interop, verify."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

import pyrage
import pytest
from exporting import new_identity, open_export, repack

from conftest import SAMPLES, Backend, require_tool
from corpus import (
    export_corpus,
    export_identity_terms,
    export_phone_numbers,
)
from vault import IntegrityError, InvalidInputError, NotFoundError, Vault
from vault.export import verify_export
from vault.policy import find_policy, parse_policy
from vault.scrub import fold
from vault.sharing import ExportSummary

SHIPPED = ["union", "monitor", "buyers", "public"]

# The export file, the identity file, the identity, its public key, the signer's key file.
SampleExport: TypeAlias = tuple[Path, Path, pyrage.x25519.Identity, str, Path]
# A change made to an export's members before it is repacked.
Change: TypeAlias = Callable[[dict[str, bytes]], None]


@pytest.fixture
def corpus_vault(backend: Backend) -> Iterator[Vault]:
    with backend.create() as v:
        v.import_records(export_corpus())
        yield v


def _spaced(term: str) -> bool:
    return not any("\u0e00" <= c <= "\u0e7f" or "\u4e00" <= c <= "\u9fff" for c in term)


def assert_no_identity(text: str, records: list[dict[str, Any]]) -> None:
    folded, _ = fold(text)
    for term in export_identity_terms(records):
        ft = fold(term)[0].strip()
        if not ft:
            continue
        if _spaced(term):
            if len(ft) < 3:
                continue
            pattern = r"(?<![^\W_])" + re.escape(ft) + r"(?![^\W_])"
            assert not re.search(pattern, folded), f"identity term leaked: {term!r}"
        else:
            assert ft not in folded, f"identity term leaked: {term!r}"
    runs = [
        "".join(ch for ch in m if ch.isdigit()) for m in re.findall(r"\+?\d[\d\s().-]{5,}\d", text)
    ]
    for phone in export_phone_numbers(records):
        for run in runs:
            assert phone not in run, "a phone number leaked"


def _export(
    v: Vault, policy: str, tmp_path: Path, recipient: str = "r1"
) -> tuple[dict[str, bytes], ExportSummary]:
    identity, _key, public = new_identity(tmp_path, f"{recipient}.txt")
    if recipient not in {r["name"] for r in v.recipients()}:
        v.add_recipient(recipient, public)
        (tmp_path / f"{recipient}.identity").write_text(str(identity))
    else:
        import pyrage

        identity = pyrage.x25519.Identity.from_str((tmp_path / f"{recipient}.identity").read_text())
    out = tmp_path / f"{policy}-{recipient}-{len(v.exports())}.age"
    manifest = v.export(find_policy(policy), recipient, out)
    return open_export(out, identity), manifest


@pytest.mark.parametrize("policy", SHIPPED)
def test_no_identity_term_in_any_shipped_export(
    corpus_vault: Vault, tmp_path: Path, policy: str
) -> None:
    members, manifest = _export(corpus_vault, policy, tmp_path)
    text = b"".join(members.values()).decode("utf-8", errors="replace")
    records = export_corpus()
    assert_no_identity(text, records)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    if policy == "public":
        assert lines
        assert all(r["type"] == "count" and r["count"] > 3 for r in lines)
    else:
        # Not vacuous: testimonies went out, and scrubbed text with them.
        assert manifest["counts"]["included"].get("testimony", 0) >= 10
        if policy != "buyers":
            # Each name here belongs to two workers ("X" and "X (6)"): a mention of
            # it can name neither, so it reads [NAME].
            assert "[WORKER-" in text or "[NAME]" in text
            assert "[PHONE]" in text


def test_scrubbed_narrative_keeps_the_story(corpus_vault: Vault, tmp_path: Path) -> None:
    members, _ = _export(corpus_vault, "union", tmp_path)
    narratives = [json.loads(x).get("narrative", "") for x in members["records.jsonl"].splitlines()]
    joined = "\n".join(narratives)
    assert "worked nights" in joined
    assert "[EMPLOYEE-ID]" in joined
    assert "[EMAIL]" in joined
    assert "2026-03-14" in joined  # dates are not ID numbers


def test_consent_gate(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    testimonies = [r for r in records if r["type"] == "testimony"]
    for i, r in enumerate(testimonies):
        r["narrative"] += f" MARKER{i:03d}."
        if i % 4 == 1:
            r["consent"]["withdrawn"] = True
        elif i % 4 == 2:
            r["consent"]["share_with"] = ["monitor"]
        elif i % 4 == 3:
            del r["consent"]
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "union", tmp_path)
    text = members["records.jsonl"].decode()
    for i in range(len(testimonies)):
        if i % 4:
            assert f"MARKER{i:03d}" not in text
    excluded = manifest["counts"]["excluded"]
    assert excluded["consent_withdrawn"] == 12
    assert excluded["consent_excludes_audience"] == 12
    assert excluded["no_consent"] == 12


def _groups(lines: list[dict[str, Any]], quasi: list[str]) -> Counter[tuple[Any, ...]]:
    groups: Counter[tuple[Any, ...]] = Counter()
    for r in lines:
        if r["type"] != "testimony":
            continue
        key = []
        for q in quasi:
            head, _, tail = q.partition(".")
            v = r.get(head)
            key.append(
                json.dumps(v.get(tail) if tail and isinstance(v, dict) else (None if tail else v))
            )
        groups[tuple(key)] += 1
    return groups


@pytest.mark.parametrize("policy", ["union", "monitor", "buyers"])
def test_k_anonymity_holds_on_every_exported_group(
    corpus_vault: Vault, tmp_path: Path, policy: str
) -> None:
    members, manifest = _export(corpus_vault, policy, tmp_path)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    ka = manifest["k_anonymity"]
    groups = _groups(lines, ka["quasi_identifiers"])
    assert groups
    assert min(groups.values()) >= ka["k"]


def test_small_groups_are_generalized_or_suppressed(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    # One unusual worker: a birth year nobody else shares.
    odd = next(r for r in records if r["id"] == "XT-VN-05")
    odd["worker"]["birth_year"] = 1961
    odd["worker"]["nationality"] = "LA"
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "union", tmp_path)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    ka = manifest["k_anonymity"]
    groups = _groups(lines, ka["quasi_identifiers"])
    assert min(groups.values()) >= ka["k"]
    assert not any(r.get("worker", {}).get("nationality") == "LA" for r in lines)
    excluded = manifest["counts"]["excluded"].get("k_anonymity", 0)
    assert excluded > 0 or ka["generalization_level"] > 0


def test_pseudonyms_stable_per_recipient_and_unlinkable_between(
    corpus_vault: Vault, tmp_path: Path
) -> None:
    def ids(members: dict[str, bytes]) -> set[str]:
        return {
            json.loads(x)["id"]
            for x in members["records.jsonl"].splitlines()
            if json.loads(x)["type"] == "testimony"
        }

    a1, _ = _export(corpus_vault, "union", tmp_path, "alpha")
    a2, _ = _export(corpus_vault, "union", tmp_path, "alpha")
    b1, _ = _export(corpus_vault, "union", tmp_path, "beta")
    assert ids(a1) == ids(a2)
    assert ids(a1).isdisjoint(ids(b1))
    # Evidence in findings points at the exported testimonies' pseudonyms.
    findings = [json.loads(x) for x in a1["records.jsonl"].splitlines() if b'"finding"' in x]
    assert findings
    assert set(findings[0]["evidence"]) <= ids(a1) | set(findings[0]["evidence"])
    assert set(findings[0]["evidence"]) & ids(a1)
    # Export-scoped pseudonyms (buyers) change every time.
    c1, _ = _export(corpus_vault, "buyers", tmp_path, "gamma")
    c2, _ = _export(corpus_vault, "buyers", tmp_path, "gamma")
    assert ids(c1).isdisjoint(ids(c2))


def test_pseudonyms_are_keyed_not_plain_hashes(corpus_vault: Vault, tmp_path: Path) -> None:
    import hashlib

    members, _ = _export(corpus_vault, "union", tmp_path)
    text = members["records.jsonl"].decode()
    for rid in ("XT-VN-00", "XT-CZ-11"):
        for h in (hashlib.sha256(rid.encode()).hexdigest(), hashlib.md5(rid.encode()).hexdigest()):  # noqa: S324
            assert h[:16] not in text
        assert rid not in text


def test_export_is_recorded_and_preview_writes_nothing(corpus_vault: Vault, tmp_path: Path) -> None:
    before = set(os.listdir(tmp_path))
    pv = corpus_vault.preview(find_policy("union"), limit=3)
    shown = list(pv.records)
    assert len(shown) == 3
    assert pv.result.included["testimony"] >= 10  # counted as the full export would
    assert set(os.listdir(tmp_path)) == before
    assert corpus_vault.exports() == []
    _members, manifest = _export(corpus_vault, "union", tmp_path)
    rows = corpus_vault.exports()
    assert len(rows) == 1
    assert rows[0]["export_id"] == manifest["export_id"]
    assert rows[0]["policy_sha256"] == find_policy("union").sha256
    assert rows[0]["recipient"] == "r1"
    assert rows[0]["counts"] == manifest["counts"]


def test_unknown_recipient_and_bad_key(corpus_vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        corpus_vault.export(find_policy("union"), "nobody", tmp_path / "x.age")
    with pytest.raises(InvalidInputError):
        corpus_vault.add_recipient("bad", "age1notakey")
    assert not (tmp_path / "x.age").exists()


@pytest.fixture
def sample_export(sqlite_backend: Backend, tmp_path: Path) -> SampleExport:
    identity, key, public = new_identity(tmp_path)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        v.add_recipient("ituc", public)
        out = tmp_path / "union.age"
        v.export(find_policy("union"), "ituc", out)
        signer = tmp_path / "signer.pem"
        signer.write_bytes(v.public_signing_key_pem())
    return out, key, identity, public, signer


def test_opens_with_the_age_command_line_tool(sample_export: SampleExport, tmp_path: Path) -> None:
    out, key, identity, _public, _signer = sample_export
    age_tool = require_tool("age")
    dest = tmp_path / "opened"
    dest.mkdir()
    age = subprocess.run(
        [age_tool, "-d", "-i", str(key), str(out)], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=age.stdout, check=True)
    assert sorted(os.listdir(dest)) == [
        "manifest.json",
        "manifest.sig",
        "records.jsonl",
        "signing-key.pem",
    ]
    assert (dest / "records.jsonl").read_bytes() == open_export(out, identity)["records.jsonl"]


def test_verify_export_accepts_the_genuine_file(
    sample_export: SampleExport,
) -> None:
    out, key, _identity, _public, signer = sample_export
    report = verify_export(out, key, signer)
    assert report.signer_pinned
    assert report.policy == "union"
    assert report.lines == 10


def _tamper(sample_export: SampleExport, tmp_path: Path, change: Change) -> Path:
    out, _key, identity, public, _signer = sample_export
    members = open_export(out, identity)
    change(members)
    forged = tmp_path / "forged.age"
    repack(members, public, forged)
    return forged


def _edit_manifest(m: dict[str, bytes]) -> None:
    manifest = json.loads(m["manifest.json"])
    manifest["policy"]["name"] = "public"
    m["manifest.json"] = json.dumps(manifest, indent=1).encode() + b"\n"


def _edit_record(m: dict[str, bytes]) -> None:
    m["records.jsonl"] = m["records.jsonl"].replace(b"union", b"UNION", 1)


def _remove_record(m: dict[str, bytes]) -> None:
    m["records.jsonl"] = b"".join(m["records.jsonl"].splitlines(keepends=True)[1:])


def _add_record(m: dict[str, bytes]) -> None:
    m["records.jsonl"] += b'{"type":"site","id":"EXTRA"}\n'


def _swap_records(m: dict[str, bytes]) -> None:
    lines = m["records.jsonl"].splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    m["records.jsonl"] = b"".join(lines)


def _drop_signature(m: dict[str, bytes]) -> None:
    del m["manifest.sig"]


def _resign_with_other_key(m: dict[str, bytes]) -> None:
    from vault.crypto import SigningKey, public_key_pem

    other = SigningKey.generate()
    _edit_manifest(m)
    m["manifest.sig"] = other.sign(m["manifest.json"])
    m["signing-key.pem"] = public_key_pem(other.public_bytes())


@pytest.mark.parametrize(
    "change",
    [_edit_manifest, _edit_record, _remove_record, _add_record, _swap_records, _drop_signature],
)
def test_verify_export_rejects_changes(
    sample_export: SampleExport, tmp_path: Path, change: Change
) -> None:
    forged = _tamper(sample_export, tmp_path, change)
    with pytest.raises(IntegrityError):
        verify_export(forged, sample_export[1])


def test_verify_export_rejects_a_wrong_signer(sample_export: SampleExport, tmp_path: Path) -> None:
    # A self-consistent forgery signed by another key passes without a pinned
    # signer, and fails with one.
    forged = _tamper(sample_export, tmp_path, _resign_with_other_key)
    assert not verify_export(forged, sample_export[1]).signer_pinned
    with pytest.raises(IntegrityError, match="expected signer"):
        verify_export(forged, sample_export[1], sample_export[4])


def test_verify_export_rejects_damaged_ciphertext_and_wrong_identity(
    sample_export: SampleExport, tmp_path: Path
) -> None:
    out, key, *_ = sample_export
    data = bytearray(out.read_bytes())
    data[-40] ^= 1
    damaged = tmp_path / "damaged.age"
    damaged.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as err:
        verify_export(damaged, key)
    assert "cannot open" not in str(err.value)
    truncated = tmp_path / "truncated.age"
    truncated.write_bytes(out.read_bytes()[:-100])
    with pytest.raises(IntegrityError) as err:
        verify_export(truncated, key)
    assert "cannot open" not in str(err.value)
    # Another recipient's key is told apart from a damaged file.
    _identity, other_key, _pub = new_identity(tmp_path, "other.txt")
    with pytest.raises(IntegrityError, match="this key cannot open the export"):
        verify_export(out, other_key)


def test_custom_policy_is_deny_by_default(corpus_vault: Vault) -> None:
    policy = parse_policy(
        "policy: tiny\naudience: monitor\nrecords:\n  site:\n    rules:\n      country: keep\n",
        "tiny.yaml",
    )
    pv = corpus_vault.preview(policy)
    lines = list(pv.records)
    assert lines
    assert all(set(r) == {"type", "country"} for r in lines)
    assert pv.result.excluded["type_not_exported"] == 52


def test_k_anonymity_counts_workers_not_testimonies(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    # One worker, three testimonies, a profile no one else at the site shares.
    base = next(r for r in records if r["id"] == "XT-VN-05")
    base["worker"].update(birth_year=1961, nationality="LA")
    for n in range(2):
        follow_up = json.loads(json.dumps(base))
        follow_up["id"] = f"XT-VN-05-{n}"
        records.append(follow_up)
    with backend.create() as v:
        v.import_records(records)
        members, _manifest = _export(v, "union", tmp_path)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    assert not any(r.get("worker", {}).get("nationality") == "LA" for r in lines)
    assert not any(r.get("worker", {}).get("birth_year") == "1960-1964" for r in lines)


def _hotline_calls(records: list[dict[str, Any]]) -> None:
    """One caller, three testimonies and no employee id: two share a phone, two a
    name spelled in different case and spacing (the chain links all three)."""
    base = next(r for r in records if r["id"] == "XT-VN-05")
    base["worker"].update(birth_year=1961, nationality="LA")
    base["worker"].pop("employee_id", None)
    base["worker"].pop("email", None)
    name, phone = base["worker"]["name"], base["worker"]["phone"]
    second = json.loads(json.dumps(base))
    second["id"] = "XT-VN-05-call2"
    second["worker"]["name"] = "Someone Else Entirely"
    third = json.loads(json.dumps(base))
    third["id"] = "XT-VN-05-call3"
    third["worker"].pop("phone")
    third["worker"]["name"] = "  " + name.upper().replace(" ", "  ")
    assert phone
    records += [second, third]


def test_k_anonymity_counts_a_hotline_callers_testimonies_as_one_person(
    backend: Backend, tmp_path: Path
) -> None:
    records = export_corpus()
    _hotline_calls(records)
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "union", tmp_path)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    # k is 3 under union: three testimonies of one caller are a group of one.
    assert manifest["k_anonymity"]["k"] >= 3
    assert not any(r.get("worker", {}).get("nationality") == "LA" for r in lines)
    assert not any(r.get("worker", {}).get("birth_year") == "1960-1964" for r in lines)


def test_a_cell_of_one_callers_testimonies_is_held_back(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    _hotline_calls(records)
    fourth = json.loads(json.dumps(next(r for r in records if r["id"] == "XT-VN-05-call2")))
    fourth["id"] = "XT-VN-05-call4"
    records.append(fourth)
    for r in records:
        if r["id"].startswith("XT-VN-05"):
            r["allegations"] = ["child_labour"]
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "public", tmp_path)
    assert manifest["counts"]["excluded"]["small_cells"] >= 1
    assert b"child_labour" not in members["records.jsonl"]


def test_sites_come_first_and_evidence_goes_when_sites_are_coarsened(
    backend: Backend, tmp_path: Path
) -> None:
    records = export_corpus()
    for r in records:
        if r["type"] == "testimony":
            # Every worker a birth year of their own: groups only form once coarsened.
            r["worker"]["birth_year"] = 1950 + int(r["id"][-2:])
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "union", tmp_path)
    types = [json.loads(x)["type"] for x in members["records.jsonl"].splitlines()]
    n_sites = types.count("site")
    assert types[:n_sites] == ["site"] * n_sites
    assert "site" not in types[n_sites:]
    if manifest["k_anonymity"]["generalization_level"] > 0:
        assert manifest.get("evidence_links_removed") is True
        findings = [
            json.loads(x) for x in members["records.jsonl"].splitlines() if b'"finding"' in x
        ]
        assert findings
        assert all("evidence" not in f for f in findings)


def test_suppressed_cells_are_counted_as_cells(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    lone = next(r for r in records if r["id"] == "XT-CZ-03")
    lone["allegations"] = ["child_labour"]
    with backend.create() as v:
        v.import_records(records)
        members, manifest = _export(v, "public", tmp_path)
    assert manifest["counts"]["excluded"]["small_cells"] >= 1
    assert b"child_labour" not in members["records.jsonl"]
