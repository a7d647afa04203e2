"""The review page: a local HTTP server for one custodian and one run.

It listens on 127.0.0.1 only and answers only requests whose Host is that address
and port (no DNS rebinding). The URL printed at start carries a one-time token; the
first visit trades it for a cookie bound to this run (HttpOnly, SameSite=Strict) and
the token stops working. Writes also need a custom header, which a cross-site form
cannot send. The page loads nothing from elsewhere (a strict Content-Security-Policy
says so to the browser). Items are computed once at start, so moving to the next
narrative costs the reviewer no wait; the server stops on "done" or when idle, and
only the reviewer's own requests (right host, with the cookie or the one-time
token) count as activity. Each connection has its own thread, so a connection a
browser opens ahead of time and leaves idle holds up no other request; the vault is
worked on by one request at a time, and by none once the run has stopped.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
import unicodedata
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import click

from vault import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UsageError,
    VaultError,
)

if TYPE_CHECKING:
    from vault import Vault
    from vault.policy import Policy

__all__ = ["serve_review"]

_MAX_BODY: Final = 1 << 20
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ASSETS: Final = {
    "/": ("review.html", "text/html; charset=utf-8"),
    "/review.js": ("review.js", "text/javascript; charset=utf-8"),
    "/review.css": ("review.css", "text/css; charset=utf-8"),
}
# How a refused decision is answered; any other library error is a conflict.
_DECIDE_STATUS: Final[tuple[tuple[type[VaultError], HTTPStatus], ...]] = (
    (UsageError, HTTPStatus.SERVICE_UNAVAILABLE),  # the review has ended
    (StorageError, HTTPStatus.SERVICE_UNAVAILABLE),
    (InvalidInputError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (PermissionDeniedError, HTTPStatus.FORBIDDEN),
    (ConflictError, HTTPStatus.CONFLICT),
)
# A connection that sends nothing for this long is closed (its thread ends).
_SOCKET_TIMEOUT: Final = 60.0


def _asset(name: str) -> bytes:
    return resources.files("vault.cli").joinpath("review_assets", name).read_bytes()


def _page_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the page shows it: with the offsets of the combining marks in its
    text, which a redaction ending just before them takes along (as
    :meth:`~vault.scrub.Scrubber.render` does), so the page's "as it will leave"
    is the vault's to the letter."""
    text: str = item["text"]
    return {**item, "joins": [i for i, c in enumerate(text) if unicodedata.combining(c)]}


class _Run:
    """What one review run shares between requests (``lock`` guards all of it)."""

    def __init__(self, vault: Vault, policy: Policy, every: bool, idle_timeout: int) -> None:
        self.vault = vault
        self.policy = policy
        # An export's order is random; a reviewer who comes back finds the same order.
        listed = vault.review_items(policy, every=every)
        listed.sort(key=lambda item: (item.record_id, item.path))
        self.items = [_page_item(item.to_dict()) for item in listed]
        self.lock = threading.Lock()
        self.stopped = False
        self.token: str | None = secrets.token_urlsafe(24)
        self.cookie = secrets.token_urlsafe(24)
        self.done = False
        self.idle_timeout = idle_timeout
        self.last = time.monotonic()
        self.host = ""
        self.decided = 0


