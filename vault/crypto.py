"""The only module of Evidence Vault that touches cryptographic primitives.

Everything above this module speaks of sealing a value, opening it, wrapping a key
and computing a blind index; it never sees AES, nonces or HMAC. Invariants kept here:

* Keys are :class:`SecretKey` objects whose ``repr``/``str`` never show the bytes.
* Every sealed value is AES-256-GCM with a fresh 96-bit random nonce and a header
  ``b"EV" | format (1) | algorithm (1) | key version (4, big endian) | nonce (12)``.
  The associated data is the header followed by a length-prefixed *context* (vault
  id, record type, record reference, record version, field class, ...), so a
  ciphertext moved to another row, field, version or vault fails to open, and so
  does a header whose key version was altered.
* Every failure to open or unwrap is one opaque :class:`~vault.errors.IntegrityError`
  that names what the caller says (a record id), never why the check failed.
* Passphrases go through Argon2id (RFC 9106) with parameters stored beside the salt.
* Purpose keys come from HKDF-SHA256 with a purpose label as ``info``; blind indexes
  and references are HMAC-SHA256 under purpose keys, never plain hashes.
* Randomness comes from ``os.urandom`` only: keys, nonces and identifiers are cut
  from blocks of it (:class:`_Randomness`), each byte handed out once, and a forked
  child never starts with its parent's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.errors import IntegrityError, InvalidInputError, UsageError

__all__ = [
    "KEY_SIZE",
    "STREAM_CHUNK",
    "Context",
    "KdfParams",
    "Passphrase",
    "SecretKey",
    "SigningKey",
    "blind_index",
    "blob_key_version",
    "constant_time_equal",
    "derive_passphrase_key",
    "derive_subkey",
    "hmac_sha256",
    "keyed_reference",
    "open_sealed",
    "public_key_fingerprint",
    "public_key_from_pem",
    "public_key_pem",
    "random_key",
    "random_token",
    "seal",
    "sha256",
    "sha256_hasher",
    "stream_open_chunk",
    "stream_seal_chunk",
    "unwrap_key",
    "verify_signature",
    "wrap_key",
]

KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
_MAGIC: Final = b"EV"
_FORMAT: Final = 1
_ALG_AES256GCM: Final = 1
_HEADER = struct.Struct(">2sBBI12s")
_LENGTH = struct.Struct(">I")
HEADER_SIZE: Final = _HEADER.size

ContextPart = str | int | bytes


class Context(bytes):
    """Associated data, encoded once (length-prefixed, typed parts).

    Build with :meth:`of` and add parts with :meth:`extend`; encoding a record's
    common prefix once keeps sealing a record's classes cheap.
    """

    __slots__ = ()

    @classmethod
    def of(cls, *parts: ContextPart) -> Context:
        return cls(_encode_context(parts))

    def extend(self, *parts: ContextPart) -> Context:
        return Context(self + _encode_context(parts))


AnyContext = Context | Sequence[ContextPart]


def _context_bytes(context: AnyContext) -> bytes:
    return context if isinstance(context, Context) else _encode_context(context)


class SecretKey:
    """A 256-bit symmetric key. Its repr and str never show the key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("a SecretKey is 32 bytes")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "SecretKey([secure])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretKey):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return id(self)

    def __reduce__(self) -> Any:
        raise TypeError("a SecretKey cannot be pickled")

    def expose(self) -> bytes:
        """The raw key, for this module and for tests that need known answers."""
        return self._key


class Passphrase:
    """A custodian passphrase. Its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise UsageError("a passphrase is a string")
        if not value:
            raise InvalidInputError("the passphrase is empty")
        self._value = value

    def __repr__(self) -> str:
        return "Passphrase([secure])"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Passphrase cannot be pickled")

    def encode(self) -> bytes:
        return self._value.encode("utf-8")

    def __len__(self) -> int:
        return len(self._value)


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in the vault beside the salt.

    The defaults are RFC 9106's second recommended option (64 MiB, t=3, p=4) with a
    16-byte salt.
    """

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def __post_init__(self) -> None:
        if self.memory_kib < 8 * self.parallelism or self.time_cost < 1 or self.parallelism < 1:
            raise InvalidInputError("Argon2id parameters out of range")
        if len(self.salt) < 16:
            raise InvalidInputError("the Argon2id salt must be at least 16 bytes")

    def with_new_salt(self) -> KdfParams:
        return KdfParams(self.memory_kib, self.time_cost, self.parallelism)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": "argon2id",
            "version": 19,
            "memory_kib": self.memory_kib,
            "time_cost": self.time_cost,
            "parallelism": self.parallelism,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KdfParams:
        if data.get("algorithm") != "argon2id" or data.get("version") != 19:
            raise IntegrityError("unsupported key-derivation parameters")
        try:
            return cls(
                memory_kib=int(data["memory_kib"]),
                time_cost=int(data["time_cost"]),
                parallelism=int(data["parallelism"]),
                salt=base64.b64decode(data["salt"], validate=True),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise IntegrityError("malformed key-derivation parameters") from exc


class _Randomness:
    """Bytes of ``os.urandom``, drawn a block at a time and cut into keys, nonces and
    identifiers: sealing a record takes a dozen of them, and one system call each
    cost more than the sealing. Every byte is handed out once (a lock keeps threads
    apart), and a forked child starts with none (:meth:`forget`, run at fork), so
    no two processes ever hand out the same bytes."""

    BLOCK: Final = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._used = 0

    def __repr__(self) -> str:
        return "_Randomness([secure])"

    def take(self, n: int) -> bytes:
        if n > self.BLOCK // 4:
            return os.urandom(n)
        with self._lock:
            start = self._used
            if start + n > len(self._block):
                self._block, start = os.urandom(self.BLOCK), 0
            self._used = start + n
            return self._block[start : start + n]

    def forget(self) -> None:
        # A lock another thread held at the fork would stay held in the child.
        self._lock = threading.Lock()
        self._block, self._used = b"", 0


_RANDOM: Final = _Randomness()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RANDOM.forget)


