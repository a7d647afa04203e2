"""What every ``evault`` command shares: the root group, its state, options and rendering.

Invariants kept here:

- Library errors leave the CLI as one line on stderr (``evault: error: ...``, or with
  ``--json`` one JSON object ``{"error": {"code", "kind", "message"}}``) and the exit
  code on the exception class; an unexpected error prints its type only (its
  message could carry data), unless ``EVAULT_DEBUG=1``. No traceback otherwise.
- A passphrase comes from a file, then the environment, then a hidden prompt; it is
  never echoed. A session token (``EVAULT_SESSION``) never falls back to a prompt.
- Listings show no sensitive field; JSON output is one document on stdout, human
  notes go to stderr.
"""

from __future__ import annotations

import datetime as dt
import gettext
import importlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

import click

import vault
from vault import i18n
from vault.errors import InvalidInputError, UsageError, VaultError, from_os_error
from vault.progress import Progress

# The facade loads when a command runs, not when the CLI starts: `--version`,
# `--help` and completion need neither the database layer nor the media libraries.
if TYPE_CHECKING:
    from vault import Passphrase, Policy, RecordSummary, Vault

__all__ = [
    "ERROR_KINDS",
    "State",
    "cli",
    "comma_list",
    "complete_policy",
    "counts_text",
    "done",
    "duration",
    "json_option",
    "new_passphrase",
    "new_passphrase_option",
    "progress_bars",
    "render_rows",
    "render_summaries",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class State:
    """The root options, handed to every command that opens the vault."""

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

    def passphrase(self, *, new_for: str | None = None) -> Passphrase:
        """The passphrase, from a file, EVAULT_PASSPHRASE or a hidden prompt; with
        ``new_for`` (a custodian's name) a new one, asked twice and again until it is
        strong enough."""
        if self.passphrase_file is not None:
            return _read_passphrase_file(self.passphrase_file)
        env = os.environ.get("EVAULT_PASSPHRASE")
        if env:
            return vault.Passphrase(env)
        if new_for is not None:
            return _prompt_new(_("New passphrase"), new_for)
        return vault.Passphrase(click.prompt(_("Passphrase"), hide_input=True, err=True))

    @property
    def policy_dirs(self) -> tuple[Path, ...]:
        """Where a policy named by name is looked for before the shipped ones: the
        vault folder's policies/, as the library and the server look."""
        from vault.policy import vault_policy_dirs  # noqa: PLC0415 - see the imports

        return vault_policy_dirs(self.vault_dir)

    def policy(self, name: str) -> Policy:
        """A policy by path, by name in the vault folder's policies/, or shipped."""
        return vault.load_policy(name, self.policy_dirs)

    @contextmanager
    def open(self) -> Iterator[Vault]:
        token = os.environ.get("EVAULT_SESSION")
        if token:
            # A session never falls back to a prompt: a stale one is an error.
            with vault.Vault.open_session(self.vault_dir, token, db_url=self.db_url) as v:
                yield v
            return
        # A missing vault is said before anyone types a passphrase for it.
        vault.Vault.require_existing(self.vault_dir, db_url=self.db_url)
        with vault.Vault.open(
            self.vault_dir,
            self.passphrase(),
            db_url=self.db_url,
            custodian=self.custodian,
        ) as v:
            yield v


def new_passphrase(file: Path | None, who: str | None, what: str | None = None) -> Passphrase:
    """A new passphrase for custodian ``who`` from ``file``, EVAULT_NEW_PASSPHRASE, or
    a confirmed prompt (asked again while it is too easy to guess)."""
    if file is not None:
        return _read_passphrase_file(file)
    env = os.environ.get("EVAULT_NEW_PASSPHRASE")
    if env:
        return vault.Passphrase(env)
    return _prompt_new(what or _("New passphrase"), who)


# Tries at a prompt for a new passphrase before giving up (exit 5, the last reason).
_NEW_PASSPHRASE_TRIES: Final = 3


def _prompt_new(what: str, who: str | None) -> Passphrase:
    """Ask twice; say why a passphrase below the strength floor is refused (never
    showing it) and ask again. The library checks it again where it is set."""
    for attempt in range(1, _NEW_PASSPHRASE_TRIES + 1):
        value = vault.Passphrase(
            click.prompt(what, hide_input=True, confirmation_prompt=True, err=True)
        )
        try:
            from vault.strength import check_new_passphrase  # noqa: PLC0415 - see the imports

            check_new_passphrase(value, names=[who] if who else [])
        except InvalidInputError as exc:
            if attempt == _NEW_PASSPHRASE_TRIES:
                raise
            click.echo(f"evault: {exc}", err=True)
            continue
        return value
    raise AssertionError("unreachable")  # pragma: no cover


def new_passphrase_option(f: F) -> F:
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
    return vault.Passphrase(text.splitlines()[0] if text.strip() else "")


def comma_list(text: str) -> list[str]:
    """The items of a comma-separated option (``--classes a,b``), blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def complete_policy(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of a policy name: the shipped ones and the vault folder's."""
    root = ctx.find_root()
    vault_dir = root.params.get("vault_dir") or os.environ.get("EVAULT_DIR")
    from vault.policy import policy_names, vault_policy_dirs  # noqa: PLC0415 - see the imports

    names = policy_names(vault_policy_dirs(vault_dir))
    return [click.shell_completion.CompletionItem(n) for n in names if n.startswith(incomplete)]


def done(as_json: bool, text: str, **data: Any) -> None:
    """What a command did: ``text`` for people, or ``data`` as one JSON object."""
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(f)


def duration(text: str) -> dt.timedelta:
    """A duration such as 30s, 15m or 2h."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    except (KeyError, ValueError, IndexError):
        raise UsageError(f"a duration such as 30s, 15m or 2h, not {text!r}") from None


# The root's options, which no command uses for anything else: accepted after the
# command too ("evault list --vault v" as "evault --vault v list").
_GLOBAL_OPTIONS: Final = ("--vault", "--db-url", "--passphrase-file", "--custodian", "--lang")


def _hoist_global_options(args: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.partition("=")[0]
        if name in _GLOBAL_OPTIONS:
            if "=" in arg or i + 1 >= len(args):
                front.append(arg)
                i += 1
            else:
                front.extend(args[i : i + 2])
                i += 2
            continue
        rest.append(arg)
        i += 1
    return front + rest


# What an error is, by exit code, in a JSON error's "kind" (the HTTP API's codes where
# it has the same error).
ERROR_KINDS: Final = {
    1: "error",
    2: "usage",
    3: "unauthenticated",
    4: "integrity_failure",
    5: "invalid_input",
    6: "not_found",
    7: "conflict",
    8: "forbidden",
    9: "storage",
    10: "storage_full",
    11: "read_only",
    12: "locked",
    13: "unreachable",
    14: "damaged",
    15: "unpinned_signer",
    16: "stale_export",
    17: "wrong_recipient",
    130: "interrupted",
}
_JSON_ERRORS: Final = "evault.json_errors"


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON (before any ``--``): then errors are
    JSON too, even those met before the command's own options are read."""
    head = args[: args.index("--")] if "--" in args else args
    return "--json" in head


class _Speech:
    """The language the command line speaks in while it runs (see :func:`speaking`)."""

    def __init__(self) -> None:
        self.lang = "en"
        self.words: gettext.NullTranslations = gettext.NullTranslations()


_SPEECH: Final = _Speech()


def _(message: str) -> str:
    """``message`` (the command line's own words, never data) in its language."""
    return _SPEECH.words.gettext(message)


def spoken_language() -> str:
    """The language the command line speaks in (``--lang``, else the locale's)."""
    return _SPEECH.lang


def _lang_asked(args: list[str]) -> str | None:
    """The ``--lang`` of a command line, read before parsing so that Click's own usage
    errors speak it too; a value not offered is left to the option to refuse."""
    head = args[: args.index("--")] if "--" in args else args
    asked: str | None = None
    for i, arg in enumerate(head):
        name, eq, value = arg.partition("=")
        if name == "--lang":  # the last one counts, as it does for Click
            value = value if eq else (head[i + 1] if i + 1 < len(head) else "")
            asked = value if value in i18n.LANGUAGES else None
    return asked


@contextmanager
def speaking(lang: str | None, *, for_machines: bool = False) -> Iterator[None]:
    """Speak ``lang`` (None: the locale's) for one run of the command line; with
    ``for_machines`` (--json) its messages stay English and only a report it writes
    is in ``lang``.

    Click reads its own words (usage, help, its errors) through gettext's global
    domain and the LANGUAGE variable, so both are set for the run and put back after
    it: a program calling the command line in-process keeps its own.
    """
    lang = i18n.chosen(lang)
    words = "en" if for_machines else lang
    saved_language = os.environ.get("LANGUAGE")
    saved_domain = gettext.textdomain()
    saved_speech = (_SPEECH.lang, _SPEECH.words)
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALES))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = words
    _SPEECH.lang, _SPEECH.words = lang, i18n.translations(words)
    try:
        yield
    finally:
        _SPEECH.lang, _SPEECH.words = saved_speech
        gettext.textdomain(saved_domain)
        if saved_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_language


