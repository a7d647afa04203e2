"""The public Python API: ``vault.__all__`` is exact, and every name is documented."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest

import vault
from conftest import PASSPHRASE, SAMPLES, Backend
from vault import UsageError


def test_all_is_exact() -> None:
    public = {
        name
        for name in dir(vault)
        if not name.startswith("_") and not isinstance(getattr(vault, name), types.ModuleType)
    }
    assert set(vault.__all__) == public
    assert sorted(vault.__all__) == list(vault.__all__)
    assert set(vault.__all__) == {
        "AuthenticationError",
        "ConflictError",
        "ImportResult",
        "IntegrityError",
        "InvalidInputError",
        "KdfParams",
        "NotFoundError",
        "Passphrase",
        "PermissionDeniedError",
        "Policy",
        "RecordSummary",
        "StaleVersionError",
        "StorageError",
        "UsageError",
        "Vault",
        "VaultError",
        "VersionInfo",
        "load_policy",
    }


def test_public_names_have_docstrings() -> None:
    for name in vault.__all__:
        assert getattr(vault, name).__doc__, name


def test_error_exit_codes_are_distinct() -> None:
    codes = {getattr(vault, name).exit_code for name in vault.__all__ if name.endswith("Error")}
    assert len(codes) == 9


def test_vault_methods_are_documented() -> None:
    for method in (
        "create",
        "open",
        "add",
        "get",
        "update",
        "list",
        "find",
        "import_records",
        "import_file",
        "change_passphrase",
        "versions",
    ):
        assert getattr(vault.Vault, method).__doc__, method


def test_bad_arguments_to_the_facade_are_vault_errors(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    """Wrong types and unknown names at the public API raise VaultError (UsageError,
    NotFoundError ...), never TypeError or AttributeError, and name no value."""
    folder = tmp_path / "other"
    good = vault.Passphrase(PASSPHRASE)
    with sqlite_backend.create() as v:
        v.import_file(SAMPLES)
        calls: list[tuple[Callable[[], object], type[vault.VaultError]]] = [
            (lambda: vault.Vault.create(folder, PASSPHRASE), UsageError),  # type: ignore[arg-type]
            (lambda: vault.Vault.create(5, good), UsageError),  # type: ignore[arg-type]
            (lambda: vault.Vault.open(folder, good, custodian=5), UsageError),  # type: ignore[arg-type]
            (lambda: vault.Passphrase(5), UsageError),  # type: ignore[arg-type]
            (lambda: v.get(5), UsageError),  # type: ignore[arg-type]
            (lambda: v.get("T-0001", version="2"), UsageError),  # type: ignore[arg-type]
            (lambda: v.get("NO-SUCH"), vault.NotFoundError),
            (lambda: list(v.list(type="workers")), vault.InvalidInputError),
            (lambda: list(v.list(limit="5")), UsageError),  # type: ignore[arg-type]
            (lambda: v.find(phone=912345678), UsageError),  # type: ignore[arg-type]
            (v.find, UsageError),
            (lambda: v.add("not a record"), vault.InvalidInputError),  # type: ignore[arg-type]
            (lambda: v.update("T-0001", {}, remove="worker.phone"), UsageError),
            (lambda: v.import_file(5), UsageError),  # type: ignore[arg-type]
            (lambda: v.import_records(5), UsageError),  # type: ignore[arg-type]
            (lambda: v.export("no-such-policy", "r", tmp_path / "x.age"), vault.NotFoundError),
            (lambda: v.export(5, "r", tmp_path / "x.age"), UsageError),  # type: ignore[arg-type]
            (lambda: v.export("union", "no-such", tmp_path / "x.age"), vault.NotFoundError),
            (lambda: v.preview("no-such-policy"), vault.NotFoundError),
            (lambda: v.preview("union", limit="2"), UsageError),  # type: ignore[arg-type]
            (lambda: vault.load_policy("no-such-policy"), vault.NotFoundError),
            (lambda: vault.load_policy(None), UsageError),  # type: ignore[arg-type]
            (lambda: vault.load_policy(tmp_path / "none.yaml"), vault.InvalidInputError),
            (lambda: v.add_recipient("r", 5), UsageError),  # type: ignore[arg-type]
            (lambda: v.add_custodian("c", good, role="king"), vault.InvalidInputError),
            (lambda: v.add_custodian("c", good, role="custodian", classes=5), UsageError),  # type: ignore[arg-type]
            (lambda: v.create_token("t", role="exporter", policies="union"), UsageError),
            (lambda: v.create_token("t", role="custodian", expires=30), UsageError),  # type: ignore[arg-type]
            (lambda: v.change_passphrase("new words"), UsageError),  # type: ignore[arg-type]
            (lambda: v.attach("T-0001", 5), UsageError),  # type: ignore[arg-type]
            (lambda: v.erase_subject(testimony_id=5), UsageError),  # type: ignore[arg-type]
            (lambda: v.rotate_keys(batch="5"), UsageError),  # type: ignore[arg-type]
            (lambda: v.get("T-0001", nope=True), UsageError),  # type: ignore[call-arg]
        ]
        for i, (call, expected) in enumerate(calls):
            with pytest.raises(vault.VaultError) as caught:
                call()
            assert type(caught.value) is expected, (i, caught.value)
            assert "912345678" not in str(caught.value)
        # A name where a policy goes is looked up: an export and a preview by name.
        identity = pyrage.x25519.Identity.generate()
        v.add_recipient("r", str(identity.to_public()))
        assert v.export("public", "r", tmp_path / "x.age")["policy"]["name"] == "public"
        preview = v.preview(vault.load_policy("public"))
        assert not list(preview.records)  # the samples' cells are all small
        assert preview.result.to_dict()["excluded"]["small_cells"]


def test_every_facade_annotation_resolves_and_is_checked() -> None:
    # Annotations resolve on a method's first call (their classes may load late):
    # every one must resolve, and a policy argument is checked like any other.
    import inspect

    from vault import Vault

    resolved = {}
    for name, attr in vars(Vault).items():
        function = attr.__func__ if isinstance(attr, classmethod | staticmethod) else attr
        if name.startswith("_") or not inspect.isfunction(function):
            continue
        resolved[name] = function.__dict__["checks_of"]()
    assert "policy" in resolved["export"]
    assert "files" in resolved["import_file"]
