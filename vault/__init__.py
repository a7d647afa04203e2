"""Evidence Vault: an encrypted store for worker testimonies and audit findings.

The public API is what ``__all__`` lists; everything else is internal and may change.
"""

from vault.core import ImportResult, RecordSummary, Vault, VersionInfo, load_policy
from vault.crypto import KdfParams, Passphrase
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UsageError,
    VaultError,
)
from vault.policy import Policy

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
    "StorageError",
    "UsageError",
    "Vault",
    "VaultError",
    "VersionInfo",
    "load_policy",
]