class _Group(click.Group):
    """Turns library errors into one line on stderr and the documented exit code
    (with --json, one JSON object on that line).

    The root group loads a command's module only when that command runs: ``lazy``
    maps each command name to its module and the one-line help that ``--help``
    shows without loading it (a test keeps the two in step with the commands).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        with speaking(_lang_asked(given), for_machines=_wants_json(given)):
            return super().main(given, *rest, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            cmd = self.commands.get(name)
            if cmd is not None:
                if cmd.hidden:
                    continue
                text = cmd.get_short_help_str(limit)
            else:
                text = click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            ctx.meta[_JSON_ERRORS] = _wants_json(args)
            args = _hoist_global_options(args)
            try:
                return super().parse_args(ctx, args)
            except click.ClickException as exc:
                if not ctx.meta[_JSON_ERRORS]:
                    raise
                _fail(exc.format_message(), exc.exit_code, ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as exc:
            _fail(str(exc), exc.exit_code, ctx)
        except click.ClickException as exc:
            # Usage errors: click prints them with the usage line, or as JSON here.
            if not ctx.meta.get(_JSON_ERRORS):
                raise
            _fail(exc.format_message(), exc.exit_code, ctx)
        except click.Abort:
            if not ctx.meta.get(_JSON_ERRORS):
                raise
            _fail("aborted", 1, ctx)
        except click.exceptions.Exit:
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130, ctx)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except OSError as exc:
            # A full disk or read-only destination the library did not name itself.
            known = from_os_error(exc)
            if known is None:
                if os.environ.get("EVAULT_DEBUG") == "1":
                    raise
                _fail(
                    f"internal error ({type(exc).__name__}); rerun with EVAULT_DEBUG=1 for details",
                    1,
                    ctx,
                    "internal",
                )
            _fail(str(known), known.exit_code, ctx)
        except Exception as exc:
            if os.environ.get("EVAULT_DEBUG") == "1":
                raise
            _fail(
                f"internal error ({type(exc).__name__}); rerun with EVAULT_DEBUG=1 for details",
                1,
                ctx,
                "internal",
            )


def _fail(message: str, code: int, ctx: click.Context, kind: str | None = None) -> NoReturn:
    """One line on stderr, and exit ``code``: ``evault: error: ...``, or with --json
    ``{"error": {"code", "kind", "message"}}``."""
    if ctx.meta.get(_JSON_ERRORS):
        error = {"code": code, "kind": kind or ERROR_KINDS.get(code, "error"), "message": message}
        click.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)
    else:
        click.echo(f"evault: {_('error')}: {message}", err=True)
    sys.exit(code)


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
@click.option(
    "--lang",
    type=click.Choice(list(i18n.LANGUAGES)),
    expose_value=False,
    help="Language of the command line's own words and of reports: en, fr or es "
    "(default: the locale's, else en). Record content is never translated; --json "
    "output never is.",
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
    failure, 5 invalid input, 6 not found, 7 already exists or changed concurrently,
    8 permission denied, 9 storage error, 10 disk full, 11 read-only, 12 database
    locked, 13 database unreachable, 14 database damaged, 130 interrupted.
    """
    ctx.obj = State(vault_dir, db_url, passphrase_file, custodian)


