"""``evault``: the custodian's command line, a thin layer over :class:`vault.Vault`.

The CLI parses, calls the library, renders, and maps library errors to exit codes
(see :mod:`vault.errors`). It never prints a traceback: an unexpected error prints
its type only (messages could carry data), unless ``EVAULT_DEBUG=1``.

Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong passphrase, 4 integrity failure,
5 invalid input, 6 not found, 7 already exists, 8 permission denied, 9 storage,
130 interrupted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from vault.attachments import AttachmentSource
from vault.backup import restore_backup, verify_backup
from vault.core import RecordSummary, Vault
from vault.crypto import KdfParams, Passphrase
from vault.errors import InvalidInputError, UsageError, VaultError
from vault.export import verify_export, write_age_identity
from vault.policy import Policy, find_policy, load_policy, shipped_policies
from vault.schema import RECORD_TYPES
from vault.sources import FORMATS, detect_format, read_records

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])
DEMO_MARKER = "demo-passphrase.txt"


class _State:
    def __init__(
        self,
        vault_dir: Path | None,
        db_url: str | None,
        passphrase_file: Path | None,
        custodian: str | None,
    ) -> None:
        self.vault_dir = vault_dir
        self.db_url = db_url
        self.passphrase_file = passphrase_file
        self.custodian = custodian

    def passphrase(self, *, confirm: bool = False, prompt: str = "Passphrase") -> Passphrase:
        if self.passphrase_file is not None:
            return _read_passphrase_file(self.passphrase_file)
        env = os.environ.get("EVAULT_PASSPHRASE")
        if env:
            return Passphrase(env)
        return Passphrase(
            click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
        )

    @contextmanager
    def open(self) -> Iterator[Vault]:
        token = os.environ.get("EVAULT_SESSION")
        if token:
            # A session never falls back to a prompt: a stale one is an error.
            with Vault.open_session(self.vault_dir, token, db_url=self.db_url) as v:
                yield v
            return
        with Vault.open(
            self.vault_dir,
            self.passphrase(),
            db_url=self.db_url,
            custodian=self.custodian,
        ) as v:
            yield v


def _new_passphrase(file: Path | None, what: str = "New passphrase") -> Passphrase:
    if file is not None:
        return _read_passphrase_file(file)
    env = os.environ.get("EVAULT_NEW_PASSPHRASE")
    if env:
        return Passphrase(env)
    return Passphrase(click.prompt(what, hide_input=True, confirmation_prompt=True, err=True))


def _new_passphrase_option(f: F) -> F:
    return click.option(
        "--new-passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the new passphrase from this file (otherwise EVAULT_NEW_PASSPHRASE, "
        "otherwise a confirmed hidden prompt).",
    )(f)


def _read_passphrase_file(path: Path) -> Passphrase:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read passphrase file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"passphrase file {path} is not UTF-8") from None
    return Passphrase(text.splitlines()[0] if text.strip() else "")


class _Group(click.Group):
    """Turns library errors into one line on stderr and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("EVAULT_DEBUG") == "1":
                raise
            _fail(
                f"internal error ({type(exc).__name__}); rerun with EVAULT_DEBUG=1 for details",
                1,
            )


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"evault: error: {message}", err=True)
    sys.exit(code)


def _json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(f)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evidence-vault", prog_name="evault")
@click.option(
    "--vault",
    "vault_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EVAULT_DIR",
    help="Vault folder (or EVAULT_DIR).",
)
@click.option(
    "--db-url",
    envvar="EVAULT_DATABASE_URL",
    help="Database URL instead of the folder's SQLite file, e.g. "
    "postgresql+psycopg://user@host/db (or EVAULT_DATABASE_URL).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the passphrase from the first line of this file "
    "(otherwise EVAULT_PASSPHRASE, otherwise a hidden prompt).",
)
@click.option(
    "--custodian",
    envvar="EVAULT_CUSTODIAN",
    help="Custodian name, when the vault has several (or EVAULT_CUSTODIAN).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    vault_dir: Path | None,
    db_url: str | None,
    passphrase_file: Path | None,
    custodian: str | None,
) -> None:
    """Evidence Vault: an encrypted store for worker testimonies and audit findings.

    Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong passphrase, 4 integrity
    failure, 5 invalid input, 6 not found, 7 already exists, 8 permission denied,
    9 storage error, 130 interrupted.
    """
    ctx.obj = _State(vault_dir, db_url, passphrase_file, custodian)


@cli.command()
@click.option("--name", "custodian", default="admin", show_default=True, help="First custodian.")
@click.option(
    "--kdf-memory-kib",
    type=click.IntRange(min=1024),
    default=64 * 1024,
    show_default=True,
    help="Argon2id memory in KiB (RFC 9106: 65536 or more).",
)
@click.option("--kdf-time-cost", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--kdf-parallelism", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--identity-approvals",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Other custodians who must approve before anyone sees identity fields.",
)
@click.pass_obj
def init(
    state: _State,
    custodian: str,
    kdf_memory_kib: int,
    kdf_time_cost: int,
    kdf_parallelism: int,
    identity_approvals: int,
) -> None:
    """Create a new, empty vault and its first (admin) custodian."""
    params = KdfParams(kdf_memory_kib, kdf_time_cost, kdf_parallelism)
    if kdf_memory_kib < 64 * 1024 or kdf_time_cost < 3:
        click.echo("evault: warning: Argon2id parameters below RFC 9106's recommendation", err=True)
    passphrase = state.passphrase(confirm=True, prompt="New passphrase")
    with Vault.create(
        state.vault_dir,
        passphrase,
        db_url=state.db_url,
        custodian=custodian,
        kdf=params,
        identity_approvals=identity_approvals,
    ) as v:
        click.echo(f"Created vault {v.vault_id} at {v.location} (custodian {custodian!r}).")


