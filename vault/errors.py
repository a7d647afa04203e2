"""The one exception tree of Evidence Vault.

Every error the library raises on purpose is a :class:`VaultError`. Each subclass
carries the process exit code the command line uses for it, so the CLI only maps
``exc.exit_code`` and never has to guess::

    VaultError                    1  anything else the library refuses
    ├── UsageError                2  a command used wrongly (also click's own code)
    ├── AuthenticationError       3  wrong passphrase, unknown custodian
    ├── IntegrityError            4  a sealed value, key or row failed verification
    │   ├── TamperedRowError      4  a signed row (grant, token, recipient, setting) failed
    │   ├── UnpinnedSignerError  15  an export not signed by the partner key pinned here
    │   ├── StaleExportError     16  an export older than (or as old as) the last received
    │   │                            from that partner: a replay or a rollback
    │   └── WrongRecipientError  17  an export made for another recipient
    ├── InvalidInputError         5  a record, file or policy that breaks the contract
    ├── NotFoundError             6  no such record, version, vault or recipient
    ├── ConflictError             7  already exists (vault, record id)
    │   └── StaleVersionError     7  the record changed since the version an update expected
    ├── PermissionDeniedError     8  the custodian's role or clearance forbids it
    └── StorageError              9  the database cannot be reached or is not a vault
        ├── StorageFullError     10  the disk (or the server's) is full, or a file too large
        ├── StorageReadOnlyError 11  the database or destination cannot be written
        ├── StorageBusyError     12  another writer held the database lock too long
        ├── StorageUnavailableError 13  server unreachable, connection lost, no such
        │                               database, or a disk I/O error
        └── StorageCorruptError  14  the database file is damaged or not a database

Messages never contain a sensitive value: they name the file, line, record id and
field, never what the field held. Crypto failures are deliberately opaque (which
byte, which key and which check failed is not said). Storage errors say what
happened and what to do, never a driver's class name or message.
"""

from __future__ import annotations

import errno
import os

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "IntegrityError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "StaleExportError",
    "StaleVersionError",
    "StorageBusyError",
    "StorageCorruptError",
    "StorageError",
    "StorageFullError",
    "StorageReadOnlyError",
    "StorageUnavailableError",
    "TamperedRowError",
    "UnpinnedSignerError",
    "UsageError",
    "VaultError",
    "WrongRecipientError",
    "from_os_error",
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


class UnpinnedSignerError(IntegrityError):
    """An export signed by a key that is not the one pinned for its partner (or by
    a key no partner is pinned to): where evidence comes from is never taken on trust."""

    exit_code = 15


class StaleExportError(IntegrityError):
    """An export no newer than the last one received from the same partner (by its
    signed sequence and time): a replay, or a rollback to an older state."""

    exit_code = 16


class WrongRecipientError(IntegrityError):
    """An export made for another recipient: its signed manifest does not name a key
    given here, or no key given here opens it."""

    exit_code = 17


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


class StaleVersionError(ConflictError):
    """An update expected a version of the record that is no longer its latest."""


class PermissionDeniedError(VaultError):
    """The custodian's role or field-class clearance does not allow the operation."""

    exit_code = 8


class StorageError(VaultError):
    """The database cannot be reached, or holds no vault of a supported version."""

    exit_code = 9


class StorageFullError(StorageError):
    """No space is left (disk, quota or the database server), or a file grew past
    the size the system allows."""

    exit_code = 10


class StorageReadOnlyError(StorageError):
    """The database or the destination folder is read-only."""

    exit_code = 11


class StorageBusyError(StorageError):
    """Another process held the database's write lock past every retry."""

    exit_code = 12


class StorageUnavailableError(StorageError):
    """The database server cannot be reached, the connection was lost, the database
    does not exist, or the disk failed to read or write."""

    exit_code = 13


class StorageCorruptError(StorageError):
    """The database file is damaged, or is not a database at all."""

    exit_code = 14


_FULL_ERRNOS: frozenset[int] = frozenset(
    {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
)
_READ_ONLY_ERRNOS: frozenset[int] = frozenset({errno.EROFS})


def from_os_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> StorageError | None:
    """The storage error for a failed file write (no space, too large, read-only),
    naming the path; None for any other OS error. ``path`` is used when the error
    itself names no file."""
    where = exc.filename if exc.filename is not None else path
    at = f" writing {os.fsdecode(where)}" if where is not None else ""
    if exc.errno in _FULL_ERRNOS:
        what = "the file is larger than allowed" if exc.errno == errno.EFBIG else "no space left"
        return StorageFullError(f"{what}{at}; free space (or write elsewhere) and run it again")
    if exc.errno in _READ_ONLY_ERRNOS:
        return StorageReadOnlyError(
            f"read-only file system{at}; choose a writable place and run it again"
        )
    return None
