"""Evidence Vault: an encrypted store for worker testimonies and audit findings.

The public API is what ``__all__`` lists; everything else is internal and may change.

The facade and the key-derivation types load on first use, so that a program that
only needs the error classes (``evault --version``, ``--help``) starts without the
database layer and the media libraries.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    StorageError,
    UsageError,
    VaultError,
)

if TYPE_CHECKING:
    from vault.core import Vault, load_policy
    from vault.crypto import KdfParams, Passphrase
    from vault.ingest import ImportResult
    from vault.policy import Policy
    from vault.reads import RecordSummary, VersionInfo

__all__ = [
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
]

_LAZY: Final = {
    "ImportResult": "vault.ingest",
    "RecordSummary": "vault.reads",
    "Vault": "vault.core",
    "VersionInfo": "vault.reads",
    "KdfParams": "vault.crypto",
    "Passphrase": "vault.crypto",
    "Policy": "vault.policy",
    "load_policy": "vault.core",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vault' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The public names, and the submodules loaded so far; not this module's helpers.
    loaded = {n for n, v in globals().items() if n.startswith("_") or isinstance(v, ModuleType)}
    return sorted(loaded | set(__all__))
