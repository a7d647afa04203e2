"""Policy-driven exports: gates, k-anonymity, and the signed, age-encrypted archive.

This package only re-exports; each concern has its module:

* :mod:`vault.export.plan` — deciding: the :class:`RecordSource` protocol, the
  consent and filter gates, the k-anonymity level, aggregate cells, and which
  evidence files go out (:func:`plan_records`, :class:`ExportResult`); no I/O;
* :mod:`vault.export.archive` — writing: the encrypted spools (:class:`FileSpool`),
  the tar members, the signed manifest (:func:`write_archive`);
* :mod:`vault.export.verify` — the recipient's check (:func:`verify_export`,
  :class:`VerifyReport`), which needs no vault;
* :mod:`vault.export.format` — the format's name and members (:data:`EXPORT_FORMAT`),
  shared by the writer and the verifier;
* :mod:`vault.age` — recipients, identities and age streams (:func:`parse_recipient`,
  :func:`load_identities`, :func:`write_age_identity`), shared with backups.

A recipient opens an export with ``age -d -i key.txt FILE | tar -x``;
:func:`verify_export` checks it anywhere, without a vault.
"""

from vault.age import load_identities, parse_recipient, write_age_identity
from vault.export.archive import FileSpool, write_archive
from vault.export.format import EXPORT_FORMAT
from vault.export.plan import ExportResult, RecordSource, plan_records
from vault.export.verify import VerifyReport, verify_export

__all__ = [
    "EXPORT_FORMAT",
    "ExportResult",
    "FileSpool",
    "RecordSource",
    "VerifyReport",
    "load_identities",
    "parse_recipient",
    "plan_records",
    "verify_export",
    "write_age_identity",
    "write_archive",
]
