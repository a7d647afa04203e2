"""Commands that create a vault and put records in and take them out: init, import,
add, update, show, list, find.

Invariants kept here: reading and format rules belong to the library
(:meth:`vault.Vault.import_file`, :func:`vault.sources.read_one`), so the CLI and a
program importing the same bytes get the same result and the same error; the
progress bar counts bytes read and is drawn only on a terminal, never with --json;
listings show no sensitive field.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

import vault
from vault import UsageError
from vault.cli._common import State, _, cli, done, json_option, render_summaries
from vault.edits import MATCH_KEYS, ON_CONFLICT, MatchKey, OnConflict
from vault.lazy import lazy_module
from vault.pacing import CHUNK_RECORDS
from vault.presets import shipped_mapping_names
from vault.schema import RECORD_TYPES
from vault.sources import FORMATS, detect_format, read_one

if TYPE_CHECKING:
    from vault import mapping as mapping_module
else:
    # Loaded only to read a survey export (it brings pydantic with it).
    mapping_module = lazy_module("vault.mapping")

__all__ = ["add", "find", "import_", "init", "list_", "show", "update"]

# A record file: a path, or '-' for standard input.
RECORD_FILE = click.Path(dir_okay=False, allow_dash=True, path_type=Path)


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
@json_option
@click.pass_obj
def init(
    state: State,
    custodian: str,
    kdf_memory_kib: int,
    kdf_time_cost: int,
    kdf_parallelism: int,
    identity_approvals: int,
    as_json: bool,
) -> None:
    """Create a new, empty vault and its first (admin) custodian."""
    params = vault.KdfParams(kdf_memory_kib, kdf_time_cost, kdf_parallelism)
    if kdf_memory_kib < 64 * 1024 or kdf_time_cost < 3:
        click.echo(
            f"evault: {_('warning')}: {_('Argon2id parameters below RFC 9106 recommendation')}",
            err=True,
        )
    passphrase = state.passphrase(new_for=custodian)
    with vault.Vault.create(
        state.vault_dir,
        passphrase,
        db_url=state.db_url,
        custodian=custodian,
        kdf=params,
        identity_approvals=identity_approvals,
    ) as v:
        text = _("Created vault {vault_id} at {location} (custodian {custodian}).").format(
            vault_id=v.vault_id, location=v.location, custodian=repr(custodian)
        )
        done(as_json, text, vault_id=v.vault_id, location=v.location, custodian=custodian)


@contextlib.contextmanager
def _byte_progress(
    path: Path | None, shown: bool, label: str = "Importing"
) -> Iterator[Callable[[int], None]]:
    """A ``read_progress`` callback drawing a bar by bytes of ``path``.

    The bar needs a size, so it is drawn only for a regular file, and only from the
    first read: a file that cannot be opened fails without a bar half drawn.
    """
    if not shown or path is None or not path.is_file():
        yield lambda _n: None
        return
    size = path.stat().st_size
    with contextlib.ExitStack() as stack:
        updates: list[Callable[[int], None]] = []

        def advance(n: int) -> None:
            if not updates:
                bar = click.progressbar(length=size, label=label, file=sys.stderr)
                updates.append(stack.enter_context(bar).update)
            updates[0](n)

        yield advance


def _list_mappings(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--map list``: the shipped mappings, then exit (no FILE, no vault needed)."""
    if value != "list" or ctx.resilient_parsing:
        return value
    for name, description in mapping_module.describe_shipped():
        click.echo(f"{name:<8} {description}")
    raise click.exceptions.Exit(0)