def _count_reader(stream: IO[bytes], bar: Any) -> IO[bytes]:
    """Wrap a binary stream so reads advance a progress bar by bytes."""

    class _Counting:
        def __init__(self) -> None:
            self.read_bytes = 0

        def read(self, size: int = -1) -> bytes:
            data = stream.read(size)
            bar.update(len(data))
            return data

        def readline(self, size: int = -1) -> bytes:
            data = stream.readline(size)
            bar.update(len(data))
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(stream, name)

    return _Counting()  # type: ignore[return-value]


@cli.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Override the file format.")
@click.option(
    "--files",
    type=click.Path(exists=True, path_type=Path),
    help="Folder or zip with the evidence files records name in 'attachments'.",
)
@_json_option
@click.pass_obj
def import_(state: _State, file: Path, fmt: str | None, files: Path | None, as_json: bool) -> None:
    """Import records from FILE (JSONL, JSON array or CSV) in one transaction.

    A bad record aborts the whole import with nothing written. CSV columns use
    dotted names such as worker.name; list cells hold a JSON array or values
    separated by ';'. With --files, a record may list evidence files by relative path
    in an "attachments" field; they are sealed to it in the same transaction.
    """
    name = "<stdin>" if str(file) == "-" else str(file)
    if fmt is None:
        fmt = detect_format(name) if name != "<stdin>" else "jsonl"
    with state.open() as v, contextlib.ExitStack() as stack:
        source = stack.enter_context(AttachmentSource(files)) if files else None
        if name == "<stdin>":
            result = v.import_records(read_records(sys.stdin.buffer, name, fmt), files=source)
        else:
            try:
                stream = file.open("rb")
            except OSError as exc:
                raise InvalidInputError(f"cannot read: {exc.strerror}", where=name) from None
            with stream:
                size = os.fstat(stream.fileno()).st_size
                show = sys.stderr.isatty() and not as_json
                with click.progressbar(
                    length=size, label="Importing", file=sys.stderr, hidden=not show
                ) as bar:
                    rows = read_records(_count_reader(stream, bar), name, fmt)
                    with contextlib.closing(rows):
                        result = v.import_records(rows, files=source)
    if as_json:
        click.echo(json.dumps({"imported": result.count, "by_type": result.by_type}))
    else:
        parts = ", ".join(f"{n} {t}" for t, n in sorted(result.by_type.items()))
        click.echo(f"Imported {result.count} records ({parts or 'none'}).")


def _read_one(file: Path) -> tuple[str, Any]:
    name = "<stdin>" if str(file) == "-" else str(file)
    try:
        raw = sys.stdin.buffer.read() if name == "<stdin>" else file.read_bytes()
        return name, json.loads(raw.decode("utf-8-sig"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read: {exc.strerror}", where=name) from None
    except UnicodeDecodeError:
        raise InvalidInputError("not valid UTF-8", where=name) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=name
        ) from None


@cli.command()
@click.argument(
    "file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default="-"
)
@_json_option
@click.pass_obj
def add(state: _State, file: Path, as_json: bool) -> None:
    """Add one record (a JSON object) from FILE, or from standard input."""
    where, record = _read_one(file)
    with state.open() as v:
        summary = v.add(record, where=where)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(f"Added {summary.type} {summary.id}.")


@cli.command()
@click.argument("record_id")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show an earlier version.")
@click.option(
    "--identity",
    is_flag=True,
    help="Include identity fields (needs an approved identity request; audited).",
)
@_json_option
@click.pass_obj
def show(state: _State, record_id: str, version: int | None, identity: bool, as_json: bool) -> None:
    """Show one record, decrypted (the latest version unless --version N).

    Identity fields stay sealed unless --identity is given with an approved request.
    With --json the record is printed as it was imported, on one line.
    """
    with state.open() as v:
        record = v.get(record_id, version=version, identity=identity)
        history = v.versions(record_id) if not as_json else []
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    shown = version or history[-1].version
    click.echo(f"# {record_id} · {record['type']} · version {shown} of {len(history)}", err=True)
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))


def _render_summaries(rows: Iterable[RecordSummary], as_json: bool) -> None:
    if as_json:
        # Streamed element by element: memory stays flat on large vaults.
        click.echo("[", nl=False)
        for i, row in enumerate(rows):
            sep = "," if i else ""
            click.echo(sep + "\n" + json.dumps(row.to_dict(), ensure_ascii=False), nl=False)
        click.echo("\n]")
        return
    count = 0
    click.echo(f"{'ID':<24} {'TYPE':<10} {'VER':>3}  {'SITE':<16} DATE")
    for row in rows:
        count += 1
        click.echo(
            f"{row.id:<24} {row.type:<10} {row.version:>3}  {row.site_id or '-':<16} "
            f"{row.date or '-'}"
        )
    click.echo(f"({count} record{'' if count == 1 else 's'})", err=True)