def _handler(run: _Run) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "evault-review"
        sys_version = ""
        timeout = _SOCKET_TIMEOUT

        def log_message(self, format: str, *args: Any) -> None:
            # Paths carry the one-time token; nothing is logged.
            return

        def _send(
            self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")

        def _allowed(self) -> bool:
            if self.headers.get("Host") != run.host:
                self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "wrong host"})
                return False
            return True

        def _has_cookie(self) -> bool:
            for part in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == "evault_review" and hmac.compare_digest(value, run.cookie):
                    # Only the reviewer's own requests keep the page alive.
                    run.last = time.monotonic()
                    return True
            return False

        def do_GET(self) -> None:
            if not self._allowed():
                return
            path, _, query = self.path.partition("?")
            if path == "/" and query.startswith("t="):
                given = query[2:]
                with run.lock:
                    fresh = run.token is not None and hmac.compare_digest(given, run.token)
                    if fresh:
                        run.token = None
                        run.last = time.monotonic()
                if not fresh:
                    self._json(HTTPStatus.FORBIDDEN, {"error": "this link was used already"})
                    return
                self._send(
                    HTTPStatus.SEE_OTHER,
                    b"",
                    "text/plain",
                    {
                        "Location": "/",
                        "Set-Cookie": (
                            f"evault_review={run.cookie}; HttpOnly; SameSite=Strict; Path=/"
                        ),
                    },
                )
                return
            if not self._has_cookie():
                self._json(
                    HTTPStatus.FORBIDDEN, {"error": "open the link printed by evault review"}
                )
                return
            if path == "/items":
                with run.lock:
                    items = [dict(item) for item in run.items]
                self._json(
                    HTTPStatus.OK,
                    {"policy": run.policy.name, "audience": run.policy.audience, "items": items},
                )
                return
            asset = _ASSETS.get(path)
            if asset is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            self._send(HTTPStatus.OK, _asset(asset[0]), asset[1])

        def do_POST(self) -> None:
            if not self._allowed():
                return
            if not self._has_cookie() or self.headers.get("X-Evault-Review") != "1":
                self._json(HTTPStatus.FORBIDDEN, {"error": "forbidden"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= _MAX_BODY:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "malformed JSON"})
                return
            if self.path == "/done":
                with run.lock:
                    run.done = True
                    decided = run.decided
                self._json(HTTPStatus.OK, {"decided": decided})
                return
            if self.path != "/decide" or not isinstance(body, dict):
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            self._decide(body)

        def _decide(self, body: dict[str, Any]) -> None:
            index = body.get("index")
            if (
                not isinstance(index, int)
                or isinstance(index, bool)
                or not 0 <= index < len(run.items)
            ):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "no such item"})
                return
            redact, release = body.get("redact", []), body.get("release", [])
            if not isinstance(redact, list) or not isinstance(release, list):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "redact and release are lists"})
                return
            item = run.items[index]
            status, answer = HTTPStatus.OK, {"status": "reviewed"}
            with run.lock:
                try:
                    if run.stopped or run.done:
                        raise UsageError("the review has ended")
                    run.vault.review(
                        run.policy,
                        item["record_id"],
                        item["field"],
                        item["digest"],
                        redact=redact,
                        release=release,
                    )
                    item["status"] = "reviewed"
                    run.decided += 1
                except VaultError as exc:
                    status = next(
                        (s for cls, s in _DECIDE_STATUS if isinstance(exc, cls)),
                        HTTPStatus.CONFLICT,
                    )
                    answer = {"error": str(exc)}
            self._json(status, answer)

    return Handler


def serve_review(
    vault: Vault, policy: Policy, *, every: bool, port: int, idle_timeout: int
) -> None:
    """Serve the review page until the custodian is done or it sits idle."""
    run = _Run(vault, policy, every, idle_timeout)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(run))
    server.daemon_threads = True
    server.timeout = 0.5
    bound = server.server_address[1]
    run.host = f"127.0.0.1:{bound}"
    click.echo(
        f"Reviewing {len(run.items)} free texts under policy {policy.name}. Open (once):",
        err=True,
    )
    click.echo(f"http://{run.host}/?t={run.token}", err=False)
    try:
        while not run.done and time.monotonic() - run.last < run.idle_timeout:
            server.handle_request()
    finally:
        # A request still at work finishes first; none starts once this is set.
        with run.lock:
            run.stopped = True
        server.server_close()
    reason = "done" if run.done else "idle timeout"
    click.echo(f"Review stopped ({reason}): {run.decided} decisions sealed.", err=True)