def _delimiter(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value in ("tab", "\\t"):
        return "\t"
    return value


_MAPS = ", ".join(shipped_mapping_names())


@cli.command(name="import")
@click.argument("file", type=RECORD_FILE, required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Override the file format.")
@click.option(
    "--map",
    "mapping",
    metavar="NAME|FILE",
    is_eager=True,
    callback=_list_mappings,
    help=f"Read a survey tool's CSV export through a mapping: a shipped one ({_MAPS}) "
    "or a mapping file. '--map list' describes the shipped ones.",
)
@click.option(
    "--files",
    "--media",
    "files",
    type=click.Path(exists=True, path_type=Path),
    help="Folder or zip with the evidence files records name in 'attachments' (with "
    "--map: the survey's media folder or zip, files found by name).",
)
@click.option(
    "--delimiter",
    callback=_delimiter,
    help="CSV delimiter (default: sniffed among , ; tab |); 'tab' for a tab.",
)
@click.option(
    "--encoding",
    help="CSV text encoding, e.g. windows-1252 (default: sniffed; UTF-8 unless told).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: list every bad line (exit 5 if any; 7 if only ids that exist).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(ON_CONFLICT),
    default="fail",
    show_default=True,
    help="A record stored already that FILE would change: refuse the file (exit 7), "
    "skip the record, or store a new version (fields FILE leaves out are kept).",
)
@click.option(
    "--key",
    type=click.Choice(MATCH_KEYS),
    default="id",
    show_default=True,
    help="Match records stored already by their id, or by type and source_key.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=CHUNK_RECORDS,
    show_default=True,
    help="SQLite: records per transaction at most (a chunk also ends after about a second).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=2),
    default=None,
    help="SQLite: 2 seals the records in a second process while this one stores them "
    "(default: 2 on a machine with two cores or more).",
)
@json_option
@click.pass_obj
def import_(
    state: State,
    file: Path | None,
    fmt: str | None,
    mapping: str | None,
    files: Path | None,
    delimiter: str | None,
    encoding: str | None,
    check: bool,
    on_conflict: OnConflict,
    key: MatchKey,
    chunk_size: int,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Import records from FILE (JSONL, JSON array or CSV).

    The whole file is checked first: a bad record aborts the import with nothing
    written; the error names the first bad line and says how many there are. A
    record stored already that FILE would not change is counted unchanged; one it
    would change is handled as --on-conflict says. On an SQLite vault a file is then
    written in chunks (each one transaction, about a second), so that other commands
    wait at most that long: if the import fails or is stopped part-way, the error
    says how many records were committed, and running it again finishes the job.
    On PostgreSQL, and from standard input, the import is one transaction.

    --check writes nothing and lists every bad line, one per line (file, line, record
    id, field, column, what is wrong), then a summary. CSV columns use dotted names
    such as worker.name; list cells hold a JSON array or values separated by ';'. A
    CSV file's delimiter and encoding are sniffed unless --delimiter and --encoding
    give them. With --files, a record may list evidence files by relative path in an
    "attachments" field; they are sealed to it with it.

    \b
    Survey exports (KoboToolbox, ODK Central):
      evault import survey.csv --map kobo --media survey-media.zip
    --map names a mapping from the tool's columns (with group paths), answers (in
    any language) and GPS points to the record contract; '--map list' lists the
    shipped ones, and a mapping file may extend one. The next download of the same
    survey: --on-conflict new-version.
    """
    if file is None:
        raise UsageError("import needs FILE ('-' for standard input)")
    path = None if str(file) == "-" else file
    if path is not None and fmt is None and mapping is None:
        detect_format(str(path))  # a name that says no format is refused before unlocking
    if mapping is not None:
        mapping_module.find_mapping(mapping)  # a bad mapping is refused before unlocking
    source: Path | IO[bytes] = sys.stdin.buffer if path is None else path
    shown = sys.stderr.isatty() and not as_json
    reading: dict[str, Any] = {
        "fmt": fmt,
        "files": files,
        "mapping": mapping,
        "delimiter": delimiter,
        "encoding": encoding,
    }
    if check:
        with state.open() as v, _byte_progress(path, shown, "Checking") as advance:
            report = v.check_import(
                source, read_progress=advance, on_conflict=on_conflict, key=key, **reading
            )
        if as_json:
            problems = [p.to_dict() for p in report.problems]
            body = {"ok": report.ok, "records": report.records, "by_type": report.by_type}
            held = {
                "unchanged": report.unchanged,
                "skipped": report.skipped,
                "new_versions": report.versions,
            }
            click.echo(json.dumps(body | held | {"bad": report.bad, "problems": problems}))
        else:
            for problem in report.problems:
                click.echo(str(problem))
            if report.ok:
                click.echo(report.summary())
        report.raise_for_problems()
        return
    with state.open() as v, _byte_progress(path, shown) as advance:
        result = v.import_file(
            source,
            read_progress=advance,
            on_conflict=on_conflict,
            key=key,
            chunk_records=chunk_size,
            jobs=jobs if jobs is not None else min(2, _cores()),
            **reading,
        )
    click.echo(json.dumps(result.to_dict()) if as_json else result.summary(_))


def _cores() -> int:
    """The cores this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read_one(file: Path) -> tuple[str, Any]:
    """The JSON document in FILE, or on standard input for '-'."""
    return read_one(sys.stdin.buffer) if str(file) == "-" else read_one(file)


@cli.command()
@click.argument("file", type=RECORD_FILE, default="-")
@json_option
@click.pass_obj
def add(state: State, file: Path, as_json: bool) -> None:
    """Add one record (a JSON object) from FILE, or from standard input."""
    where, record = _read_one(file)
    with state.open() as v:
        summary = v.add(record, where=where)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(_("Added {type} {id}.").format(type=summary.type, id=summary.id))


@cli.command()
@click.argument("record_id")
@click.argument("file", type=RECORD_FILE, required=False)
@click.option(
    "--remove",
    "remove",
    multiple=True,
    metavar="FIELD",
    help="Remove FIELD (worker.phone, or a group such as worker); repeatable.",
)
@click.option(
    "--expect-version",
    type=click.IntRange(min=1),
    help="Only if N is still the latest version (else exit 7, nothing stored).",
)
@json_option
@click.pass_obj
def update(
    state: State,
    record_id: str,
    file: Path | None,
    remove: tuple[str, ...],
    expect_version: int | None,
    as_json: bool,
) -> None:
    """Store a new version of RECORD_ID: the fields FILE gives ('-' for standard
    input) over those of the current version.

    Fields FILE leaves out are carried over, identity fields included, so the
    output of 'show --json' can be edited and passed back as it is. A field goes
    only when --remove names it; a required field cannot be removed. A custodian
    without identity clearance cannot carry identity fields over: the update is
    refused, naming them, unless they are removed. Earlier versions stay readable
    with 'show --version N'.
    """
    if file is None and not remove:
        raise UsageError("update needs FILE, --remove FIELD, or both")
    where, record = _read_one(file) if file is not None else ("--remove", {})
    with state.open() as v:
        version = v.update(
            record_id, record, remove=remove, where=where, expect_version=expect_version
        )
    if as_json:
        click.echo(json.dumps({"id": record_id, "version": version}))
    else:
        click.echo(
            _("Updated {id}: now at version {version}.").format(id=record_id, version=version)
        )


@cli.command()
@click.argument("record_id")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show an earlier version.")
@click.option(
    "--identity",
    is_flag=True,
    help="Include identity fields (needs an approved identity request; audited).",
)
@json_option
@click.pass_obj
def show(state: State, record_id: str, version: int | None, identity: bool, as_json: bool) -> None:
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
    at = _("version {n} of {total}").format(n=shown, total=len(history))
    click.echo(f"# {record_id} · {record['type']} · {at}", err=True)
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))


@cli.command(name="list")
@click.option("--type", "rtype", type=click.Choice(RECORD_TYPES), help="Only this record type.")
@click.option("--site", help="Only records of this site id.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N records.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip the first N records.")
@json_option
@click.pass_obj
def list_(
    state: State, rtype: str | None, site: str | None, limit: int | None, offset: int, as_json: bool
) -> None:
    """List records (id, type, version, site, date) in the order they came in; no
    sensitive field is shown. --limit and --offset give one page."""
    with state.open() as v:
        render_summaries(v.list(type=rtype, site=site, limit=limit, offset=offset), as_json)


@cli.command()
@click.option("--employee-id", help="Exact employee id (case-insensitive).")
@click.option("--phone", help="Phone number, national or international format.")
@click.option("--email", help="E-mail address (case-insensitive).")
@click.option("--site", help="Site id.")
@click.option("--country", help="Country (ISO code) for a national-format --phone.")
@json_option
@click.pass_obj
def find(
    state: State,
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
        render_summaries(rows, as_json)
