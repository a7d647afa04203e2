"""``evault``: the custodian's command line, a thin layer over :class:`vault.Vault`.

The CLI parses, calls the library, renders, and maps library errors to exit codes
(see :mod:`vault.errors`). It never prints a traceback: an unexpected error prints
its type only (messages could carry data), unless ``EVAULT_DEBUG=1``.

Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong passphrase, 4 integrity failure,
5 invalid input, 6 not found, 7 already exists, 8 permission denied, 9 storage,
10 disk full, 11 read-only, 12 database locked, 13 database unreachable, 14 database
damaged, 15 export not signed by the pinned key, 16 export older than the last
received (replay or rollback), 17 export made for another recipient, 130 interrupted.

Layout: :mod:`vault.cli._common` holds the root group (``cli``), its state, the
shared options, the error-to-exit-code mapping and the rendering helpers; each
other module registers one family of commands on that root group. Like every
front-end, the CLI imports the public library and the domain modules it renders,
never the storage layer or the key and record internals (the store, records and
keys modules).
"""

from __future__ import annotations

import logging
from typing import Final

from vault.cli._common import cli

# Each command: the module that registers it, and the one-line help the root's
# --help shows without loading that module (tests/test_cli_start.py keeps both in step).
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "add": ("_records", "Add one record (a JSON object) from FILE, or from standard input."),
    "attach": (
        "_files",
        ("Seal FILE (any size, streamed) to RECORD_ID; a keyed digest of it enters the audit log."),
    ),
    "attachments": ("_files", "List a record's evidence files."),
    "audit": ("_audit", "Show, verify and checkpoint the tamper-evident audit log."),
    "backup": ("_backup", "Write a consistent, age-encrypted snapshot of the vault (SQLite)."),
    "check": (
        "_check",
        "Check the whole vault and name every damaged table and record (exit 4 if any).",
    ),
    "custodian": (
        "_custody",
        "Manage custodians: roles (admin, custodian, exporter, auditor) and clearances.",
    ),
    "demo": ("_demo", "Create a vault from the bundled, fictional sample data and show it."),
    "erase-subject": (
        "_lifecycle",
        (
            "Destroy a worker's identity key: their identity fields can never be opened "
            "again from this vault."
        ),
    ),
    "export": ("_sharing", "Export records under a policy, signed and encrypted to one recipient."),
    "exports": (
        "_sharing",
        "List past exports: when, by whom, policy and its hash, recipient, counts.",
    ),
    "extract": ("_files", "Write the original file to --out (only after every chunk verified)."),
    "find": ("_records", "Find records by exact value through keyed blind indexes."),
    "identity": ("_custody", "Request, approve and refuse access to a worker's identity fields."),
    "import": ("_records", "Import records from FILE (JSONL, JSON array or CSV)."),
    "init": ("_records", "Create a new, empty vault and its first (admin) custodian."),
    "list": (
        "_records",
        (
            "List records (id, type, version, site, date) in the order they came in; no "
            "sensitive field is shown."
        ),
    ),
    "lock": (
        "_custody",
        "End the session in EVAULT_SESSION (its keys are deleted from the vault).",
    ),
    "openapi": (
        "_server",
        (
            "Print the HTTP API's OpenAPI document (JSON), as `evault serve` serves it "
            "(--json changes nothing but the form of errors)."
        ),
    ),
    "partner": (
        "_partners",
        "Pin partner vaults' signing keys: whose exports this vault receives.",
    ),
    "passwd": (
        "_custody",
        "Change your passphrase (rewraps your keys; no record is re-encrypted).",
    ),
    "policy": ("_sharing", "Check, explain and list redaction policies."),
    "receive": (
        "_partners",
        "Verify a partner's export and take its records in, as records of the partner.",
    ),
    "received": (
        "_partners",
        "List and show records received from partners (ids read PARTNER:ID).",
    ),
    "recipient": ("_sharing", "Manage export recipients (a name and an age public key)."),
    "recovery": ("_custody", "Shamir recovery shares (SLIP-39 words) for a lost admin passphrase."),
    "report": (
        "_report",
        (
            "Write a monitoring report under --policy: counts of testimonies, findings "
            "and workers by allegation, site and month, and where findings stand, as one "
            "HTML page with charts (loads nothing, needs no script), a CSV or an XLSX "
            "workbook."
        ),
    ),
    "restore": (
        "_backup",
        "Restore a backup into a new, empty vault folder (--vault / EVAULT_DIR).",
    ),
    "retention": (
        "_lifecycle",
        "Erase identities after a set time: set the rule, then run it (e.g. from cron).",
    ),
    "retire-keys": (
        "_lifecycle",
        "Refuse key versions below N from now on (after a finished rotation).",
    ),
    "review": (
        "_review",
        (
            "Review free text before it leaves: serve a local page (127.0.0.1) that shows "
            "each narrative as it would leave under --policy, with the machine's redactions"
            " and risk cues marked."
        ),
    ),
    "rotate-keys": (
        "_lifecycle",
        "Create a new key-encryption key version and rewrap every data key.",
    ),
    "schema": (
        "_schema",
        (
            "Print the record contract: per record type (site, testimony, finding), every "
            "field, its type, whether it is required, its class (as policies name it), "
            "the key class that seals it, its allowed values and an example."
        ),
    ),
    "serve": (
        "_server",
        "Serve the HTTP API (unlock once as an admin; tokens authorise requests).",
    ),
    "show": ("_records", "Show one record, decrypted (the latest version unless --version N)."),
    "signing-key": (
        "_sharing",
        "Print the vault's public signing key (PEM), for recipients to pin.",
    ),
    "stats": (
        "_stats",
        (
            "Count testimonies, findings and workers by site, country, month, quarter, "
            "year, allegation, severity, finding status, channel, gender or migrant "
            "status, and say where findings stand (open, in remediation, remediated; days "
            "from audit to remediation; plans past their due date)."
        ),
    ),
    "token": ("_server", "Bearer tokens for the HTTP API (shown once; only a hash is kept)."),
    "unlock": ("_custody", "Unlock once and print a session token for EVAULT_SESSION."),
    "update": (
        "_records",
        (
            "Store a new version of RECORD_ID: the fields FILE gives ('-' for standard "
            "input) over those of the current version."
        ),
    ),
    "verify-attachment": (
        "_files",
        ("Re-hash the decrypted file against its intake SHA-256 and audit entry (exit 4 if not)."),
    ),
    "verify-backup": (
        "_backup",
        "Decrypt a backup privately, check it, and list what is damaged (exit 4 if any).",
    ),
    "verify-export": (
        "_sharing",
        "Decrypt an export and check its signature and every record's hash.",
    ),
}
cli.lazy = {name: (f"vault.cli.{module}", text) for name, (module, text) in COMMANDS.items()}

__all__ = ["COMMANDS", "cli", "main"]


def main() -> None:
    """Console-script entry point."""
    # The database driver logs what it ignores while a lost connection is torn down;
    # the one line the user sees is the vault's, which says what happened.
    driver_log = logging.getLogger("psycopg")
    driver_log.addHandler(logging.NullHandler())
    driver_log.propagate = False
    cli(prog_name="evault")
