"""Sealing and opening record versions, blind indexes and references.

This module turns a validated record into the sealed columns of one
``record_versions`` row and back. Invariants:

* Each key class present in a record gets its own fresh data key, wrapped by that
  class's record KEK at the current version; identity fields are sealed under the
  worker's subject key instead, so erasing a worker destroys exactly one key.
* Every blob's associated data binds the vault id, record type, record reference,
  record version and key class (and the subject id for identity), so a blob moved to
  another row, record, version, class or vault fails to open.
* Blind indexes are keyed HMACs of normalized values; nothing here stores plaintext.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from vault import crypto
from vault.crypto import Context, SecretKey
from vault.decisions import Decision
from vault.errors import IntegrityError, PermissionDeniedError
from vault.keys import KeyClass, Keyring
from vault.schema import RECORD_SPECS, flatten, unflatten

__all__ = [
    "SOURCE_INDEX",
    "RecordCodec",
    "SealedExtras",
    "SealedVersion",
    "index_entry",
    "load_payload",
    "normalize_email",
    "normalize_employee_id",
    "normalize_name",
    "phone_key",
]

_SEALED_CLASSES: Final = (KeyClass.SPECIAL, KeyClass.NARRATIVE, KeyClass.OPERATIONAL)
_SEALED_CLASS_NAMES: Final = tuple(kc.value for kc in _SEALED_CLASSES)
_NON_DIGIT = re.compile(r"\D+")
_UNCHECKED: Final = object()  # no subject pointer given (or none sealed)
SOURCE_INDEX: Final = "source"  # the blind-index kind of records' source keys
# A version seals each of its blind-index values whole: `check` compares the rows
# with them, and a row changed in any of its bits no longer finds its record.
BLIND_MAC_BYTES: Final = 32
# A version's field order is sealed as numbers: each path's place in its type's list
# here. The lists only ever grow at their end, whatever order the contract lists its
# fields in (tests/test_records_layout.py holds every path of the contract here, and
# pins these), so a number means one path forever.
ORDER_CODES: Final[dict[str, tuple[str, ...]]] = {
    "site": ("type", "id", "source_key", "name", "kind", "country", "region", "operator"),
    "testimony": (
        "type",
        "id",
        "source_key",
        "site_id",
        "received_on",
        "channel",
        "language",
        "worker",
        "worker.name",
        "worker.employee_id",
        "worker.phone",
        "worker.email",
        "worker.address",
        "worker.location",
        "worker.aliases",
        "worker.gender",
        "worker.birth_year",
        "worker.nationality",
        "worker.migrant",
        "worker.job_title",
        "worker.department",
        "worker.union_member",
        "worker.union_name",
        "persons_mentioned",
        "allegations",
        "narrative",
        "consent",
        "consent.share_with",
        "consent.recorded_on",
        "consent.withdrawn",
        "risk",
        "risk.retaliation",
    ),
    "finding": (
        "type",
        "id",
        "source_key",
        "site_id",
        "audit_date",
        "monitor",
        "category",
        "standard_refs",
        "severity",
        "summary",
        "details",
        "evidence",
        "status",
        "remediation",
        "remediation.plan",
        "remediation.due",
        "remediation.updated",
    ),
}
_CODE_OF: Final[dict[str, dict[str, int]]] = {
    rtype: {path: n for n, path in enumerate(paths)} for rtype, paths in ORDER_CODES.items()
}
# The same numbers as the keys a class's sealed fields are stored under ("9" for
# worker.employee_id): a path repeated in every blob cost more than its value. No
# path of the contract is made of digits, so a key of digits is always a number.
_KEY_OF: Final[dict[str, dict[str, str]]] = {
    rtype: {path: str(n) for path, n in codes.items()} for rtype, codes in _CODE_OF.items()
}


@dataclass(frozen=True)
class SealedExtras:
    """What a version was sealed with besides its fields: its blind-index entries
    (as :func:`index_entry` gives them), when the vault stored it, the worker
    (subject id) it belongs to, and who stored it (a custodian, or ``token:NAME``);
    each None (``has_subject`` False) in a version sealed before."""

    index: frozenset[str] | None
    stored_at: dt.datetime | None
    has_subject: bool
    subject_id: str | None
    stored_by: str | None = None


def normalize_employee_id(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def normalize_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def normalize_name(value: str) -> str:
    """A name as testimonies of one worker may spell it differently: case, spacing
    and Unicode forms aside."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


