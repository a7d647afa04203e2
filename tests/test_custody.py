"""Custodians, roles, per-class keys, identity approvals, sessions and recovery."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from exporting import new_identity
from sqlalchemy import create_engine, text

from conftest import SAMPLES, Backend, fast_kdf, passphrase_of, sample_records
from vault import (
    AuthenticationError,
    InvalidInputError,
    Passphrase,
    PermissionDeniedError,
    UsageError,
    Vault,
)
from vault.keys import KeyClass
from vault.policy import find_policy
from vault.store import sqlite_url

ALL = ["identity", "special", "narrative", "operational"]


def _team(backend: Backend, approvals: int = 1) -> Backend:
    with backend.create(identity_approvals=approvals) as v:
        v.import_file(SAMPLES)
        for name, role, classes, policies in (
            ("ana", "custodian", ALL, []),
            ("ben", "custodian", ALL, []),
            ("cy", "custodian", ["narrative"], []),
            ("exp", "exporter", ALL, ["union"]),
            ("aud", "auditor", [], []),
        ):
            v.add_custodian(
                name,
                Passphrase(passphrase_of(name)),
                role=role,
                classes=classes,
                policies=policies,
                kdf=fast_kdf(),
            )
    return backend


def _as(backend: Backend, name: str) -> Vault:
    return backend.open(passphrase_of(name), custodian=name)


def test_a_custodian_without_identity_holds_no_identity_key(backend: Backend) -> None:
    _team(backend, approvals=0)
    with _as(backend, "cy") as v:
        record = v.get("T-0001")
        assert "narrative" in record
        assert "name" not in record.get("worker", {})
        assert "union_member" not in record.get("worker", {})  # special: not cleared
        with pytest.raises(PermissionDeniedError):
            v.get("T-0001", identity=True)
        with pytest.raises(PermissionDeniedError):
            v.request_identity("T-0001", "I would like to see it please")
        # Not even the library's own internals can derive the key.
        assert not v._ctx.keys.holds_class(KeyClass.IDENTITY)
        with pytest.raises(PermissionDeniedError):
            v._ctx.keys.class_kek(KeyClass.IDENTITY, 1)
        from sqlalchemy import select

        from vault.store import Record, Subject

        with v._ctx.engine.connect() as conn:
            row = conn.execute(
                select(Subject.id, Subject.wrapped_key).join(
                    Record, Record.subject_id == Subject.id
                )
            ).first()
        assert row is not None
        sid, wrapped = row
        assert wrapped is not None
        with pytest.raises(PermissionDeniedError):
            v._ctx.codec.open_subject_key(sid, wrapped)


def test_roles_are_enforced_in_the_library(backend: Backend, tmp_path: Path) -> None:
    _team(backend)
    rec = sample_records()[0] | {"id": "SITE-NEW"}
    with _as(backend, "aud") as v:
        for call in (
            lambda: v.get("T-0001"),
            lambda: list(v.list()),
            lambda: v.add(rec),
            lambda: v.find(site="SITE-001"),
            lambda: v.preview(find_policy("union")),
            lambda: v.add_custodian("x", Passphrase(passphrase_of("x")), role="admin"),
            v.rotate_keys,
            lambda: v.erase_subject(testimony_id="T-0001"),
        ):
            with pytest.raises(PermissionDeniedError):
                call()
        assert v.audit_verify().size > 0
        with pytest.raises(PermissionDeniedError):
            v._ctx.keys.class_kek(KeyClass.OPERATIONAL, 1)
    with _as(backend, "exp") as v:
        with pytest.raises(PermissionDeniedError):
            v.get("T-0001")
        with pytest.raises(PermissionDeniedError, match="not granted the policy 'monitor'"):
            v.preview(find_policy("monitor"))
        assert list(v.preview(find_policy("union")).records)
    with _as(backend, "ana") as v:
        with pytest.raises(PermissionDeniedError):
            v.audit_verify()
        with pytest.raises(PermissionDeniedError):
            v.add_custodian("x", Passphrase(passphrase_of("x")), role="admin")
        with pytest.raises(PermissionDeniedError):
            v.add_recipient("r", new_identity(tmp_path)[2])
        v.add(rec)


def test_editing_a_role_in_the_database_locks_the_custodian_out(backend: Backend) -> None:
    _team(backend)
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        conn.execute(text("UPDATE custodians SET role = 'admin' WHERE name = 'aud'"))
        conn.execute(
            text("UPDATE custodians SET classes = 'identity,operational' WHERE name = 'cy'")
        )
    engine.dispose()
    for name in ("aud", "cy"):
        with pytest.raises(AuthenticationError):
            _as(backend, name)


def test_removed_custodian_opens_nothing(backend: Backend) -> None:
    _team(backend)
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.connect() as conn:
        old = conn.execute(text("SELECT keyring FROM custodians WHERE name = 'ben'")).scalar_one()
    engine.dispose()
    with backend.open(custodian="admin") as v:
        v.remove_custodian("ben")
        with pytest.raises(UsageError):
            v.remove_custodian("admin")
    with pytest.raises(AuthenticationError):
        _as(backend, "ben")
    if backend.db_url is None:
        for path in backend.folder.iterdir():
            assert old not in path.read_bytes(), path.name


def test_identity_needs_a_second_custodians_approval(backend: Backend) -> None:
    _team(backend, approvals=1)
    with _as(backend, "ana") as ana:
        assert "name" not in ana.get("T-0001").get("worker", {})
        with pytest.raises(PermissionDeniedError, match="approved request"):
            ana.get("T-0001", identity=True)
        with pytest.raises(InvalidInputError):
            ana.request_identity("T-0001", "why")
        rid = ana.request_identity("T-0001", "Follow-up interview agreed with the union")
        with pytest.raises(PermissionDeniedError):
            ana.decide_identity(rid, approve=True)  # not one's own
        with pytest.raises(PermissionDeniedError):
            ana.get("T-0001", identity=True)
    with _as(backend, "ben") as ben:
        reasons = {r["id"]: r["reason"] for r in ben.identity_requests()}
        assert reasons[rid] == "Follow-up interview agreed with the union"
        ben.decide_identity(rid, approve=True)
    with _as(backend, "ana") as ana:
        assert ana.get("T-0001", identity=True) == sample_records()[4]
        # The approval is for that record only.
        with pytest.raises(PermissionDeniedError):
            ana.get("T-0002", identity=True)
        rid2 = ana.request_identity("T-0002", "Second case needs the contact details")
    with backend.open(custodian="admin") as admin:
        admin.decide_identity(rid2, approve=False)
    with _as(backend, "ben") as ben:
        ben.decide_identity(rid2, approve=True)
    with _as(backend, "ana") as ana, pytest.raises(PermissionDeniedError):
        ana.get("T-0002", identity=True)  # a refusal wins
    with backend.open(custodian="admin") as admin:
        actions = [e.action for e in admin.audit_entries()]
    for action in (
        "identity-requested",
        "identity-approved",
        "identity-refused",
        "identity-access",
    ):
        assert action in actions


def test_two_approvals_when_the_vault_asks_for_two(backend: Backend) -> None:
    _team(backend, approvals=2)
    with _as(backend, "ana") as ana:
        rid = ana.request_identity("T-0003", "Needed for the grievance procedure")
    with _as(backend, "ben") as ben:
        ben.decide_identity(rid, approve=True)
    with _as(backend, "ana") as ana, pytest.raises(PermissionDeniedError):
        ana.get("T-0003", identity=True)
    with backend.open(custodian="admin") as admin:
        admin.decide_identity(rid, approve=True)
    with _as(backend, "ana") as ana:
        assert ana.get("T-0003", identity=True)["worker"]["name"].startswith("王小明")


def test_sessions(backend: Backend) -> None:
    _team(backend)
    with backend.open(custodian="admin") as v:
        token, expires = v.unlock(dt.timedelta(minutes=5))
        assert expires > dt.datetime.now(dt.UTC)
        short, _ = v.unlock(dt.timedelta(seconds=1))
    with Vault.open_session(backend.folder, token, db_url=backend.db_url) as s:
        assert s.custodian == "admin"
        assert s.get("F-0001") == sample_records()[9]
        s.lock(token)
    for bad in (token, token[:-4] + "AAAA", "evs1_nothex.AAAA", "garbage"):
        with pytest.raises(AuthenticationError):
            Vault.open_session(backend.folder, bad, db_url=backend.db_url)
    import time

    time.sleep(1.1)
    with pytest.raises(AuthenticationError, match="expired"):
        Vault.open_session(backend.folder, short, db_url=backend.db_url)


def test_every_threshold_subset_of_recovery_shares_restores(backend: Backend) -> None:
    with backend.create() as v:
        v.import_file(SAMPLES)
        shares = v.recovery_split(5, 3)
    assert len(shares) == 5
    for i, subset in enumerate(itertools.combinations(shares, 3)):
        new = f"recovered passphrase {i}"
        with Vault.recover(
            backend.folder, subset, Passphrase(new), db_url=backend.db_url, kdf=fast_kdf()
        ) as v:
            assert v.role == "admin"
        with backend.open(new) as v:
            assert v.get("T-0004", identity=True) == sample_records()[7]


def test_too_few_or_mistyped_shares_reveal_nothing(backend: Backend) -> None:
    with backend.create() as v:
        shares = v.recovery_split(5, 3)
    for subset in itertools.combinations(shares, 2):
        with pytest.raises(InvalidInputError, match="recovery shares refused"):
            Vault.recover(
                backend.folder, subset, Passphrase(passphrase_of("x")), db_url=backend.db_url
            )
    words = shares[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(InvalidInputError, match="recovery shares refused"):
        Vault.recover(
            backend.folder,
            [" ".join(words), *shares[1:3]],
            Passphrase(passphrase_of("x")),
            db_url=backend.db_url,
        )
    # The original passphrase still works: a failed restore changed nothing.
    backend.open(custodian="admin").close()


def test_a_failed_split_leaves_the_old_shares_valid(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shamir_mnemonic

    with backend.create() as v:
        shares = v.recovery_split(3, 2)

        def broken(*_args: object, **_kw: object) -> list[list[str]]:
            raise MemoryError

        monkeypatch.setattr(shamir_mnemonic, "generate_mnemonics", broken)
        with pytest.raises(MemoryError):
            v.recovery_split(3, 2)
    with Vault.recover(
        backend.folder, shares[:2], Passphrase("after a failed split"), db_url=backend.db_url
    ) as v:
        assert v.role == "admin"


def test_custodian_cannot_be_added_twice_or_with_unknown_class(backend: Backend) -> None:
    _team(backend)
    from vault import ConflictError

    with backend.open(custodian="admin") as v:
        with pytest.raises(ConflictError):
            v.add_custodian("ana", Passphrase(passphrase_of("x")), role="custodian", kdf=fast_kdf())
        with pytest.raises(InvalidInputError):
            v.add_custodian(
                "zed",
                Passphrase(passphrase_of("x")),
                role="custodian",
                classes=["secret"],
                kdf=fast_kdf(),
            )


def test_keyring_bound_to_vault(backend: Backend) -> None:
    # Swapping keyrings between custodians fails closed.
    _team(backend)
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        ben = conn.execute(text("SELECT keyring, kdf FROM custodians WHERE name = 'ben'")).one()
        conn.execute(
            text("UPDATE custodians SET keyring = :k, kdf = :d WHERE name = 'ana'"),
            {"k": ben.keyring, "d": ben.kdf},
        )
    engine.dispose()
    with pytest.raises(AuthenticationError):
        backend.open(passphrase_of("ben"), custodian="ana")
    with pytest.raises(AuthenticationError):
        backend.open(
            passphrase_of("ana"), custodian="ana"
        )  # ana's own passphrase opens nothing now
    with backend.open(passphrase_of("ben"), custodian="ben") as ben_vault:
        assert ben_vault.custodian == "ben"  # ... while ben's own row still opens


def test_exporter_grant_is_bound_to_the_policy_text(backend: Backend, tmp_path: Path) -> None:
    _team(backend)
    forged = tmp_path / "union.yaml"
    forged.write_text(
        find_policy("union").text.replace("narrative: scrub", "narrative: keep"), encoding="utf-8"
    )
    with _as(backend, "exp") as v:
        assert list(v.preview(find_policy("union")).records)
        with pytest.raises(PermissionDeniedError, match="exact text"):
            v.preview(find_policy(str(forged)))


def test_a_row_that_says_admin_is_not_an_admin(backend: Backend) -> None:
    _team(backend)
    # A custodian with database access re-labels their own keyring as an admin's.
    from vault.keys import Grant, seal_keyring

    with _as(backend, "ana") as ana:
        sealed = seal_keyring(ana._ctx.keys, "fake", Grant("admin"), Passphrase("f"), fast_kdf())
        import json as _json

        kdf = _json.dumps(fast_kdf().to_dict())
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO custodians (name, role, classes, policies, kdf, keyring, created_at) "
                "VALUES ('fake', 'admin', '', '', :k, :r, CURRENT_TIMESTAMP)"
            ),
            {"k": kdf, "r": sealed},
        )
    engine.dispose()
    with pytest.raises(AuthenticationError):
        backend.open("f", custodian="fake")  # the salt differs: nothing opens
    with _as(backend, "ana") as ana:
        ana._ctx.grant = Grant("admin")  # even a caller who flips the grant in memory ...
        assert ana.role == "admin"
        with pytest.raises(PermissionDeniedError, match="no master key"):
            ana.remove_custodian("ben")  # ... holds no master key


def test_session_expiry_cannot_be_moved(backend: Backend) -> None:
    _team(backend)
    with backend.open(custodian="admin") as v:
        token, _ = v.unlock(dt.timedelta(minutes=1))
    engine = create_engine(backend.db_url or sqlite_url(backend.folder))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sessions SET expires_at = :e"),
            {"e": dt.datetime.now(dt.UTC) + dt.timedelta(days=30)},
        )
    engine.dispose()
    with pytest.raises(AuthenticationError):
        Vault.open_session(backend.folder, token, db_url=backend.db_url)


def test_a_passphrase_change_ends_sessions(backend: Backend) -> None:
    _team(backend)
    with backend.open(custodian="admin") as v:
        token, _ = v.unlock(dt.timedelta(minutes=5))
        v.change_passphrase(Passphrase("a new one entirely"), kdf=fast_kdf())
    with pytest.raises(AuthenticationError):
        Vault.open_session(backend.folder, token, db_url=backend.db_url)


def test_blind_indexes_need_the_identity_class(backend: Backend) -> None:
    _team(backend, approvals=0)
    with _as(backend, "cy") as v:
        assert v.find(site="SITE-001")
        with pytest.raises(PermissionDeniedError):
            v.find(employee_id="EMP-55001")
    with _as(backend, "ana") as v:
        assert [s.id for s in v.find(employee_id="EMP-55001")] == ["T-0001"]


def test_a_writer_opened_before_a_rotation_uses_the_new_key_version(backend: Backend) -> None:
    with backend.create() as admin:
        admin.import_file(SAMPLES)
        admin.add_custodian(
            "ana", Passphrase(passphrase_of("ana")), role="custodian", classes=ALL, kdf=fast_kdf()
        )
    with _as(backend, "ana") as ana, backend.open(custodian="admin") as admin:
        admin.rotate_keys()
        admin.retire_keys(2)
        ana.add(sample_records()[0] | {"id": "SITE-099"})
        assert admin.get("SITE-099")["id"] == "SITE-099"
