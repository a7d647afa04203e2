"""The key hierarchy above :mod:`vault.crypto`, and what each custodian holds.

::

    passphrase --Argon2id(salt, params)--> custodian key
    custodian key --AEAD unwrap--> keyring (bound to vault, custodian, role, grants)
    master key (random, 256 bits) --HKDF--> root keys:
        class/identity, class/special, class/narrative, class/operational,
        blind-index, reference, pseudonym, audit, signing-wrap
    class root --HKDF--> record KEK of that class, version n
    record KEK --wraps--> per-record, per-class data keys and (identity) subject keys

Invariants:

* An admin's keyring holds the master key. Any other custodian's keyring holds only
  the root keys their role and clearances need: a custodian without ``identity``
  holds no key from which an identity field can be opened, so no code path can
  show one. Asking a keyring for a key it does not hold raises
  :class:`~vault.errors.PermissionDeniedError`.
* The keyring is sealed with its custodian's name, role, classes and policy grants
  as associated data: editing the role or grants in the database makes the keyring
  fail to open, so the library's permission checks cannot be widened by a row edit.
* Derived keys are cached per open vault and leave this object only through typed
  accessors.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, TypeGuard

from vault import crypto
from vault.crypto import KdfParams, Passphrase, SecretKey, SigningKey
from vault.errors import AuthenticationError, IntegrityError, PermissionDeniedError

__all__ = [
    "ROLES",
    "Grant",
    "KeyClass",
    "Keyring",
    "Role",
    "is_role",
    "open_keyring",
    "seal_keyring",
    "seal_keyring_with_key",
]


class KeyClass(StrEnum):
    """The field classes that have keys of their own; a custodian may hold only some."""

    IDENTITY = "identity"
    SPECIAL = "special"
    NARRATIVE = "narrative"
    OPERATIONAL = "operational"


Role = Literal["admin", "custodian", "exporter", "auditor"]
ROLES: Final[tuple[Role, ...]] = ("admin", "custodian", "exporter", "auditor")


def is_role(value: str) -> TypeGuard[Role]:
    return value in ROLES


_PURPOSES: Final = ("reference", "pseudonym", "audit", "export-signing", "checkpoint")
# Not derived keys: the registry's public key (the anchor that checks signed rows) and
# a custodian's own approval seed travel sealed inside the keyring.
_ANCHOR: Final = "registry-public"
_APPROVAL: Final = "approval-seed"
# What each role needs besides class roots. Signing keys go only to the roles that
# sign: exports (export-signing opens the vault's export key) to exporters, audit
# checkpoints to auditors; admins hold the master key and so everything. (Keyrings
# made before this split hold a "signing-wrap" root: it opens only the export key of
# before the upgrade, which nobody trusts any more.)
_ROLE_PURPOSES: Final = {
    "admin": _PURPOSES,
    "custodian": ("reference", "pseudonym", "audit"),
    "exporter": ("reference", "pseudonym", "audit", "export-signing"),
    "auditor": ("audit", "reference", "checkpoint"),
}


@dataclass(frozen=True)
class Grant:
    """A custodian's role, field-class clearances and (for exporters) policies."""

    role: Role
    classes: frozenset[str] = field(default_factory=frozenset)
    policies: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_columns(cls, role: str, classes: str, policies: str) -> Grant:
        """A grant as stored: comma-separated classes and policies. A role this
        version does not know can only have been written by someone else."""
        if not is_role(role):
            raise IntegrityError("integrity check failed for a stored role")
        return cls(
            role,
            frozenset(c for c in classes.split(",") if c),
            frozenset(p for p in policies.split(",") if p),
        )

    def context(self) -> tuple[str, ...]:
        return (
            self.role,
            ",".join(sorted(self.classes)),
            ",".join(sorted(self.policies)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "classes": sorted(self.classes),
            "policies": sorted(self.policies),
        }


class Keyring:
    """The keys one unlocked custodian holds. Its repr never shows them."""

    __slots__ = ("_cache", "_roots", "vault_id")

    def __init__(self, vault_id: str, roots: dict[str, SecretKey]) -> None:
        self.vault_id = vault_id
        self._roots = dict(roots)
        self._cache: dict[str, SecretKey] = {}

    @classmethod
    def new(cls, vault_id: str) -> Keyring:
        return cls(vault_id, {"master": crypto.random_key()})

    def __repr__(self) -> str:
        return f"Keyring(vault_id={self.vault_id!r}, keys=[secure])"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Keyring cannot be pickled")

    @property
    def is_master(self) -> bool:
        return "master" in self._roots

    def holds_class(self, key_class: KeyClass) -> bool:
        return self.is_master or f"class/{key_class.value}" in self._roots

    def _root(self, name: str) -> SecretKey:
        key = self._roots.get(name)
        if key is not None:
            return key
        master = self._roots.get("master")
        if master is None:
            raise PermissionDeniedError(f"this custodian holds no key for {name}")
        key = crypto.derive_subkey(master, name, salt=self.vault_id.encode("ascii"))
        self._roots[name] = key
        return key

    def _derive(self, root: str, purpose: str) -> SecretKey:
        label = f"{root}|{purpose}"
        key = self._cache.get(label)
        if key is None:
            key = crypto.derive_subkey(self._root(root), purpose)
            self._cache[label] = key
        return key

    def class_kek(self, key_class: KeyClass, version: int) -> SecretKey:
        """The key-encryption key of a field class at a key version."""
        return self._derive(f"class/{key_class.value}", f"kek/v{version}")

    def file_digest_key(self) -> SecretKey:
        """The key of evidence files' keyed digests in the audit log: under the
        narrative root, held by exactly those who can open the files, and outside
        the versioned KEKs, so rotation leaves digests already logged verifiable."""
        return self._derive("class/narrative", "attachment-digest")

    def review_key(self) -> SecretKey:
        """The key of review decisions on free text: under the narrative root, held
        by exactly those who can read the text reviewed, and outside the versioned
        KEKs (a decision names offsets into a version, never its words)."""
        return self._derive("class/narrative", "review-decisions")

    def blind_index_key(self, kind: str) -> SecretKey:
        # Blind indexes are of identity values (employee id, phone, e-mail): whoever
        # could test guesses against them could recover identities, so they hang
        # under the identity class root.
        return self._derive("class/identity", f"blind-index/{kind}")

    def reference_key(self) -> SecretKey:
        return self._derive("reference", "record-reference")

    def source_index_key(self) -> SecretKey:
        # A record's id in the system it came from is no more sensitive than its own
        # id, so it hangs under the same root: every role that imports can match it.
        return self._derive("reference", "source-key-index")

    def pseudonym_root(self) -> SecretKey:
        return self._derive("pseudonym", "pseudonym-root")

    def audit_key(self) -> SecretKey:
        return self._derive("audit", "audit-mac")

    def export_wrap_key(self) -> SecretKey:
        """The key that seals the vault's export signing key: admins and exporters."""
        return self._derive("export-signing", "export-key-wrap")

    def checkpoint_signing_key(self) -> SigningKey:
        """The key that signs audit checkpoints: admins and auditors."""
        return SigningKey.from_seed(self._derive("checkpoint", "checkpoint-signing").expose())

    # Signed rows -------------------------------------------------------------------

    def registry_signing_key(self) -> SigningKey:
        """The key that signs the rows deciding who may see what: admins only."""
        if not self.is_master:
            raise PermissionDeniedError("only an admin holds the registry key")
        return SigningKey.from_seed(self._derive("registry", "registry-signing").expose())

    def registry_public(self) -> bytes | None:
        """The registry's public key: derived by an admin, carried (sealed with the rest
        of the keyring) by everyone else; None in a keyring made before it existed."""
        if self.is_master:
            return self.registry_signing_key().public_bytes()
        anchor = self._roots.get(_ANCHOR)
        return None if anchor is None else anchor.expose()

    def approval_signing_key(self, custodian: str) -> SigningKey | None:
        """The key that signs this custodian's approvals; None in a keyring made
        before approvals were signed."""
        if self.is_master:
            return SigningKey.from_seed(self._derive("approval", f"custodian/{custodian}").expose())
        seed = self._roots.get(_APPROVAL)
        return None if seed is None else SigningKey.from_seed(seed.expose())

    def with_anchor(self, registry_public: bytes) -> Keyring:
        """This keyring with the registry's public key added (a one-time upgrade of a
        keyring made before rows were signed)."""
        return Keyring(self.vault_id, {**self._roots, _ANCHOR: SecretKey(registry_public)})

    def restricted(self, grant: Grant, custodian: str | None = None) -> Keyring:
        """A keyring with only what ``grant`` allows (derived from this one); for a
        custodian, also the registry's public key and their own approval key."""
        if grant.role == "admin":
            return Keyring(self.vault_id, {"master": self._root("master")})
        names = [f"class/{c}" for c in sorted(grant.classes)]
        names += list(_ROLE_PURPOSES[grant.role])
        roots = {name: self._root(name) for name in names}
        public = self.registry_public()
        if public is not None:
            roots[_ANCHOR] = SecretKey(public)
        if custodian is not None:
            approval = self.approval_signing_key(custodian)
            if approval is not None:
                roots[_APPROVAL] = SecretKey(approval.seed())
        return Keyring(self.vault_id, roots)

    def to_payload(self) -> bytes:
        return json.dumps(
            {
                name: base64.b64encode(key.expose()).decode("ascii")
                for name, key in sorted(self._roots.items())
                if name == "master" or "master" not in self._roots
            }
        ).encode("ascii")

    @classmethod
    def from_payload(cls, vault_id: str, payload: bytes) -> Keyring:
        try:
            data = json.loads(payload)
            roots = {
                str(name): SecretKey(base64.b64decode(value, validate=True))
                for name, value in data.items()
            }
        except (ValueError, TypeError, AttributeError):
            raise IntegrityError("integrity check failed for the keyring") from None
        return cls(vault_id, roots)


def _keyring_context(vault_id: str, custodian: str, grant: Grant) -> tuple[str, ...]:
    return ("keyring", vault_id, custodian, *grant.context())


def seal_keyring_with_key(
    keyring: Keyring, key: SecretKey, label: Iterable[str], grant: Grant
) -> bytes:
    """Seal a keyring under a key that is not a passphrase (sessions, recovery)."""
    return crypto.seal(
        key, keyring.to_payload(), _keyring_context(keyring.vault_id, "/".join(label), grant)
    )


def seal_keyring(
    keyring: Keyring, custodian: str, grant: Grant, passphrase: Passphrase, params: KdfParams
) -> bytes:
    """Wrap a keyring for one custodian under their passphrase-derived key."""
    ckey = crypto.derive_passphrase_key(passphrase, params)
    return crypto.seal(
        ckey, keyring.to_payload(), _keyring_context(keyring.vault_id, custodian, grant)
    )


def open_keyring(
    vault_id: str,
    custodian: str,
    grant: Grant,
    sealed: bytes,
    *,
    passphrase: Passphrase | None = None,
    params: KdfParams | None = None,
    key: SecretKey | None = None,
    label: Iterable[str] | None = None,
) -> Keyring:
    """Unwrap a keyring; a wrong passphrase (or altered row) is an AuthenticationError."""
    if key is None:
        assert passphrase is not None
        assert params is not None
        key = crypto.derive_passphrase_key(passphrase, params)
        who = custodian
    else:
        who = "/".join(label or ())
    try:
        payload = crypto.open_sealed(key, sealed, _keyring_context(vault_id, who, grant))
    except IntegrityError:
        raise AuthenticationError(
            f"wrong passphrase for custodian {custodian!r} (or the key record was altered)"
        ) from None
    return Keyring.from_payload(vault_id, payload)
