"""Review before release through the HTTP API (`GET`/`POST /reviews`): the items and
decisions of `evault review dump` and `review apply`, for integrators, on a real
uvicorn server on 127.0.0.1."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyrage
import pytest
from exporting import new_identity, open_export
from test_api import _auth, _finished, _serving
from test_review import MARK, MONITOR_FLAGGED

from conftest import Backend
from corpus import export_corpus
from vault import UsageError, Vault
from vault.api import create_app
from vault.api.schemas import ReviewDecision
from vault.policy import TEXT_FIELDS, Policy, parse_policy

REQUIRED = MONITOR_FLAGGED.replace("policy: monitor", "policy: monitor-reviewed")
BY_EXPORTERS = (
    MONITOR_FLAGGED.replace("policy: monitor", "policy: monitor-exporters")
    + "review_by_exporters: true\n"
)
TARGET = "XT-CZ-02"
# What an export reads, so what a reviewer must hold: the text, and the identity
# terms the scrubber looks for in it (the plan opens whole records).
READS = ["identity", "special", "narrative"]


class Served(typing.NamedTuple):
    base: str
    vault: Vault
    identity: pyrage.x25519.Identity
    folder: Path


def _policy(text: str) -> Policy:
    return parse_policy(text, "policy.yaml")


@pytest.fixture
def served(backend: Backend, tmp_path: Path) -> Iterator[Served]:
    vault = backend.create()
    vault.import_records(export_corpus())
    identity, _key, public = new_identity(tmp_path)
    vault.add_recipient("monitor-desk", public)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "monitor-reviewed.yaml").write_text(REQUIRED)
    (policies / "monitor-exporters.yaml").write_text(BY_EXPORTERS)
    (tmp_path / "exports").mkdir()
    app = create_app(
        vault,
        export_dir=tmp_path / "exports",
        policy_dirs=(policies,),
        failed_auth_limit=10_000,
    )
    try:
        with _serving(app) as base:
            yield Served(base, vault, identity, tmp_path)
    finally:
        vault.close()


def _listed(client: httpx.Client, token: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/reviews", params=params, headers=_auth(token))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _target(items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(i for i in items if i["record_id"] == TARGET and i["field"] == "narrative")


def test_review_through_the_api_then_export(served: Served) -> None:
    vault = served.vault
    reviewer, _ = vault.create_token("reviewer", role="custodian", classes=READS)
    exporter, _ = vault.create_token(
        "exporter", role="exporter", classes=READS, policies=[_policy(REQUIRED)]
    )
    with httpx.Client(base_url=served.base, timeout=60) as client:
        r = client.get("/reviews", params={"policy": "monitor-reviewed"}, headers=_auth(reviewer))
        assert r.status_code == 200, r.text
        listing = r.json()
        assert (listing["policy"], listing["audience"]) == ("monitor-reviewed", "monitor")
        items = listing["items"]
        # The same items as the library (and `evault review dump`) lists, in an order
        # of its own (an export's order is random).
        assert sorted((i["record_id"], i["field"], i["digest"]) for i in items) == sorted(
            (i.record_id, i.path, i.digest) for i in vault.review_items(_policy(REQUIRED))
        )
        assert {i["status"] for i in items} == {"awaiting"}
        item = _target(items)
        start = item["text"].index(MARK)
        machine = item["spans"][0]
        released_word = item["text"][machine[0] : machine[1]]
        decision = {
            "record_id": TARGET,
            "field": "narrative",
            "digest": item["digest"],
            "redact": [[start, start + len(MARK)]],
            "release": [machine[:2]],
        }
        r = client.post(
            "/reviews",
            json={"policy": "monitor-reviewed", "decisions": [decision]},
            headers=_auth(reviewer),
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"policy": "monitor-reviewed", "applied": 1}
        waiting = _listed(client, reviewer, policy="monitor-reviewed")
        assert len(waiting) == len(items) - 1
        every = _listed(client, reviewer, policy="monitor-reviewed", every="true")
        reviewed = _target(every)
        assert reviewed["status"] == "reviewed"
        # A standing decision's own redactions are named as such.
        assert [start, start + len(MARK), "REDACTED"] in reviewed["spans"]

        r = client.post(
            "/exports",
            json={"policy": "monitor-reviewed", "recipient": "monitor-desk"},
            headers=_auth(exporter),
        )
        job = _finished(client, r, exporter)
        assert job["counts"]["review"]["reviewed"] == 1
        got = client.get(job["file"], headers=_auth(exporter))
        assert got.status_code == 200
    out = served.folder / "reviewed.age"
    out.write_bytes(got.content)
    lines = [json.loads(x) for x in open_export(out, served.identity)["records.jsonl"].splitlines()]
    narratives = [r["narrative"] for r in lines if "narrative" in r]
    assert len(narratives) == 1  # the others wait for review
    assert MARK not in narratives[0]
    assert "[REDACTED]" in narratives[0]
    assert released_word in narratives[0]
    decided = [e for e in vault.audit_entries() if e.action == "review-decided"]
    assert [e.actor for e in decided] == ["token:reviewer"]
    assert MARK not in json.dumps([e.details for e in decided])


def test_who_may_review_through_the_api(served: Served) -> None:
    vault = served.vault
    tokens = {
        "admin": vault.create_token("t-admin", role="admin")[0],
        "custodian": vault.create_token("t-custodian", role="custodian", classes=READS)[0],
        "uncleared": vault.create_token(
            "t-uncleared", role="custodian", classes=["identity", "special"]
        )[0],
        "auditor": vault.create_token("t-auditor", role="auditor")[0],
        "exporter": vault.create_token(
            "t-exporter",
            role="exporter",
            classes=READS,
            policies=[_policy(REQUIRED), _policy(BY_EXPORTERS)],
        )[0],
    }
    # An exporter without the narrative class is not even granted the policy: its
    # export could never open what it sends, nor could its holder review it.
    with pytest.raises(UsageError, match=r"'monitor-exporters' needs classes: .*narrative"):
        vault.create_token(
            "t-exporter-uncleared",
            role="exporter",
            classes=["identity", "special"],
            policies=[_policy(BY_EXPORTERS)],
        )
    # (who, policy) -> may review
    allowed = {
        ("admin", "monitor-reviewed"): True,
        ("custodian", "monitor-reviewed"): True,
        ("uncleared", "monitor-reviewed"): False,
        ("auditor", "monitor-reviewed"): False,
        ("exporter", "monitor-reviewed"): False,  # the policy does not allow exporters
        ("exporter", "monitor-exporters"): True,
    }
    with httpx.Client(base_url=served.base, timeout=60) as client:
        items = _listed(client, tokens["admin"], policy="monitor-reviewed")
        for (who, policy), may in allowed.items():
            headers = _auth(tokens[who])
            r = client.get("/reviews", params={"policy": policy}, headers=headers)
            decision = {
                "record_id": items[0]["record_id"],
                "field": items[0]["field"],
                "digest": items[0]["digest"],
            }
            w = client.post(
                "/reviews", json={"policy": policy, "decisions": [decision]}, headers=headers
            )
            for answer in (r, w):
                if may:
                    assert answer.status_code == 200, (who, policy, answer.text)
                else:
                    assert answer.status_code == 403, (who, policy, answer.text)
                    assert answer.json()["error"]["code"] == "forbidden"
        # Refused by role before any policy is looked up: no hint of which exist.
        r = client.get("/reviews", params={"policy": "nosuch"}, headers=_auth(tokens["auditor"]))
        assert r.status_code == 403
        r = client.get("/reviews", params={"policy": "nosuch"}, headers=_auth(tokens["custodian"]))
        assert r.status_code == 404
        assert "policies" not in r.json()["error"]["message"]  # no folder, no list
        assert client.get("/reviews", params={"policy": "monitor-reviewed"}).status_code == 401
    decided = {e.actor for e in vault.audit_entries() if e.action == "review-decided"}
    assert decided == {"token:t-admin", "token:t-custodian", "token:t-exporter"}


def test_bad_decisions_are_refused_whole(served: Served) -> None:
    vault = served.vault
    token, _ = vault.create_token("reviewer", role="custodian", classes=READS)
    canary = "Nguyen Thi Canary 0912345678"
    with httpx.Client(base_url=served.base, timeout=60, headers=_auth(token)) as client:
        items = _listed(client, token, policy="monitor-reviewed")
        first, second = items[0], items[1]

        def good(item: dict[str, Any]) -> dict[str, Any]:
            return {
                "record_id": item["record_id"],
                "field": item["field"],
                "digest": item["digest"],
            }

        def post(*decisions: dict[str, Any], policy: str = "monitor-reviewed") -> httpx.Response:
            return client.post("/reviews", json={"policy": policy, "decisions": list(decisions)})

        refused: list[tuple[httpx.Response, int]] = [
            (post(good(first), good(second) | {"redact": [[0, 10**9]]}), 422),
            (post(good(first), good(second) | {"release": [[5, 2]]}), 422),
            (post(good(first) | {"redact": [["1", 2]]}), 422),
            (post(good(first) | {"redact": [[1, 2, 3]]}), 422),
            (post(good(first) | {"digest": "0" * 63}), 422),
            (post(good(first) | {"field": "worker.name"}), 422),
            (post(good(first) | {canary: 1}), 422),
            (post({"field": "narrative", "digest": first["digest"]}), 422),
            (post(), 422),
            (post(good(first), policy="../../etc/passwd"), 422),
            (post(good(first), policy="nosuch"), 404),
            (post(good(first) | {"record_id": "XT-NOWHERE"}), 404),
            (post(good(first) | {"record_id": canary}), 404),
            (post(good(first), good(second) | {"digest": first["digest"]}), 409),
            (client.get("/reviews", params={"policy": canary}), 422),
            (client.get("/reviews", params={"policy": "monitor-reviewed", "every": canary}), 422),
            (
                client.post("/reviews", content=b'{"policy": "monitor-reviewed", "decisions": ['),
                422,
            ),
        ]
        for r, status in refused:
            assert r.status_code == status, r.text
            assert set(r.json()) == {"error"}
            assert "Canary" not in r.text
            assert "0912345678" not in r.text
        assert "decision 2" in refused[0][0].json()["error"]["message"]
        assert "redact[0]" in refused[0][0].json()["error"]["message"]
        # A refused request changed nothing: the good decision beside it was not kept.
        assert len(_listed(client, token, policy="monitor-reviewed")) == len(items)

        # The text changed since it was listed: refused, not applied to other words.
        records = {r["id"]: r for r in export_corpus()}
        changed = records[first["record_id"]]
        changed[first["field"]] += " More was said later."
        vault.update(first["record_id"], changed)
        r = post(good(second), good(first))
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"
        assert "changed since it was shown" in r.json()["error"]["message"]
        assert len(_listed(client, token, policy="monitor-reviewed")) == len(items)
        assert post(good(second)).status_code == 200


def test_decision_fields_are_the_free_text_fields() -> None:
    field = ReviewDecision.model_fields["field"].annotation
    assert set(typing.get_args(field)) == TEXT_FIELDS
