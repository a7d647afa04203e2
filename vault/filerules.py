"""What a policy lets out of a record's evidence files, kind by kind.

Invariants:

* **Deny by default.** A kind of file the rules do not name is dropped; so is every
  file of a high-risk testimony unless its ``high_risk`` rules name the kind.
* ``rebuild`` sends a copy built from the file's content alone (see
  :mod:`vault.rebuild`), never the original edited; ``original`` sends the file as
  it is, and the policy floor allows it only to the union and the monitor.
* Video and files of other kinds have no rebuild: they may only be dropped or sent
  as originals.
* The short form (``attachments: rebuild``) covers images and documents only: a
  voice can identify a worker by itself, so recordings leave only where a policy
  names ``audio``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["FILE_ACTIONS", "FILE_KINDS", "REBUILDABLE", "SHORT_FORM_KINDS", "FileRules"]

FILE_KINDS: Final = ("image", "document", "audio", "video", "other")
"""Kinds of evidence file, as :func:`vault.rebuild.detect` tells them by content."""
FILE_ACTIONS: Final = ("drop", "rebuild", "original")
SHORT_FORM_KINDS: Final = ("image", "document")
"""The kinds a single action (``attachments: rebuild``) applies to."""
REBUILDABLE: Final = frozenset({"image", "document", "audio"})
"""The kinds that have a rebuild; video and other files have none."""

_LABELS: Final = {
    "image": "images",
    "document": "documents",
    "audio": "audio",
    "video": "video",
    "other": "other files",
}
_IDENTIFYING: Final = {"audio": "a voice", "video": "a face or a voice"}
_REBUILT: Final = {
    "image": "rebuilt from their pixels (no EXIF, GPS, XMP, IPTC, ICC or comments)",
    "document": "rebuilt as the pictures of their pages (PDF; no text layer, "
    "annotations, forms, metadata or revisions)",
    "audio": "rebuilt from their samples as plain WAV (no tags, chunks or pictures)",
}


@dataclass(frozen=True)
class FileRules:
    """Kind -> action; a kind not in ``actions`` is dropped."""

    actions: dict[str, str] = field(default_factory=dict)

    def action(self, kind: str) -> str:
        return self.actions.get(kind, "drop")

    def any_leave(self) -> bool:
        """Whether any kind of file leaves under these rules."""
        return any(a != "drop" for a in self.actions.values())

    def describe(self, *, testimony: bool) -> list[str]:
        """One line per kind, for ``policy explain`` (one line when none leave)."""
        if not self.any_leave():
            return ["none leave"]
        lines = []
        for kind in FILE_KINDS:
            action = self.action(kind)
            if action == "rebuild":
                text = _REBUILT[kind] + ", neutral names"
            elif action == "original":
                text = "original files, as they are, neutral names"
            elif kind in _IDENTIFYING and testimony:
                text = f"not exported ({_IDENTIFYING[kind]} can identify a worker by itself)"
            else:
                text = "not exported"
            lines.append(f"{_LABELS[kind]}: {text}")
        return lines
