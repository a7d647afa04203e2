"""``evault``: the custodian's command line, a thin layer over :class:`vault.Vault`.

The CLI parses, calls the library, renders, and maps library errors to exit codes
(see :mod:`vault.errors`). It never prints a traceback: an unexpected error prints
its type only (messages could carry data), unless ``EVAULT_DEBUG=1``.

Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong passphrase, 4 integrity failure,
5 invalid input, 6 not found, 7 already exists, 8 permission denied, 9 storage,
10 disk full, 11 read-only, 12 database locked, 13 database unreachable, 14 database
damaged, 130 interrupted.

Layout: :mod:`vault.cli._common` holds the root group (``cli``), its state, the
shared options, the error-to-exit-code mapping and the rendering helpers; each
other module registers one family of commands on that root group. Like every
front-end, the CLI imports the public library and the domain modules it renders,
never the storage layer or the key and record internals (the store, records and
keys modules).
"""

from __future__ import annotations

import logging

# Importing the command modules registers their commands on the root group.
from vault.cli import (  # noqa: F401
    _audit,
    _backup,
    _check,
    _custody,
    _demo,
    _files,
    _lifecycle,
    _records,
    _review,
    _schema,
    _server,
    _sharing,
)
from vault.cli._common import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    # The database driver logs what it ignores while a lost connection is torn down;
    # the one line the user sees is the vault's, which says what happened.
    driver_log = logging.getLogger("psycopg")
    driver_log.addHandler(logging.NullHandler())
    driver_log.propagate = False
    cli(prog_name="evault")