@cli.command(name="list")
@click.option("--type", "rtype", type=click.Choice(RECORD_TYPES), help="Only this record type.")
@click.option("--site", help="Only records of this site id.")
@_json_option
@click.pass_obj
def list_(state: _State, rtype: str | None, site: str | None, as_json: bool) -> None:
    """List records (id, type, version, site, date); no sensitive field is shown."""
    with state.open() as v:
        _render_summaries(v.list(type=rtype, site=site), as_json)


@cli.command()
@click.option("--employee-id", help="Exact employee id (case-insensitive).")
@click.option("--phone", help="Phone number, national or international format.")
@click.option("--email", help="E-mail address (case-insensitive).")
@click.option("--site", help="Site id.")
@click.option("--country", help="Country (ISO code) for a national-format --phone.")
@_json_option
@click.pass_obj
def find(
    state: _State,
    employee_id: str | None,
    phone: str | None,
    email: str | None,
    site: str | None,
    country: str | None,
    as_json: bool,
) -> None:
    """Find records by exact value through keyed blind indexes.

    The value is never stored or logged: it is matched by its keyed HMAC.
    """
    with state.open() as v:
        rows = v.find(employee_id=employee_id, phone=phone, email=email, site=site, region=country)
        _render_summaries(rows, as_json)


@cli.command()
@click.argument("record_id")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@_json_option
@click.pass_obj
def update(state: _State, record_id: str, file: Path, as_json: bool) -> None:
    """Store FILE (the whole record, same id and type) as a new version of RECORD_ID.

    Earlier versions stay readable with 'show --version N'.
    """
    where, record = _read_one(file)
    with state.open() as v:
        version = v.update(record_id, record, where=where)
    if as_json:
        click.echo(json.dumps({"id": record_id, "version": version}))
    else:
        click.echo(f"Updated {record_id}: now at version {version}.")


@cli.command()
@click.option(
    "--new-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new passphrase from this file (otherwise EVAULT_NEW_PASSPHRASE, "
    "otherwise a confirmed hidden prompt).",
)
@click.pass_obj
def passwd(state: _State, new_passphrase_file: Path | None) -> None:
    """Change your passphrase (rewraps your keys; no record is re-encrypted)."""
    with state.open() as v:
        v.change_passphrase(_new_passphrase(new_passphrase_file))
        click.echo(f"Passphrase changed for custodian {v.custodian!r}.")


@cli.group()
def recipient() -> None:
    """Manage export recipients (a name and an age public key)."""


@recipient.command(name="add")
@click.argument("name")
@click.argument("public_key", metavar="AGE_PUBLIC_KEY")
@_json_option
@click.pass_obj
def recipient_add(state: _State, name: str, public_key: str, as_json: bool) -> None:
    """Register NAME with AGE_PUBLIC_KEY (age1..., as printed by age-keygen -y)."""
    with state.open() as v:
        fingerprint = v.add_recipient(name, public_key)
    if as_json:
        click.echo(json.dumps({"name": name, "fingerprint": fingerprint}))
    else:
        click.echo(f"Added recipient {name} (key fingerprint {fingerprint[:16]}).")


@recipient.command(name="list")
@_json_option
@click.pass_obj
def recipient_list(state: _State, as_json: bool) -> None:
    """List registered recipients."""
    with state.open() as v:
        rows = v.recipients()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['name']:<24} {row['fingerprint'][:16]}  {row['public_key']}")


@recipient.command(name="remove")
@click.argument("name")
@click.pass_obj
def recipient_remove(state: _State, name: str) -> None:
    """Remove a recipient (past exports stay recorded)."""
    with state.open() as v:
        v.remove_recipient(name)
    click.echo(f"Removed recipient {name}.")


@cli.group()
def policy() -> None:
    """Check, explain and list redaction policies."""


@policy.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path) -> None:
    """Validate a policy FILE; errors name the line and key."""
    p = load_policy(file)
    click.echo(f"{file}: valid policy {p.name!r} for audience {p.audience!r} (sha256 {p.sha256}).")


@policy.command(name="explain")
@click.argument("name")
@click.pass_obj
def policy_explain(state: _State, name: str) -> None:
    """Print, field by field, what policy NAME (a shipped name or a file) does."""
    for line in _find_policy(state, name).explain():
        click.echo(line)


@policy.command(name="list")
def policy_list() -> None:
    """List the shipped policies."""
    for name in shipped_policies():
        p = find_policy(name)
        click.echo(f"{name:<10} {p.description}")


def _find_policy(state: _State, name: str) -> Policy:
    extra = (state.vault_dir / "policies",) if state.vault_dir else ()
    return find_policy(name, extra)


