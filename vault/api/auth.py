"""Who is calling: the bearer token, the failed-authentication throttle, and the
caller's view of the vault with the rules for where its work runs.

Invariants:

* A request acts only through the view of the vault its token was granted; a
  refusal tells the holder of a since revoked token no more than a 401 would.
* A client that fails authentication :data:`FAILED_AUTH_LIMIT` times within a
  minute is throttled; the throttle's memory stays bounded however many clients
  there are.
* Vault work runs in a worker thread, at most as many at once as the server's
  limiter allows; only brief work, on a database that takes one writer at a time
  and with no other request under way, may run on the event loop, and then never
  waits there for another process's write.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Final, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from vault.core import Vault
from vault.errors import AuthenticationError, StorageError, VaultError

__all__ = ["FAILED_AUTH_LIMIT", "Auth"]

FAILED_AUTH_LIMIT: Final = 10
_FAILURE_WINDOW: Final = 60.0
_THROTTLE_CLIENTS: Final = 10_000
# Where the middleware leaves the authenticated caller in the request's state.
_CALLER: Final = "evault_caller"
_T = TypeVar("_T")


class _Throttle:
    """Failed authentications per client address in a sliding window."""

    def __init__(self, allowed: int) -> None:
        self._allowed = allowed
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _expire(self, client: str, now: float) -> deque[float] | None:
        window = self._failures.get(client)
        while window and window[0] < now - _FAILURE_WINDOW:
            window.popleft()
        if window is not None and not window:
            del self._failures[client]
            return None
        return window

    def blocked(self, client: str) -> bool:
        with self._lock:
            window = self._expire(client, time.monotonic())
            return window is not None and len(window) >= self._allowed

    def fail(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            window = self._expire(client, now)
            if window is None:
                if len(self._failures) >= _THROTTLE_CLIENTS:
                    # Memory stays bounded: forget clients whose window has passed,
                    # then, if need be, the longest-known one.
                    for other in list(self._failures):
                        self._expire(other, now)
                    if len(self._failures) >= _THROTTLE_CLIENTS:
                        del self._failures[next(iter(self._failures))]
                window = self._failures[client] = deque(maxlen=self._allowed)
            window.append(now)


class _Caller:
    """One authenticated request: :meth:`run` acts on its vault view in a worker thread."""

    def __init__(
        self,
        vault: Vault,
        view: Vault,
        token: str,
        client: str,
        throttle: _Throttle,
        limiter: CapacityLimiter,
    ) -> None:
        self._vault = vault
        self._view = view
        self._token = token
        self._client = client
        self._throttle = throttle
        self._limiter = limiter
        # Brief work may run on the event loop only where it never waits there: a
        # single-writer (SQLite) vault worked on one request at a time (see run).
        self._inline = vault.single_writer and limiter.total_tokens == 1

    def _act(self, action: Callable[[Vault], _T]) -> _T:
        try:
            return action(self._view)
        except AuthenticationError:
            self._throttle.fail(self._client)
            raise
        except VaultError:
            # A refusal that came before any transaction (a role check, say) must not
            # tell the holder of a since revoked token more than any other refusal.
            self._vault.check_token(self._token)
            raise

    async def run(self, action: Callable[[Vault], _T], *, brief: bool = False) -> _T:
        """``action`` on the caller's view, in a worker thread; or, if it is ``brief``
        (bounded work, like reading one record), the server works on the vault one
        request at a time (the SQLite default) and none is under way, on the event
        loop itself: a thread hand-off costs more than such a read, and two threads of
        one process only take turns anyway. Long work never runs on the loop.
        """
        if brief and self._inline and self._limiter.borrowed_tokens == 0:
            try:
                with self._vault.no_wait():  # never wait on the loop for another process's write
                    return self._act(action)
            except StorageError:
                pass  # the database is busy (or failing): do it, or fail, in a thread
        return await anyio.to_thread.run_sync(self._act, action, limiter=self._limiter)

    async def view(self) -> Vault:
        """The caller's view, once its token is checked (401 if revoked or expired):
        for work that needs no transaction of its own, or outlives the request (an
        export job, whose every transaction checks the token again)."""
        await self.run(lambda _view: self._vault.check_token(self._token), brief=True)
        return self._view

    async def ensure_live(self) -> None:
        """AuthenticationError (401) if the token was revoked or has expired."""
        try:
            await anyio.to_thread.run_sync(
                self._vault.check_token, self._token, limiter=self._limiter
            )
        except AuthenticationError:
            self._throttle.fail(self._client)
            raise


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


_bearer = HTTPBearer(auto_error=False, description="A token from `evault token create`.")


async def _caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> _Caller:
    # _Authenticate has run: every route that depends on this is behind it.
    caller: _Caller = getattr(request.state, _CALLER)
    return caller


Auth = Annotated[_Caller, Security(_caller)]