def random_key() -> SecretKey:
    return SecretKey(_RANDOM.take(KEY_SIZE))


def random_token(nbytes: int = 16) -> str:
    """A random identifier (hex); not a key."""
    return _RANDOM.take(nbytes).hex()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def derive_passphrase_key(passphrase: Passphrase, params: KdfParams) -> SecretKey:
    """Argon2id(passphrase, salt) -> the custodian key that unwraps the keyring."""
    raw = hash_secret_raw(
        secret=passphrase.encode(),
        salt=params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_SIZE,
        type=Type.ID,
    )
    return SecretKey(raw)


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes, length: int) -> bytes:
    # The one HKDF-SHA256 call (RFC 5869); tested against the RFC's vectors.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    # The one AES-256-GCM encryption call; tested against NIST CAVS vectors.
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def _aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes, what: str) -> bytes:
    # The one AES-256-GCM decryption call: the tag is checked before anything is
    # released, and every failure becomes the same opaque IntegrityError.
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, ValueError):
        raise IntegrityError(f"integrity check failed for {what}") from None


def derive_subkey(root: SecretKey, purpose: str, *, salt: bytes = b"") -> SecretKey:
    """HKDF-SHA256(root, salt, info=purpose): one key per purpose, independent of the others."""
    info = b"evidence-vault/" + purpose.encode("utf-8")
    return SecretKey(_hkdf(root.expose(), salt or None, info, KEY_SIZE))


def _encode_context(context: Sequence[ContextPart]) -> bytes:
    # Length-prefixed and typed, so that ("ab", "c") and ("a", "bc") never collide:
    # each part is its length (4 bytes, big-endian, counting the type byte), a type
    # byte and its bytes. Every record opened pays for this: it stays plain.
    out = bytearray()
    for part in context:
        kind = type(part)
        if kind is str:
            raw = part.encode("utf-8")  # type: ignore[union-attr]
            tag = b"s"
        elif kind is bytes or isinstance(part, bytes):
            raw = part
            tag = b"b"
        elif kind is int:
            raw = b"%d" % part  # type: ignore[str-format]
            tag = b"i"
        elif isinstance(part, str):
            raw = part.encode("utf-8")
            tag = b"s"
        else:
            raise TypeError("context parts are str, int or bytes")
        out += _LENGTH.pack(len(raw) + 1)
        out += tag
        out += raw
    return bytes(out)


def _seal_from_parts(
    key: SecretKey, nonce: bytes, plaintext: bytes, context: AnyContext, key_version: int
) -> bytes:
    # Deterministic core of :func:`seal`, exposed for known-answer tests only.
    header = _HEADER.pack(_MAGIC, _FORMAT, _ALG_AES256GCM, key_version, nonce)
    aad = header + _context_bytes(context)
    return header + _aead_encrypt(key.expose(), nonce, plaintext, aad)


def seal(key: SecretKey, plaintext: bytes, context: AnyContext, *, key_version: int = 0) -> bytes:
    """Encrypt and authenticate ``plaintext`` bound to ``context`` and ``key_version``."""
    return _seal_from_parts(key, _RANDOM.take(NONCE_SIZE), plaintext, context, key_version)


def blob_key_version(blob: bytes) -> int:
    """The key version a sealed blob claims; unverified until the blob is opened."""
    if len(blob) < HEADER_SIZE + TAG_SIZE or blob[:2] != _MAGIC:
        raise IntegrityError("integrity check failed")
    return int(_HEADER.unpack_from(blob)[3])