@cli.command(name="export")
@click.option("--policy", "policy_name", required=True, help="Policy name or file.")
@click.option("--recipient", "recipient_name", help="Registered recipient.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Export file.")
@click.option("--preview", is_flag=True, help="Show what would go out; write nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="With --preview: show N records.")
@_json_option
@click.pass_obj
def export_(
    state: _State,
    policy_name: str,
    recipient_name: str | None,
    out: Path | None,
    preview: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Export records under a policy, signed and encrypted to one recipient.

    The file is an age-encrypted tar of manifest.json, manifest.sig,
    signing-key.pem and records.jsonl; the recipient opens it with
    'age -d -i key.txt FILE | tar -x' and checks it with 'evault verify-export'.
    With --preview, the records that would go out are printed for the custodian's
    eyes only, and nothing is written or sent.
    """
    p = _find_policy(state, policy_name)
    if preview:
        if recipient_name or out:
            raise UsageError("--preview writes nothing: leave out --recipient and --out")
        with state.open() as v:
            pv = v.preview(p, limit=limit)
            for record in pv.records:
                click.echo(json.dumps(record, ensure_ascii=False))
        counts = pv.result.to_dict()
        click.echo(
            json.dumps({"preview": True, "policy": p.name, "counts": counts})
            if as_json
            else _counts_text(counts),
            err=not as_json,
        )
        return
    if not recipient_name or not out:
        raise UsageError("export needs --recipient and --out (or --preview)")
    with state.open() as v:
        manifest = v.export(p, recipient_name, out)
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False))
        return
    click.echo(
        f"Exported to {out} for {recipient_name} under policy {p.name} "
        f"(export {manifest['export_id']})."
    )
    click.echo(_counts_text(manifest["counts"]))


def _counts_text(counts: dict[str, Any]) -> str:
    inc = ", ".join(f"{n} {t}" for t, n in counts["included"].items()) or "nothing"
    exc = ", ".join(f"{n} {r}" for r, n in counts["excluded"].items()) or "none"
    return f"Included: {inc}. Left out: {exc}."


@cli.command(name="exports")
@_json_option
@click.pass_obj
def exports_(state: _State, as_json: bool) -> None:
    """List past exports: when, by whom, policy and its hash, recipient, counts."""
    with state.open() as v:
        rows = v.exports()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(
            f"{r['created_at']}  {r['export_id'][:12]}  {r['policy']:<8} "
            f"-> {r['recipient']:<16} by {r['custodian']}  "
            f"{sum(r['counts']['included'].values())} included"
        )


@cli.command(name="verify-export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--identity",
    "identity",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="age identity (key) file.",
)
@click.option(
    "--signer",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The vault's public signing key (PEM) to pin; see 'evault signing-key'.",
)
@_json_option
def verify_export_(file: Path, identity: Path, signer: Path | None, as_json: bool) -> None:
    """Decrypt an export and check its signature and every record's hash.

    Needs no vault. Any change to the file or its contents fails (exit code 4).
    """
    report = verify_export(file, identity, signer)
    if as_json:
        click.echo(json.dumps({"valid": True, **report.to_dict()}))
        return
    click.echo(f"OK: export {report.export_id} from vault {report.vault_id}")
    click.echo(
        f"  policy {report.policy} (sha256 {report.policy_sha256[:16]}…), "
        f"for {report.recipient}, created {report.created_at}"
    )
    click.echo(f"  {report.lines} record lines, every hash matches the signed manifest")
    pin = "pinned with --signer" if report.signer_pinned else "NOT pinned"
    click.echo(f"  signed by key {report.signer_fingerprint[:16]}… ({pin})")
    if not report.signer_pinned:
        # Anyone who knows the recipient's public key can make a self-consistent file.
        click.echo(
            "evault: warning: the signer is not verified; pass --signer with the vault's "
            "public key obtained from its custodian",
            err=True,
        )


@cli.command(name="signing-key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the PEM here instead of printing it.",
)
@click.pass_obj
def signing_key(state: _State, out: Path | None) -> None:
    """Print the vault's public signing key (PEM), for recipients to pin."""
    with state.open() as v:
        pem = v.public_signing_key_pem()
    if out:
        out.write_bytes(pem)
        click.echo(f"Wrote {out}.")
    else:
        click.echo(pem.decode().rstrip())


# Evidence files -----------------------------------------------------------------------


@cli.command()
@click.argument("record_id")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--description", help="What the file shows (sealed).")
@_json_option
@click.pass_obj
def attach(
    state: _State, record_id: str, file: Path, description: str | None, as_json: bool
) -> None:
    """Seal FILE (any size, streamed) to RECORD_ID; its SHA-256 enters the audit log."""
    with state.open() as v:
        info = v.attach(record_id, file, description=description)
    if as_json:
        click.echo(json.dumps(info.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"{info.id}  {info.media_type}  {info.size} bytes  sha256 {info.sha256}")


@cli.command(name="attachments")
@click.argument("record_id")
@_json_option
@click.pass_obj
def attachments_(state: _State, record_id: str, as_json: bool) -> None:
    """List a record's evidence files."""
    with state.open() as v:
        rows = v.attachments(record_id)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r.id}  {r.media_type:<24} {r.size:>12}  {r.name}  {r.description or ''}")


@cli.command()
@click.argument("attachment_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def extract(state: _State, attachment_id: str, out: Path) -> None:
    """Write the original file to --out (only after every chunk verified)."""
    with state.open() as v:
        info = v.extract(attachment_id, out)
    click.echo(f"Wrote {out} ({info.size} bytes, sha256 {info.sha256}).")


@cli.command(name="verify-attachment")
@click.argument("attachment_id")
@_json_option
@click.pass_obj
def verify_attachment(state: _State, attachment_id: str, as_json: bool) -> None:
    """Re-hash the decrypted file against the SHA-256 taken at intake (exit 4 if not)."""
    with state.open() as v:
        info = v.verify_attachment(attachment_id)
    if as_json:
        click.echo(json.dumps({"valid": True, "sha256": info.sha256, "size": info.size}))
    else:
        click.echo(f"OK: {attachment_id} matches its intake SHA-256 {info.sha256}.")


# HTTP API -----------------------------------------------------------------------------


@cli.group()
def token() -> None:
    """Bearer tokens for the HTTP API (shown once; only a hash is kept)."""


@token.command(name="create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["custodian", "exporter", "auditor"]))
@click.option("--classes", default="", help="Field classes, comma-separated.")
@click.option("--policies", default="", help="For exporters: policies, comma-separated.")
@click.option("--expires", default="30d", show_default=True, help="e.g. 12h, 30d; 'never'.")
@click.pass_obj
def token_create(
    state: _State, name: str, role: str, classes: str, policies: str, expires: str
) -> None:
    """Create a token and print it once."""
    ttl = (
        None
        if expires == "never"
        else (dt.timedelta(days=int(expires[:-1])) if expires.endswith("d") else _duration(expires))
    )
    with state.open() as v:
        secret, _row = v.create_token(
            name,
            role=role,
            classes=[c for c in classes.split(",") if c],
            policies=[p for p in policies.split(",") if p],
            expires=ttl,
        )
    click.echo(secret)


@token.command(name="list")
@_json_option
@click.pass_obj
def token_list(state: _State, as_json: bool) -> None:
    """List tokens (never the secrets)."""
    with state.open() as v:
        rows = v.tokens()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        state_text = "revoked" if r["revoked"] else f"expires {r['expires_at'] or 'never'}"
        click.echo(f"{r['name']:<20} {r['role']:<10} {state_text}")


@token.command(name="revoke")
@click.argument("name")
@click.pass_obj
def token_revoke(state: _State, name: str) -> None:
    """Revoke a token at once."""
    with state.open() as v:
        v.revoke_token(name)
    click.echo(f"Revoked {name}.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True, type=int)
@click.option("--ssl-certfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--export-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where export files wait to be downloaded (default: a new temporary folder).",
)
@click.option(
    "--policy-dir",
    "policy_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder of NAME.yaml policies that exports may name (besides the shipped ones).",
)
@click.option(
    "--export-days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Delete export files this many days after they were made.",
)
@click.option(
    "--max-bodies",
    default=8,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Requests with a body served at once (each is held in memory, up to 16 MiB, "
    "until it is sealed); others wait their turn.",
)
@click.pass_obj
def serve(
    state: _State,
    host: str,
    port: int,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    export_dir: Path | None,
    policy_dirs: tuple[Path, ...],
    max_bodies: int,
    export_days: float,
) -> None:
    """Serve the HTTP API (unlock once as an admin; tokens authorise requests).

    Behind a network, give --ssl-certfile and --ssl-keyfile (uvicorn's TLS).
    No access log is written: URLs carry record ids. Forwarded headers are not
    trusted: behind a reverse proxy, the proxy is the one client the failed-login
    throttle sees, so give the proxy limits of its own. Facing a network, put a
    proxy with connection and header timeouts in front (uvicorn has none for a
    connection that sends nothing).
    """
    # Imported here: the web stack loads only for the server, not for every command.
    import uvicorn  # noqa: PLC0415

    from vault.api import create_app  # noqa: PLC0415

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise UsageError("give both --ssl-certfile and --ssl-keyfile, or neither")
    if export_dir is not None:
        export_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with state.open() as v:
        uvicorn.run(
            create_app(
                v,
                export_dir=export_dir,
                policy_dirs=policy_dirs,
                bodies=max_bodies,
                export_days=export_days,
            ),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            # The peer address is the client: X-Forwarded-For is anyone's to write.
            proxy_headers=False,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )


@cli.command()
def openapi() -> None:
    """Print the HTTP API's OpenAPI document (JSON), as `evault serve` serves it."""
    from vault.api import openapi_document  # noqa: PLC0415

    click.echo(json.dumps(openapi_document(), indent=2, sort_keys=True))


# Backups ----------------------------------------------------------------------------


@cli.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "recipient",
    required=True,
    help="A registered recipient's name, or an age public key (age1...).",
)
@click.pass_obj
def backup(state: _State, out: Path, recipient: str) -> None:
    """Write a consistent, age-encrypted snapshot of the vault (SQLite).

    A backup keeps what the vault holds when it is taken, including the keys of
    workers erased later: set its retention accordingly.
    """
    with state.open() as v:
        size = v.backup(out, recipient)
    click.echo(f"Wrote {out} ({size} bytes).")


@cli.command(name="verify-backup")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--identity", required=True, type=click.Path(dir_okay=False, path_type=Path))
@_json_option
def verify_backup_(file: Path, identity: Path, as_json: bool) -> None:
    """Decrypt a backup privately and check its database (needs no vault)."""
    report = verify_backup(file, identity)
    if as_json:
        click.echo(json.dumps({"valid": True, **report}))
    else:
        click.echo(
            f"OK: vault {report['vault_id']}, {report['records']} records, "
            f"{report['audit_entries']} audit entries."
        )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--identity", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def restore(state: _State, file: Path, identity: Path) -> None:
    """Restore a backup into a new, empty vault folder (--vault / EVAULT_DIR)."""
    if state.vault_dir is None:
        raise UsageError("restore needs --vault DIR (a new, empty folder)")
    report = restore_backup(file, identity, state.vault_dir)
    click.echo(
        f"Restored vault {report['vault_id']} ({report['records']} records) into "
        f"{state.vault_dir}; run 'evault audit verify' once unlocked."
    )


# Custodians, sessions, identity approvals -------------------------------------------


@cli.group()
def custodian() -> None:
    """Manage custodians: roles (admin, custodian, exporter, auditor) and clearances."""


@custodian.command(name="add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "custodian", "exporter", "auditor"])
)
@click.option(
    "--classes",
    default="",
    help="Field classes, comma-separated: identity,"
    "special,narrative,operational (custodians and exporters always get operational).",
)
@click.option(
    "--policies",
    default="",
    help="For exporters: the policies they may export under, comma-separated.",
)
@_new_passphrase_option
@click.pass_obj
def custodian_add(
    state: _State,
    name: str,
    role: str,
    classes: str,
    policies: str,
    new_passphrase_file: Path | None,
) -> None:
    """Add custodian NAME with their own passphrase (asked for, or from a file)."""
    with state.open() as v:
        v.add_custodian(
            name,
            _new_passphrase(new_passphrase_file, f"Passphrase for {name}"),
            role=role,
            classes=[c.strip() for c in classes.split(",") if c.strip()],
            policies=[p.strip() for p in policies.split(",") if p.strip()],
        )
    click.echo(f"Added custodian {name} ({role}).")


@custodian.command(name="list")
@_json_option
@click.pass_obj
def custodian_list(state: _State, as_json: bool) -> None:
    """List custodians, roles and clearances."""
    with state.open() as v:
        rows = v.custodians()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        extra = f" policies={','.join(r['policies'])}" if r["policies"] else ""
        click.echo(f"{r['name']:<20} {r['role']:<10} classes={','.join(r['classes'])}{extra}")


@custodian.command(name="remove")
@click.argument("name")
@click.pass_obj
def custodian_remove(state: _State, name: str) -> None:
    """Remove a custodian; their keys are destroyed and their passphrase opens nothing."""
    with state.open() as v:
        v.remove_custodian(name)
    click.echo(f"Removed custodian {name}.")


@custodian.command(name="passwd")
@_new_passphrase_option
@click.pass_obj
def custodian_passwd(state: _State, new_passphrase_file: Path | None) -> None:
    """Change your own passphrase (same as 'evault passwd')."""
    with state.open() as v:
        v.change_passphrase(_new_passphrase(new_passphrase_file))
        click.echo(f"Passphrase changed for custodian {v.custodian!r}.")


def _duration(text: str) -> dt.timedelta:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    except (KeyError, ValueError, IndexError):
        raise UsageError(f"a duration such as 30s, 15m or 2h, not {text!r}") from None


@cli.command()
@click.option("--ttl", default="15m", show_default=True, help="How long: 30s, 15m, 2h.")
@_json_option
@click.pass_obj
def unlock(state: _State, ttl: str, as_json: bool) -> None:
    """Unlock once and print a session token for EVAULT_SESSION.

    Commands run with EVAULT_SESSION set skip the passphrase (and Argon2id); an
    ended, expired or wrong token is an error, never a prompt.
    """
    with state.open() as v:
        token, expires = v.unlock(_duration(ttl))
    if as_json:
        click.echo(json.dumps({"token": token, "expires_at": expires.isoformat()}))
        return
    click.echo(token)
    click.echo(
        f"# export EVAULT_SESSION=<the line above>   (until {expires:%H:%M:%S} UTC)", err=True
    )


@cli.command()
@click.pass_obj
def lock(state: _State) -> None:
    """End the session in EVAULT_SESSION (its keys are deleted from the vault)."""
    token = os.environ.get("EVAULT_SESSION")
    if not token:
        raise UsageError("EVAULT_SESSION is not set")
    with state.open() as v:
        v.lock(token)
    click.echo("Session ended; unset EVAULT_SESSION.")


@cli.group()
def identity() -> None:
    """Request, approve and refuse access to a worker's identity fields."""


@identity.command(name="request")
@click.argument("record_id")
@click.option("--reason", required=True, help="Why (sealed at rest; shown to approvers).")
@click.pass_obj
def identity_request(state: _State, record_id: str, reason: str) -> None:
    """Ask to see RECORD_ID's identity fields; another custodian must approve."""
    with state.open() as v:
        request_id = v.request_identity(record_id, reason)
    click.echo(request_id)


@identity.command(name="approve")
@click.argument("request_id")
@click.pass_obj
def identity_approve(state: _State, request_id: str) -> None:
    """Approve another custodian's identity request."""
    with state.open() as v:
        v.decide_identity(request_id, approve=True)
    click.echo(f"Approved {request_id}.")


@identity.command(name="refuse")
@click.argument("request_id")
@click.pass_obj
def identity_refuse(state: _State, request_id: str) -> None:
    """Refuse another custodian's identity request."""
    with state.open() as v:
        v.decide_identity(request_id, approve=False)
    click.echo(f"Refused {request_id}.")


@identity.command(name="list")
@_json_option
@click.pass_obj
def identity_list(state: _State, as_json: bool) -> None:
    """List identity requests, their reasons and decisions."""
    with state.open() as v:
        rows = v.identity_requests()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r['id']}  {r['requester']:<16} {r['created_at'][:19]}  "
            f"{r['decisions'] or 'pending'}  {r['reason']}"
        )


# Audit, recovery, rotation, erasure, retention -----------------------------------------


@cli.group(name="audit")
def audit_() -> None:
    """Show, verify and checkpoint the tamper-evident audit log."""


@audit_.command(name="show")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]))
@click.option("--record", "record_id", help="Only entries about this record id.")
@_json_option
@click.pass_obj
def audit_show(
    state: _State, since: dt.datetime | None, record_id: str | None, as_json: bool
) -> None:
    """List audit entries (who, what, when; never a record value)."""
    with state.open() as v:
        rows = v.audit_entries(
            since=since.replace(tzinfo=dt.UTC) if since else None, record_id=record_id
        )
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows]))
        return
    for r in rows:
        click.echo(
            f"{r.seq:>6} {r.at}  {r.actor:<16} {r.action:<20} "
            f"{json.dumps(r.details, sort_keys=True)}"
        )