# Rendering ---------------------------------------------------------------------------


class _Bars:
    """A :data:`vault.progress.Progress` callback drawing one bar per stage."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._bar: Any = None
        self._shown = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._shown = stage, 0
            bar = click.progressbar(length=max(total, 1), label=stage.capitalize(), file=sys.stderr)
            self._bar = bar.__enter__()
        if total and total != self._bar.length:
            self._bar.length = total
        if done > self._shown:
            self._bar.update(done - self._shown)
            self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def progress_bars(as_json: bool = False) -> Iterator[Progress | None]:
    """A progress callback for the library that draws a bar per stage on standard
    error while it is a terminal (and not with --json); None otherwise, so nothing is
    drawn into a pipe or a log."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    bars = _Bars()
    try:
        yield bars
    finally:
        bars.close()


def render_rows(
    rows: Sequence[T],
    as_json: bool,
    line: Callable[[T], str],
    *,
    to_json: Callable[[T], Any] | None = None,
    ensure_ascii: bool = True,
) -> None:
    """Print a listing: one JSON array with --json, otherwise one ``line`` per row."""
    if as_json:
        data = [to_json(r) for r in rows] if to_json else rows
        click.echo(json.dumps(data, ensure_ascii=ensure_ascii))
        return
    for row in rows:
        click.echo(line(row))


