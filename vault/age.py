"""age, the file encryption format of exports and backups (through ``pyrage``).

Recipients and identities are parsed and written here, for exports and backups
alike, and the streams of an export are encrypted and decrypted here.

Invariants: a recipient or identity that does not parse is an
:class:`~vault.errors.InvalidInputError` that never repeats the key text; an
identity file is created with mode 0600 and never over an existing file; a
decryption failure (wrong identity, altered or truncated ciphertext) is one
:class:`~vault.errors.IntegrityError` with the caller's message, never pyrage's;
an error raised by the producer of a stream being encrypted comes out as it was
raised, not as pyrage's own error; plaintext streamed out of a decryption goes
through a pipe, never a file.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

import pyrage

from vault.errors import IntegrityError, InvalidInputError, WrongRecipientError

__all__ = [
    "CHUNK",
    "decrypt_stream",
    "decrypting",
    "encrypt_chunks",
    "encrypt_stream",
    "identity_recipients",
    "load_identities",
    "new_identity",
    "parse_recipient",
    "write_age_identity",
]

CHUNK: Final = 64 * 1024
"""How many bytes a stream is read at a time."""


def parse_recipient(text: str) -> Any:
    """An age recipient (``age1…``) or SSH public key, or InvalidInputError."""
    value = text.strip()
    try:
        if value.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(value)
        if value.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return pyrage.ssh.Recipient.from_str(value)
    except pyrage.RecipientError:
        pass
    raise InvalidInputError("not an age public key (age1…) or SSH public key")


def new_identity() -> Any:
    """A fresh age X25519 identity; ``.to_public()`` is its recipient."""
    return pyrage.x25519.Identity.generate()


def write_age_identity(path: Path) -> str:
    """Create an age identity file (mode 0600, as age-keygen writes it); return its recipient."""
    identity = new_identity()
    public = str(identity.to_public())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"# public key: {public}\n{identity}\n")
    return public


def load_identities(path: Path) -> list[Any]:
    """age identities from a key file (as written by age-keygen)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidInputError("cannot read the identity file", where=str(path)) from None
    identities = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise InvalidInputError("not an age identity", where=f"{path}:line {lineno}") from None
    if not identities:
        raise InvalidInputError("no age identity in the file", where=str(path))
    return identities


def identity_recipients(identities: Sequence[Any]) -> list[str]:
    """The public keys (``age1…``) of identities: what a sender encrypts to."""
    return [str(identity.to_public()) for identity in identities]


class _IterReader:
    """A readable file over an iterator of bytes, for pyrage to pull from."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return self._read(size)
        except BaseException as exc:
            # pyrage turns any error into its own; keep ours to re-raise.
            self.error = exc
            raise

    def _read(self, size: int) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            out, self._buffer = bytes(self._buffer), bytearray()
        else:
            out = bytes(self._buffer[:size])
            del self._buffer[:size]
        return out


class _Sink:
    """A sink that remembers the operating-system error of a failed write: pyrage
    reports it only as its own EncryptError, and a full disk must be said as such."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._raw.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self._raw.flush()
        except OSError as exc:
            self.error = exc
            raise


def encrypt_chunks(chunks: Iterable[bytes], sink: IO[bytes], recipient: Any) -> None:
    """age-encrypt what ``chunks`` yields, to one recipient or to each of a list or
    tuple of them; errors of the producer, and of writing to ``sink``, come out as
    they were."""
    reader = _IterReader(chunks)
    out = _Sink(sink)
    recipients = list(recipient) if isinstance(recipient, (list, tuple)) else [recipient]
    if not recipients:
        raise ValueError("an age file needs at least one recipient")
    try:
        pyrage.encrypt_io(reader, out, recipients)
    except pyrage.EncryptError:
        if reader.error is not None:
            raise reader.error from None
        if out.error is not None:
            raise out.error from None
        raise


def encrypt_stream(plain: IO[bytes], sink: IO[bytes], recipient: Any) -> None:
    """age-encrypt a whole binary stream into ``sink``; a failed write comes out as
    the OSError it was."""
    out = _Sink(sink)
    try:
        pyrage.encrypt_io(plain, out, [recipient])
    except pyrage.EncryptError:
        if out.error is not None:
            raise out.error from None
        raise


def decrypt_stream(
    ciphertext: IO[bytes], sink: IO[bytes], identities: Sequence[Any], *, failure: str
) -> None:
    """Decrypt into ``sink`` and close it; a wrong identity, a flipped byte, a
    truncated file or a failed write are all IntegrityError(``failure``)."""
    try:
        with sink:
            pyrage.decrypt_io(ciphertext, sink, list(identities))
    except (pyrage.DecryptError, OSError, ValueError):
        raise IntegrityError(failure) from None


@contextlib.contextmanager
def decrypting(
    ciphertext: IO[bytes], identities: Sequence[Any], *, failure: str, no_key: str = ""
) -> Iterator[IO[bytes]]:
    """Stream the plaintext of ``ciphertext`` through a pipe (pyrage only pushes).

    When the reader is done, the rest of the plaintext is read and dropped, so that
    the whole ciphertext is authenticated; a decryption failure then raises
    IntegrityError(``failure``). An error raised by the reader wins over it, unless
    the identities open none of the file's recipient stanzas: then ``no_key`` (when
    given) says so, as a :class:`~vault.errors.WrongRecipientError`.
    """
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with os.fdopen(write_fd, "wb") as sink:
                pyrage.decrypt_io(ciphertext, sink, list(identities))
        except BaseException as exc:  # reported by the reader below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb") as plain:
            try:
                yield plain
            except IntegrityError:
                # A reader that ran out of plaintext because the key opens nothing
                # is told that, not that the file ended early.
                thread.join()
                if any(_no_matching_key(e) for e in errors):
                    if no_key:
                        raise WrongRecipientError(no_key) from None
                    raise IntegrityError(failure) from None
                raise
            # Drain so the writer never blocks on a full pipe.
            while plain.read(CHUNK):
                pass
    finally:
        # The pipe is closed by now: a writer still busy fails on it and ends.
        thread.join()
    if errors:
        if no_key and any(_no_matching_key(e) for e in errors):
            raise WrongRecipientError(no_key) from None
        raise IntegrityError(failure) from None


def _no_matching_key(exc: BaseException) -> bool:
    # pyrage says so only in its message: none of the file's recipient stanzas opens
    # with these identities (another recipient's file, or a damaged header).
    return isinstance(exc, pyrage.DecryptError) and "no matching keys" in str(exc).lower()
