"""The ASGI layer in front of the routes.

Invariants:

* Every request but the open ones (``/health``, ``/openapi.json``) is
  authenticated from its headers before any of its body is read or parsed; a
  client the throttle blocks is answered 429 unless its token is one this server
  has authenticated before.
* A token known from before is checked for revocation before it may hold a body
  slot; only so many bodies are held at once, and each must arrive within its
  deadline (408).
* Anything that escapes the handlers is answered with a JSON 500 that names only
  the kind of error, and logged the same way.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.api.auth import _CALLER, _bearer_token, _Caller, _Throttle
from vault.api.errors import _error, _vault_error
from vault.api.limits import _body_deadline
from vault.core import Vault
from vault.errors import AuthenticationError, VaultError

__all__: list[str] = []

_OPEN_PATHS: Final = frozenset({"/health", "/openapi.json"})
_NO_LIMIT: Final = contextlib.nullcontext()
_log = logging.getLogger("evault.api")


class _Authenticate:
    """Authenticates every request but the open ones from its headers, before any
    body is read or parsed; answers anything that escapes the handlers with a JSON
    500 that names only the kind of error."""

    def __init__(
        self,
        app: ASGIApp,
        vault: Vault,
        throttle: _Throttle,
        limiter: CapacityLimiter,
        bodies: CapacityLimiter,
        body_seconds: float,
    ) -> None:
        self._app = app
        self._vault = vault
        self._throttle = throttle
        self._limiter = limiter
        self._bodies = bodies
        self._body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        # The socket's peer: the server is run without trusting forwarded headers.
        client = scope["client"][0] if scope.get("client") else "unknown"
        token = _bearer_token(scope)
        # A token this server has authenticated before costs no database round trip,
        # so no thread either; and it gets through even while its address is blocked,
        # which it may share with others (behind a proxy, say).
        known = self._vault.known_token_view(token) if token else None
        if known is None and self._throttle.blocked(client):
            await _error(429, "too_many_failures", "too many failed authentications; wait")(
                scope, receive, send
            )
            return
        try:
            if token is None:
                raise AuthenticationError("a bearer token is required")
            view = (
                known
                if known is not None
                else await anyio.to_thread.run_sync(
                    self._vault.for_token, token, limiter=self._limiter
                )
            )
        except VaultError as exc:
            if isinstance(exc, AuthenticationError):
                self._throttle.fail(client)
            await _vault_error(exc)(scope, receive, send)
            return
        caller = _Caller(self._vault, view, token, client, self._throttle, self._limiter)
        has_body = scope["method"] not in ("GET", "HEAD")
        if has_body and known is not None:
            # A token authenticated earlier may have been revoked since: check before
            # it may hold one of the few body slots.
            try:
                await caller.ensure_live()
            except VaultError as exc:
                await _vault_error(exc)(scope, receive, send)
                return
        scope.setdefault("state", {})[_CALLER] = caller
        started = False
        # Bodies are held in memory until they are sealed: only so many at once, and
        # each must arrive within a deadline.
        bodies = self._bodies if has_body else _NO_LIMIT
        receive = _body_deadline(receive, self._body_seconds)

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with bodies:
                await self._app(scope, receive, tracked)
        except TimeoutError:
            if not started:
                await _error(408, "timeout", "the request body did not arrive in time")(
                    scope, receive, send
                )
        except Exception as exc:
            _log.error("internal error (%s)", type(exc).__name__)
            if not started:
                await _error(500, "internal", f"internal error ({type(exc).__name__})")(
                    scope, receive, send
                )
