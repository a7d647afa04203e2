"""Review before release: ``evault review`` (a local page), ``review dump`` and
``review apply`` (the same for scripts).

Invariants kept here: the page listens on 127.0.0.1 only, opens with a one-time URL
token and then a cookie bound to this run, loads nothing from elsewhere, and stops
when the custodian says done or after an idle timeout. A dump holds narratives in
clear: it goes to stdout for the custodian's own tools, never to a file the vault
writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault import InvalidInputError
from vault.cli._common import State, _, cli, complete_policy, json_option
from vault.lazy import lazy_module

if TYPE_CHECKING:
    from vault.cli import _review_page as review_page
else:
    # The page's server loads when a review starts, not for --help.
    review_page = lazy_module("vault.cli._review_page")

__all__ = ["review"]


@cli.group(name="review", invoke_without_command=True)
@click.option(
    "--policy",
    "policy_name",
    shell_complete=complete_policy,
    help="Policy name or file (for the page).",
)
@click.option("--every", is_flag=True, help="Every free text, not only those waiting.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free).")
@click.option(
    "--idle-timeout",
    type=click.IntRange(min=2),
    default=900,
    show_default=True,
    help="Stop after this many seconds without a request.",
)
@click.pass_context
def review(
    click_ctx: click.Context, policy_name: str | None, every: bool, port: int, idle_timeout: int
) -> None:
    """Review free text before it leaves: serve a local page (127.0.0.1) that shows
    each narrative as it would leave under --policy, with the machine's redactions
    and risk cues marked. Mark a selection to redact it, click a redaction to let it
    through, accept to seal the decision; every later export to that audience uses
    it. Keys: j/k next/previous, m mark selection, a accept, d done.

    Subcommands `dump` and `apply` do the same for scripts."""
    if click_ctx.invoked_subcommand is not None:
        return
    if policy_name is None:
        raise click.UsageError("--policy is required")
    state: State = click_ctx.obj
    with state.open() as v:
        policy = state.policy(policy_name)
        review_page.serve_review(v, policy, every=every, port=port, idle_timeout=idle_timeout)


@review.command(name="dump")
@click.option(
    "--policy",
    "policy_name",
    required=True,
    shell_complete=complete_policy,
    help="Policy name or file.",
)
@click.option("--every", is_flag=True, help="Every free text, not only those waiting.")
@json_option
@click.pass_obj
def review_dump(state: State, policy_name: str, every: bool, as_json: bool) -> None:
    """Print, as JSON, the free texts waiting for review under a policy: text,
    machine redactions [start, end, kind], risk flags, and the digest a decision
    must quote. The output holds narratives in clear: keep it where they may be.
    (It is JSON either way; --json makes errors JSON too.)"""
    with state.open() as v:
        policy = state.policy(policy_name)
        items = v.review_items(policy, every=every)
    click.echo(
        json.dumps(
            {
                "policy": policy.name,
                "audience": policy.audience,
                "items": [item.to_dict() for item in items],
            },
            ensure_ascii=False,
            indent=1,
        )
    )


def _entries(data: Any, source: str) -> list[Any]:
    """Decisions from ``{"decisions": [...]}``, or from a dump whose items a script
    marked ``"accept": true`` (with optional ``redact``/``release``)."""
    if isinstance(data, dict) and isinstance(data.get("decisions"), list):
        return list(data["decisions"])
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        out = []
        for i, item in enumerate(data["items"]):
            if not isinstance(item, dict):
                raise InvalidInputError(
                    "an item must be an object", where=f"{source}, item {i + 1}"
                )
            if item.get("accept") is True:
                out.append(
                    {
                        k: item[k]
                        for k in ("record_id", "field", "digest", "redact", "release")
                        if k in item
                    }
                )
        return out
    raise InvalidInputError(
        'expected {"decisions": [...]} or a review dump with items marked "accept": true',
        where=source,
    )


@review.command(name="apply")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True)
)
@click.option(
    "--policy",
    "policy_name",
    required=True,
    shell_complete=complete_policy,
    help="Policy name or file.",
)
@json_option
@click.pass_obj
def review_apply(state: State, file: Path, policy_name: str, as_json: bool) -> None:
    """Apply decisions from FILE (JSON; '-' for stdin): each names record_id, field,
    digest (from `review dump`) and optional redact / release lists of [start, end].
    All are applied in one transaction, or none."""
    source = "stdin" if str(file) == "-" else str(file)
    try:
        raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInputError("not UTF-8 text", where=source) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"malformed JSON: {exc.msg}", where=f"{source}:line {exc.lineno}"
        ) from None
    entries = _entries(data, source)
    with state.open() as v:
        policy = state.policy(policy_name)
        n = v.apply_reviews(policy, entries, source=source)
    if as_json:
        click.echo(json.dumps({"applied": n, "policy": policy.name}))
    else:
        click.echo(
            _("Applied {n} review decisions for policy {policy}.").format(n=n, policy=policy.name)
        )
