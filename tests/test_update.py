"""Updates carry over what they are not given: identity, blind indexes, erasure and
scrubbing survive the README's show -> edit -> update loop, and a field goes only
when it is removed by name (CLI ``--remove``, ``Vault.update(remove=...)``, null in
``PATCH /records/{id}``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from exporting import new_identity, open_export
from sqlalchemy import create_engine, text
from test_api import ALL_CLASSES, _auth, _serving
from test_cli import FAST_INIT

from conftest import PASSPHRASE, SAMPLES, Backend, sample_records
from vault import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    UsageError,
    Vault,
)
from vault.api import create_app
from vault.cli import cli
from vault.edits import merge_patch, revise
from vault.store import sqlite_url

T2 = next(r for r in sample_records() if r["id"] == "T-0002")  # Thai, exported by union
IDENTITY = ("name", "employee_id", "phone")


def _versions(v: Vault, record_id: str) -> list[int]:
    return [x.version for x in v.versions(record_id)]


# The README's loop, on the command line ---------------------------------------------


def test_the_readme_show_edit_update_loop_keeps_the_worker(
    backend: Backend, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"EVAULT_PASSPHRASE": PASSPHRASE}
    base = backend.cli_args()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, [*base, *args], env=env)
        assert result.exit_code == 0, result.output
        return result

    run("init", *FAST_INIT)  # no approvals asked: show --json still leaves identity out
    run("import", str(SAMPLES))
    # show --json leaves identity out (no approved request): the file has no worker name.
    shown = json.loads(run("show", "T-0002", "--json").output)
    assert "name" not in shown["worker"]
    assert "persons_mentioned" not in shown
    shown["channel"] = "union"
    shown["narrative"] = T2["narrative"] + " Corrected after a follow-up call."
    edited = tmp_path / "corrected.json"
    edited.write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
    assert json.loads(run("update", "T-0002", str(edited), "--json").output) == {
        "id": "T-0002",
        "version": 2,
    }

    with backend.open() as v:
        record = v.get("T-0002", identity=True)
        assert record == T2 | {"channel": "union", "narrative": shown["narrative"]}
        assert list(record) == list(T2)  # fields keep their order
    for args in (["--phone", "081 234 5678", "--country", "TH"], ["--employee-id", "th-88231"]):
        found = json.loads(run("find", *args, "--json").output)
        assert [(r["id"], r["version"]) for r in found] == [("T-0002", 2)]

    # The union export scrubs the worker's name from the new narrative.
    identity, _key, public = new_identity(tmp_path)
    run("recipient", "add", "ituc", public)
    out = tmp_path / "union.age"
    run("export", "--policy", "union", "--recipient", "ituc", "--out", str(out))
    lines = [json.loads(x) for x in open_export(out, identity)["records.jsonl"].splitlines()]
    thai = [r for r in lines if r.get("language") == "th"]
    assert len(thai) == 1
    assert "[WORKER-" in thai[0]["narrative"]
    assert "follow-up call" in thai[0]["narrative"]
    text = json.dumps(lines, ensure_ascii=False)
    assert "สมชาย" not in text
    assert "88231" not in text

    # Erasure finds the worker by their employee id, and takes the identity of both versions.
    result = run("erase-subject", "--employee-id", "TH-88231", "--yes")
    assert "Erased 1 worker identity key(s)." in result.output
    assert json.loads(run("find", "--employee-id", "TH-88231", "--json").output) == []
    with backend.open() as v:
        for version in (1, 2):
            worker = v.get("T-0002", version=version, identity=True)["worker"]
            assert not set(IDENTITY) & set(worker)


def test_the_readme_python_loop_keeps_the_worker(loaded: Vault) -> None:
    before = loaded.get("T-0001", identity=True)
    loaded.update("T-0001", {**loaded.get("T-0001"), "channel": "hotline"})
    assert loaded.get("T-0001", identity=True) == before | {"channel": "hotline"}
    assert [s.id for s in loaded.find(phone="+84 912 345 678")] == ["T-0001"]
    assert loaded.erase_subject(employee_id="EMP-55001") == 1


# Carry-over and explicit removal ------------------------------------------------------


def test_fields_left_out_are_carried_over_and_groups_merge(loaded: Vault) -> None:
    before = loaded.get("T-0001", identity=True)
    assert loaded.update("T-0001", {"worker": {"job_title": "team leader"}}) == 2
    after = loaded.get("T-0001", identity=True)
    assert after == before | {"worker": before["worker"] | {"job_title": "team leader"}}
    # Lists are replaced whole; the id and type may be repeated as they are.
    loaded.update("T-0001", {"type": "testimony", "id": "T-0001", "allegations": ["wages"]})
    assert loaded.get("T-0001", identity=True)["allegations"] == ["wages"]
    assert loaded.get("T-0001", version=1, identity=True) == before


def test_a_finding_update_merges_its_remediation(loaded: Vault) -> None:
    before = loaded.get("F-0001")
    loaded.update("F-0001", {"status": "remediated", "remediation": {"updated": "2026-10-01"}})
    after = loaded.get("F-0001")
    assert after["status"] == "remediated"
    assert after["remediation"] == before["remediation"] | {"updated": "2026-10-01"}
    assert after["summary"] == before["summary"]


def test_removal_is_explicit_and_blind_indexes_follow(loaded: Vault) -> None:
    loaded.update("T-0001", {}, remove=["worker.phone", "worker.email"])
    worker = loaded.get("T-0001", identity=True)["worker"]
    assert "phone" not in worker
    assert "email" not in worker
    assert worker["name"] == "Nguyễn Thị Hương (fictional)"
    assert loaded.find(phone="+84 912 345 678") == []
    assert loaded.find(email="huong.fictional@example.org") == []
    assert [s.id for s in loaded.find(employee_id="EMP-55001")] == ["T-0001"]
    # A whole group goes by its name; a field that is not there is no error.
    loaded.update("T-0001", {}, remove=["risk", "worker.phone"])
    assert "risk" not in loaded.get("T-0001")
    assert _versions(loaded, "T-0001") == [1, 2, 3]


def test_removal_refuses_required_unknown_and_given_fields(loaded: Vault) -> None:
    for remove, message in (
        (["site_id"], "field 'site_id' is required: it cannot be removed"),
        (["id"], "field 'id' is required"),
        (["worker.nickname"], "cannot remove 'worker.nickname': no such field of a testimony"),
        (["+84 912 345 678"], "cannot remove a field: no such field"),
        (["summary"], "no such field of a testimony"),
    ):
        with pytest.raises(InvalidInputError, match=message) as caught:
            loaded.update("T-0001", {}, remove=remove)
        assert "912" not in str(caught.value)
    with pytest.raises(InvalidInputError, match=r"'worker\.phone' is both given and removed"):
        loaded.update("T-0001", {"worker": {"phone": "0912 000 000"}}, remove=["worker.phone"])
    with pytest.raises(InvalidInputError, match="both given and removed"):
        loaded.update("T-0001", {"worker": {"phone": "0912 000 000"}}, remove=["worker"])
    assert _versions(loaded, "T-0001") == [1]


def test_a_null_over_a_held_value_is_refused_not_read_as_removal(loaded: Vault) -> None:
    for given in ({"worker": {"phone": None}}, {"narrative": None}, {"worker": None}):
        with pytest.raises(InvalidInputError, match="given as null but holds a value"):
            loaded.update("T-0001", given)
    assert _versions(loaded, "T-0001") == [1]
    # A null where nothing is held is stored as it would be on import.
    loaded.update("T-0002", {"worker": {"email": None}})
    assert loaded.get("T-0002", identity=True)["worker"]["email"] is None


def test_a_full_record_still_replaces_every_field_it_gives(loaded: Vault) -> None:
    rec = copy.deepcopy(T2)
    rec["worker"]["phone"] = "+66 89 000 1111"
    loaded.update("T-0002", rec)
    assert loaded.get("T-0002", identity=True) == rec
    assert loaded.find(phone="081 234 5678", region="TH") == []
    assert [s.id for s in loaded.find(phone="089 000 1111", region="TH")] == ["T-0002"]
    with pytest.raises(InvalidInputError, match="'id' must stay"):
        loaded.update("T-0002", {"id": "T-0003"})
    with pytest.raises(InvalidInputError, match="'type' cannot change"):
        loaded.update("T-0002", {"type": "finding"})
    with pytest.raises(InvalidInputError, match="must be a JSON object"):
        loaded.update("T-0002", ["not", "a", "record"])  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        loaded.update("T-NOPE", {})


# What a custodian cannot read ---------------------------------------------------------


def _view(v: Vault, name: str, classes: list[str], role: str = "custodian") -> Vault:
    policies = ["public"] if role == "exporter" else []
    token, _ = v.create_token(name, role=role, classes=classes, policies=policies)
    return v.for_token(token)


def test_without_identity_clearance_identity_is_never_dropped(loaded: Vault) -> None:
    before = loaded.get("T-0002", identity=True)
    clerk = _view(loaded, "clerk", ["narrative", "special"])
    shown = clerk.get("T-0002")
    with pytest.raises(PermissionDeniedError) as caught:
        clerk.update("T-0002", {**shown, "channel": "union"})
    message = str(caught.value)
    for field in ("worker.name", "worker.employee_id", "worker.phone", "persons_mentioned"):
        assert field in message
    assert "identity" in message
    assert "--remove worker.name" in message
    for value in ("สมชาย", "88231", "234 5678"):
        assert value not in message
    assert _versions(loaded, "T-0002") == [1]
    # Given identity fields cannot be sealed by it either.
    with pytest.raises(PermissionDeniedError, match="identity"):
        clerk.update(
            "T-0002",
            {"worker": {"name": "X", "employee_id": "Y", "phone": "0812345678"}},
            remove=["persons_mentioned"],
        )
    # Removing them explicitly is an edit it may make; the admin's versions stay.
    removed = ["worker.name", "worker.employee_id", "worker.phone", "persons_mentioned"]
    assert clerk.update("T-0002", {"channel": "union"}, remove=removed) == 2
    after = loaded.get("T-0002", identity=True)
    assert after["channel"] == "union"
    assert not set(IDENTITY) & set(after["worker"])
    assert loaded.find(phone="081 234 5678", region="TH") == []
    assert loaded.get("T-0002", version=1, identity=True) == before
    entry = [e for e in loaded.audit_entries(record_id="T-0002") if e.action == "update"][-1]
    assert entry.actor == "token:clerk"
    assert entry.details["removed"] == sorted(removed)


def test_identity_clearance_without_approval_carries_identity_over(backend: Backend) -> None:
    with backend.create(identity_approvals=1) as v:
        v.import_file(SAMPLES)
        writer = _view(v, "writer", ["identity", "narrative", "special"])
        shown = writer.get("T-0001")
        assert "name" not in shown["worker"]
        with pytest.raises(PermissionDeniedError):
            writer.get("T-0001", identity=True)  # no approved request
        writer.update("T-0001", {**shown, "channel": "union"})
        assert [s.id for s in writer.find(phone="0912 345 678", region="VN")] == ["T-0001"]
        assert v.erase_subject(employee_id="EMP-55001") == 1


def test_without_narrative_clearance_the_narrative_is_never_dropped(loaded: Vault) -> None:
    ops = _view(loaded, "ops", ["identity"])
    with pytest.raises(
        PermissionDeniedError, match=r"narrative and special fields .*, narrative\)"
    ):
        ops.update("T-0001", {"channel": "hotline"})
    with pytest.raises(PermissionDeniedError, match=r"special fields .*worker.union_member"):
        ops.update("T-0001", {"channel": "hotline"}, remove=["narrative"])
    assert _versions(loaded, "T-0001") == [1]


def test_roles_that_do_not_write_records_are_refused(loaded: Vault) -> None:
    for role in ("exporter", "auditor"):
        view = _view(loaded, f"t-{role}", [], role=role)
        with pytest.raises(PermissionDeniedError):
            view.update("T-0001", {"channel": "hotline"})
        with pytest.raises(PermissionDeniedError):
            view.patch("T-0001", {"channel": "hotline"})


def test_an_erased_worker_stays_erased_through_updates(loaded: Vault) -> None:
    assert loaded.erase_subject(testimony_id="T-0001") == 1
    loaded.update("T-0001", {"channel": "hotline"})
    record = loaded.get("T-0001", identity=True)
    assert record["channel"] == "hotline"
    assert not set(IDENTITY) & set(record["worker"])
    with pytest.raises(InvalidInputError, match="was erased"):
        loaded.update("T-0001", {"worker": {"name": "Nguyễn Thị Hương (fictional)"}})
    assert loaded.find(employee_id="EMP-55001") == []


# Merge patches ---------------------------------------------------------------------------


def test_a_merge_patch_sets_merges_and_removes(loaded: Vault) -> None:
    before = loaded.get("T-0001", identity=True)
    patch = {"worker": {"phone": None, "job_title": "inspector"}, "risk": None, "language": "vi"}
    assert loaded.patch("T-0001", patch) == 2
    after = loaded.get("T-0001", identity=True)
    worker = {k: v for k, v in before["worker"].items() if k != "phone"}
    expected = {k: v for k, v in before.items() if k != "risk"}
    assert after == expected | {"worker": worker | {"job_title": "inspector"}}
    assert loaded.find(phone="+84 912 345 678") == []
    with pytest.raises(InvalidInputError, match="required"):
        loaded.patch("T-0001", {"received_on": None})
    with pytest.raises(InvalidInputError, match="a merge patch must be a JSON object"):
        loaded.patch("T-0001", "narrative")


def test_merge_patch_and_revise_in_memory() -> None:
    assert merge_patch({"a": None, "worker": {"b": None, "c": 1}, "d": [None]}, "p") == (
        {"worker": {"c": 1}, "d": [None]},
        ["a", "worker.b"],
    )
    assert merge_patch({"worker": {"b": None}, "consent": {}}, "p") == (
        {"consent": {}},
        ["worker.b"],
    )
    current = {"type": "site", "id": "S-1", "name": "Plant", "kind": "mine", "operator": "X"}
    assert revise(current, {}, {"region": "Kolwezi"}, ["operator"], where="w") == {
        "type": "site",
        "id": "S-1",
        "name": "Plant",
        "kind": "mine",
        "region": "Kolwezi",
    }
    assert revise(current, {}, {}, [], where="w") == current
    with pytest.raises(PermissionDeniedError, match="special fields"):
        revise(current, {"worker.union_member": "special"}, {}, [], where="w")


# The command line ----------------------------------------------------------------------


def test_cli_update_remove_and_refusals(sqlite_backend: Backend, tmp_path: Path) -> None:
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
    base, env = sqlite_backend.cli_args(), {"EVAULT_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    r = runner.invoke(
        cli, [*base, "update", "T-0001", "--remove", "worker.phone", "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"id": "T-0001", "version": 2}
    r = runner.invoke(cli, [*base, "find", "--phone", "+84 912 345 678", "--json"], env=env)
    assert json.loads(r.output) == []
    r = runner.invoke(cli, [*base, "update", "T-0001"], env=env)
    assert r.exit_code == UsageError.exit_code
    assert "update needs FILE, --remove FIELD, or both" in r.output
    r = runner.invoke(cli, [*base, "update", "T-0001", "--remove", "site_id"], env=env)
    assert r.exit_code == InvalidInputError.exit_code
    assert "field 'site_id' is required: it cannot be removed" in r.output
    assert "Traceback" not in r.output
    edited = tmp_path / "edit.json"
    edited.write_text(json.dumps({"worker": {"email": None}}), encoding="utf-8")
    r = runner.invoke(cli, [*base, "update", "T-0001", str(edited)], env=env)
    assert r.exit_code == InvalidInputError.exit_code
    assert f"{edited}" in r.output
    assert "given as null but holds a value" in r.output
    # Standard input, with a removal beside it.
    r = runner.invoke(
        cli,
        [*base, "update", "T-0001", "-", "--remove", "worker.email"],
        env=env,
        input=json.dumps({"channel": "hotline"}),
    )
    assert r.exit_code == 0, r.output
    assert "now at version 3" in r.output
    # --expect-version: a change made meanwhile is never overwritten unseen.
    change = [*base, "update", "T-0001", "-", "--expect-version"]
    r = runner.invoke(cli, [*change, "2"], env=env, input=json.dumps({"channel": "union"}))
    assert r.exit_code == StaleVersionError.exit_code == 7, r.output
    assert "record T-0001 is at version 3, not 2" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(cli, [*change, "3"], env=env, input=json.dumps({"channel": "union"}))
    assert r.exit_code == 0, r.output
    assert "now at version 4" in r.output
    with sqlite_backend.open() as v:
        worker = v.get("T-0001", identity=True)["worker"]
        assert "email" not in worker
        assert "phone" not in worker
        assert worker["name"] == "Nguyễn Thị Hương (fictional)"


# PATCH /records/{id} ---------------------------------------------------------------------


@pytest.fixture
def api(backend: Backend, tmp_path: Path) -> Iterator[tuple[str, Vault]]:
    vault = backend.create()
    vault.import_file(SAMPLES)
    try:
        with _serving(create_app(vault, export_dir=tmp_path)) as base:
            yield base, vault
    finally:
        vault.close()


MERGE = "application/merge-patch+json"


def test_patch_applies_a_merge_patch_and_keeps_the_worker(api: tuple[str, Vault]) -> None:
    base, vault = api
    writer, _ = vault.create_token("w", role="custodian", classes=ALL_CLASSES)
    before = vault.get("T-0001", identity=True)
    with httpx.Client(base_url=base, timeout=30, headers=_auth(writer)) as client:
        shown = client.get("/records/T-0001").json()
        assert "name" not in shown["worker"]  # tokens are never served identity
        body = json.dumps({"channel": "hotline", "worker": {"email": None}})
        r = client.patch("/records/T-0001", content=body, headers={"Content-Type": MERGE})
        assert r.status_code == 200, r.text
        assert r.json() == {"id": "T-0001", "version": 2}
        # Plain JSON is taken as a merge patch too, e.g. the record as it was served.
        r = client.patch("/records/T-0001", json=shown | {"language": "vi-VN"})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 3
        r = client.post("/find", json={"phone": "+84 912 345 678"})
        assert [x["id"] for x in r.json()] == ["T-0001"]
    after = vault.get("T-0001", identity=True)
    worker = {k: v for k, v in before["worker"].items() if k != "email"}
    # The plain-JSON patch sent back the fields as they were served: channel again.
    assert after == before | {"worker": worker, "language": "vi-VN"}
    assert vault.erase_subject(employee_id="EMP-55001") == 1


def test_patch_errors(api: tuple[str, Vault]) -> None:
    base, vault = api
    writer, _ = vault.create_token("w", role="custodian", classes=ALL_CLASSES)
    clerk, _ = vault.create_token("c", role="custodian", classes=["narrative", "special"])
    auditor, _ = vault.create_token("e", role="auditor")
    canary = "Nguyen Thi Canary 0912345678"
    with httpx.Client(base_url=base, timeout=30) as client:

        def patch(token: str, path: str, body: object, media: str = MERGE) -> httpx.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return client.patch(
                path, content=content, headers=_auth(token) | {"Content-Type": media}
            )

        cases = [
            (patch(writer, "/records/T-NOPE", {"channel": "union"}), 404, "not_found"),
            (patch(writer, "/records/T-0001", {"site_id": None}), 422, "invalid_input"),
            (patch(writer, "/records/T-0001", {"channel": canary}), 422, "invalid_input"),
            (patch(writer, "/records/T-0001", {canary: 1}), 422, "invalid_input"),
            (patch(writer, "/records/T-0001", [canary]), 422, "invalid_input"),
            (patch(writer, "/records/T-0001", b'{"narrative": "' + canary.encode()), 422, None),
            (patch(writer, "/records/T-0001", {"x": 1}, "text/plain"), 415, None),
            (patch(auditor, "/records/T-0001", {"channel": "union"}), 403, "forbidden"),
            (patch(clerk, "/records/T-0002", {"channel": "union"}), 403, "forbidden"),
            (patch("evt1_" + "A" * 43, "/records/T-0001", {"channel": "union"}), 401, None),
        ]
        for r, status, code in cases:
            assert r.status_code == status, r.text
            assert set(r.json()) == {"error"}
            if code:
                assert r.json()["error"]["code"] == code
            assert "Canary" not in r.text
            assert "0912345678" not in r.text
            assert "สมชาย" not in r.text
        refused = cases[8][0].json()["error"]["message"]
        assert "worker.name" in refused
        assert "identity" in refused
        # The clerk may remove what it cannot read, by name.
        removal = {"worker": {"name": None, "employee_id": None, "phone": None}}
        r = patch(clerk, "/records/T-0002", removal | {"persons_mentioned": None})
        assert r.status_code == 200, r.text
    assert _versions(vault, "T-0001") == [1]
    assert _versions(vault, "T-0002") == [1, 2]
    assert "name" not in vault.get("T-0002", identity=True)["worker"]


def test_if_match_refuses_a_patch_made_on_a_stale_version(api: tuple[str, Vault]) -> None:
    base, vault = api
    writer, _ = vault.create_token("w", role="custodian", classes=ALL_CLASSES)
    merge = {"Content-Type": MERGE}
    with httpx.Client(base_url=base, timeout=30, headers=_auth(writer)) as client:

        def patch(body: object, **headers: str) -> httpx.Response:
            return client.patch("/records/T-0001", json=body, headers=merge | headers)

        read = client.get("/records/T-0001")
        assert read.headers["etag"] == '"1"'
        r = patch({"channel": "hotline"}, **{"If-Match": read.headers["etag"]})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"2"'
        # Another client still holds version 1: its change is refused, not stored.
        r = patch({"channel": "union"}, **{"If-Match": '"1"'})
        assert r.status_code == 412, r.text
        assert r.json()["error"] == {
            "code": "precondition_failed",
            "message": "record T-0001 is at version 2, not 1: read it again and redo the change",
        }
        for stale in ('W/"2"', "two", '"0"'):  # a weak or malformed tag never matches
            assert patch({"channel": "union"}, **{"If-Match": stale}).status_code == 412
        assert patch({"channel": "union"}, **{"If-Match": '"2", "3"'}).status_code == 400
        assert client.get("/records/T-0001", params={"version": 1}).headers["etag"] == '"1"'
        assert _versions(vault, "T-0001") == [1, 2]
        assert vault.get("T-0001")["channel"] == "hotline"
        # "*" and no If-Match at all take whatever version is the latest, as before.
        assert patch({"channel": "union"}, **{"If-Match": "*"}).headers["etag"] == '"3"'
        assert patch({"channel": "survey"}).json() == {"id": "T-0001", "version": 4}
        assert patch({"channel": "union"}, **{"If-Match": "4"}).status_code == 200


def test_a_record_whose_versions_were_deleted_is_refused(backend: Backend) -> None:
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with backend.create() as v:
        v.import_file(SAMPLES)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM record_versions WHERE version = 1"))
        with pytest.raises(IntegrityError, match="integrity check failed for record T-0001"):
            v.update("T-0001", {"channel": "hotline"})
    engine.dispose()
