"""Receiving a partner's export: pinned keys, sealed provenance, versions, replays,
recipients, onward terms and joint exports. Two vaults on this machine: a monitor
vault (its findings) and a union vault (its testimonies)."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
import pytest
from exporting import new_identity
from sqlalchemy import create_engine, text
from test_at_rest import _stored_bytes

from conftest import PASSPHRASE, Backend, fast_kdf, passphrase_of, sample_records
from vault import (
    IntegrityError,
    InvalidInputError,
    Passphrase,
    PermissionDeniedError,
    Vault,
    age,
    crypto,
)
from vault.errors import (
    ConflictError,
    StaleExportError,
    TamperedRowError,
    UnpinnedSignerError,
    UsageError,
    WrongRecipientError,
)
from vault.export import EXPORT_FORMAT, verify_export
from vault.export.archive import write_archive
from vault.policy import Policy, find_policy, load_policy
from vault.store import sqlite_url

SUMMARY = "Weekly hours routinely above 60"  # a finding's free text, never stored plain


@functools.cache
def policy(name: str) -> Policy:
    """A shipped policy, parsed once (parsing costs more than a small export)."""
    return find_policy(name)


def monitor_records() -> list[dict[str, Any]]:
    """The monitor's own: sites and audit findings (its evidence is its own)."""
    out = []
    for r in sample_records():
        if r["type"] == "finding":
            out.append({k: v for k, v in r.items() if k != "evidence"})
        elif r["type"] == "site":
            out.append(r)
    return out


def union_records() -> list[dict[str, Any]]:
    return [r for r in sample_records() if r["type"] != "finding"]


@dataclass
class Pair:
    monitor: Vault
    union: Vault
    backend: Backend
    key: Path  # the union vault's age identity file
    public: str
    tmp: Path

    def export(self, name: str) -> Path:
        """The monitor's export of its findings to the union, under the union policy."""
        out = self.tmp / name
        self.monitor.export(policy("union"), "union", out)
        return out


def _build(monitor: Vault, union: Vault, public: str) -> None:
    monitor.import_records(monitor_records())
    monitor.add_recipient("union", public)
    union.import_records(union_records())
    union.add_partner("monitor", monitor.public_signing_key_pem())