@audit_.command(name="verify")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint file kept elsewhere.",
)
@_json_option
@click.pass_obj
def audit_verify(state: _State, against: Path | None, as_json: bool) -> None:
    """Check every entry of the chain (exit code 4 on any tampering)."""
    with state.open() as v:
        report = v.audit_verify(against)
    if as_json:
        click.echo(json.dumps({"valid": True, **report.to_dict()}))
        return
    extra = f", consistent with the checkpoint at {report.checkpoint_size}" if against else ""
    click.echo(f"OK: {report.size} entries, head {report.head[:16]}…{extra}")


@audit_.command(name="checkpoint")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def audit_checkpoint(state: _State, out: Path) -> None:
    """Write a signed checkpoint (size and head of the log) to keep elsewhere."""
    with state.open() as v:
        cp = v.audit_checkpoint()
    out.write_text(json.dumps(cp, indent=1) + "\n", encoding="utf-8")
    click.echo(f"Wrote checkpoint of {cp['size']} entries to {out}.")


@cli.group()
def recovery() -> None:
    """Shamir recovery shares (SLIP-39 words) for a lost admin passphrase."""


@recovery.command(name="split")
@click.option("--shares", type=click.IntRange(1, 16), required=True)
@click.option("--threshold", type=click.IntRange(1, 16), required=True)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each share to its own file (0600) instead of printing.",
)
@click.pass_obj
def recovery_split(state: _State, shares: int, threshold: int, out_dir: Path | None) -> None:
    """Create recovery shares; any THRESHOLD of them restore admin access.

    Give each share to a different trusted person. Words carry a checksum, so a
    mistyped share is refused rather than silently wrong.
    """
    with state.open() as v:
        words = v.recovery_split(shares, threshold)
    if out_dir is None:
        for i, share in enumerate(words, start=1):
            click.echo(f"share {i}: {share}")
        return
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for i, share in enumerate(words, start=1):
        path = out_dir / f"share-{i}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(share + "\n")
    click.echo(f"Wrote {shares} shares to {out_dir} (any {threshold} restore).")


