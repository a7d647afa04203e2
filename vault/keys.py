"""The key hierarchy above :mod:`vault.crypto`.

::

    passphrase --Argon2id(salt, params)--> custodian key
    custodian key --AEAD unwrap--> keyring (the vault master key, 256 bits, random)
    master key --HKDF--> class root keys (identity, special, narrative, operational)
                         blind-index key, record-reference key, pseudonym root key,
                         audit MAC key, signing-key wrapping key
    class root --HKDF--> record KEK of that class, version n
    record KEK --wraps--> per-record, per-class data keys and (identity) subject keys

Invariants: derived keys are cached per open vault and never leave this object
except through the typed accessors; the keyring is sealed to its custodian's name
and the vault id, so a keyring row copied to another custodian or vault fails.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from vault import crypto
from vault.crypto import KdfParams, Passphrase, SecretKey
from vault.errors import AuthenticationError, IntegrityError
from vault.schema import KeyClass

__all__ = ["Keyring", "open_keyring", "seal_keyring"]


class Keyring:
    """The keys one unlocked custodian holds. Its repr never shows them."""

    __slots__ = ("_cache", "_master", "vault_id")

    def __init__(self, vault_id: str, master: SecretKey) -> None:
        self.vault_id = vault_id
        self._master = master
        self._cache: dict[str, SecretKey] = {}

    def __repr__(self) -> str:
        return f"Keyring(vault_id={self.vault_id!r}, keys=[secure])"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Keyring cannot be pickled")

    def _derive(self, purpose: str) -> SecretKey:
        key = self._cache.get(purpose)
        if key is None:
            key = crypto.derive_subkey(self._master, purpose, salt=self.vault_id.encode("ascii"))
            self._cache[purpose] = key
        return key

    def class_kek(self, key_class: KeyClass, version: int) -> SecretKey:
        """The key-encryption key of a field class at a key version."""
        return self._derive(f"kek/{key_class.value}/v{version}")

    def blind_index_key(self, kind: str) -> SecretKey:
        return self._derive(f"blind-index/{kind}")

    def reference_key(self) -> SecretKey:
        return self._derive("record-reference")

    def pseudonym_root(self) -> SecretKey:
        return self._derive("pseudonym-root")

    def audit_key(self) -> SecretKey:
        return self._derive("audit-mac")

    def signing_wrap_key(self) -> SecretKey:
        return self._derive("signing-key-wrap")

    def to_payload(self) -> bytes:
        return json.dumps(
            {"master": base64.b64encode(self._master.expose()).decode("ascii")}
        ).encode("ascii")


def _keyring_context(vault_id: str, custodian: str) -> tuple[str, ...]:
    return ("keyring", vault_id, custodian)


def seal_keyring(
    keyring: Keyring, custodian: str, passphrase: Passphrase, params: KdfParams
) -> bytes:
    """Wrap the keyring for one custodian under their passphrase-derived key."""
    ckey = crypto.derive_passphrase_key(passphrase, params)
    return crypto.seal(ckey, keyring.to_payload(), _keyring_context(keyring.vault_id, custodian))


def open_keyring(
    vault_id: str, custodian: str, passphrase: Passphrase, params: KdfParams, sealed: bytes
) -> Keyring:
    """Unwrap a custodian's keyring; a wrong passphrase is an AuthenticationError."""
    ckey = crypto.derive_passphrase_key(passphrase, params)
    try:
        payload = crypto.open_sealed(ckey, sealed, _keyring_context(vault_id, custodian))
    except IntegrityError:
        raise AuthenticationError(
            f"wrong passphrase for custodian {custodian!r} (or the key record was altered)"
        ) from None
    try:
        master = base64.b64decode(json.loads(payload)["master"], validate=True)
        return Keyring(vault_id, SecretKey(master))
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("integrity check failed for the keyring") from None
