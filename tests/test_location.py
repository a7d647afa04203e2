"""A worker's GPS point (``worker.location``) is identity: sealed under the worker's
key, in no blind index and no message, dropped by every shipped policy, and let out
only by a policy that generalizes it to a coarse grid and counts it among the
quasi-identifiers of its k-anonymity gate.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from conftest import sample_records
from vault import InvalidInputError, Vault
from vault.policy import find_policy, parse_policy
from vault.schema import validate_record
from vault.store import BlindIndexEntry

POINT = {"lat": 21.0278123, "lon": 105.8341987, "precision": 4.5}


def _testimony(rid: str, point: dict[str, Any] | None = None) -> dict[str, Any]:
    record = copy.deepcopy(sample_records()[4])
    record["id"] = rid
    # A worker of their own: testimonies sharing a name, phone or e-mail count as one.
    record["worker"] = {"name": f"Worker {rid}", "employee_id": f"EMP-{rid}", "gender": "female"}
    if point is not None:
        record["worker"]["location"] = point
    return record


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"lat": 91, "lon": 0}, r"field 'worker\.location\.lat' must be a number from -90 to 90"),
        ({"lat": 1}, r"field 'worker\.location\.lon' is required"),
        ({"lat": 1, "lon": 2, "alt": 3}, r"unknown field 'worker\.location\.alt'"),
        ({"lat": True, "lon": 2}, r"'worker\.location\.lat' must be a number"),
        ({"lat": float("nan"), "lon": 2}, r"'worker\.location\.lat' must be a number"),
        ("21.0278123 105.8341987", r"field 'worker\.location' must be an object"),
    ],
)
def test_a_location_is_checked_without_showing_it(point: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        validate_record(_testimony("T-GEO", point), "in.jsonl:line 1")
    assert "0278123" not in str(caught.value)
    assert "8341987" not in str(caught.value)


def test_a_location_is_sealed_as_identity_and_never_indexed(vault: Vault) -> None:
    vault.import_records([r for r in sample_records() if r["type"] == "site"])
    vault.import_records([_testimony("T-WITH", POINT), _testimony("T-WITHOUT")])
    assert vault.get("T-WITH", identity=True)["worker"]["location"] == POINT
    assert "location" not in vault.get("T-WITH")["worker"]  # sealed with the identity
    ctx = vault._ctx
    with ctx.engine.connect() as conn:
        kinds = {
            rid: sorted(
                conn.execute(
                    select(BlindIndexEntry.kind).where(
                        BlindIndexEntry.record_ref == ctx.codec.reference(rid)
                    )
                ).scalars()
            )
            for rid in ("T-WITH", "T-WITHOUT")
        }
    assert kinds["T-WITH"] == kinds["T-WITHOUT"]


GRID_POLICY = """
policy: union-grid
audience: union
k_anonymity:
  k: 3
  quasi_identifiers: [worker.location]
records:
  testimony:
    rules:
      id: {pseudonymize: recipient}
      worker.location: {generalize: 0.5}
"""


def test_every_shipped_policy_drops_it_and_a_grid_policy_generalizes_it(vault: Vault) -> None:
    vault.import_records([r for r in sample_records() if r["type"] == "site"])
    near = [
        _testimony(f"T-GRID-{n}", {"lat": 21.01 + n / 100, "lon": 105.81 + n / 100})
        for n in range(4)
    ]
    far = _testimony("T-FAR", {"lat": -6.2, "lon": 106.8})  # alone in its cell
    vault.import_records([*near, far])
    for name in ("union", "monitor", "buyers"):
        for record in vault.preview(find_policy(name)).records:
            assert "location" not in record.get("worker", {}), name
    grid = parse_policy(GRID_POLICY, "union-grid.yaml")
    out = [r for r in vault.preview(grid).records if r["type"] == "testimony"]
    # The far worker's cell holds one testimony: coarser grids (1, then 5 degrees)
    # still hold one, so at most that one is suppressed, and no point leaves whole.
    cells = [r["worker"]["location"] for r in out if "location" in r.get("worker", {})]
    assert cells
    assert {c["grid"] for c in cells} <= {0.5, 1.0, 5.0}
    assert {"lat": 21.25, "lon": 105.75, "grid": 0.5} in cells
    assert all(c.keys() == {"lat", "lon", "grid"} for c in cells)
    lines = "\n".join(grid.explain())
    assert "worker.location" in lines
    assert "grid of 0.5 degrees" in lines


@pytest.mark.parametrize(
    ("rule", "quasi", "message"),
    [
        ("worker.location: keep", "[worker.location]", "identity fields may only be dropped"),
        ("worker.location: {generalize: 0.01}", "[worker.location]", "a grid of 0.1, 0.5, 1 or 5"),
        ("worker.location: {generalize: 1}", "[worker.gender]", "must be listed in k_anonymity"),
        ("worker.location: {pseudonymize: recipient}", "[worker.location]", "ids and short text"),
    ],
)
def test_a_policy_cannot_let_a_location_out_otherwise(rule: str, quasi: str, message: str) -> None:
    text = GRID_POLICY.replace("worker.location: {generalize: 0.5}", rule).replace(
        "[worker.location]", quasi
    )
    with pytest.raises(InvalidInputError, match=message):
        parse_policy(text, "union-grid.yaml")
