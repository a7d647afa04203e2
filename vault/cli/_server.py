"""The HTTP API from the command line: token, serve and openapi.

Invariants kept here: a token's secret is printed once and only its hash is kept;
the server writes no access log (URLs carry record ids), trusts no forwarded
header, and takes TLS only as a certificate and key pair. The web stack is
imported only by the commands that need it, not by every command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
from pathlib import Path

import click

from vault import UsageError
from vault.cli._common import (
    State,
    _,
    cli,
    comma_list,
    done,
    duration,
    json_option,
    render_rows,
)

__all__ = ["openapi", "serve", "token"]


@cli.group()
def token() -> None:
    """Bearer tokens for the HTTP API (shown once; only a hash is kept)."""


@token.command(name="create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["custodian", "exporter", "auditor"]))
@click.option("--classes", default="", help="Field classes, comma-separated.")
@click.option(
    "--policies",
    default="",
    help="For exporters: policies, comma-separated (names as 'export --policy' finds "
    "them); the token must hold the classes each needs ('evault policy list').",
)
@click.option("--expires", default="30d", show_default=True, help="e.g. 12h, 30d; 'never'.")
@json_option
@click.pass_obj
def token_create(
    state: State, name: str, role: str, classes: str, policies: str, expires: str, as_json: bool
) -> None:
    """Create a token and print it once.

    A grant that could never work is refused (exit 2), as for 'custodian add'.
    """
    ttl = (
        None
        if expires == "never"
        else (dt.timedelta(days=int(expires[:-1])) if expires.endswith("d") else duration(expires))
    )
    with state.open() as v:
        secret, row = v.create_token(
            name,
            role=role,
            classes=comma_list(classes),
            policies=comma_list(policies),
            expires=ttl,
        )
    at = row["expires_at"]
    done(as_json, secret, token=secret, name=name, expires_at=at.isoformat() if at else None)


@token.command(name="list")
@json_option
@click.pass_obj
def token_list(state: State, as_json: bool) -> None:
    """List tokens (never the secrets)."""
    with state.open() as v:
        rows = v.tokens()
    render_rows(
        rows,
        as_json,
        lambda r: (
            f"{r['name']:<20} {r['role']:<10} "
            + (
                _("revoked")
                if r["revoked"]
                else _("expires {at}").format(at=r["expires_at"] or _("never"))
            )
        ),
    )


@token.command(name="revoke")
@click.argument("name")
@json_option
@click.pass_obj
def token_revoke(state: State, name: str, as_json: bool) -> None:
    """Revoke a token at once."""
    with state.open() as v:
        v.revoke_token(name)
    done(as_json, _("Revoked {name}.").format(name=name), revoked=name)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8600,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
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
    help="A folder of NAME.yaml policies that exports may name (besides the vault "
    "folder's policies/ and the shipped ones).",
)
@click.option(
    "--export-days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Delete export files this many days after they were made.",
)
@click.option(
    "--receive-identity",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="This vault's age identity file: partners' exports sent to POST /receive "
    "are opened with it (without it, the server receives none).",
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
    state: State,
    host: str,
    port: int,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    export_dir: Path | None,
    policy_dirs: tuple[Path, ...],
    max_bodies: int,
    export_days: float,
    receive_identity: Path | None,
) -> None:
    """Serve the HTTP API (unlock once as an admin; tokens authorise requests).

    Prints one line once it listens: the address, and the folder where export files
    wait (age-encrypted to their recipients) until they are fetched; a folder it
    made itself is removed when it stops.

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
    # Names are found as 'export --policy' finds them: the vault folder's policies/
    # too, after the folders given.
    folders = (*policy_dirs, *(d for d in state.policy_dirs if d.is_dir()))
    with state.open() as v, contextlib.closing(_listen(host, port)) as listening:
        app = create_app(
            v,
            export_dir=export_dir,
            policy_dirs=folders,
            bodies=max_bodies,
            export_days=export_days,
            receive_identity=receive_identity,
        )
        jobs = app.state.export_jobs
        config = uvicorn.Config(
            app,
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
        bound, at = listening.getsockname()[:2]
        where = f"[{bound}]" if ":" in bound else bound
        scheme = "https" if ssl_certfile else "http"
        click.echo(
            "evault: "
            + _("serving the HTTP API on {url} (export files wait in {folder})").format(
                url=f"{scheme}://{where}:{at}", folder=jobs.folder
            )
        )
        try:
            uvicorn.Server(config).run(sockets=[listening])
        finally:
            jobs.close()  # done already when the server stopped; not if it never started


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: any free port), so the address printed
    is the one served; a refusal is one line (exit 2), not a log record."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise UsageError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    return listening


@cli.command()
@json_option
def openapi(as_json: bool) -> None:
    """Print the HTTP API's OpenAPI document (JSON), as `evault serve` serves it
    (--json changes nothing but the form of errors)."""
    from vault.api import openapi_document  # noqa: PLC0415

    click.echo(json.dumps(openapi_document(), indent=2, sort_keys=True))