@recovery.command(name="restore")
@click.option(
    "--share-file",
    "share_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file with one share.",
)
@click.option(
    "--admin",
    "admin_name",
    default="admin",
    show_default=True,
    help="The admin custodian whose passphrase is set.",
)
@_new_passphrase_option
@click.pass_obj
def recovery_restore(
    state: _State,
    share_files: tuple[Path, ...],
    admin_name: str,
    new_passphrase_file: Path | None,
) -> None:
    """Combine shares (files, or typed one per line, empty line to end) and set a
    new admin passphrase."""
    shares = [f.read_text(encoding="utf-8").strip() for f in share_files]
    if not shares:
        while line := click.prompt(
            "share (empty to finish)", default="", show_default=False, err=True
        ).strip():
            shares.append(line)
    new = _new_passphrase(new_passphrase_file)
    with Vault.recover(state.vault_dir, shares, new, db_url=state.db_url, custodian=admin_name):
        pass
    click.echo(f"Restored: custodian {admin_name!r} has a new passphrase.")


@cli.command(name="rotate-keys")
@click.option("--reencrypt", is_flag=True, help="Also re-seal all data under new data keys.")
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True)
@_json_option
@click.pass_obj
def rotate_keys(state: _State, reencrypt: bool, batch: int, as_json: bool) -> None:
    """Create a new key-encryption key version and rewrap every data key.

    Works in batches, each one transaction: safe to interrupt; run it again to
    carry on. No record is ever unreadable on the way.
    """
    with state.open() as v:
        report = v.rotate_keys(reencrypt=reencrypt, batch=batch)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(
            f"Rotated to key version {report.target}: {report.records} record "
            f"versions and {report.subjects} worker keys rewrapped."
        )


