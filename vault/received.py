"""Records received from a partner: what one may hold, and how it is sealed.

A partner's export carries records as its policy let them out: fields of the
record contract (:mod:`vault.schema`), some generalized (a month for a date, a band
for a birth year, a country for a site), some pseudonymized, free text scrubbed.
:func:`received_record` accepts exactly that shape, and nothing that names a
worker.

Invariants:

* A received record holds no identity field, whatever the sender's policy said:
  one that carries any is refused, never stored, so no later policy can let one
  out. An unknown field is refused, as on import; the names of the sender's
  evidence files (``attachments``) are dropped, since the files stay with it.
* Its id is the sender's (a pseudonym stable for this recipient), namespaced by
  the partner: ``PARTNER:ID``; its keyed reference is of another domain than
  this vault's own records', so no received record can stand in for one of them.
* Each version is sealed per key class (special, narrative, operational) under a
  fresh data key wrapped by that class's record KEK, like this vault's own
  records; the associated data binds the vault, the word ``received``, the
  partner, the record type, reference, version and class, so a blob moved to
  another partner, record, version or class, or into this vault's own records,
  does not open. The operational blob holds the field order and the provenance
  (partner, export, manifest hash, policy and its hash, onward terms, times).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from vault import crypto
from vault.crypto import Context
from vault.errors import IntegrityError, InvalidInputError, PermissionDeniedError
from vault.keys import KeyClass, Keyring
from vault.records import load_payload
from vault.schema import (
    LONG_TEXT,
    MAX_LIST,
    RECORD_SPECS,
    RECORD_TYPES,
    Sensitivity,
    flatten,
    unflatten,
)

__all__ = [
    "Provenance",
    "ReceivedCodec",
    "SealedReceived",
    "namespaced_id",
    "received_record",
]

_CLASSES: Final = (KeyClass.SPECIAL, KeyClass.NARRATIVE, KeyClass.OPERATIONAL)
_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_FIELD_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39})?")
_DROPPED: Final = frozenset({"attachments"})


def namespaced_id(partner: str, record_id: str) -> str:
    """The id a received record goes by in this vault."""
    return f"{partner}:{record_id}"


def _check_scalar(value: Any, where: str, path: str) -> None:
    if isinstance(value, bool | int):
        return
    if not isinstance(value, str):
        raise InvalidInputError(f"field {path!r} must be a string, number or boolean", where=where)
    if len(value) > LONG_TEXT:
        raise InvalidInputError(
            f"field {path!r} is longer than {LONG_TEXT} characters", where=where
        )
    if "\x00" in value or _SURROGATE_RE.search(value):
        raise InvalidInputError(f"field {path!r} is not valid Unicode text", where=where)


def received_record(raw: Any, where: str) -> tuple[dict[str, Any], int]:
    """A record line of a partner's export as this vault may hold it, and how many
    evidence file names were dropped from it. Errors name ``where`` and the field,
    never a value."""
    if not isinstance(raw, dict):
        raise InvalidInputError("a record must be a JSON object", where=where)
    rtype = raw.get("type")
    if rtype not in RECORD_SPECS:
        if rtype == "count":
            raise InvalidInputError(
                "the export holds counts, not records: there is nothing to receive", where=where
            )
        raise InvalidInputError(
            f"field 'type' must be one of: {', '.join(RECORD_TYPES)}", where=where
        )
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
        raise InvalidInputError("field 'id' must be an identifier", where=where)
    where = f"{where}, record {rid}"
    specs = RECORD_SPECS[str(rtype)].fields
    dropped = 0
    record: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _DROPPED:
            dropped += len(value) if isinstance(value, list) else 1
            continue
        record[key] = value
    for path, value in flatten(record):
        spec = specs.get(path)
        if spec is None:
            shown = repr(path) if _FIELD_RE.fullmatch(path) else "(not a field name)"
            raise InvalidInputError(f"unknown field {shown}", where=where)
        if spec.sensitivity is Sensitivity.IDENTITY:
            raise InvalidInputError(
                f"field {path!r} identifies a person: received records never carry identity",
                where=where,
            )
        if spec.kind == "group" or value is None:
            if spec.kind == "group" and not isinstance(value, dict):
                raise InvalidInputError(f"field {path!r} must be an object", where=where)
            continue
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST:
            raise InvalidInputError(f"field {path!r} has too many items", where=where)
        for item in items:
            _check_scalar(item, where, path)
    return record, dropped


@dataclass(frozen=True)
class Provenance:
    """Where a received version came from, sealed with it."""

    partner: str
    export_id: str
    manifest_sha256: str
    policy: str
    policy_sha256: str
    audience: str
    terms: dict[str, Any]
    sender_vault: str
    exported_at: str
    received_at: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, value: Any, what: str) -> Provenance:
        try:
            return cls(**value)
        except TypeError:
            raise IntegrityError(f"integrity check failed for {what}") from None


@dataclass(frozen=True, slots=True)
class SealedReceived:
    """The sealed columns of one received version."""

    columns: dict[str, bytes | None]

    def __repr__(self) -> str:
        return "SealedReceived(...)"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ReceivedCodec:
    """Seals and opens received versions for one unlocked vault."""

    def __init__(self, keys: Keyring, kek_version: int, min_version: int = 1) -> None:
        self._keys = keys
        self.kek_version = kek_version
        self.min_version = min_version

    def __repr__(self) -> str:
        return "ReceivedCodec([secure])"

    def reference(self, partner: str, record_id: str) -> str:
        """The keyed reference of a partner's record (never equal to one of this
        vault's own: another domain of the same key)."""
        return crypto.keyed_reference(self._keys.reference_key(), "received", partner, record_id)

    def _context(self, partner: str, rtype: str, ref: str, version: int) -> Context:
        return Context.of(self._keys.vault_id, "received", partner, rtype, ref, version)

    def seal(
        self,
        record: Mapping[str, Any],
        partner: str,
        ref: str,
        version: int,
        provenance: Provenance,
    ) -> SealedReceived:
        """Seal a record :func:`received_record` accepted, with its provenance."""
        rtype = str(record["type"])
        classes = RECORD_SPECS[rtype].key_class_names
        parts: dict[str, dict[str, Any]] = {kc.value: {} for kc in _CLASSES}
        order: list[str] = []
        for path, value in flatten(record):
            order.append(path)
            name = classes.get(path)
            if name not in parts:
                # Fail closed: identity (or an unclassed field) is sealed nowhere.
                raise ValueError("a received record holds no identity field")
            parts[name][path] = value
        ctx = self._context(partner, rtype, ref, version)
        kv = self.kek_version
        columns: dict[str, bytes | None] = {}
        for kc in _CLASSES:
            fields: dict[str, Any] = parts[kc.value]
            payload: dict[str, Any] = fields
            if kc is KeyClass.OPERATIONAL:
                payload = {"order": order, "fields": fields, "provenance": provenance.to_dict()}
            elif not fields:
                columns[f"{kc.value}_key"] = columns[f"{kc.value}_data"] = None
                continue
            if not self._keys.holds_class(kc):
                raise PermissionDeniedError(f"this custodian holds no key for class/{kc.value}")
            dek = crypto.random_key()
            class_ctx = ctx.extend(kc.value)
            kek = self._keys.class_kek(kc, kv)
            columns[f"{kc.value}_key"] = crypto.wrap_key(
                kek, dek, class_ctx.extend(kv), key_version=kv
            )
            columns[f"{kc.value}_data"] = crypto.seal(dek, _dumps(payload), class_ctx)
        return SealedReceived(columns)

    def _open_class(
        self, kc: KeyClass, wrapped: bytes, data: bytes, ctx: Context, what: str
    ) -> Any:
        version = crypto.blob_key_version(wrapped)
        if version < self.min_version:
            raise IntegrityError(f"integrity check failed for {what}")
        class_ctx = ctx.extend(kc.value)
        dek = crypto.unwrap_key(
            self._keys.class_kek(kc, version), wrapped, class_ctx.extend(version), what=what
        )
        return load_payload(crypto.open_sealed(dek, data, class_ctx, what=what), what)

    def open(
        self,
        columns: Mapping[str, Any],
        partner: str,
        rtype: str,
        ref: str,
        version: int,
        what: str,
        classes: frozenset[KeyClass] | None = None,
    ) -> tuple[dict[str, Any], Provenance]:
        """A received version and its provenance; classes not asked for (or not
        held) are left out. A blob dropped from the row is refused."""
        ctx = self._context(partner, rtype, ref, version)
        payload = self._open_class(
            KeyClass.OPERATIONAL, columns["operational_key"], columns["operational_data"], ctx, what
        )
        order, values = payload.get("order"), payload.get("fields")
        if not isinstance(order, list) or not isinstance(values, dict):
            raise IntegrityError(f"integrity check failed for {what}")
        provenance = Provenance.from_dict(payload.get("provenance"), what)
        if provenance.partner != partner:
            raise IntegrityError(f"integrity check failed for {what}")
        names = RECORD_SPECS[rtype].key_class_names
        expected = {names.get(str(p), "operational") for p in order}
        for kc in (KeyClass.SPECIAL, KeyClass.NARRATIVE):
            wrapped, data = columns[f"{kc.value}_key"], columns[f"{kc.value}_data"]
            if kc.value in expected and (wrapped is None or data is None):
                raise IntegrityError(f"integrity check failed for {what}")
            wanted = classes is None or kc in classes
            if wanted and wrapped is not None and data is not None and self._keys.holds_class(kc):
                values.update(self._open_class(kc, wrapped, data, ctx, what))
        return unflatten([str(p) for p in order], values), provenance

    def rewrap(
        self, columns: Mapping[str, Any], partner: str, rtype: str, ref: str, version: int
    ) -> dict[str, bytes]:
        """New wrapped data keys under the current KEK version (key rotation)."""
        ctx = self._context(partner, rtype, ref, version)
        what = f"received record ref {ref[:12]}"
        out: dict[str, bytes] = {}
        kv = self.kek_version
        for kc in _CLASSES:
            wrapped = columns[f"{kc.value}_key"]
            if wrapped is None:
                continue
            class_ctx = ctx.extend(kc.value)
            old = crypto.blob_key_version(wrapped)
            if old < self.min_version:
                raise IntegrityError(f"integrity check failed for {what}")
            dek = crypto.unwrap_key(
                self._keys.class_kek(kc, old), wrapped, class_ctx.extend(old), what=what
            )
            out[f"{kc.value}_key"] = crypto.wrap_key(
                self._keys.class_kek(kc, kv), dek, class_ctx.extend(kv), key_version=kv
            )
        return out