def render_summaries(rows: Iterable[RecordSummary], as_json: bool) -> None:
    """Print record summaries (no sensitive field), streamed as they come."""
    # Nothing is printed before the first row is fetched, so a vault that cannot be
    # read fails with its error alone, not after a half-printed list.
    it = iter(rows)
    first = next(it, None)
    rest = itertools.chain([] if first is None else [first], it)
    if as_json:
        # Streamed element by element: memory stays flat on large vaults. An error
        # after the first row (damaged records, named at the end) still closes the
        # array, so what was listed parses; the error and its exit code follow.
        click.echo("[", nl=False)
        try:
            for i, row in enumerate(rest):
                sep = "," if i else ""
                click.echo(sep + "\n" + json.dumps(row.to_dict(), ensure_ascii=False), nl=False)
        finally:
            click.echo("\n]")
        return
    count = 0
    click.echo(f"{'ID':<24} {'TYPE':<10} {'VER':>3}  {'SITE':<16} DATE")
    for row in rest:
        count += 1
        click.echo(
            f"{row.id:<24} {row.type:<10} {row.version:>3}  {row.site_id or '-':<16} "
            f"{row.date or '-'}"
        )
    shown = _("({n} record)") if count == 1 else _("({n} records)")
    click.echo(shown.format(n=count), err=True)


def counts_text(counts: dict[str, Any]) -> str:
    """An export's counts as one sentence: what went out and what was left out, why."""
    # The words translate; the types and reasons counted are codes and stay as they are.
    inc = ", ".join(f"{n} {t}" for t, n in counts["included"].items()) or _("nothing")
    exc = ", ".join(f"{n} {r}" for r, n in counts["excluded"].items()) or _("none")
    text = _("Included: {included}. Left out: {excluded}.").format(included=inc, excluded=exc)
    flags = dict(counts.get("risk_flags") or {})
    if flagged := flags.pop("records", 0):
        kinds = ", ".join(f"{n} {k}" for k, n in flags.items())
        text += " " + _("Free text still carrying a risk cue: {n} records ({kinds}).").format(
            n=flagged, kinds=kinds
        )
    review = counts.get("review") or {}
    if review.get("reviewed") or review.get("awaiting_review"):
        text += " " + _(
            "Free texts reviewed: {reviewed}; held back awaiting review: {waiting} "
            "(see `evault review --policy ...`)."
        ).format(reviewed=review.get("reviewed", 0), waiting=review.get("awaiting_review", 0))
    return text