@cli.command(name="retire-keys")
@click.option("--below", type=click.IntRange(min=2), required=True)
@click.pass_obj
def retire_keys(state: _State, below: int) -> None:
    """Refuse key versions below N from now on (after a finished rotation)."""
    with state.open() as v:
        v.retire_keys(below)
    click.echo(f"Key versions below {below} are retired.")


@cli.command(name="erase-subject")
@click.option("--testimony", "testimony_id", help="A testimony of the worker.")
@click.option("--employee-id", help="The worker's employee id (blind-indexed).")
@click.option("--phone", help="The worker's phone (blind-indexed).")
@click.option("--country", help="Country for a national-format --phone.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def erase_subject(
    state: _State,
    testimony_id: str | None,
    employee_id: str | None,
    phone: str | None,
    country: str | None,
    yes: bool,
) -> None:
    """Destroy a worker's identity key: their identity fields can never be opened
    again from this vault. Backups taken before keep the key (see SECURITY.md)."""
    if not yes:
        click.confirm("Erase this worker's identity for good?", abort=True, err=True)
    with state.open() as v:
        n = v.erase_subject(
            testimony_id=testimony_id, employee_id=employee_id, phone=phone, region=country
        )
    click.echo(f"Erased {n} worker identity key(s).")


@cli.group()
def retention() -> None:
    """Erase identities after a set time: set the rule, then run it (e.g. from cron)."""


