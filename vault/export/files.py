"""Which evidence files leave with an exported record, in what form, and why the
others stay.

Invariants:

* A file leaves only as its record's rules say for the kind it is by content
  (:func:`vault.rebuild.detect`), never by its name or the type noted at intake; a
  high-risk testimony's files follow its ``high_risk`` rules, which drop every kind
  they do not name.
* ``rebuild`` sends a copy built from the content alone (:func:`vault.rebuild.rebuild`);
  a file that has no rebuild, fails to rebuild or is over a limit stays out.
* Every file that stays out is counted in ``ExportResult.excluded`` under its
  reason (:data:`EXCLUDED`), every file that leaves under ``included["attachment"]``.
* The manifest entry of a copy names it neutrally and gives its media type, the
  record it belongs to, whether it was rebuilt, and the keyed digest of its
  original: the one the audit log holds for that file's intake, which custodians
  can recompute and a recipient cannot test a candidate file against. The archive
  writer adds the copy's own size and SHA-256.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from vault import rebuild
from vault.export.format import ATTACHMENTS
from vault.filerules import FileRules

if TYPE_CHECKING:
    # Only the types: files go to the spool, which the archive writer owns.
    from vault.export.archive import FileSpool
    from vault.redaction import Redactor

__all__ = ["EXCLUDED", "FileSource", "Tally", "export_files"]

EXCLUDED: Final = (
    "attachment_high_risk",
    "attachment_not_allowed",
    "attachment_too_large",
    *(f"attachment_{reason}" for reason in rebuild.REASONS),
)
"""Why a file stays out: its testimony is high-risk and the ``high_risk`` rules drop
its kind; the rules drop its kind; it is larger than
:data:`~vault.rebuild.MAX_FILE_BYTES`; it has no rebuild (``unsupported``), cannot
be decoded (``unreadable``), or is over a limit of :mod:`vault.rebuild`
(``over_limits``)."""


class FileSource(Protocol):
    """What choosing files needs of a vault (part of :class:`~vault.export.plan.RecordSource`)."""

    def export_attachments(self, record_id: str) -> list[Any]: ...

    def attachment_chunks(self, attachment_id: str) -> Any: ...

    def attachment_digest(self, info: Any) -> str: ...


class Tally(Protocol):
    """Where the files and their counts go (an :class:`~vault.export.plan.ExportResult`)."""

    included: Counter[str]
    excluded: Counter[str]
    files: FileSpool | None


def export_files(
    source: FileSource,
    record: Mapping[str, Any],
    out: Mapping[str, Any],
    rules: FileRules,
    high_risk: bool,
    redactor: Redactor,
    result: Tally,
) -> list[str]:
    """Add a record's evidence files that may leave to ``result.files``; return
    their names in the export."""
    assert result.files is not None
    dropped = "attachment_high_risk" if high_risk else "attachment_not_allowed"
    names: list[str] = []
    for info in source.export_attachments(str(record["id"])):
        if not rules.any_leave():
            result.excluded[dropped] += 1
            continue
        if info.size > rebuild.MAX_FILE_BYTES:
            result.excluded["attachment_too_large"] += 1
            continue
        data = b"".join(source.attachment_chunks(info.id))
        found = rebuild.detect(data)
        action = rules.action(found.kind)
        if action == "drop":
            result.excluded[dropped] += 1
            continue
        try:
            copy = (
                rebuild.original(data, found)
                if action == "original"
                else rebuild.rebuild(data, found)
            )
            name = ATTACHMENTS + redactor.pseudonym("export", "file", info.id) + copy.extension
            entry: dict[str, Any] = {
                "name": name,
                "media_type": copy.media_type,
                "record": out.get("id"),
                "copy": "original" if action == "original" else "rebuilt",
                "original_keyed_digest": source.attachment_digest(info),
            }
            # A recording is decoded as it is spooled: it may still fail here.
            result.files.add(name, copy.chunks, entry)
        except rebuild.RebuildError as exc:
            result.excluded[f"attachment_{exc.reason}"] += 1
            continue
        result.included["attachment"] += 1
        names.append(name)
    return names
