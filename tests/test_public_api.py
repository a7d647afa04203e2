"""The public Python API: ``vault.__all__`` is exact, and every name is documented."""

from __future__ import annotations

import types

import vault


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
        "RecordSummary",
        "StaleVersionError",
        "StorageError",
        "UsageError",
        "Vault",
        "VaultError",
        "VersionInfo",
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