def _new_vault(folder: Path) -> Vault:
    return Vault.create(folder, Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both vaults as every test starts them, made once (SQLite folders to copy)."""
    folder = tmp_path_factory.mktemp("partners")
    _identity, _key, public = new_identity(folder, "union-key.txt")
    with _new_vault(folder / "monitor") as monitor, _new_vault(folder / "union") as union:
        _build(monitor, union, public)
    return folder


@pytest.fixture
def pair(
    backend: Backend, tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pair]:
    key = tmp_path / "union-key.txt"
    shutil.copy(template / "union-key.txt", key)
    public = age.identity_recipients(age.load_identities(key))[0]
    if backend.db_url is None:
        # Copies of one vault share its id: each keeps its audit witness apart.
        monkeypatch.setenv("EVAULT_STATE_DIR", str(tmp_path / "state"))
        shutil.copytree(template / "monitor", tmp_path / "monitor")
        shutil.copytree(template / "union", backend.folder)
        with (
            Vault.open(tmp_path / "monitor", Passphrase(PASSPHRASE)) as monitor,
            backend.open() as union,
        ):
            yield Pair(monitor, union, backend, key, public, tmp_path)
        return
    with _new_vault(tmp_path / "monitor") as monitor, backend.create() as union:
        _build(monitor, union, public)
        yield Pair(monitor, union, backend, key, public, tmp_path)


def _sql(backend: Backend, sql: str, **params: object) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


def _count(backend: Backend, table: str) -> int:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def _forge(
    signer: Vault, out: Path, records: list[dict[str, Any]], public: str, **manifest: Any
) -> Path:
    """An export signed with ``signer``'s real key, holding what a hostile or broken
    sending vault could put in it."""
    fingerprint = crypto.public_key_fingerprint(public)
    body: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "export_id": crypto.random_token(16),
        "vault_id": signer.vault_id,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "custodian": "admin",
        "policy": {"name": "union", "sha256": "0" * 64, "audience": "union"},
        "recipient": {"name": "union", "age_recipient": public, "fingerprint": fingerprint},
        "recipients": [{"name": "union", "age_recipient": public, "fingerprint": fingerprint}],
        "terms": {"onward": "none", "audiences": []},
        "audit": {"size": 10**6, "head": "00" * 32},
        **manifest,
    }
    tmp, fd = write_archive(
        out,
        records,
        recipient=age.parse_recipient(public),
        signing_key=signer._ctx.signing_key(),
        manifest=body,
        finish=lambda m: m.update(counts={}),
    )
    os.replace(tmp, out)
    os.close(fd)
    return out


# Pinning -----------------------------------------------------------------------------


def _lines(path: Path, key: Path) -> list[str]:
    """The record lines of an export, decrypted with the key file ``key``."""
    identity = pyrage.x25519.Identity.from_str(key.read_text().splitlines()[1])
    plain = pyrage.decrypt(path.read_bytes(), [identity])
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        member = tar.extractfile("records.jsonl")
        assert member is not None
        return member.read().decode().splitlines()


def _sharing_policy(tmp: Path, onward: str) -> Path:
    """The union policy under another name, with the onward terms given."""
    text = policy("union").text.replace("policy: union\n", "policy: share\n")
    path = tmp / "share.yaml"
    path.write_text(text + f"\nonward: {onward}\n", encoding="utf-8")
    return path


# Pinning -----------------------------------------------------------------------------


def test_a_partner_is_pinned_by_an_admin_with_its_fingerprint_audited(pair: Pair) -> None:
    pem = pair.monitor.public_signing_key_pem()
    raw = crypto.public_key_from_pem(pem)
    [row] = pair.union.partners()
    assert row["name"] == "monitor"
    assert row["fingerprint"] == crypto.public_key_fingerprint(raw)
    assert row["last_export"] is None
    added = [e for e in pair.union.audit_entries() if e.action == "partner-added"]
    assert added[0].details == {"name": "monitor", "fingerprint": row["fingerprint"]}
    with pytest.raises(ConflictError):
        pair.union.add_partner("monitor", pem)
    with pytest.raises(ConflictError, match="pinned already"):
        pair.union.add_partner("monitor-2", pem)
    with pytest.raises(UsageError, match="own signing key"):
        pair.union.add_partner("self", pair.union.public_signing_key_pem())
    with pytest.raises(InvalidInputError, match="not an Ed25519 public key"):
        pair.union.add_partner("garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n")
    pair.union.add_custodian(
        "ana",
        Passphrase(passphrase_of("ana")),
        role="custodian",
        classes=["narrative"],
        kdf=fast_kdf(),
    )
    with pair.backend.open(passphrase_of("ana"), custodian="ana") as ana:
        with pytest.raises(PermissionDeniedError):
            ana.add_partner("other", pem)
        with pytest.raises(PermissionDeniedError):
            ana.receive(pair.export("e.age"), pair.key)
        assert [p["name"] for p in ana.partners()] == ["monitor"]


def test_a_tampered_partner_row_is_refused(pair: Pair) -> None:
    out = pair.export("e1.age")
    genuine = crypto.public_key_from_pem(pair.monitor.public_signing_key_pem())
    insider = crypto.SigningKey.generate().public_bytes()
    # A database writer swaps the pinned key for their own ...
    _sql(pair.backend, "UPDATE partners SET signing_key = :k", k=insider.hex())
    with pair.backend.open() as union:
        with pytest.raises(TamperedRowError):
            union.receive(out, pair.key)
        with pytest.raises(TamperedRowError):
            union.partners()
        refused = [e.details for e in union.audit_entries() if e.action == "row-refused"]
        assert {"table": "partners"} in refused
        assert union.received() == []
    # ... or adds a partner of their own, with a signature copied from a real row.
    _sql(pair.backend, "UPDATE partners SET signing_key = :k", k=genuine.hex())
    _sql(
        pair.backend,
        "INSERT INTO partners (name, signing_key, fingerprint, created_at, sig) "
        "SELECT 'insider', :k, :f, created_at, sig FROM partners WHERE name = 'monitor'",
        k=insider.hex(),
        f=crypto.public_key_fingerprint(insider),
    )
    with pair.backend.open() as union, pytest.raises(TamperedRowError):
        union.receive(out, pair.key)
    # A receipt edited to an older sequence (to let a rollback in) fails its signature.
    _sql(pair.backend, "DELETE FROM partners WHERE name = 'insider'")
    with pair.backend.open() as union:
        union.receive(out, pair.key)
    _sql(pair.backend, "UPDATE partner_receipts SET sequence = 0")
    with pair.backend.open() as union, pytest.raises(TamperedRowError):
        union.receive(pair.export("e2.age"), pair.key)


# Receiving ---------------------------------------------------------------------------


def test_records_are_received_sealed_with_their_provenance(pair: Pair) -> None:
    out = pair.export("e1.age")
    report = pair.union.receive(out, pair.key)
    manifest = verify_export(out, pair.key)
    assert report.partner == "monitor"
    assert report.export_id == manifest.export_id
    assert report.by_type == {"site": 4, "finding": 2}
    assert dict(report.records) == {"new": 6}
    listed = pair.union.received(partner="monitor")
    assert len(listed) == 6
    assert all(r["id"].startswith("monitor:P-") for r in listed)
    finding = next(r for r in listed if r["type"] == "finding")
    shown = pair.union.get_received(finding["id"])
    prov = shown["provenance"]
    assert prov["partner"] == "monitor"
    assert prov["export_id"] == manifest.export_id
    assert prov["policy"] == "union"
    assert prov["policy_sha256"] == policy("union").sha256
    assert prov["terms"] == {"onward": "none", "audiences": []}
    assert len(prov["manifest_sha256"]) == 64
    assert prov["received_at"] >= prov["exported_at"]
    assert shown["record"]["id"] == finding["id"].removeprefix("monitor:")
    assert "received-read" in {e.action for e in pair.union.audit_entries()}
    # Sealed: neither the finding's text nor where it came from is stored in the clear.
    if pair.backend.db_url is None:
        for name, blob in _stored_bytes(pair.backend):
            assert SUMMARY.encode() not in blob, name
            assert b"Example Monitoring Org" not in blob, name
    # The monitor moves a finding on; its next export makes a new version of that
    # record only, not a duplicate.
    pair.monitor.patch("F-0001", {"status": "remediated", "remediation": {"updated": "2026-11-20"}})
    report = pair.union.receive(pair.export("e2.age"), pair.key)
    assert dict(report.records) == {"updated": 1, "unchanged": 5}
    listed = pair.union.received()
    assert len(listed) == 6
    [moved] = [r for r in listed if r["version"] == 2]
    now = pair.union.get_received(moved["id"])
    before = pair.union.get_received(moved["id"], version=1)
    assert (before["record"]["status"], now["record"]["status"]) == ("in_remediation", "remediated")
    assert now["provenance"]["export_id"] == report.export_id
    last = pair.union.partners()[0]["last_export"]
    assert last is not None
    assert last["export_id"] == report.export_id


def test_replays_and_rollbacks_are_refused(pair: Pair) -> None:
    first = pair.export("e1.age")
    second = pair.export("e2.age")
    pair.union.receive(second, pair.key)
    with pytest.raises(StaleExportError, match="older than the last one") as err:
        pair.union.receive(first, pair.key)  # a rollback to an older export
    assert err.value.exit_code == 16
    with pytest.raises(StaleExportError, match="received already"):
        pair.union.receive(second, pair.key)  # a replay
    # A manifest that claims a later time but an earlier sequence, signed by the
    # partner's real key, is refused too: both must move forward.
    stale = _forge(
        pair.monitor, pair.tmp / "stale.age", [], pair.public, audit={"size": 1, "head": "00"}
    )
    with pytest.raises(StaleExportError):
        pair.union.receive(stale, pair.key)
    assert _count(pair.backend, "partner_receipts") == 1
    assert _count(pair.backend, "received_versions") == 6


def test_an_export_for_another_recipient_or_by_an_unpinned_key_is_refused(pair: Pair) -> None:
    identity, _other_key, other = new_identity(pair.tmp, "buyer-key.txt")
    pair.monitor.add_recipient("buyer", other)
    meant = pair.tmp / "buyer.age"
    pair.monitor.export(policy("union"), "buyer", meant)
    with pytest.raises(WrongRecipientError) as err:
        pair.union.receive(meant, pair.key)  # our key opens none of its stanzas
    assert err.value.exit_code == 17
    # The buyer re-encrypts the genuine, signed content to the union's key: it
    # opens, but the signed manifest names another recipient.
    passed_on = pair.tmp / "passed-on.age"
    plain = pyrage.decrypt(meant.read_bytes(), [identity])
    passed_on.write_bytes(pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(pair.public)]))
    verify_export(passed_on, pair.key)  # the recipient's own check cannot tell ...
    with pytest.raises(WrongRecipientError, match="another recipient"):
        pair.union.receive(passed_on, pair.key)  # ... the receiving vault does
    # Signed by a vault that is pinned, but not as the partner named ...
    with Vault.create(
        pair.tmp / "third", Passphrase(PASSPHRASE), kdf=fast_kdf(), identity_approvals=0
    ) as third:
        third.import_records(monitor_records())
        third.add_recipient("union", pair.public)
        out = pair.tmp / "third.age"
        third.export(policy("union"), "union", out)
        pair.union.add_partner("third", third.public_signing_key_pem())
    with pytest.raises(UnpinnedSignerError, match="pinned for partner 'monitor'") as unpinned:
        pair.union.receive(out, pair.key, partner="monitor")
    assert unpinned.value.exit_code == 15
    # ... or by a vault no longer pinned at all.
    pair.union.remove_partner("third")
    with pytest.raises(UnpinnedSignerError, match="not by a pinned key"):
        pair.union.receive(out, pair.key)
    assert pair.union.received() == []


HOSTILE: list[tuple[Any, str]] = [
    ({"type": "testimony", "id": "P-1", "worker": {"name": "Nguyen Van A"}}, "identifies a"),
    ({"type": "testimony", "id": "P-1", "persons_mentioned": [{"name": "X"}]}, "identifies a"),
    ({"type": "finding", "id": "P-1", "secret_field": 1}, "unknown field 'secret_field'"),
    ({"type": "finding", "id": "P-1", "status": {"nested": 1}}, "must be a string"),
    ({"type": "count", "record_type": "testimony", "count": 9}, "holds counts, not records"),
    ({"type": "finding", "id": "bad id!"}, "must be an identifier"),
    ("not an object", "must be a JSON object"),
    ({"type": "site", "id": "P-site"}, "appears twice"),
]


def test_hostile_records_are_refused_and_nothing_is_written(pair: Pair) -> None:
    good = {"type": "site", "id": "P-site", "kind": "mine", "country": "VN"}
    for n, (line, message) in enumerate(HOSTILE):
        out = _forge(pair.monitor, pair.tmp / f"hostile-{n}.age", [good, line], pair.public)
        with pytest.raises(InvalidInputError, match=message) as err:
            pair.union.receive(out, pair.key)
        assert "record line 2" in str(err.value)
        assert "Nguyen" not in str(err.value)
    bad_terms = _forge(
        pair.monitor, pair.tmp / "terms.age", [good], pair.public, terms={"onward": "anyone"}
    )
    with pytest.raises(InvalidInputError, match="terms are malformed"):
        pair.union.receive(bad_terms, pair.key)
    assert pair.union.received() == []
    assert _count(pair.backend, "partner_receipts") == 0


def test_a_moved_or_edited_received_version_does_not_open(pair: Pair) -> None:
    pair.union.receive(pair.export("e1.age"), pair.key)
    finding = next(r for r in pair.union.received() if r["type"] == "finding")
    # Another partner's name on the row: the sealed data binds the partner.
    _sql(pair.backend, "UPDATE received_records SET partner = 'other' WHERE type = 'finding'")
    with pytest.raises(IntegrityError):
        pair.union.received()
    # evault check names it, and the receipts and partners it checks besides.
    run = pair.union.check()
    found = [(f.table, f.version) for f in run]
    assert found == [("received_versions", 1)] * 2
    assert run.summary.received == 6
    _sql(pair.backend, "UPDATE received_records SET partner = 'monitor'")
    _sql(pair.backend, "UPDATE partner_receipts SET terms = :t", t='{"audiences": ["public"]}')
    assert [f.table for f in pair.union.check()] == ["partner_receipts"]
    # Key rotation rewraps received records too, so the old key version can retire.
    assert pair.union.rotate_keys().received == 6
    pair.union.retire_keys(2)
    assert pair.union.get_received(finding["id"])["record"]["severity"] in ("high", "critical")
    _sql(pair.backend, "UPDATE received_versions SET export_id = 'elsewhere'")
    with pytest.raises(IntegrityError):
        pair.union.get_received(finding["id"])


# Onward terms ------------------------------------------------------------------------


def test_terms_travel_under_the_signature_and_bind_onward(pair: Pair) -> None:
    _i, _k, affiliate = new_identity(pair.tmp, "affiliate.txt")
    pair.union.add_recipient("affiliate", affiliate)
    # Default terms (none): nothing received goes on, and the manifest says why.
    pair.union.receive(pair.export("e1.age"), pair.key)
    kept = pair.union.export(policy("union"), "affiliate", pair.tmp / "kept.age")
    assert kept["counts"]["excluded"]["onward_terms"] == 6
    assert kept["terms"] == {"onward": "none", "audiences": []}
    # The partner lets its records go on within the same audience: signed terms,
    # which make new versions of the same records.
    share = load_policy(_sharing_policy(pair.tmp, "same-audience"))
    out = pair.tmp / "share.age"
    pair.monitor.export(share, "union", out)
    assert verify_export(out, pair.key).terms == {"onward": "same-audience", "audiences": ["union"]}
    received = pair.union.receive(out, pair.key)
    assert (received.terms["audiences"], received.records["updated"]) == (["union"], 6)
    # The same audience: the partner's findings go on, as this vault's policy says.
    onward = pair.union.export(policy("union"), "affiliate", pair.tmp / "to-union.age")
    assert onward["counts"]["included"]["finding"] == 2
    assert "onward_terms" not in onward["counts"]["excluded"]
    # Another audience: held back, and counted with the reason.
    mon = pair.union.export(policy("monitor"), "affiliate", pair.tmp / "to-monitor.age")
    assert mon["counts"]["excluded"]["onward_terms"] == 6
    # An export that carries received records promises no more than they allow.
    wide = load_policy(_sharing_policy(pair.tmp, "{audiences: [union, buyers]}"))
    shared = pair.union.export(wide, "affiliate", pair.tmp / "wide.age")
    assert shared["terms"] == {"onward": "audiences", "audiences": ["union"]}


def test_received_records_never_carry_identity_onward(pair: Pair) -> None:
    # The union vault sends its testimonies to the monitor, who may pass them on
    # within the union audience: no identity is received, so none can go on.
    _i, mkey, mpub = new_identity(pair.tmp, "monitor-key.txt")
    pair.union.add_recipient("monitor", mpub)
    pair.monitor.add_partner("union", pair.union.public_signing_key_pem())
    out = pair.tmp / "testimonies.age"
    pair.union.export(load_policy(_sharing_policy(pair.tmp, "same-audience")), "monitor", out)
    assert pair.monitor.receive(out, mkey).by_type["testimony"] >= 1
    for row in pair.monitor.received():
        shown = pair.monitor.get_received(row["id"])["record"]
        assert not {"name", "employee_id", "phone", "email", "address"} & set(
            shown.get("worker", {})
        )
        assert "persons_mentioned" not in shown
    pair.monitor.add_recipient("peer", pair.public)
    onward = pair.tmp / "onward.age"
    manifest = pair.monitor.export(policy("union"), "peer", onward)
    assert manifest["counts"]["included"].get("testimony", 0) >= 1
    assert "identity_unavailable" not in manifest["counts"]["excluded"]
    plain = "\n".join(_lines(onward, pair.key))
    identity = ("name", "employee_id", "phone", "email", "address")
    for record in union_records():
        worker = record.get("worker") or {}
        for value in [worker.get(k) for k in identity] + [
            p["name"] for p in record.get("persons_mentioned") or []
        ]:
            if isinstance(value, str):
                assert value not in plain


# Joint exports -----------------------------------------------------------------------


def test_one_export_for_several_recipients_names_them_all(pair: Pair) -> None:
    _i, key2, second = new_identity(pair.tmp, "second.txt")
    pair.monitor.add_recipient("steering", second)
    out = pair.tmp / "joint.age"
    manifest = pair.monitor.export(policy("union"), ["union", "steering"], out)
    assert [r["name"] for r in manifest["recipients"]] == ["union", "steering"]
    for key in (pair.key, key2):
        assert [r["name"] for r in verify_export(out, key).recipients] == ["union", "steering"]
    assert pair.monitor.exports()[-1]["recipients"] == ["union", "steering"]
    _i, key3, _third = new_identity(pair.tmp, "third.txt")
    with pytest.raises(WrongRecipientError):
        verify_export(out, key3)
    # The union vault is among the recipients: it receives the joint export.
    assert pair.union.receive(out, pair.key).records["new"] == 6
    # A group's pseudonyms are the group's: stable for it, not any one member's.
    alone = pair.tmp / "alone.age"
    pair.monitor.export(policy("union"), "union", alone)
    again = pair.tmp / "joint-again.age"
    pair.monitor.export(policy("union"), ["steering", "union"], again)
    ids = {
        name: {json.loads(x)["id"] for x in _lines(p, pair.key)}
        for name, p in (("joint", out), ("alone", alone), ("again", again))
    }
    assert not ids["joint"] & ids["alone"]
    assert ids["joint"] == ids["again"]
    with pytest.raises(UsageError):
        pair.monitor.export(policy("union"), ["union", "union"], pair.tmp / "x.age")