def open_sealed(key: SecretKey, blob: bytes, context: AnyContext, *, what: str = "value") -> bytes:
    """Verify and decrypt a sealed blob; any failure is one opaque IntegrityError."""
    try:
        magic, fmt, alg, _version, nonce = _HEADER.unpack_from(blob)
    except struct.error:
        raise IntegrityError(f"integrity check failed for {what}") from None
    if magic != _MAGIC or fmt != _FORMAT or alg != _ALG_AES256GCM:
        raise IntegrityError(f"integrity check failed for {what}")
    header = blob[:HEADER_SIZE]
    aad = header + _context_bytes(context)
    return _aead_decrypt(key.expose(), nonce, blob[HEADER_SIZE:], aad, what)


_WRAPPED_KEY = Context.of("wrapped-key")


STREAM_CHUNK: Final = 64 * 1024


def _stream_nonce(index: int, last: bool) -> bytes:
    # STREAM (as in age): an 11-byte big-endian chunk counter and a last-chunk flag.
    # Each file has its own key, so the counter alone never repeats a nonce.
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def stream_seal_chunk(
    key: SecretKey, stream_id: str, index: int, chunk: bytes, *, last: bool
) -> bytes:
    """Seal chunk ``index`` of a file; its position and the last flag are bound in."""
    aad = _encode_context(("stream", stream_id, index))
    return _aead_encrypt(key.expose(), _stream_nonce(index, last), chunk, aad)


def stream_open_chunk(
    key: SecretKey, stream_id: str, index: int, sealed: bytes, *, last: bool, what: str
) -> bytes:
    """Open one chunk; a moved, reordered, truncated or altered chunk fails here."""
    aad = _encode_context(("stream", stream_id, index))
    return _aead_decrypt(key.expose(), _stream_nonce(index, last), sealed, aad, what)


def sha256_hasher() -> Any:
    """An incremental SHA-256 (chain of custody of files)."""
    return hashlib.sha256()


def wrap_key(kek: SecretKey, key: SecretKey, context: AnyContext, *, key_version: int = 0) -> bytes:
    """Seal a data key under a key-encryption key, bound to where it is used.

    The "wrapped-key" label keeps a wrapped key from ever opening as a sealed value.
    """
    aad = Context(_WRAPPED_KEY + _context_bytes(context))
    return seal(kek, key.expose(), aad, key_version=key_version)


def unwrap_key(kek: SecretKey, blob: bytes, context: AnyContext, *, what: str = "key") -> SecretKey:
    raw = open_sealed(kek, blob, Context(_WRAPPED_KEY + _context_bytes(context)), what=what)
    if len(raw) != KEY_SIZE:
        raise IntegrityError(f"integrity check failed for {what}")
    return SecretKey(raw)


def blind_index(key: SecretKey, kind: str, normalized: str) -> bytes:
    """HMAC-SHA256 of a normalized value: equal inputs match, nothing else is learned."""
    msg = kind.encode("utf-8") + b"\x00" + normalized.encode("utf-8")
    return hmac.digest(key.expose(), msg, hashlib.sha256)


def hmac_sha256(key: SecretKey, data: bytes) -> bytes:
    """HMAC-SHA256 (audit chain links)."""
    return hmac.digest(key.expose(), data, hashlib.sha256)


def keyed_reference(key: SecretKey, *parts: str) -> str:
    """A stable, keyed, non-reversible reference (hex, 128 bits) for a record id."""
    return hmac.digest(key.expose(), _encode_context(parts), hashlib.sha256)[:16].hex()


class SigningKey:
    """The vault's Ed25519 key for signing manifests and checkpoints. Repr hides it."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        try:
            return cls(Ed25519PrivateKey.from_private_bytes(seed))
        except ValueError:
            raise IntegrityError("integrity check failed for the signing key") from None

    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return "SigningKey([secure])"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a SigningKey cannot be pickled")


def verify_signature(public_key: bytes, signature: bytes, message: bytes, *, what: str) -> None:
    """Raise IntegrityError unless ``signature`` is a valid Ed25519 signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise IntegrityError(f"signature verification failed for {what}") from None


def public_key_pem(public_key: bytes) -> bytes:
    """An Ed25519 public key as SubjectPublicKeyInfo PEM (what openssl reads)."""
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_from_pem(data: bytes) -> bytes:
    """The raw Ed25519 public key in a PEM (or hex) text; ValueError if it is none."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            raw = bytes.fromhex(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise ValueError("not a PEM or hex Ed25519 public key") from None
        Ed25519PublicKey.from_public_bytes(raw)
        return raw
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_fingerprint(public_key: bytes | str) -> str:
    """SHA-256 fingerprint of a public key (raw bytes or its text form), as hex."""
    data = public_key.encode("utf-8") if isinstance(public_key, str) else public_key
    return hashlib.sha256(data).hexdigest()


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (hashes of export lines, policies, manifests)."""
    return hashlib.sha256(data).digest()
