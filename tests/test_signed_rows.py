"""Rows that decide who may see what, or where data goes, are signed: each attack of a
database writer (no keys needed) is refused, with an audit entry where the log is
writable. These tests write the database directly, as such an insider would."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from exporting import new_identity
from sqlalchemy import Engine, create_engine, text, update
from test_location import GRID_POLICY

from conftest import PASSPHRASE, SAMPLES, Backend, fast_kdf, passphrase_of, sample_records
from vault import (
    IntegrityError,
    Passphrase,
    PermissionDeniedError,
    UsageError,
    Vault,
    crypto,
)
from vault import tokens as token_service
from vault.errors import TamperedRowError
from vault.keys import Grant, KeyClass, Keyring, seal_keyring
from vault.policy import find_policy, parse_policy
from vault.store import (
    RecordVersion,
    connect,
    latest_versions,
    migrate,
    sealed_columns,
    sqlite_url,
)

ALL = ["identity", "special", "narrative", "operational"]


@pytest.fixture
def team(backend: Backend) -> Iterator[tuple[Backend, Engine]]:
    with backend.create(identity_approvals=1) as v:
        v.import_file(SAMPLES)
        for name, role, classes, policies in (
            ("ana", "custodian", ALL, []),
            ("ben", "custodian", ALL, []),
            ("ops", "custodian", ["operational"], []),
            ("exp", "exporter", ALL, ["union"]),
        ):
            v.add_custodian(
                name,
                Passphrase(passphrase_of(name)),
                role=role,
                classes=classes,
                policies=policies,
                kdf=fast_kdf(),
            )
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    yield backend, engine
    engine.dispose()


def _as(backend: Backend, name: str) -> Vault:
    return backend.open(passphrase_of(name), custodian=name)


def _sql(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


# A testimony's worker pointer moved to another testimony's worker (refs :a, :b).
MOVE = (
    "UPDATE records SET subject_id = (SELECT subject_id FROM records WHERE ref = :b) WHERE ref = :a"
)


def _refusals(backend: Backend) -> list[str]:
    with backend.open(custodian="admin") as v:
        return [str(e.details.get("table")) for e in v.audit_entries() if e.action == "row-refused"]


def test_an_inserted_admin_token_is_refused(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    with backend.open(custodian="admin") as v:
        _real, row = v.create_token("intake", role="custodian", classes=["narrative"])
    forged = token_service.PREFIX + "forged-by-the-dba-0123456789"
    _sql(
        engine,
        "INSERT INTO api_tokens (id, name, role, classes, policies, token_hash, created_at) "
        "VALUES ('f0rged', 'root', 'admin', '', '', :h, CURRENT_TIMESTAMP)",
        h=token_service.digest(forged),
    )
    with backend.open(custodian="admin") as v, pytest.raises(TamperedRowError):
        v.for_token(forged)
    # ... and with a signature copied from a real token's row.
    _sql(
        engine,
        "UPDATE api_tokens SET sig = (SELECT sig FROM api_tokens WHERE name = 'intake') "
        "WHERE name = 'root'",
    )
    with backend.open(custodian="admin") as v, pytest.raises(TamperedRowError):
        v.for_token(forged)
    assert _refusals(backend) == ["api_tokens", "api_tokens"]
    assert row["role"] == "custodian"


def test_a_raised_or_unrevoked_token_is_refused(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    with backend.open(custodian="admin") as v:
        token, _ = v.create_token("intake", role="custodian", classes=["narrative"])
        view = v.for_token(token)
        assert view.role == "custodian"
        _sql(engine, "UPDATE api_tokens SET role = 'admin' WHERE name = 'intake'")
        with pytest.raises(TamperedRowError):
            view.stats()  # a view already handed out checks its row in every transaction
    _sql(engine, "UPDATE api_tokens SET role = 'custodian' WHERE name = 'intake'")
    with backend.open(custodian="admin") as v:
        assert v.for_token(token).stats()["testimony"] > 0
        v.revoke_token("intake")
    _sql(engine, "UPDATE api_tokens SET revoked_at = NULL WHERE name = 'intake'")
    with backend.open(custodian="admin") as v, pytest.raises(TamperedRowError):
        v.for_token(token)


def test_only_an_admin_can_mint_a_token_even_through_the_library(
    team: tuple[Backend, Engine],
) -> None:
    backend, _engine = team
    with _as(backend, "ops") as v:
        with pytest.raises(PermissionDeniedError):
            token_service.create(
                v._ctx, "mine", role="admin", classes=(), policies=(), expires=None
            )
        v._ctx.grant = Grant("admin")  # a caller who flips the role in memory ...
        with pytest.raises(PermissionDeniedError):
            token_service.create(
                v._ctx, "mine", role="admin", classes=(), policies=(), expires=None
            )  # ... holds no master key, and so no registry key
    with backend.open(custodian="admin") as v:
        assert [t["name"] for t in v.tokens()] == []


def test_a_swapped_recipient_key_stops_the_export(
    team: tuple[Backend, Engine], tmp_path: Path
) -> None:
    backend, engine = team
    _identity, _key, real = new_identity(tmp_path, "real.txt")
    _identity2, _key2, insider = new_identity(tmp_path, "insider.txt")
    with backend.open(custodian="admin") as v:
        v.add_recipient("ituc", real)
    _sql(engine, "UPDATE recipients SET public_key = :k WHERE name = 'ituc'", k=insider)
    out = tmp_path / "union.age"
    with _as(backend, "exp") as v:
        with pytest.raises(TamperedRowError):
            v.export(find_policy("union"), "ituc", out)
        with pytest.raises(TamperedRowError):
            v.recipients()
    assert not out.exists()
    assert not list(tmp_path.glob("*.age*"))
    # An inserted recipient is refused the same way.
    _sql(engine, "UPDATE recipients SET public_key = :k WHERE name = 'ituc'", k=real)
    _sql(
        engine,
        "INSERT INTO recipients (name, public_key, fingerprint, created_at) "
        "VALUES ('press', :k, 'x', CURRENT_TIMESTAMP)",
        k=insider,
    )
    with _as(backend, "exp") as v, pytest.raises(TamperedRowError):
        v.export(find_policy("union"), "press", out)


@pytest.mark.parametrize(
    ("key", "value"),
    [("identity_approvals", "0"), ("min_kek_version", "0"), ("kek_version", "7")],
)
def test_an_edited_setting_is_refused(team: tuple[Backend, Engine], key: str, value: str) -> None:
    backend, engine = team
    _sql(engine, "UPDATE meta SET value = :v WHERE key = :k", v=value, k=key)
    for name, passphrase in (("admin", PASSPHRASE), ("ana", passphrase_of("ana"))):
        with pytest.raises(TamperedRowError):
            backend.open(passphrase, custodian=name)


def test_a_deleted_setting_is_refused(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    _sql(engine, "DELETE FROM meta WHERE key = 'identity_approvals'")
    with pytest.raises(TamperedRowError):
        _as(backend, "ana")


def test_a_forged_approval_does_not_open_identity(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    with _as(backend, "ana") as v:
        request = v.request_identity("T-0001", "follow-up interview with the worker")
    _sql(
        engine,
        "INSERT INTO identity_decisions (request_id, custodian, decision, at) "
        "VALUES (:r, 'ben', 'approve', CURRENT_TIMESTAMP)",
        r=request,
    )
    with _as(backend, "ana") as v, pytest.raises(TamperedRowError):
        v.get("T-0001", identity=True)
    # A real approval, moved to another request, does not count either.
    _sql(engine, "DELETE FROM identity_decisions")
    with _as(backend, "ana") as v:
        other = v.request_identity("T-0002", "a second follow-up with the worker")
    with _as(backend, "ben") as v:
        v.decide_identity(other, approve=True)
    _sql(engine, "UPDATE identity_decisions SET request_id = :r", r=request)
    with _as(backend, "ana") as v, pytest.raises(TamperedRowError):
        v.get("T-0001", identity=True)
    # The real one, where it was made, opens.
    _sql(engine, "UPDATE identity_decisions SET request_id = :r", r=other)
    with _as(backend, "ana") as v:
        assert "name" in v.get("T-0002", identity=True)["worker"]


def test_a_custodian_row_given_more_is_refused(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    _sql(engine, "UPDATE custodians SET approval_key = :k WHERE name = 'ben'", k="00" * 32)
    with pytest.raises(TamperedRowError):
        _as(backend, "ben")
    with backend.open(custodian="admin") as v, pytest.raises(TamperedRowError):
        v.custodians()


def test_rows_from_before_signing_are_signed_once_by_an_admin(
    team: tuple[Backend, Engine],
) -> None:
    backend, _engine = team
    with backend.open(custodian="admin") as v:
        v.create_token("intake", role="custodian", classes=["narrative"])
    # A vault of the version before rows were signed.
    old = connect(backend.db_url or sqlite_url(backend.folder))
    migrate(old, "0005")
    old.dispose()
    with pytest.raises(UsageError, match="an admin must open it first"):
        _as(backend, "ana")  # nobody but an admin may decide what the rows say
    with backend.open(custodian="admin") as v:
        signed = [e for e in v.audit_entries() if e.action == "registry-signed"]
        assert signed[-1].details == {"meta": 5, "custodians": 5, "tokens": 1}
    with _as(backend, "ana") as v:
        assert v.role == "custodian"


def test_an_admin_never_signs_rows_on_trust_again(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    # A database writer clears every signature and writes what they want, unsigned ...
    forged = token_service.PREFIX + "forged-by-the-dba-0123456789"
    for table in ("custodians", "api_tokens", "recipients", "meta"):
        _sql(engine, f"UPDATE {table} SET sig = NULL")
    _sql(engine, "UPDATE meta SET value = '0' WHERE key = 'identity_approvals'")
    _sql(
        engine,
        "INSERT INTO api_tokens (id, name, role, classes, policies, token_hash, created_at) "
        "VALUES ('f0rged', 'root', 'admin', '', '', :h, CURRENT_TIMESTAMP)",
        h=token_service.digest(forged),
    )
    # ... and the next admin unlock refuses it rather than sign it.
    with pytest.raises(TamperedRowError):
        backend.open(custodian="admin")
    assert "registry-signed" not in _actions(engine)


def _custodian_with_an_old_keyring(backend: Backend, engine: Engine) -> None:
    """Add 'dee', whose keyring is sealed as before keyrings carried the registry key."""
    with backend.open(custodian="admin") as v:
        grant = Grant("custodian", frozenset({"narrative", "operational"}))
        full = v._ctx.keys.restricted(grant)
        old = Keyring(v.vault_id, {n: k for n, k in full._roots.items() if n != "registry-public"})
        v.add_custodian(
            "dee",
            Passphrase(passphrase_of("dee")),
            role="custodian",
            classes=["narrative"],
            kdf=fast_kdf(),
        )
    params = fast_kdf()
    sealed = seal_keyring(old, "dee", grant, Passphrase(passphrase_of("dee")), params)
    _sql(
        engine,
        "UPDATE custodians SET keyring = :k, kdf = :d WHERE name = 'dee'",
        k=sealed,
        d=json.dumps(params.to_dict()),
    )


def _refs(backend: Backend, *record_ids: str) -> list[str]:
    with backend.open(custodian="admin") as v:
        return [v._ctx.codec.reference(r) for r in record_ids]


def _key_alive(engine: Engine, ref: str) -> bool:
    with engine.connect() as conn:
        wrapped = conn.execute(
            text(
                "SELECT wrapped_key FROM subjects WHERE id = "
                "(SELECT subject_id FROM records WHERE ref = :r)"
            ),
            {"r": ref},
        ).scalar_one()
    return wrapped is not None


def _actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(a) for a in conn.execute(text("SELECT action FROM audit_log")).scalars()]


def test_a_keyring_from_before_signing_learns_the_registry_key_once(
    team: tuple[Backend, Engine],
) -> None:
    backend, engine = team
    _custodian_with_an_old_keyring(backend, engine)
    with _as(backend, "dee") as v:
        assert v.stats()["testimony"] > 0
    with backend.open(custodian="admin") as v:
        assert [e.actor for e in v.audit_entries() if e.action == "keyring-upgraded"] == ["dee"]
    with _as(backend, "dee") as v:  # once: the keyring now carries the key
        assert v._ctx.keys.registry_public() is not None


def test_signing_keys_go_only_to_the_roles_that_sign(team: tuple[Backend, Engine]) -> None:
    backend, _engine = team
    with backend.open(custodian="admin") as v:
        v.add_custodian("aud", Passphrase(passphrase_of("aud")), role="auditor", kdf=fast_kdf())
    with _as(backend, "aud") as v:
        # An auditor verifies exports and signs checkpoints; it cannot sign an export.
        with pytest.raises(PermissionDeniedError):
            v._ctx.signing_key()
        assert v.audit_checkpoint()["signer"]
        assert b"PUBLIC KEY" in v.public_signing_key_pem()
    with _as(backend, "ana") as v:
        with pytest.raises(PermissionDeniedError):
            v._ctx.signing_key()
        with pytest.raises(PermissionDeniedError):
            v._ctx.keys.checkpoint_signing_key()
    with _as(backend, "exp") as v:
        assert v._ctx.signing_key().public_bytes()
        with pytest.raises(PermissionDeniedError):
            v._ctx.keys.checkpoint_signing_key()


def test_a_moved_subject_pointer_erases_no_one_else(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    a, b = _refs(backend, "T-0001", "T-0002")
    _sql(engine, MOVE, a=a, b=b)
    with backend.open(custodian="admin") as v:
        with pytest.raises(IntegrityError, match="its worker"):
            v.erase_subject(testimony_id="T-0001")
        with pytest.raises(IntegrityError, match="its worker"):
            v.get("T-0001")
    assert _key_alive(engine, b)  # B's key is intact


def test_a_pointer_moved_between_erased_workers_is_refused(team: tuple[Backend, Engine]) -> None:
    # Erased workers' testimonies are read for what ties them to a worker: a
    # pointer moved from one erased worker to another is refused as on a live one.
    backend, engine = team
    # k-anonymity counted on a location (identity until generalized) reads
    # testimonies with their identity class, and an erased worker's without it.
    grid = parse_policy(GRID_POLICY.replace("  k: 3\n", "  k: 2\n"), "union-grid.yaml")
    with backend.open(custodian="admin") as v:
        assert v.erase_subject(testimony_id="T-0001") == 1
        assert v.erase_subject(testimony_id="T-0002") == 1
        assert list(v.preview(grid).records)
    a, b = _refs(backend, "T-0001", "T-0002")
    _sql(engine, MOVE, a=a, b=b)
    with backend.open(custodian="admin") as v, pytest.raises(IntegrityError, match="its worker"):
        list(v.preview(grid).records)


def _later_testimony_of_t0001() -> dict[str, object]:
    first = next(r for r in sample_records() if r["id"] == "T-0001")
    return {**first, "id": "T-LATER", "received_on": "2026-05-02"}


@pytest.mark.parametrize(
    "change", ["copied row", "moved pointer", "no pointer", "row on a site", "old version"]
)
def test_a_new_testimony_is_never_sealed_under_another_workers_key(
    team: tuple[Backend, Engine], change: str
) -> None:
    # Worker A (T-0001) speaks again. A `subject` index row copied from A's testimony
    # onto B's, or A's pointer moved to B's key, would have the new testimony sealed
    # under B's key: erasing A would then erase B; a pointer to none would give A a
    # second key. The import refuses instead.
    backend, engine = team
    a, b = _refs(backend, "T-0001", "T-0002")
    copy = (
        "INSERT INTO blind_index (record_ref, kind, mac) SELECT :b, kind, mac "
        "FROM blind_index WHERE record_ref = :a AND kind = 'subject'"
    )
    if change == "copied row":
        _sql(engine, copy, a=a, b=b)
    elif change == "moved pointer":
        _sql(engine, MOVE, a=a, b=b)
    elif change == "no pointer":
        _sql(engine, "UPDATE records SET subject_id = NULL WHERE ref = :a", a=a)
    elif change == "row on a site":
        (site,) = _refs(backend, "SITE-001")
        _sql(engine, copy, a=a, b=site)
        _sql(engine, "DELETE FROM blind_index WHERE record_ref = :a AND kind = 'subject'", a=a)
    else:
        # A version sealed before its worker and index entries were: proven by its
        # identity, which opens only under its own worker's key.
        _as_sealed_before(backend, "T-0001")
        _sql(engine, MOVE, a=a, b=b)
    with backend.open(custodian="admin") as v:
        with pytest.raises(TamperedRowError, match="its worker"):
            v.add(_later_testimony_of_t0001())
        with pytest.raises(TamperedRowError, match="its worker"):
            v.import_records([_later_testimony_of_t0001()])
    (later,) = _refs(backend, "T-LATER")
    with engine.connect() as conn:
        held = conn.execute(text("SELECT COUNT(*) FROM records WHERE ref = :r"), {"r": later})
        assert held.scalar_one() == 0
    assert _key_alive(engine, b)


def _as_sealed_before(backend: Backend, record_id: str) -> None:
    """Reseal a testimony's operational class as versions were sealed before the
    worker and the index entries were sealed with them."""
    with backend.open(custodian="admin") as v:
        ctx = v._ctx
        (ref,) = _refs(backend, record_id)
        with ctx.engine.begin() as conn:
            row = conn.execute(latest_versions([ref])).one()
            new = ctx.codec.replace_class(
                sealed_columns(row),
                "testimony",
                ref,
                row.version,
                KeyClass.OPERATIONAL,
                lambda p: {k: w for k, w in p.items() if k not in ("ix", "subject")},
                "t",
            )
            assert new is not None
            conn.execute(
                update(RecordVersion)
                .where(RecordVersion.record_ref == ref, RecordVersion.version == row.version)
                .values(**new)
            )


@pytest.mark.parametrize("sealed_before", [False, True])
def test_an_untouched_worker_speaking_again_shares_their_key(
    team: tuple[Backend, Engine], sealed_before: bool
) -> None:
    backend, engine = team
    if sealed_before:
        _as_sealed_before(backend, "T-0001")
    with backend.open(custodian="admin") as v:
        v.add(_later_testimony_of_t0001())
    first, later = _refs(backend, "T-0001", "T-LATER")
    with engine.connect() as conn:
        subjects = {
            conn.execute(
                text("SELECT subject_id FROM records WHERE ref = :r"), {"r": r}
            ).scalar_one()
            for r in (first, later)
        }
    assert len(subjects) == 1


@pytest.mark.parametrize("sealed_before", [False, True])
def test_an_erased_key_is_never_taken_again(
    team: tuple[Backend, Engine], sealed_before: bool
) -> None:
    # Erasure takes a worker's index rows with their key. A `subject` row put back
    # on an erased testimony (its sealed entries still name it), or a worker's
    # pointer moved to an erased key, would have the erased key chosen (and a new
    # one made) or the worker's own key left out: the import refuses.
    backend, engine = team
    if sealed_before:
        _as_sealed_before(backend, "T-0001")
        with backend.open(custodian="admin") as v:
            assert v.erase_subject(testimony_id="T-0002") == 1
        a, b = _refs(backend, "T-0001", "T-0002")
        _sql(engine, MOVE, a=a, b=b)
    else:
        with backend.open(custodian="admin") as v:
            assert v.erase_subject(testimony_id="T-0001") == 1
            v.add(_later_testimony_of_t0001() | {"id": "T-AGAIN"})
        first, later = _refs(backend, "T-0001", "T-AGAIN")
        _sql(
            engine,
            "INSERT INTO blind_index (record_ref, kind, mac) SELECT :f, kind, mac "
            "FROM blind_index WHERE record_ref = :l AND kind = 'subject'",
            f=first,
            l=later,
        )
    with backend.open(custodian="admin") as v, pytest.raises(TamperedRowError, match="its worker"):
        v.add(_later_testimony_of_t0001())


def test_an_anonymous_testimony_sealed_before_erases_no_one_else(
    team: tuple[Backend, Engine],
) -> None:
    # Without identity fields a testimony never shares its key: pointed at another
    # worker's, erasing it must not erase theirs.
    backend, engine = team
    with backend.open(custodian="admin") as v:
        v.add(
            {
                "type": "testimony",
                "id": "T-ANON",
                "site_id": "SITE-001",
                "received_on": "2026-05-01",
            }
        )
    _as_sealed_before(backend, "T-ANON")
    anon, b = _refs(backend, "T-ANON", "T-0002")
    _sql(engine, MOVE, a=anon, b=b)
    with backend.open(custodian="admin") as v, pytest.raises(IntegrityError, match="its worker"):
        v.erase_subject(testimony_id="T-ANON")
    assert _key_alive(engine, b)


def test_an_old_pointer_moved_to_an_erased_key_is_refused(team: tuple[Backend, Engine]) -> None:
    # Erasing by such a testimony would say "already erased" and leave the worker's
    # own key alive.
    backend, engine = team
    _as_sealed_before(backend, "T-0001")
    with backend.open(custodian="admin") as v:
        assert v.erase_subject(testimony_id="T-0002") == 1
    a, b = _refs(backend, "T-0001", "T-0002")
    _sql(engine, MOVE, a=a, b=b)
    with backend.open(custodian="admin") as v, pytest.raises(IntegrityError, match="its worker"):
        v.erase_subject(testimony_id="T-0001")


def test_a_moved_pointer_on_a_version_sealed_before_erases_no_one_else(
    team: tuple[Backend, Engine],
) -> None:
    # A version sealed before its worker was sealed with it: the pointer is proven
    # by the identity, which opens only under the worker's own key.
    backend, engine = team
    _as_sealed_before(backend, "T-0001")
    a, b = _refs(backend, "T-0001", "T-0002")
    _sql(engine, MOVE, a=a, b=b)
    with backend.open(custodian="admin") as v, pytest.raises(IntegrityError):
        v.erase_subject(testimony_id="T-0001")
    assert _key_alive(engine, b)


def test_a_version_sealed_before_its_worker_is_still_erased(
    team: tuple[Backend, Engine],
) -> None:
    backend, engine = team
    _as_sealed_before(backend, "T-0001")
    with backend.open(custodian="admin") as v:
        assert v.erase_subject(testimony_id="T-0001") == 1
    (a,) = _refs(backend, "T-0001")
    assert not _key_alive(engine, a)


def _copy_employee_id_row(engine: Engine, source: str, target: str) -> None:
    """The employee-id index row of record ``source``, copied onto record ``target``."""
    _sql(
        engine,
        "INSERT INTO blind_index (record_ref, kind, mac) SELECT :target, kind, mac "
        "FROM blind_index WHERE record_ref = :source AND kind = 'employee_id'",
        source=source,
        target=target,
    )


def test_a_copied_index_row_widens_nothing(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    a, b = _refs(backend, "T-0001", "T-0002")
    _copy_employee_id_row(engine, a, b)
    with backend.open(custodian="admin") as v:
        with pytest.raises(TamperedRowError, match="index entries"):
            v.find(employee_id="EMP-55001")
        assert v.erase_subject(employee_id="EMP-55001") == 1  # only the real worker
    assert _key_alive(engine, b)
    assert not _key_alive(engine, a)


def test_an_index_row_added_to_a_record_sealed_with_none_is_refused(
    team: tuple[Backend, Engine],
) -> None:
    # A finding has no index entries: it is sealed with an empty list of them, so a
    # row pointing a worker's identifier at it is caught like any other.
    backend, engine = team
    a, f = _refs(backend, "T-0001", "F-0001")
    _copy_employee_id_row(engine, a, f)
    with (
        backend.open(custodian="admin") as v,
        pytest.raises(TamperedRowError, match="index entries"),
    ):
        v.find(employee_id="EMP-55001")


def test_a_swapped_registry_anchor_is_refused(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    _sql(engine, "UPDATE meta SET value = 'QUFBQQ==' WHERE key = 'registry_anchor'")
    _custodian_with_an_old_keyring(backend, engine)
    with pytest.raises(IntegrityError):
        _as(backend, "dee")  # a keyring learns the registry key only from a sealed copy


def test_checkpoints_take_only_the_checkpoint_key(
    team: tuple[Backend, Engine], tmp_path: Path
) -> None:
    backend, _engine = team
    with _as(backend, "exp") as v:
        # An exporter signs exports, and with that key could sign a checkpoint ...
        signing = v._ctx.signing_key()
        checkpoint = {
            "format": "evidence-vault-audit-checkpoint/1",
            "vault_id": v.vault_id,
            "size": 1,
            "head": "00" * 32,
            "created_at": "2026-12-01T00:00:00Z",
            "signer": crypto.public_key_fingerprint(signing.public_bytes()),
        }
    message = json.dumps(checkpoint, sort_keys=True, separators=(",", ":")).encode()
    checkpoint["signature"] = base64.b64encode(signing.sign(message)).decode()
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(checkpoint), encoding="utf-8")
    with backend.open(custodian="admin") as v, pytest.raises(IntegrityError, match="does not use"):
        v.audit_verify(path)  # ... that nobody accepts


def test_recovery_checks_the_settings_it_reads(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    with backend.open(custodian="admin") as v:
        shares = v.recovery_split(3, 2)
    _sql(engine, "UPDATE meta SET value = '0' WHERE key = 'identity_approvals'")
    with pytest.raises(TamperedRowError):
        Vault.recover(
            backend.folder,
            shares[:2],
            Passphrase(passphrase_of("new")),
            db_url=backend.db_url,
            kdf=fast_kdf(),
        )


def test_a_cell_that_does_not_parse_is_refused_not_a_crash(team: tuple[Backend, Engine]) -> None:
    backend, engine = team
    with backend.open(custodian="admin") as v:
        token, _ = v.create_token("intake", role="custodian", classes=["narrative"])
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL types every column itself")
    _sql(engine, "UPDATE api_tokens SET expires_at = 'garbage' WHERE name = 'intake'")
    with backend.open(custodian="admin") as v:
        with pytest.raises(TamperedRowError):
            v.for_token(token)
        with pytest.raises(TamperedRowError):
            v.tokens()
