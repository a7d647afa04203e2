"""The export file format: what a recipient receives, shared by the writer and the verifier.

An export is one file: an age-encrypted (``pyrage``, the standard age format) tar
holding

* ``manifest.json`` — export id, vault id, policy name and SHA-256 of its text,
  recipient name and key fingerprint, creation time, counts included and excluded
  by reason, and the SHA-256 of each line of ``records.jsonl``; since joint exports
  and onward terms, also ``recipients`` (every recipient the file is encrypted to,
  each with its name, age recipient and fingerprint; ``recipient`` is the first of
  them) and ``terms`` (``{"onward": "none" | "same-audience" | "audiences",
  "audiences": [...]}``: to whom the recipient may pass the records on). Both are
  additions under the same signature: a verifier that does not know them still
  verifies the file, and a manifest without ``terms`` allows nothing onward. The
  manifest's ``audit.size`` (the sending vault's audit log size when the export
  began) grows with every export of that vault: receivers order exports by it;
* ``manifest.sig`` — the raw Ed25519 signature of ``manifest.json`` by the vault;
* ``signing-key.pem`` — the vault's public signing key (SubjectPublicKeyInfo);
* ``records.jsonl`` — one redacted record (or aggregate cell) per line;

then, when the policy's ``formats`` ask for them, the *derived* members, made from
``records.jsonl`` and listed under ``derived`` in the manifest with their size,
SHA-256 and media type: ``records-<type>.csv`` (one per record type, flattened
columns) and ``report.html`` (:mod:`vault.report`, statistics under the same
policy); a verifier that does not know ``derived`` refuses the file, as it refuses
any member it did not check. Then, when the policy exports evidence files, one
``attachments/…`` member per file, listed under ``files`` in the manifest with its
size, SHA-256 and media type, the
record it belongs to, whether it was rebuilt from its content or is the original,
and the keyed digest of the original (see :mod:`vault.export.files`).

The tar is plain ustar, in the one shape every tar reader agrees on: one header
per member, each a regular file (type ``0``) with its ASCII name of at most 100
bytes in the name field (no prefix, no pax or GNU extension headers), its data
padded with zeros to 512-byte blocks, the members in the order above, then two zero
blocks. The verifier refuses anything else (a bad checksum, another member, bytes
after the end), so ``tar -x`` can never extract what it did not check.

A recipient opens it with ``age -d -i key.txt FILE | tar -x``. These names are the
format: changing one breaks every verifier in the field, so it needs a new
:data:`EXPORT_FORMAT`.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ATTACHMENTS",
    "EXPORT_FORMAT",
    "MANIFEST",
    "MEMBERS",
    "RECORDS",
    "REPORT",
    "SIGNATURE",
    "SIGNING_KEY",
    "csv_name",
    "is_derived_name",
]

EXPORT_FORMAT: Final = "evidence-vault-export/1"
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
SIGNING_KEY: Final = "signing-key.pem"
RECORDS: Final = "records.jsonl"
MEMBERS: Final = (MANIFEST, SIGNATURE, SIGNING_KEY, RECORDS)
"""The members every export holds, in the order they are written."""
ATTACHMENTS: Final = "attachments/"
"""The folder of the evidence files, which follow the members above."""
REPORT: Final = "report.html"
_CSV_NAME: Final = re.compile(r"records-[a-z][a-z_]{0,40}\.csv")


def csv_name(record_type: str) -> str:
    """The derived CSV member holding the records of ``record_type``."""
    name = f"records-{record_type}.csv"
    if not _CSV_NAME.fullmatch(name):
        raise ValueError("not a record type")
    return name


def is_derived_name(name: str) -> bool:
    """Whether ``name`` may be a derived member (checked before it is read)."""
    return name == REPORT or _CSV_NAME.fullmatch(name) is not None
