"""The :class:`Vault` facade: the operations the CLI, the HTTP API and other tools call.

Each method checks only its arguments' types (:mod:`vault.arguments`: a wrong type
is UsageError, never a TypeError) and does nothing itself: it hands its arguments to
the service module of its concern (:mod:`vault.ingest`, :mod:`vault.reads`,
:mod:`vault.custody`, :mod:`vault.attachments`, :mod:`vault.tokens`,
:mod:`vault.sharing`, :mod:`vault.lifecycle`, :mod:`vault.auditing`,
:mod:`vault.backup`, :mod:`vault.checking`) together with the vault's one
:class:`~vault.context.Context`.
The services keep the invariants: every write is one transaction, records are never
overwritten, role and key checks come first, and nothing logs, prints or puts a
record value in an exception message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self, overload

from vault.arguments import checked, checked_class
from vault.audit import AuditRecord, AuditReport, Checkpoint
from vault.context import Context, ProgressCallback
from vault.crypto import KdfParams, Passphrase
from vault.decisions import Decision
from vault.errors import InvalidInputError, UsageError, VaultError
from vault.keys import Grant, Role
from vault.lazy import lazy_module
from vault.pacing import CHUNK_RECORDS, REWRAP_BATCH
from vault.presets import vault_policy_dirs
from vault.progress import Progress
from vault.reads import RecordSummary, VersionInfo
from vault.schema import RECORD_TYPES

if TYPE_CHECKING:
    from vault import (
        attachments,
        auditing,
        backup,
        checking,
        crypto,
        custody,
        ingest,
        journal,
        lifecycle,
        partners,
        precheck,
        reads,
        receiving,
        review,
        sharing,
        sources,
        stats,
        store,
        tokens,
        unlock,
        uploads,
    )
    from vault import mapping as mapping_module
    from vault import policy as policy_module
    from vault import report as report_module
    from vault.attachments import AttachmentInfo
    from vault.edits import MatchKey, OnConflict
    from vault.filesource import AttachmentSource
    from vault.ingest import ImportResult
    from vault.policy import Policy
    from vault.precheck import ImportCheck
    from vault.report import Report
    from vault.sources import CsvOptions
    from vault.tables import Statistics
else:
    # The services load when a method first needs them (vault/lazy.py): opening a
    # vault to read a record loads no media library, statistics or backup code.
    attachments = lazy_module("vault.attachments")
    auditing = lazy_module("vault.auditing")
    backup = lazy_module("vault.backup")
    checking = lazy_module("vault.checking")
    crypto = lazy_module("vault.crypto")
    custody = lazy_module("vault.custody")
    ingest = lazy_module("vault.ingest")
    journal = lazy_module("vault.journal")
    lifecycle = lazy_module("vault.lifecycle")
    partners = lazy_module("vault.partners")
    precheck = lazy_module("vault.precheck")
    reads = lazy_module("vault.reads")
    receiving = lazy_module("vault.receiving")
    review = lazy_module("vault.review")
    sharing = lazy_module("vault.sharing")
    stats = lazy_module("vault.stats")
    store = lazy_module("vault.store")
    tokens = lazy_module("vault.tokens")
    unlock = lazy_module("vault.unlock")
    uploads = lazy_module("vault.uploads")
    report_module = lazy_module("vault.report")
    mapping_module = lazy_module("vault.mapping")
    policy_module = lazy_module("vault.policy")
    sources = lazy_module("vault.sources")

# Classes the facade's annotations name, loaded when a method first checks them.
_LAZY_NAMES = {
    "AttachmentSource": "vault.filesource",
    "CsvOptions": "vault.sources",
    "MatchKey": "vault.edits",
    "OnConflict": "vault.edits",
    "Policy": "vault.policy",
}

__all__ = ["RecordSummary", "Vault", "VersionInfo", "load_policy"]


@checked
def load_policy(
    name_or_path: str | os.PathLike[str],
    policy_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Policy:
    """A redaction policy, validated: a file by its path (``my-policy.yaml``), else a
    ``NAME.yaml`` in one of ``policy_dirs`` (an open vault's ``policy_dirs``: its
    folder's ``policies/``), else a shipped policy by name (``union``, ``monitor``,
    ``buyers``, ``public``).

    The command line, :meth:`Vault.export` and the server find a name the same way.
    An unknown name is NotFoundError, a bad file InvalidInputError naming its line,
    anything but a name or path UsageError.
    """
    if isinstance(policy_dirs, str | os.PathLike) or not isinstance(policy_dirs, Iterable):
        raise UsageError("policy_dirs is a list of folders")
    dirs = []
    for folder in policy_dirs:
        if not isinstance(folder, str | os.PathLike):
            raise UsageError("policy_dirs is a list of folders")
        dirs.append(Path(folder))
    return policy_module.find_policy(name_or_path, tuple(dirs))


class Vault:
    """An unlocked vault. Use :meth:`create` or :meth:`open`, ideally as a context manager.

    >>> with Vault.open(folder, passphrase) as v:      # doctest: +SKIP
    ...     v.get("T-0001")
    """

    def __init__(
        self,
        ctx: Context,
        location: str,
        *,
        owns_engine: bool = True,
        policy_dirs: tuple[Path, ...] = (),
    ) -> None:
        self._ctx = ctx
        self.location = location
        #: Where policies named by name are looked for before the shipped ones: the
        #: vault folder's ``policies/`` (see :func:`load_policy`).
        self.policy_dirs = policy_dirs
        self._owns_engine = owns_engine
        self._closed = False
        self._tokens = tokens.TokenViews(ctx)

    def __repr__(self) -> str:
        return f"Vault(vault_id={self.vault_id!r}, custodian={self.custodian!r})"

    @property
    def vault_id(self) -> str:
        return self._ctx.vault_id

    @property
    def custodian(self) -> str:
        """Who acts: a custodian's name, or ``token:NAME`` for a token's view."""
        return self._ctx.actor

    @property
    def grant(self) -> Grant:
        return self._ctx.grant

    @property
    def role(self) -> Role:
        return self._ctx.role

    @property
    def identity_approvals(self) -> int:
        """How many other custodians must approve a look at a worker's identity."""
        return self._ctx.identity_approvals

    @property
    def min_kek_version(self) -> int:
        """The oldest key version this vault still opens."""
        return self._ctx.codec.min_version

    @property
    def backend(self) -> str:
        """The database: ``sqlite`` or ``postgresql``."""
        return store.backend(self._ctx.engine)

    @property
    def single_writer(self) -> bool:
        """Whether the database takes one writer at a time (SQLite): a server gains
        nothing from more than one thread of vault work."""
        return store.single_writer(self._ctx.engine)

    def no_wait(self) -> contextlib.AbstractContextManager[None]:
        """Within this block a write that would have to wait for another process's
        write fails at once with StorageError instead (SQLite): for callers that must
        not block, such as an event loop, and will do the work elsewhere."""
        return store.no_wait()

    # Lifecycle ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str] | None,
        passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str = "admin",
        kdf: KdfParams | None = None,
        identity_approvals: int = 1,
    ) -> Self:
        """Create a new vault (a folder with one SQLite file, or a database URL).

        ``identity_approvals`` is how many other custodians must approve before
        anyone sees a worker's identity fields (0 turns the requirement off).
        """
        ctx = unlock.create(
            path,
            passphrase,
            db_url=db_url,
            custodian=custodian,
            kdf=kdf,
            identity_approvals=identity_approvals,
        )
        return cls(ctx, unlock.describe(path, db_url), policy_dirs=vault_policy_dirs(path))

    @staticmethod
    def require_existing(path: str | os.PathLike[str] | None, *, db_url: str | None = None) -> None:
        """Raise NotFoundError if there is no vault at ``path`` (an SQLite folder):
        for front-ends that check before asking for a passphrase."""
        unlock.require_existing(path, db_url)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str | None = None,
    ) -> Self:
        """Unlock an existing vault with a custodian's passphrase."""
        ctx = unlock.open_with_passphrase(path, passphrase, db_url=db_url, custodian=custodian)
        return cls(ctx, unlock.describe(path, db_url), policy_dirs=vault_policy_dirs(path))

    @classmethod
    def open_session(
        cls,
        path: str | os.PathLike[str] | None,
        token: str,
        *,
        db_url: str | None = None,
    ) -> Self:
        """Open a vault with an unlock-session token (no passphrase, no Argon2id)."""
        ctx = unlock.open_with_session(path, token, db_url=db_url)
        return cls(ctx, unlock.describe(path, db_url), policy_dirs=vault_policy_dirs(path))

    @classmethod
    def recover(
        cls,
        path: str | os.PathLike[str] | None,
        shares: Iterable[str],
        new_passphrase: Passphrase,
        *,
        db_url: str | None = None,
        custodian: str = "admin",
        kdf: KdfParams | None = None,
    ) -> Self:
        """Restore access with recovery shares: set a new passphrase for an admin."""
        ctx = unlock.recover(
            path, shares, new_passphrase, db_url=db_url, custodian=custodian, kdf=kdf
        )
        return cls(ctx, unlock.describe(path, db_url), policy_dirs=vault_policy_dirs(path))

    def close(self) -> None:
        if not self._closed:
            # Reads journaled while the log could not take them go into it now, if
            # it can; otherwise they stay for the next close (and `evault check`).
            with contextlib.suppress(VaultError, OSError, ValueError):
                journal.drain(self._ctx)
            self._ctx.witness.flush()
            if self._owns_engine:
                self._ctx.engine.dispose()
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def change_passphrase(self, new: Passphrase, *, kdf: KdfParams | None = None) -> None:
        """Rewrap this custodian's keyring under a new passphrase (fresh salt)."""
        custody.change_passphrase(self._ctx, new, kdf)

    # Custodians, sessions, approvals, recovery -------------------------------------

    def add_custodian(
        self,
        name: str,
        passphrase: Passphrase,
        *,
        role: str,
        classes: Iterable[str] = (),
        policies: Iterable[Policy | str] = (),
        kdf: KdfParams | None = None,
    ) -> None:
        """Add a custodian with their own passphrase, role and field-class clearances.

        Custodians and exporters always hold the operational class (every record
        needs it); an auditor holds no record keys at all. An exporter is granted
        policies by their exact text: a policy (or a shipped policy's name) is
        recorded with its SHA-256, so a different file with the same name is refused.
        """
        custody.add_custodian(
            self._ctx,
            name,
            passphrase,
            role=role,
            classes=classes,
            policies=self._policies(policies),
            kdf=kdf,
        )

    def remove_custodian(self, name: str) -> None:
        """Remove a custodian: their sealed keys are deleted; their passphrase opens nothing."""
        custody.remove_custodian(self._ctx, name)

    def custodians(self) -> list[custody.CustodianInfo]:
        """Custodians with their roles and clearances."""
        return custody.custodians(self._ctx)

    def unlock(self, ttl: dt.timedelta = dt.timedelta(minutes=15)) -> tuple[str, dt.datetime]:
        """Start a session; returns the token (for EVAULT_SESSION) and its expiry."""
        return custody.start_session(self._ctx, ttl)

    def lock(self, token: str) -> None:
        """End a session (its sealed keys are deleted)."""
        custody.end_session(self._ctx, token)

    def request_identity(self, record_id: str, reason: str) -> str:
        """Ask to see a worker's identity fields; returns the request id."""
        return custody.request_identity(self._ctx, record_id, reason)

    def decide_identity(self, request_id: str, *, approve: bool) -> None:
        """Approve or refuse another custodian's identity request."""
        custody.decide_identity(self._ctx, request_id, approve=approve)

    def identity_requests(self) -> list[custody.IdentityRequestInfo]:
        """Identity requests with their reasons and decisions."""
        return custody.identity_requests(self._ctx)

    def recovery_split(
        self,
        shares: int,
        threshold: int,
        *,
        stage: Callable[[list[str]], None] | None = None,
    ) -> list[str]:
        """Create ``shares`` SLIP-39 recovery shares, any ``threshold`` of which restore.
        ``stage`` gets them before the vault keeps their key: if it fails, nothing
        changes and the old shares still open."""
        return custody.recovery_split(self._ctx, shares, threshold, stage)

    # Evidence files ------------------------------------------------------------------

    def attach(
        self,
        record_id: str,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        description: str | None = None,
        name: str | None = None,
        again: bool = False,
        progress: Progress | None = None,
    ) -> AttachmentInfo:
        """Seal a file (a path, or a binary stream with ``name``) to a record, streamed:
        in one transaction, or on SQLite in chunks of about 8 MiB or a second each, the
        file invisible until the last of them commits. ``progress`` is called with the
        bytes of the file in each committed chunk.

        The intake SHA-256, size, detected media type, custodian and time go into the
        audit log: the chain of custody. A file the record holds already (the same
        bytes) is not stored twice: the existing one comes back with ``existing=True``
        (and an ``attachment-exists`` audit entry), unless ``again`` is true.
        ``progress(stage, done, total)`` hears of the bytes read (see
        :mod:`vault.progress`).
        """
        return uploads.attach(
            self._ctx,
            record_id,
            source,
            description=description,
            name=name,
            again=again,
            progress=progress,
        )

    def attachments(self, record_id: str) -> list[AttachmentInfo]:
        """The evidence files of a record (name, description, type, size, SHA-256)."""
        return attachments.attachments_of(self._ctx, record_id)

    def extract(
        self,
        attachment_id: str,
        out: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> AttachmentInfo:
        """Write the original file, byte for byte, after verifying every chunk;
        ``progress`` hears of the bytes written."""
        return attachments.extract(self._ctx, attachment_id, out, progress)

    def verify_attachment(self, attachment_id: str) -> AttachmentInfo:
        """Re-hash the decrypted file against its intake SHA-256; raises on mismatch."""
        return attachments.verify_attachment(self._ctx, attachment_id)

    # API tokens ----------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        *,
        role: str,
        classes: Iterable[str] = (),
        policies: Iterable[Policy | str] = (),
        expires: dt.timedelta | None = None,
    ) -> tuple[str, tokens.NewToken]:
        """A bearer token for the HTTP API; returned once, stored only as a hash."""
        return tokens.create(
            self._ctx,
            name,
            role=role,
            classes=classes,
            policies=self._policies(policies),
            expires=expires,
        )

    def tokens(self) -> list[tokens.TokenInfo]:
        """API tokens (never the token itself)."""
        return tokens.list_tokens(self._ctx)

    def revoke_token(self, name: str) -> None:
        """Revoke an API token at once."""
        tokens.revoke(self._ctx, name)

    def for_token(self, token: str) -> Vault:
        """A view of this (admin-unlocked) vault restricted to a token's grant: the
        library's role checks and the keys themselves then bound what it can do.

        Every transaction the view opens first checks, inside that transaction, that
        the token is still live, so a revocation or expiry ends even a view already
        handed out. What a valid token was granted is kept in memory (grants never
        change), so a request costs no extra round trip to the database.
        """
        return Vault(
            self._tokens.view(token),
            self.location,
            owns_engine=False,
            policy_dirs=self.policy_dirs,
        )

    def known_token_view(self, token: str) -> Vault | None:
        """:meth:`for_token` for a token this vault has already authenticated, without
        touching the database (the view's transactions still check the token), or
        None. Cheap enough to call where blocking is not allowed."""
        ctx = self._tokens.known_view(token)
        if ctx is None:
            return None
        return Vault(ctx, self.location, owns_engine=False, policy_dirs=self.policy_dirs)

    def check_token(self, token: str) -> None:
        """AuthenticationError unless ``token`` exists, is not revoked and has not
        expired (the check every transaction of a token's view makes)."""
        self._tokens.check(token)

    # Backups, rotation, erasure, retention -----------------------------------------

    def backup(
        self,
        out: str | os.PathLike[str],
        recipient: str,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """An age-encrypted, consistent snapshot of an SQLite vault (for PostgreSQL,
        use pg_dump). ``recipient`` is a registered recipient's name or an age key.
        A damaged vault (see :meth:`check`) is refused with IntegrityError unless
        ``force``. ``progress`` hears of the check, the copy and the encryption."""
        return backup.backup(self._ctx, out, recipient, force=force, progress=progress)

    def check(self, *, progress: ProgressCallback | None = None) -> checking.CheckRun:
        """Check the whole vault: iterate the result for each damaged table, row,
        record version, worker key or file (named, never shown), then read its
        ``summary``; ``verdict()`` raises IntegrityError if anything was damaged.
        ``progress`` is called with the records of each checked batch."""
        return checking.check(self._ctx, progress=progress)

    def rotate_keys(
        self,
        *,
        reencrypt: bool = False,
        batch: int = REWRAP_BATCH,
        progress: Progress | None = None,
    ) -> lifecycle.RotationReport:
        """New KEK version; rewrap every data and subject key (resumable, in batches).
        ``progress(stage, done, total)`` hears of the keys rewrapped."""
        return lifecycle.rotate(self._ctx, reencrypt=reencrypt, batch=batch, progress=progress)

    def retire_keys(self, below: int) -> None:
        """Refuse to open anything wrapped under a KEK version below ``below``."""
        lifecycle.retire(self._ctx, below)

    def erase_subject(
        self,
        *,
        testimony_id: str | None = None,
        employee_id: str | None = None,
        phone: str | None = None,
        region: str | None = None,
    ) -> int:
        """Destroy a worker's identity key(s): found by testimony id or blind index.

        Their identity fields can never be opened again from this vault; the rest of
        their testimonies stays. Returns the number of keys destroyed.
        """
        return lifecycle.erase_subject(
            self._ctx,
            testimony_id=testimony_id,
            employee_id=employee_id,
            phone=phone,
            region=region,
        )

    def set_retention(self, days_after_remediation: int | None) -> None:
        """Erase identities this many days after a citing finding is remediated."""
        lifecycle.set_retention(self._ctx, days_after_remediation)

    def run_retention(self, *, dry_run: bool = False) -> lifecycle.RetentionReport:
        """Apply the retention setting: erase identities that are due."""
        return lifecycle.run_retention(self._ctx, dry_run=dry_run)

    # Audit log ----------------------------------------------------------------------

    def audit_entries(
        self, *, since: dt.datetime | None = None, record_id: str | None = None
    ) -> list[AuditRecord]:
        """Audit entries (oldest first), optionally since a time or for one record."""
        return auditing.entries(self._ctx, since=since, record_id=record_id)

    def audit_verify(self, against: str | os.PathLike[str] | None = None) -> AuditReport:
        """Verify the whole chain (and against a checkpoint file); raises on tampering."""
        return auditing.verify(self._ctx, against)

    def audit_checkpoint(self) -> Checkpoint:
        """A signed checkpoint (size and head) to keep outside the vault."""
        return auditing.checkpoint(self._ctx)

    def public_signing_key_pem(self) -> bytes:
        """The vault's Ed25519 public key (SubjectPublicKeyInfo PEM)."""
        return crypto.public_key_pem(self._ctx.export_public_key())

    # Writes -------------------------------------------------------------------

    def add(self, record: Mapping[str, Any], *, where: str = "record") -> RecordSummary:
        """Validate and store one new record (ConflictError if its id is held)."""
        ingest.import_records(self._ctx, [(where, record)], keep_identical=False)
        return reads.summary_of(self._ctx, str(record["id"]))

    def import_file(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        fmt: str | None = None,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        files: str | os.PathLike[str] | None = None,
        read_progress: ProgressCallback | None = None,
        mapping: str | os.PathLike[str] | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        on_conflict: OnConflict = "fail",
        key: MatchKey = "id",
        chunk_records: int = CHUNK_RECORDS,
        jobs: int = 1,
    ) -> ImportResult:
        """Import a JSONL, JSON-array or CSV file (with the evidence files it names
        from a folder or zip, if ``files`` is given).

        ``source`` is a path (format from its suffix) or a binary stream (named
        ``name``, JSON Lines unless ``fmt`` or the name's suffix says otherwise).
        ``progress`` is called with the records of each stored batch (or chunk),
        ``read_progress`` with the bytes of each read. A CSV file's ``delimiter``
        and ``encoding`` are sniffed unless given; ``mapping`` (a shipped preset's
        name such as ``kobo`` or ``odk``, or a mapping file) reads a survey tool's
        CSV export, whose file columns name evidence files in ``files``.

        A record the vault holds already (by ``id``, or with ``key="source_key"`` by
        type and source key) that the file would not change is counted
        ``unchanged``; one it would change is refused (``on_conflict="fail"``,
        ConflictError), counted ``skipped`` (``"skip"``), or stored as a new version
        as :meth:`update` stores one (``"new-version"``: fields the file leaves out
        are carried over).

        On SQLite, a file that can be read twice is checked whole first (refused,
        nothing written, if anything is wrong), then committed in chunks of at most
        ``chunk_records`` records or about a second each, so that other writers
        wait for one chunk, not the whole file. An error after a chunk committed
        says how many records were; the same import run again finishes the job.
        Elsewhere (PostgreSQL, standard input) the import is one transaction.

        With ``jobs=2``, such a chunked import of records all new to the vault is
        read, checked and sealed again in a forked second process while this one
        stores what it sealed: on two cores, faster. Only a process with one thread
        forks (otherwise, and for a file with evidence files, one process does it
        all); nothing secret crosses between the two. The command line asks for it
        where the machine has two cores.
        """
        if jobs < 1:
            raise UsageError("jobs must be 1 or more")
        return ingest.import_file(
            self._ctx,
            source,
            fmt=fmt,
            name=name,
            progress=progress,
            files=files,
            read_progress=read_progress,
            csv_options=_csv_options(mapping, delimiter, encoding),
            on_conflict=on_conflict,
            key=key,
            chunk_records=chunk_records,
            jobs=jobs,
        )

    def check_import(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        fmt: str | None = None,
        name: str | None = None,
        files: str | os.PathLike[str] | None = None,
        read_progress: ProgressCallback | None = None,
        mapping: str | os.PathLike[str] | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        on_conflict: OnConflict = "fail",
        key: MatchKey = "id",
    ) -> ImportCheck:
        """Check a file or stream as :meth:`import_file` would import it, and list
        every bad line (file, line, record id, field, column, what is wrong) in one
        pass, writing nothing. ``ImportCheck.raise_for_problems`` raises what the
        import would fail with."""
        return precheck.check_file(
            self._ctx,
            source,
            fmt=fmt,
            name=name,
            files=files,
            read_progress=read_progress,
            csv_options=_csv_options(mapping, delimiter, encoding),
            on_conflict=on_conflict,
            key=key,
        )

    def import_records(
        self,
        records: Iterable[tuple[str, Any]] | Iterable[Mapping[str, Any]],
        *,
        progress: ProgressCallback | None = None,
        files: AttachmentSource | None = None,
        on_conflict: OnConflict = "fail",
        key: MatchKey = "id",
    ) -> ImportResult:
        """Validate, seal and store records in one transaction; all or nothing.

        ``records`` yields ``(where, record)`` pairs, or bare records (then named by
        their position). Forward references within the same import are allowed.
        With ``files`` (a folder or zip), a record may list ``attachments`` by
        relative path: they are sealed to it in the same transaction (and are not
        part of the stored record). Records the vault holds already are treated
        as :meth:`import_file` treats them (``on_conflict``, ``key``).
        """
        return ingest.import_records(
            self._ctx, records, progress=progress, files=files, on_conflict=on_conflict, key=key
        )

    def update(
        self,
        record_id: str,
        record: Mapping[str, Any],
        *,
        remove: Iterable[str] = (),
        where: str = "record",
        expect_version: int | None = None,
    ) -> int:
        """Store a new version of ``record_id``: the fields ``record`` gives over the
        current version's; returns the version number. Earlier versions stay. With
        ``expect_version``, the update happens only if that is still the latest
        version (:class:`~vault.errors.StaleVersionError` otherwise): a change made
        meanwhile by someone else is never overwritten unseen.

        Fields ``record`` leaves out are carried over, so a record read back without
        its identity fields (``get`` without ``identity=True``), edited and passed
        here keeps the worker's identity, blind indexes and erasure link. A field
        goes only when ``remove`` names it (``"worker.phone"``, or a group such as
        ``"worker"``); a required field cannot be removed, and a field given as None
        where a value is held is refused. Identity fields are carried over only by a
        custodian with the identity class (no approval is needed: they are not
        returned); without it, an update of a version that holds them is refused,
        naming them, unless ``remove`` names them. Groups merge field by field;
        lists are replaced whole.

        Changed from full replacement: ``record`` used to replace the whole version,
        so a field left out was dropped.
        """
        return ingest.update(
            self._ctx, record_id, record, remove=remove, where=where, expect_version=expect_version
        )

    def patch(
        self,
        record_id: str,
        patch: Any,
        *,
        where: str = "merge patch",
        expect_version: int | None = None,
    ) -> int:
        """Apply a JSON merge patch (RFC 7396) to ``record_id`` as a new version;
        returns the version number. Members given are set (groups merge field by
        field), null members remove their field, and the rest is carried over as
        :meth:`update` carries it; ``expect_version`` as for :meth:`update`."""
        return ingest.patch(self._ctx, record_id, patch, where=where, expect_version=expect_version)

    # Reads ------------------------------------------------------------------

    def get(
        self, record_id: str, *, version: int | None = None, identity: bool = False
    ) -> dict[str, Any]:
        """The record as imported (latest version unless ``version`` is given).

        Only the field classes this custodian's keys open are included. A worker's
        identity fields are included only with ``identity=True``, which needs an
        approved identity request (see :meth:`request_identity`) unless the vault
        requires no approvals; that access is audited.
        """
        return reads.get(self._ctx, record_id, version=version, identity=identity)

    def get_with_version(
        self, record_id: str, *, version: int | None = None
    ) -> tuple[dict[str, Any], int]:
        """:meth:`get` (without identity fields), and the number of the version read:
        what an update's ``expect_version`` names."""
        return reads.get_with_version(self._ctx, record_id, version=version, identity=False)

    def versions(self, record_id: str) -> list[VersionInfo]:
        """Every stored version of a record, oldest first."""
        return reads.versions(self._ctx, record_id)

    def find(
        self,
        *,
        employee_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        site: str | None = None,
        region: str | None = None,
    ) -> list[RecordSummary]:
        """Exact-match lookup through blind indexes (and the keyed site reference).

        With several criteria, records must match all of them.
        """
        return reads.find(
            self._ctx, employee_id=employee_id, phone=phone, email=email, site=site, region=region
        )

    @overload
    def stats(self) -> dict[str, int]: ...

    @overload
    def stats(
        self,
        by: str | Sequence[str],
        *,
        policy: Policy | None = None,
        count: Sequence[str] | None = None,
        as_of: dt.date | None = None,
    ) -> Statistics: ...

    def stats(
        self,
        by: str | Sequence[str] | None = None,
        *,
        policy: Policy | None = None,
        count: Sequence[str] | None = None,
        as_of: dt.date | None = None,
    ) -> dict[str, int] | Statistics:
        """Without arguments: record counts by type (visible metadata, no
        decryption; any role).

        With ``by`` (``"site,month"``, a list, or ``()`` for totals only): counts
        of testimonies, findings and workers (``count`` picks some) by those
        dimensions, and where findings stand on ``as_of`` (default today), as
        :class:`~vault.tables.Statistics`. Exact for an admin without ``policy``;
        under ``policy``, only what it would let out counts, and every cell of
        fewer people than its ``stats.threshold`` is suppressed, with others so
        that no total gives it back. Custodians and exporters (their granted
        policies) count only under a policy.
        """
        if by is None and policy is None and count is None and as_of is None:
            return reads.stats(self._ctx)
        return stats.statistics(
            self._ctx, () if by is None else by, policy=policy, measures=count, as_of=as_of
        )

    def report(self, policy: Policy, *, as_of: dt.date | None = None) -> Report:
        """The statistics a shared report shows, all under ``policy`` (its filters,
        consent and threshold): by allegation, by site (with where findings stand),
        by allegation and site, and by month; a breakdown the policy refuses is
        named with its reason. Render it with :mod:`vault.report`."""
        return stats.report(self._ctx, policy, as_of=as_of)

    # Recipients and exports ----------------------------------------------------------

    def add_recipient(self, name: str, public_key: str) -> str:
        """Register an export recipient by age public key; returns its fingerprint."""
        return sharing.add_recipient(self._ctx, name, public_key)

    def recipients(self) -> list[sharing.RecipientInfo]:
        """Registered recipients: name, public key, fingerprint, when added."""
        return sharing.list_recipients(self._ctx)

    def remove_recipient(self, name: str) -> None:
        """Remove a recipient; past exports stay recorded."""
        sharing.remove_recipient(self._ctx, name)

    def export(
        self,
        policy: Policy | str,
        recipient: str | Sequence[str],
        out: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> sharing.ExportSummary:
        """Write a signed, age-encrypted export for a registered recipient, or one
        file for several at once (its manifest names them all), under a policy or a
        policy's name (see :func:`load_policy`); ``progress`` hears of the records
        looked at.

        Returns the manifest (without the per-line hashes). Recorded in the vault.
        ``progress(done, total)`` hears how many records are decided so far; an
        error it raises ends the export, and no file is left.
        """
        chosen = self._policy(policy)
        page = None
        if "report" in chosen.formats:
            # Refused before anything is counted, as the export itself would be.
            sharing.check_export(self._ctx, chosen, recipient)
            page = report_module.render_html(stats.report(self._ctx, chosen, as_of=None)).encode()
        return sharing.export(self._ctx, chosen, recipient, out, progress=progress, report=page)

    def check_export(self, policy: Policy | str, recipient: str | Sequence[str]) -> None:
        """Raise what :meth:`export` would raise before writing anything: the role,
        the grant of ``policy``, the recipient."""
        sharing.check_export(self._ctx, self._policy(policy), recipient)

    def preview(self, policy: Policy | str, *, limit: int | None = None) -> sharing.Preview:
        """What an export under ``policy`` (or a policy's name) would contain; nothing
        is written."""
        return sharing.preview(self._ctx, self._policy(policy), limit=limit)

    def review_items(self, policy: Policy | str, *, every: bool = False) -> list[review.ReviewItem]:
        """Free texts an export under ``policy`` would send that wait for a review
        (with ``every``, all of them), each with the machine's redactions."""
        return review.review_items(self._ctx, self._policy(policy), every=every)

    def review(
        self,
        policy: Policy | str,
        record_id: str,
        field: str,
        digest: str,
        *,
        redact: Iterable[Any] = (),
        release: Iterable[Any] = (),
    ) -> Decision:
        """Decide what of one free text leaves to ``policy``'s audience: spans to
        redact besides the machine's, machine spans to let through."""
        return review.decide(
            self._ctx,
            self._policy(policy),
            record_id,
            field,
            digest,
            redact=redact,
            release=release,
        )

    def apply_reviews(
        self,
        policy: Policy | str,
        decisions: Iterable[Mapping[str, Any]],
        *,
        source: str = "decisions",
    ) -> int:
        """Apply reviewers' decisions (as ``evault review dump`` lists items), all in
        one transaction; returns how many."""
        return review.apply_decisions(self._ctx, self._policy(policy), decisions, source=source)

    def _policy(self, policy: Policy | str) -> Policy:
        if isinstance(policy, policy_module.Policy):
            return policy
        return load_policy(policy, self.policy_dirs)

    def _policies(self, policies: Iterable[Policy | str]) -> list[Policy | str]:
        if isinstance(policies, str | policy_module.Policy):
            # One name is not a list of names (nor a list of its letters).
            raise UsageError("policies are a list of policies or policy names")
        return [self._policy(p) for p in policies]

    def exports(self) -> list[sharing.ExportInfo]:
        """Past exports: id, time, custodian, policy and hash, recipient, counts."""
        return sharing.list_exports(self._ctx)

    def release_export(self, export_id: str) -> sharing.ExportInfo:
        """Record that an export file is handed out, and return its entry.

        Only the custodian (or token) that made it, or an admin, may have it; the
        hand-over is audited. The file is encrypted to its recipient either way: this
        keeps who fetched which file on the record.
        """
        return sharing.release_export(self._ctx, export_id)

    # Partners: receiving another organisation's exports ------------------------------

    def add_partner(self, name: str, signing_key_pem: bytes) -> str:
        """Pin a partner vault's signing key (PEM); returns its fingerprint (admins)."""
        return partners.add_partner(self._ctx, name, signing_key_pem)

    def partners(self) -> list[partners.PartnerInfo]:
        """Pinned partners, each with the last export received from it."""
        return partners.list_partners(self._ctx)

    def remove_partner(self, name: str) -> None:
        """Unpin a partner; what was received from it stays."""
        partners.remove_partner(self._ctx, name)

    def receive(
        self,
        file: str | os.PathLike[str] | IO[bytes],
        identity: str | os.PathLike[str],
        *,
        partner: str | None = None,
        name: str = "the export",
    ) -> receiving.ReceiveReport:
        """Verify a partner's export against its pinned key and take its records in,
        sealed, as records of the partner; all or nothing (admins)."""
        return receiving.receive_from(self._ctx, file, identity, partner=partner, name=name)

    def received(self, *, partner: str | None = None) -> list[receiving.ReceivedSummary]:
        """Received records (latest versions): id ``PARTNER:ID``, type, version, export."""
        return receiving.list_received(self._ctx, partner=partner)

    def get_received(self, record_id: str, *, version: int | None = None) -> dict[str, Any]:
        """One received record with its sealed provenance (audited)."""
        return receiving.get_received(self._ctx, record_id, version=version)

    # Last, so that no annotation above reads ``list`` as this method.
    def list(
        self,
        *,
        type: str | None = None,
        site: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Iterator[RecordSummary]:
        """Summaries of the latest version of every record, optionally filtered, in
        the order they came in; ``limit``/``offset`` give one page of them."""
        if type is not None and type not in RECORD_TYPES:
            raise InvalidInputError(f"unknown record type; use {', '.join(RECORD_TYPES)}")
        return reads.list_records(
            self._ctx, record_type=type, site=site, limit=limit, offset=offset
        )


# Every public method's arguments checked (vault/arguments.py).
checked_class(Vault, _LAZY_NAMES)


def _csv_options(
    mapping: str | os.PathLike[str] | None, delimiter: str | None, encoding: str | None
) -> CsvOptions | None:
    """How a CSV import is read, when the caller says anything about it."""
    if mapping is None and delimiter is None and encoding is None:
        return None
    found = mapping_module.find_mapping(mapping) if mapping is not None else None
    return sources.CsvOptions(delimiter=delimiter, encoding=encoding, mapping=found)
