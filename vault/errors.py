"""The one exception tree of Evidence Vault.

Every error the library raises on purpose is a :class:`VaultError`. Each subclass
carries the process exit code the command line uses for it, so the CLI only maps
``exc.exit_code`` and never has to guess::

    VaultError                    1  anything else the library refuses
    ├── UsageError                2  a command used wrongly (also click's own code)
    ├── AuthenticationError       3  wrong passphrase, unknown custodian
    ├── IntegrityError            4  a sealed value, key or row failed verification
    │   └── TamperedRowError      4  a signed row (grant, token, recipient, setting) failed
    ├── InvalidInputError         5  a record, file or policy that breaks the contract
    ├── NotFoundError             6  no such record, version, vault or recipient
    ├── ConflictError             7  already exists (vault, record id)
    ├── PermissionDeniedError     8  the custodian's role or clearance forbids it
    └── StorageError              9  the database cannot be reached or is not a vault

Messages never contain a sensitive value: they name the file, line, record id and
field, never what the field held. Crypto failures are deliberately opaque (which
byte, which key and which check failed is not said).
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "IntegrityError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "StorageError",
    "TamperedRowError",
    "UsageError",
    "VaultError",
]


class VaultError(Exception):
    """Root of every error the library raises on purpose."""

    exit_code = 1


class UsageError(VaultError):
    """The caller used an operation wrongly (missing option, conflicting arguments)."""

    exit_code = 2


class AuthenticationError(VaultError):
    """The passphrase is wrong or the custodian is unknown."""

    exit_code = 3


class IntegrityError(VaultError):
    """A stored value failed authentication: tampered, swapped, rolled back or corrupt."""

    exit_code = 4


class TamperedRowError(IntegrityError):
    """A stored row that decides who may see what failed its signature or link check.

    The vault records the refusal in its audit log where the log is writable.
    """

    def __init__(self, message: str, *, table: str) -> None:
        self.table = table
        self.logged = False
        super().__init__(message)


class InvalidInputError(VaultError):
    """Input breaks the record contract or a file format.

    ``where`` names the place (file, line or record number, record id, field), never
    the offending value.
    """

    exit_code = 5

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class NotFoundError(VaultError):
    """No such vault, record, version or recipient."""

    exit_code = 6


class ConflictError(VaultError):
    """The thing to be created already exists."""

    exit_code = 7


class PermissionDeniedError(VaultError):
    """The custodian's role or field-class clearance does not allow the operation."""

    exit_code = 8


class StorageError(VaultError):
    """The database cannot be reached, or holds no vault of a supported version."""

    exit_code = 9
