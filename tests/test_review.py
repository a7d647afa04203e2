"""Review before release: decisions sealed per record version, used by every later
export to the audience, and required where the policy says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from exporting import new_identity, open_export
from test_cli import FAST_INIT

from conftest import PASSPHRASE, Backend, fast_kdf, passphrase_of
from corpus import export_corpus
from vault import ConflictError, IntegrityError, Passphrase, PermissionDeniedError, Vault
from vault.cli import cli
from vault.policy import find_policy, parse_policy

MONITOR_FLAGGED = find_policy("monitor").text.replace(
    "audience: monitor", "audience: monitor\nreview: required", 1
)
MARK = "the fine was"  # ordinary words in every corpus narrative


def _export(v: Vault, policy: Any, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    identity, _key, public = new_identity(tmp_path, "r.txt")
    if "r" not in {r["name"] for r in v.recipients()}:
        v.add_recipient("r", public)
        (tmp_path / "r.identity").write_text(str(identity))
    import pyrage

    identity = pyrage.x25519.Identity.from_str((tmp_path / "r.identity").read_text())
    out = tmp_path / f"e{len(v.exports())}.age"
    manifest = v.export(policy, "r", out)
    members = open_export(out, identity)
    lines = [json.loads(x) for x in members["records.jsonl"].splitlines()]
    return lines, dict(manifest)


def _required() -> Any:
    return parse_policy(MONITOR_FLAGGED, "monitor-reviewed.yaml")


def test_buyers_review_by_default_and_unreviewed_text_is_withheld(
    backend: Backend, tmp_path: Path
) -> None:
    assert find_policy("buyers").review == "required"
    assert find_policy("union").review == "none"
    with backend.create() as v:
        v.import_records(export_corpus())
        lines, manifest = _export(v, find_policy("buyers"), tmp_path)
    testimonies = [r for r in lines if r["type"] == "testimony"]
    assert testimonies
    assert not any("narrative" in r for r in lines)
    assert not any("summary" in r for r in lines if r["type"] == "finding")
    assert manifest["counts"]["review"]["awaiting_review"] >= len(testimonies)
    assert manifest["counts"]["review"]["reviewed"] == 0


def test_a_marked_span_is_redacted_and_a_released_one_leaves(
    backend: Backend, tmp_path: Path
) -> None:
    policy = _required()
    with backend.create() as v:
        v.import_records(export_corpus())
        items = v.review_items(policy)
        assert items
        assert all(i.status == "awaiting" for i in items)
        item = next(i for i in items if i.record_id == "XT-CZ-02" and i.path == "narrative")
        start = item.text.index(MARK)
        machine = item.spans[0]
        released_word = item.text[machine[0] : machine[1]]
        v.review(
            policy,
            item.record_id,
            item.path,
            item.digest,
            redact=[[start, start + len(MARK)]],
            release=[[machine[0], machine[1]]],
        )
        lines, manifest = _export(v, policy, tmp_path)
        # Only the reviewed narrative leaves; the others wait.
        out = {r["id"]: r for r in lines if r["type"] == "testimony"}
        narratives = [r["narrative"] for r in out.values() if "narrative" in r]
        assert len(narratives) == 1
        assert MARK not in narratives[0]
        assert "[REDACTED]" in narratives[0]
        assert released_word in narratives[0]
        assert manifest["counts"]["review"]["reviewed"] == 1
        # The decision is used by every later export, and listed as reviewed.
        again, _m = _export(v, policy, tmp_path)
        assert sum("narrative" in r for r in again if r["type"] == "testimony") == 1
        statuses = {(i.record_id, i.path): i.status for i in v.review_items(policy, every=True)}
        assert statuses[("XT-CZ-02", "narrative")] == "reviewed"


def test_a_new_version_voids_the_review(backend: Backend, tmp_path: Path) -> None:
    policy = _required()
    records = export_corpus()
    with backend.create() as v:
        v.import_records(records)
        item = next(i for i in v.review_items(policy) if i.record_id == "XT-CZ-02")
        v.review(policy, item.record_id, item.path, item.digest)
        changed = next(r for r in records if r["id"] == "XT-CZ-02")
        changed["narrative"] += " More was said later."
        v.update("XT-CZ-02", changed)
        lines, manifest = _export(v, policy, tmp_path)
        assert not any("narrative" in r for r in lines if r["type"] == "testimony")
        assert manifest["counts"]["review"]["reviewed"] == 0
        # A decision quoting the old text is refused, not applied to other words.
        with pytest.raises(ConflictError, match="changed since it was shown"):
            v.review(policy, item.record_id, item.path, item.digest)


def test_a_review_row_moved_to_another_record_is_refused(backend: Backend, tmp_path: Path) -> None:
    policy = _required()
    with backend.create() as v:
        v.import_records(export_corpus())
        item = next(i for i in v.review_items(policy) if i.record_id == "XT-CZ-02")
        v.review(policy, item.record_id, item.path, item.digest)
        other = v._ctx.codec.reference("XT-CZ-03")
        with v._ctx.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE reviews SET record_ref = ?", (other,)) if (
                backend.name == "sqlite"
            ) else conn.exec_driver_sql("UPDATE reviews SET record_ref = %s", (other,))
        with pytest.raises(IntegrityError):
            _export(v, policy, tmp_path)


def test_the_audit_names_spans_never_words(backend: Backend) -> None:
    policy = _required()
    with backend.create() as v:
        v.import_records(export_corpus())
        item = next(i for i in v.review_items(policy) if i.record_id == "XT-CZ-02")
        start = item.text.index(MARK)
        v.review(policy, item.record_id, item.path, item.digest, redact=[[start, start + 3]])
        entries = [e for e in v.audit_entries() if e.action == "review-decided"]
        assert len(entries) == 1
        details = entries[0].details
        assert details["redact"] == [[start, start + 3]]
        assert MARK not in json.dumps(details)
        assert item.text[:20] not in json.dumps(details)


@pytest.mark.parametrize(
    ("redact", "message"),
    [
        ([[5, 2]], "must lie inside the text"),
        ([[0, 10**9]], "must lie inside the text"),
        ([["a", 3]], "must be \\[start, end\\]"),
        ([[1, 2, 3]], "must be \\[start, end\\]"),
    ],
)
def test_bad_spans_are_refused(backend: Backend, redact: Any, message: str) -> None:
    policy = _required()
    with backend.create() as v:
        v.import_records(export_corpus())
        item = v.review_items(policy)[0]
        with pytest.raises(Exception, match=message):
            v.review(policy, item.record_id, item.path, item.digest, redact=redact)


def test_only_cleared_custodians_review(backend: Backend, tmp_path: Path) -> None:
    policy = _required()
    allowed = parse_policy(MONITOR_FLAGGED + "review_by_exporters: true\n", "m.yaml")
    ungranted = parse_policy(MONITOR_FLAGGED + "review_by_exporters: true\n# mine\n", "x.yaml")
    with backend.create() as v:
        v.import_records(export_corpus())
        v.add_custodian(
            "exp",
            Passphrase(passphrase_of("exp")),
            role="exporter",
            classes=["identity", "special", "narrative", "operational"],
            policies=[policy, allowed],
            kdf=fast_kdf(),
        )
        identity, _key, public = new_identity(tmp_path, "r.txt")
        v.add_recipient("r", public)
        (tmp_path / "r.identity").write_text(str(identity))
        v.add_custodian(
            "ops",
            Passphrase(passphrase_of("ops")),
            role="custodian",
            classes=["operational"],
            kdf=fast_kdf(),
        )
    with backend.open(passphrase_of("exp"), custodian="exp") as v:
        with pytest.raises(PermissionDeniedError, match="review_by_exporters"):
            v.review_items(policy)
        # A policy text of the exporter's own, not the one it was granted, is refused.
        with pytest.raises(PermissionDeniedError, match="not granted"):
            v.review_items(ungranted)
        item = next(i for i in v.review_items(allowed) if i.record_id == "XT-CZ-02")
        v.review(allowed, item.record_id, item.path, item.digest)
        # The exporter's decision stands where exporters may review, and nowhere else.
        lines, _m = _export(v, allowed, tmp_path)
        assert sum("narrative" in r for r in lines if r["type"] == "testimony") == 1
        lines, _m = _export(v, policy, tmp_path)
        assert not any("narrative" in r for r in lines if r["type"] == "testimony")
    with (
        backend.open(passphrase_of("ops"), custodian="ops") as v,
        pytest.raises(PermissionDeniedError, match="identity, special, narrative"),
    ):
        v.review_items(policy)


def test_dump_and_apply_for_scripts(sqlite_backend: Backend, tmp_path: Path) -> None:
    env = {"EVAULT_DIR": str(sqlite_backend.folder), "EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", *FAST_INIT], env=env).exit_code == 0
    data = tmp_path / "corpus.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in export_corpus()))
    assert runner.invoke(cli, ["import", str(data)], env=env).exit_code == 0
    policy = tmp_path / "reviewed.yaml"
    policy.write_text(MONITOR_FLAGGED.replace("policy: monitor", "policy: reviewed"))
    dumped = runner.invoke(cli, ["review", "dump", "--policy", str(policy)], env=env)
    assert dumped.exit_code == 0, dumped.output
    dump = json.loads(dumped.stdout)
    assert dump["items"]
    assert all(i["status"] == "awaiting" for i in dump["items"])
    for item in dump["items"][:3]:
        item["accept"] = True
    decisions = tmp_path / "r.json"
    decisions.write_text(json.dumps(dump, ensure_ascii=False))
    applied = runner.invoke(
        cli, ["review", "apply", str(decisions), "--policy", str(policy), "--json"], env=env
    )
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["applied"] == 3
    left = json.loads(
        runner.invoke(cli, ["review", "dump", "--policy", str(policy)], env=env).stdout
    )
    assert len(left["items"]) == len(dump["items"]) - 3
    # A bad file changes nothing: one line, exit 5.
    dump["items"][3]["accept"] = True
    dump["items"][4]["accept"] = True
    dump["items"][4]["redact"] = [[0, 10**9]]
    decisions.write_text(json.dumps(dump, ensure_ascii=False))
    bad = runner.invoke(cli, ["review", "apply", str(decisions), "--policy", str(policy)], env=env)
    assert bad.exit_code == 5, bad.output
    assert "decision 5 (record " in bad.stderr
    assert "redact[0]" in bad.stderr
    assert "Traceback" not in bad.output
    after = json.loads(
        runner.invoke(cli, ["review", "dump", "--policy", str(policy)], env=env).stdout
    )
    assert len(after["items"]) == len(left["items"])


def test_flagged_review_holds_back_only_texts_with_a_risk_cue(
    backend: Backend, tmp_path: Path
) -> None:
    records = export_corpus()
    cued = next(r for r in records if r["id"] == "XT-CZ-04")
    cued["narrative"] += " She is the only pregnant worker on line 3."
    policy = parse_policy(
        MONITOR_FLAGGED.replace("review: required", "review: flagged"), "flagged.yaml"
    )
    with backend.create() as v:
        v.import_records(records)
        items = v.review_items(policy)
        assert [(i.record_id, i.status) for i in items if i.path == "narrative"] == [
            ("XT-CZ-04", "flagged")
        ]
        assert "only" in items[0].flags
        lines, manifest = _export(v, policy, tmp_path)
    out = [r for r in lines if r["type"] == "testimony"]
    assert sum("narrative" in r for r in out) == len(out) - 1
    assert not any("pregnant" in r.get("narrative", "") for r in out)
    assert manifest["counts"]["review"]["awaiting_review"] == 1


def test_the_manifest_counts_risk_cues_left_in_free_text(backend: Backend, tmp_path: Path) -> None:
    records = export_corpus()
    cued = next(r for r in records if r["id"] == "XT-CZ-04")
    cued["narrative"] += " She is the only pregnant worker on line 3."
    with backend.create() as v:
        v.import_records(records)
        _lines, manifest = _export(v, find_policy("union"), tmp_path)
    flags = manifest["counts"]["risk_flags"]
    assert flags["records"] >= 1
    assert flags["only"] == 1


def test_a_policy_asking_for_a_model_that_is_not_installed_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vault.scrub
    from vault import UsageError
    from vault.scrub import Scrubber

    monkeypatch.setattr(vault.scrub, "available", lambda: ())
    with pytest.raises(UsageError, match="evidence-vault\\[ner\\]"):
        Scrubber("record", ner=True)