@retention.command(name="set")
@click.option(
    "--days-after-remediation",
    type=click.IntRange(min=0),
    help="Erase identities this many days after a citing finding is remediated.",
)
@click.option("--off", is_flag=True, help="Remove the rule.")
@click.pass_obj
def retention_set(state: _State, days_after_remediation: int | None, off: bool) -> None:
    """Set (or remove) the retention rule."""
    if off == (days_after_remediation is not None):
        raise UsageError("give --days-after-remediation N or --off")
    with state.open() as v:
        v.set_retention(None if off else days_after_remediation)
    click.echo(
        "Retention rule removed."
        if off
        else f"Identities go {days_after_remediation} days after remediation."
    )


@retention.command(name="run")
@click.option("--dry-run", is_flag=True, help="Say what is due; erase nothing.")
@_json_option
@click.pass_obj
def retention_run(state: _State, dry_run: bool, as_json: bool) -> None:
    """Apply the retention rule (audited)."""
    with state.open() as v:
        result = v.run_retention(dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result))
    else:
        verb = "would erase" if dry_run else "erased"
        click.echo(
            f"{result['due']} worker identities due; {verb} "
            f"{result['due'] if dry_run else result['erased']}."
        )


@cli.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evault-demo"),
    show_default=True,
    help="Folder for the demo vault (recreated if it holds an earlier demo).",
)
def demo(demo_dir: Path) -> None:
    """Create a vault from the bundled, fictional sample data and show it."""
    if demo_dir.exists():
        if not (demo_dir / DEMO_MARKER).exists():
            raise UsageError(f"{demo_dir} exists and is not a demo folder; pass --dir")
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(mode=0o700, parents=True)
    vault_dir = demo_dir / "vault"
    pass_file = demo_dir / DEMO_MARKER
    passphrase = secrets.token_urlsafe(24)
    fd = os.open(pass_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(passphrase + "\n")
    sample = resources.files("vault") / "samples" / "evidence.jsonl"
    click.echo(f"1. Creating a vault in {vault_dir} (Argon2id, 64 MiB, t=3, p=4) ...")
    with Vault.create(vault_dir, Passphrase(passphrase)) as v:
        with sample.open("rb") as stream:
            result = v.import_records(read_records(stream, "samples/evidence.jsonl", "jsonl"))
        parts = ", ".join(f"{n} {t}s" for t, n in sorted(result.by_type.items()))
        click.echo(f"2. Imported the fictional sample data: {parts}.")
        click.echo("3. The records (list shows no sensitive field):\n")
        _render_summaries(v.list(), as_json=False)
        click.echo("\n4. One testimony, decrypted; the worker's identity stays sealed:\n")
        click.echo(json.dumps(v.get("T-0001"), ensure_ascii=False, indent=2))
        reviewer_pass = secrets.token_urlsafe(24)
        reviewer_file = demo_dir / "reviewer-passphrase.txt"
        fd = os.open(reviewer_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(reviewer_pass + "\n")
        v.add_custodian(
            "reviewer",
            Passphrase(reviewer_pass),
            role="custodian",
            classes=["identity", "special", "narrative", "operational"],
        )
        request_id = v.request_identity("T-0001", "Demo: follow-up interview needs contact")
        with Vault.open(vault_dir, Passphrase(reviewer_pass), custodian="reviewer") as r:
            r.decide_identity(request_id, approve=True)
        worker = v.get("T-0001", identity=True)["worker"]
        click.echo(
            f"\n   Identity after a request and a second custodian's approval (audited): "
            f"{worker['name']}, {worker['phone']}"
        )
        hits = v.find(employee_id="EMP-55001")
        click.echo(f"\n5. Blind-index lookup of employee id EMP-55001: {[h.id for h in hits]}")
        key_file = demo_dir / "union-recipient-key.txt"
        public = write_age_identity(key_file)
        v.add_recipient("demo-union", public)
        export_file = demo_dir / "union-export.age"
        manifest = v.export(find_policy("union"), "demo-union", export_file)
        click.echo(
            f"\n6. Exported under the 'union' policy to {export_file.name} (age-encrypted, "
            f"signed): {_counts_text(manifest['counts'])}"
        )
        signer = demo_dir / "vault-signing-key.pem"
        signer.write_bytes(v.public_signing_key_pem())
    report = verify_export(export_file, key_file, signer)
    click.echo(
        f"7. Verified as the recipient would: signature by the pinned vault key, "
        f"{report.lines} record lines, every hash matches."
    )
    vault_args = f"--vault {vault_dir} --custodian admin --passphrase-file {pass_file}"
    click.echo(
        f"""
Where everything is:
  vault folder      {vault_dir.resolve()}  (one encrypted SQLite file)
  passphrase        {pass_file.resolve()}  (demo only; keep real ones out of files)
  sample data       {sample}
  export            {export_file.resolve()}
  recipient's key   {key_file.resolve()}
  vault public key  {signer.resolve()}
  second custodian  reviewer, passphrase in {reviewer_file.resolve()}

Try:
  evault {vault_args} list --type testimony
  evault {vault_args} show T-0002
  evault {vault_args} find --phone 0812345678 --country TH
  evault {vault_args} policy explain union
  evault {vault_args} audit show
  evault {vault_args} audit verify
  evault verify-export {export_file} --identity {key_file} --signer {signer}
  age -d -i {key_file} {export_file} | tar -xO records.jsonl
"""
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="evault")