# phonenumbers loads its metadata on import (a tenth of a second): only a phone
# number's blind index needs it, never a read.
@functools.cache
def _calling_codes() -> frozenset[str]:
    import phonenumbers  # noqa: PLC0415

    return frozenset(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def phone_key(value: str, region: str | None) -> str | None:
    """The national significant number of a phone number, so that international
    (+84 912 345 678) and national (0912 345 678) spellings of one number meet.

    International numbers lose their calling code by table look-up (calling codes
    are prefix-free); national numbers go through ``phonenumbers`` when the country
    is known, which also drops trunk prefixes other than 0.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    digits = _NON_DIGIT.sub("", text)
    if len(digits) < 5:
        return None
    if text.startswith(("+", "00")):
        international = digits[2:] if text.startswith("00") else digits
        for size in (1, 2, 3):
            if international[:size] in _calling_codes():
                return international[size:].lstrip("0") or None
        return digits.lstrip("0")
    if region:
        import phonenumbers  # noqa: PLC0415

        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return digits.lstrip("0")
        return str(parsed.national_number)
    return digits.lstrip("0")


@dataclass(frozen=True, slots=True)
class SealedVersion:
    """The sealed columns of one record version (what the database stores)."""

    identity_data: bytes | None
    special_key: bytes | None
    special_data: bytes | None
    narrative_key: bytes | None
    narrative_data: bytes | None
    operational_key: bytes
    operational_data: bytes

    def __repr__(self) -> str:
        return "SealedVersion(...)"

    def columns(self) -> dict[str, bytes | None]:
        return {
            "identity_data": self.identity_data,
            "special_key": self.special_key,
            "special_data": self.special_data,
            "narrative_key": self.narrative_key,
            "narrative_data": self.narrative_data,
            "operational_key": self.operational_key,
            "operational_data": self.operational_data,
        }


# One encoder for all: json.dumps with options builds a new encoder per call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


class RecordCodec:
    """Seals and opens record versions for one unlocked vault."""

    def __init__(self, keyring: Keyring, kek_version: int, min_version: int = 1) -> None:
        self._keys = keyring
        self._vault_id = keyring.vault_id
        # The parts every record version's context starts with, encoded once per type.
        self._record_prefix = {
            rtype: Context.of(self._vault_id, "record", rtype) for rtype in RECORD_SPECS
        }
        self.kek_version = kek_version
        self.min_version = min_version
        self._ref_key = keyring.reference_key()
        # The keys every new record version is sealed with, looked up once.
        self._current_keks = {
            kc.value: keyring.class_kek(kc, kek_version)
            for kc in KeyClass
            if keyring.holds_class(kc)
        }

    def __repr__(self) -> str:
        return "RecordCodec([secure])"

    # Review decisions -------------------------------------------------------

    def _review_context(self, ref: str, version: int, audience: str, field: str) -> Context:
        return Context.of(self._vault_id, "review", ref, version, audience, field)

    def seal_review(self, ref: str, decision: Decision) -> bytes:
        """A decision sealed to its record, version, audience and field."""
        ctx = self._review_context(ref, decision.version, decision.audience, decision.field)
        return crypto.seal(self._keys.review_key(), decision.to_bytes(), ctx)

    def open_review(
        self, ref: str, version: int, audience: str, field: str, blob: bytes, what: str
    ) -> Decision:
        """A decision row opened against the row's own key columns."""
        ctx = self._review_context(ref, version, audience, field)
        decision = Decision.from_bytes(
            crypto.open_sealed(self._keys.review_key(), blob, ctx, what=what), what
        )
        if (decision.version, decision.audience, decision.field) != (version, audience, field):
            raise IntegrityError(f"integrity check failed for {what}")
        return decision

    # References and indexes -------------------------------------------------

    def reference(self, record_id: str) -> str:
        """The keyed reference under which a record id is stored."""
        return crypto.keyed_reference(self._ref_key, record_id)

    def index_mac(self, kind: str, normalized: str) -> bytes:
        return crypto.blind_index(self._keys.blind_index_key(kind), kind, normalized)

    def index_entries(
        self, record: Mapping[str, Any], region: str | None
    ) -> list[tuple[str, bytes]]:
        """Blind-index entries ``(kind, mac)`` for a testimony's worker identifiers."""
        worker = record.get("worker")
        if not isinstance(worker, dict):
            return []
        out: list[tuple[str, bytes]] = []
        if isinstance(eid := worker.get("employee_id"), str):
            out.append(("employee_id", self.index_mac("employee_id", normalize_employee_id(eid))))
        if isinstance(phone := worker.get("phone"), str) and (key := phone_key(phone, region)):
            out.append(("phone", self.index_mac("phone", key)))
        if isinstance(email := worker.get("email"), str):
            out.append(("email", self.index_mac("email", normalize_email(email))))
        # Not for look-ups: links testimonies that give one name but no shared id
        # (hotline calls), so k-anonymity counts them as one person.
        if isinstance(name := worker.get("name"), str) and (key := normalize_name(name)):
            out.append(("name", self.index_mac("name", key)))
        return out

    def source_match(self, rtype: str, source_key: str) -> bytes:
        """The keyed index of a record's ``source_key``, per record type: how a later
        import of the same source finds the record (``import --key source_key``)."""
        return crypto.blind_index(
            self._keys.source_index_key(), SOURCE_INDEX, f"{rtype}\x00{source_key}"
        )

    def subject_match(self, site_ref: str, employee_id: str) -> bytes:
        """Links testimonies of one worker (same employee id at the same site)."""
        return self.index_mac("subject", site_ref + "\x00" + normalize_employee_id(employee_id))

    # Subject keys -------------------------------------------------------------

    def _subject_context(self, subject_id: str) -> tuple[str, ...]:
        return ("subject", self._vault_id, subject_id)

    def new_subject_key(self, subject_id: str) -> tuple[SecretKey, bytes]:
        key = crypto.random_key()
        return key, self.wrap_subject_key(subject_id, key)

    def wrap_subject_key(self, subject_id: str, key: SecretKey) -> bytes:
        kek = self._keys.class_kek(KeyClass.IDENTITY, self.kek_version)
        return crypto.wrap_key(
            kek,
            key,
            (*self._subject_context(subject_id), self.kek_version),
            key_version=self.kek_version,
        )

    def _version_of(self, wrapped: bytes, what: str) -> int:
        version = crypto.blob_key_version(wrapped)
        if version < self.min_version:
            # Retiring checks that no row still uses the version: one that does now
            # was put there, and reads like any other integrity failure.
            raise IntegrityError(f"integrity check failed for {what}")
        return version

    def open_subject_key(self, subject_id: str, wrapped: bytes) -> SecretKey:
        version = self._version_of(wrapped, "a worker's identity key")
        kek = self._keys.class_kek(KeyClass.IDENTITY, version)
        return crypto.unwrap_key(
            kek,
            wrapped,
            (*self._subject_context(subject_id), version),
            what="a worker's identity key",
        )

    # Record versions ------------------------------------------------------------

    def _context(self, rtype: str, ref: str, version: int) -> Context:
        prefix = self._record_prefix.get(rtype)
        if prefix is None:
            return Context.of(self._vault_id, "record", rtype, ref, version)
        return prefix.extend(ref, version)

    def seal(
        self,
        record: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        subject: tuple[str, SecretKey] | None,
        *,
        index: Sequence[tuple[str, bytes]] = (),
        stored_at: dt.datetime | None = None,
        stored_by: str | None = None,
        subject_id: str | object | None = _UNCHECKED,
    ) -> SealedVersion:
        """Seal a validated record as version ``version`` of ``ref``, with the
        blind-index entries its rows hold (kind and keyed value, no plaintext)."""
        # Plain strings in this loop: enum hashing costs more than the crypto here.
        classes = RECORD_SPECS[rtype].key_class_names
        parts: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        for path, value in flatten(record):
            order.append(path)
            name = classes.get(path)
            if name is None:
                # Fail closed: a field the contract does not class is sealed nowhere.
                raise ValueError("a field without a key class cannot be sealed")
            fields = parts.get(name)
            if fields is None:
                fields = parts[name] = {}
            fields[path] = value
        parts.setdefault("operational", {})
        ctx = self._context(rtype, ref, version)

        identity_data = None
        if "identity" in parts:
            if subject is None:
                raise ValueError("identity fields need a subject key")
            subject_id, subject_key = subject
            identity_data = crypto.seal(
                subject_key,
                _dumps(_coded(rtype, parts["identity"])),
                ctx.extend("identity", subject_id),
            )
        sealed: dict[str, bytes | None] = {}
        kv = self.kek_version
        for name in _SEALED_CLASS_NAMES:
            fields = parts.get(name)
            if fields is None:
                sealed[name + "_key"] = sealed[name + "_data"] = None
                continue
            if name == "operational":
                payload = _operational(
                    rtype, order, fields, index, subject_id, stored_at, stored_by
                )
            else:
                payload = _coded(rtype, fields)
            dek = crypto.random_key()
            class_ctx = ctx.extend(name)
            kek = self._current_keks.get(name)
            if kek is None:
                raise PermissionDeniedError(f"this custodian holds no key for class/{name}")
            sealed[name + "_key"] = crypto.wrap_key(kek, dek, class_ctx.extend(kv), key_version=kv)
            sealed[name + "_data"] = crypto.seal(dek, _dumps(payload), class_ctx)
        op_key, op_data = sealed["operational_key"], sealed["operational_data"]
        assert op_key is not None
        assert op_data is not None
        return SealedVersion(
            identity_data=identity_data,
            special_key=sealed["special_key"],
            special_data=sealed["special_data"],
            narrative_key=sealed["narrative_key"],
            narrative_data=sealed["narrative_data"],
            operational_key=op_key,
            operational_data=op_data,
        )

    def _open_class(
        self, kc: KeyClass, wrapped: bytes, data: bytes, ctx: Context, what: str
    ) -> Any:
        version = self._version_of(wrapped, what)
        kek = self._keys.class_kek(kc, version)
        class_ctx = ctx.extend(kc.value)
        dek = crypto.unwrap_key(kek, wrapped, class_ctx.extend(version), what=what)
        return load_payload(crypto.open_sealed(dek, data, class_ctx, what=what), what)

    def replace_class(
        self,
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        kc: KeyClass,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        what: str,
    ) -> dict[str, bytes] | None:
        """A class of a version sealed again under a new data key with ``change``
        applied to its fields, as new ``<class>_key``/``<class>_data`` columns; None
        when the class is absent or ``change`` changes nothing. For erasure only:
        versions are otherwise never rewritten."""
        wrapped, data = columns[f"{kc.value}_key"], columns[f"{kc.value}_data"]
        if wrapped is None or data is None:
            return None
        ctx = self._context(rtype, ref, version)
        fields = self._open_class(kc, wrapped, data, ctx, what)
        if not isinstance(fields, dict):
            raise IntegrityError(f"integrity check failed for {what}")
        operational = kc is KeyClass.OPERATIONAL  # its fields are one part of its blob
        changed = change(fields if operational else _decoded(rtype, fields, what))
        if changed is None:
            return None
        if not operational:
            changed = _coded(rtype, changed)
        kv = self.kek_version
        class_ctx = ctx.extend(kc.value)
        dek = crypto.random_key()
        return {
            f"{kc.value}_key": crypto.wrap_key(
                self._keys.class_kek(kc, kv), dek, class_ctx.extend(kv), key_version=kv
            ),
            f"{kc.value}_data": crypto.seal(dek, _dumps(changed), class_ctx),
        }

    def rewrap(
        self, columns: Mapping[str, Any], rtype: str, ref: str, version: int, *, reencrypt: bool
    ) -> dict[str, bytes]:
        """New wrapped data keys under the current KEK (and, with ``reencrypt``, data
        sealed afresh under new data keys). The identity blob stays: it is sealed
        under the subject key, which rotation rewraps separately."""
        ctx = self._context(rtype, ref, version)
        out: dict[str, bytes] = {}
        kv = self.kek_version
        for name in _SEALED_CLASS_NAMES:
            wrapped, data = columns[f"{name}_key"], columns[f"{name}_data"]
            if wrapped is None or data is None:
                continue
            kc = KeyClass(name)
            class_ctx = ctx.extend(name)
            old = self._version_of(wrapped, f"record ref {ref[:12]}")
            dek = crypto.unwrap_key(
                self._keys.class_kek(kc, old),
                wrapped,
                class_ctx.extend(old),
                what=f"record ref {ref[:12]}",
            )
            if reencrypt:
                plain = crypto.open_sealed(dek, data, class_ctx, what=f"record ref {ref[:12]}")
                dek = crypto.random_key()
                out[f"{name}_data"] = crypto.seal(dek, plain, class_ctx)
            out[f"{name}_key"] = crypto.wrap_key(
                self._keys.class_kek(kc, kv), dek, class_ctx.extend(kv), key_version=kv
            )
        return out

    def _operational_payload(
        self, columns: Mapping[str, Any], rtype: str, ref: str, version: int, what: str
    ) -> dict[str, Any]:
        payload = self._open_class(
            KeyClass.OPERATIONAL,
            columns["operational_key"],
            columns["operational_data"],
            self._context(rtype, ref, version),
            what,
        )
        if not isinstance(payload, dict):
            raise IntegrityError(f"integrity check failed for {what}")
        return payload

    def open_operational(
        self,
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        what: str,
        *,
        subject_id: str | object | None = _UNCHECKED,
    ) -> tuple[list[str], dict[str, Any]]:
        """Open only the operational class: field order and operational/quasi values.
        With ``subject_id`` (the row's subject pointer), a version sealed with another
        worker's is refused."""
        payload = self._operational_payload(columns, rtype, ref, version, what)
        return _fields_of(payload, rtype, what, subject_id)

    def sealed_extras(
        self,
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        what: str,
        *,
        subject_id: str | object | None = _UNCHECKED,
    ) -> SealedExtras:
        """What a version was sealed with besides its fields (see :class:`SealedExtras`).
        With ``subject_id`` (the row's subject pointer), a version sealed with another
        worker's is refused."""
        payload = self._operational_payload(columns, rtype, ref, version, what)
        _check_worker(payload, subject_id, what)
        return _extras_of(payload, what)

    def open(
        self,
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        subject: tuple[str, SecretKey] | None,
        what: str,
        classes: Iterable[KeyClass] = tuple(KeyClass),
        *,
        subject_id: str | object | None = _UNCHECKED,
    ) -> dict[str, Any]:
        """Open a record version; classes not asked for (or erased) are left out."""
        payload = self._operational_payload(columns, rtype, ref, version, what)
        return self._open_rest(
            payload, columns, rtype, ref, version, subject, what, classes, subject_id
        )

    def open_with_extras(
        self,
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        subject: tuple[str, SecretKey] | None,
        what: str,
        classes: Iterable[KeyClass] = tuple(KeyClass),
        *,
        subject_id: str | object | None = _UNCHECKED,
    ) -> tuple[dict[str, Any], SealedExtras]:
        """:meth:`open` and :meth:`sealed_extras` at the cost of one opening of the
        operational class (statistics and k-anonymity read both for every testimony)."""
        payload = self._operational_payload(columns, rtype, ref, version, what)
        record = self._open_rest(
            payload, columns, rtype, ref, version, subject, what, classes, subject_id
        )
        return record, _extras_of(payload, what)

    def _open_rest(
        self,
        payload: dict[str, Any],
        columns: Mapping[str, Any],
        rtype: str,
        ref: str,
        version: int,
        subject: tuple[str, SecretKey] | None,
        what: str,
        classes: Iterable[KeyClass],
        subject_id: str | object | None,
    ) -> dict[str, Any]:
        wanted = set(classes)
        order, values = _fields_of(payload, rtype, what, subject_id)
        ctx = self._context(rtype, ref, version)
        for kc in (KeyClass.SPECIAL, KeyClass.NARRATIVE):
            wrapped, data = columns[f"{kc.value}_key"], columns[f"{kc.value}_data"]
            if kc in wanted and wrapped is not None and data is not None:
                values.update(_decoded(rtype, self._open_class(kc, wrapped, data, ctx, what), what))
        identity = columns["identity_data"]
        if KeyClass.IDENTITY in wanted and identity is not None and subject is not None:
            subject_key_id, key = subject
            values.update(
                _decoded(
                    rtype,
                    load_payload(
                        crypto.open_sealed(
                            key, identity, ctx.extend("identity", subject_key_id), what=what
                        ),
                        what,
                    ),
                    what,
                )
            )
        if not values.keys() <= set(order):
            # Every sealed value has its place in the sealed order: none is dropped.
            raise IntegrityError(f"integrity check failed for {what}")
        # A class whose blob was dropped from the row must not read as "field absent".
        class_of = RECORD_SPECS[rtype].key_class_names
        expected = {class_of.get(p, "operational") for p in order}
        for kc in (KeyClass.SPECIAL, KeyClass.NARRATIVE):
            if kc.value in expected and columns[f"{kc.value}_data"] is None:
                raise IntegrityError(f"integrity check failed for {what}")
        if KeyClass.IDENTITY.value in expected and identity is None:
            raise IntegrityError(f"integrity check failed for {what}")
        return unflatten(order, values)


def _operational(
    rtype: str,
    order: list[str],
    fields: dict[str, Any],
    index: Sequence[tuple[str, bytes]],
    subject_id: str | object | None,
    stored_at: dt.datetime | None,
    stored_by: str | None,
) -> dict[str, Any]:
    """What a version's operational blob holds besides its fields."""
    codes = _CODE_OF[rtype]
    payload: dict[str, Any]
    if all(path in codes for path in order):
        payload = {"o": [codes[path] for path in order], "fields": _coded(rtype, fields)}
    else:  # a path without a number yet: the paths themselves
        payload = {"order": order, "fields": _coded(rtype, fields)}
    # Keyed values in base64 (43 characters), not hex (64); sealed even when there
    # are none, so that no index row can be added to a version that has none.
    payload["ix"] = [f"{kind}:{_b64(mac)}" for kind, mac in index]
    if rtype == "testimony":
        # The worker this version belongs to: the plaintext subject pointer beside it
        # (erasure, retention, k-anonymity) is checked against it.
        payload["subject"] = subject_id
    if stored_at is not None:
        # When the vault stored it, by its own clock: what retention counts from (the
        # stored_at column beside it is not authenticated).
        payload["stored_at"] = stored_at.isoformat()
    if stored_by is not None:
        # Who stored it, authenticated with it: a version's author.
        payload["stored_by"] = stored_by
    return payload


def _coded(rtype: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A class's fields keyed by their paths' numbers (a path without one yet as itself)."""
    keys = _KEY_OF[rtype]
    return {keys.get(path, path): value for path, value in fields.items()}


def _decoded(rtype: str, fields: Any, what: str) -> dict[str, Any]:
    """The fields of a sealed class keyed by their paths again, whichever way they
    were sealed (numbers since, paths before); a number beyond the table, or one path
    given twice, is tampering."""
    if not isinstance(fields, dict):
        raise IntegrityError(f"integrity check failed for {what}")
    paths = ORDER_CODES[rtype]
    out: dict[str, Any] = {}
    for key, value in fields.items():
        path = key
        if key.isascii() and key.isdigit():
            n = int(key)
            if n >= len(paths) or key != str(n):
                raise IntegrityError(f"integrity check failed for {what}")
            path = paths[n]
        if path in out:
            raise IntegrityError(f"integrity check failed for {what}")
        out[path] = value
    return out


def index_entry(kind: str, mac: bytes) -> str:
    """A blind-index value as a version's sealed entries are compared with it:
    ``kind:`` and the hex of the whole value."""
    return f"{kind}:{mac.hex()}"


def _b64(mac: bytes) -> str:
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _order_of(payload: dict[str, Any], rtype: str, what: str) -> list[str]:
    """The sealed field order: numbers into :data:`ORDER_CODES`, or (versions sealed
    before) the paths themselves."""
    coded = payload.get("o")
    if isinstance(coded, list):
        paths = ORDER_CODES[rtype]
        if not all(type(n) is int and 0 <= n < len(paths) for n in coded):
            raise IntegrityError(f"integrity check failed for {what}")
        return [paths[n] for n in coded]
    order = payload.get("order")
    if not isinstance(order, list):
        raise IntegrityError(f"integrity check failed for {what}")
    return order


def _fields_of(
    payload: dict[str, Any], rtype: str, what: str, subject_id: str | object | None
) -> tuple[list[str], dict[str, Any]]:
    order = _order_of(payload, rtype, what)
    fields = payload.get("fields")
    if not isinstance(fields, dict):
        raise IntegrityError(f"integrity check failed for {what}")
    _check_worker(payload, subject_id, what)
    return order, _decoded(rtype, fields, what)


def _check_worker(payload: dict[str, Any], subject_id: str | object | None, what: str) -> None:
    """A version sealed with a worker must be read beside that worker's pointer."""
    if subject_id is not _UNCHECKED and payload.get("subject", subject_id) != subject_id:
        raise IntegrityError(f"integrity check failed for {what} (its worker)")


def _index_of(payload: dict[str, Any], what: str) -> frozenset[str] | None:
    """The sealed blind-index entries as :func:`index_entry` gives them, whichever
    way they were sealed (base64 since, hex before); each value is whole."""
    coded = payload.get("ix")
    if coded is None:
        entries = payload.get("index")
        if entries is None:
            return None
        if not isinstance(entries, list):
            raise IntegrityError(f"integrity check failed for {what}")
        out = set()
        for entry in entries:
            kind, sep, value = entry.partition(":") if isinstance(entry, str) else ("", "", "")
            try:
                mac = bytes.fromhex(value)
            except ValueError:
                raise IntegrityError(f"integrity check failed for {what}") from None
            if not sep or not kind or len(mac) != BLIND_MAC_BYTES:
                raise IntegrityError(f"integrity check failed for {what}")
            out.add(index_entry(kind, mac))
        return frozenset(out)
    if not isinstance(coded, list):
        raise IntegrityError(f"integrity check failed for {what}")
    out = set()
    for entry in coded:
        kind, sep, value = entry.partition(":") if isinstance(entry, str) else ("", "", "")
        try:
            mac = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (ValueError, binascii.Error):
            raise IntegrityError(f"integrity check failed for {what}") from None
        if not sep or not kind or _b64(mac) != value or len(mac) != BLIND_MAC_BYTES:
            raise IntegrityError(f"integrity check failed for {what}")
        out.add(index_entry(kind, mac))
    return frozenset(out)


def _extras_of(payload: dict[str, Any], what: str) -> SealedExtras:
    index, stored = _index_of(payload, what), payload.get("stored_at")
    subject = payload.get("subject", _UNCHECKED)
    by = payload.get("stored_by")
    try:
        at = None if stored is None else dt.datetime.fromisoformat(str(stored))
    except (TypeError, ValueError):
        raise IntegrityError(f"integrity check failed for {what}") from None
    if by is not None and not isinstance(by, str):
        raise IntegrityError(f"integrity check failed for {what}")
    if subject is _UNCHECKED:
        return SealedExtras(index, at, False, None, by)
    if subject is not None and not isinstance(subject, str):
        raise IntegrityError(f"integrity check failed for {what}")
    return SealedExtras(index, at, True, subject, by)


def load_payload(raw: bytes, what: str) -> Any:
    """A decrypted class payload: a JSON object, or the record counts as tampered."""
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IntegrityError(f"integrity check failed for {what}") from None
    if not isinstance(value, dict):
        raise IntegrityError(f"integrity check failed for {what}")
    return value
