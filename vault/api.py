"""The HTTP API: a thin FastAPI layer over :class:`vault.Vault`, like the CLI.

Invariants:

* The server unlocks the vault once, as an admin, and keeps the keys in memory.
  Every request but ``/health`` needs a bearer token; each request runs against a
  view of the vault restricted to that token's role, classes and policies, so the
  library's checks and the keys themselves bound what a token can do. Every
  request that touches records is audited under the token's name.
* Errors are JSON ``{"error": {"code", "message"}}`` with a stable code; messages
  are the library's, which never contain a record value, and a request that fails
  validation is described by where it failed, never by what it held.
* Request bodies are limited in size as they arrive (Starlette's body limit, which
  does not trust Content-Length); repeated failed authentications from one client
  are answered with 429 for a while.
* A request is authenticated from its headers before its body is read; the vault
  work then runs in a worker thread (one at a time on SQLite).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Body, FastAPI, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.core import Vault
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UsageError,
    VaultError,
)
from vault.export import EXPORT_FORMAT
from vault.policy import find_policy
from vault.sources import read_records
from vault.store import no_wait

__all__ = [
    "BODY_SECONDS",
    "FAILED_AUTH_LIMIT",
    "MAX_BODY",
    "MAX_JSON",
    "create_app",
    "openapi_document",
]

MAX_BODY: Final = 16 * 1024 * 1024  # imports and evidence files
MAX_JSON: Final = 1024 * 1024  # one record, a search, an export request
BODY_SECONDS: Final = 300.0  # 16 MiB at about 450 kbit/s
_OPEN_PATHS: Final = frozenset({"/health", "/openapi.json"})
_CALLER: Final = "evault_caller"
_THROTTLE_CLIENTS: Final = 10_000
_NO_LIMIT: Final = contextlib.nullcontext()
_log = logging.getLogger("evault.api")
FAILED_AUTH_LIMIT: Final = 10
_FAILURE_WINDOW: Final = 60.0
_STATUS: Final[list[tuple[type[VaultError], int, str]]] = [
    (UsageError, 400, "usage"),
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (InvalidInputError, 422, "invalid_input"),
    (IntegrityError, 500, "integrity_failure"),
    (StorageError, 503, "storage"),
]
# Errors the HTTP layer itself answers (no route, wrong method, body too large).
_HTTP_CODES: Final = {
    404: ("not_found", "no such endpoint"),
    405: ("method_not_allowed", "this endpoint does not take that method"),
    413: (
        "too_large",
        f"request bodies are limited to {MAX_JSON} bytes ({MAX_BODY} for imports and files)",
    ),
}
_T = TypeVar("_T")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str = Field(description="One line for people; never holds a record value.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class RecordSummary(BaseModel):
    id: str
    type: str
    version: int
    site_id: str | None
    date: str | None
    updated_at: str


class ImportResult(BaseModel):
    imported: int
    by_type: dict[str, int]


class AttachmentReceipt(BaseModel):
    id: str
    media_type: str
    size: int
    sha256: str


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="A policy name: shipped, or in the server's --policy-dir.",
    )
    recipient: str = Field(max_length=200, description="A registered recipient's name.")


class FindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    site: str | None = Field(None, max_length=200)
    country: str | None = Field(None, max_length=200)


class ExportCreated(BaseModel):
    format: str
    export_id: str
    counts: dict[str, dict[str, int]] = Field(
        description="Records included by type, and excluded by reason."
    )
    download: str


class AuditVerified(BaseModel):
    valid: bool
    size: int
    head: str
    checkpoint_size: int | None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _vault_error(exc: VaultError) -> JSONResponse:
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return _error(status, code, str(exc))
    return _error(500, "error", str(exc))


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {"model": ErrorBody, "description": "An error (see `error.code`)."} for s in statuses
    }


def _raw_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a body the handler reads itself (not parsed by FastAPI)."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


# What any authenticated endpoint may answer besides success.
_AUTHED = _errors(400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503)
_KNOWN_FIELDS: Final = frozenset(ExportRequest.model_fields) | frozenset(FindRequest.model_fields)


def _where(loc: tuple[Any, ...]) -> str:
    """Where a request failed validation, from names the API declares only."""
    part = str(loc[0]) if loc else "request"
    if part == "body":
        field = str(loc[1]) if len(loc) > 1 and str(loc[1]) in _KNOWN_FIELDS else None
        return f"request body field {field!r}" if field else "request body"
    name = str(loc[1]) if len(loc) > 1 else "?"
    return f"{part} parameter {name!r}"


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
        # Brief work may run on the event loop only where it never waits there: an
        # SQLite vault worked on one request at a time (see run).
        self._inline = vault.backend == "sqlite" and limiter.total_tokens == 1

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
                with no_wait():  # never wait on the loop for another process's write
                    return self._act(action)
            except StorageError:
                pass  # the database is busy (or failing): do it, or fail, in a thread
        return await anyio.to_thread.run_sync(self._act, action, limiter=self._limiter)

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


def _body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive`` that raises TimeoutError if the request body is not complete within
    ``seconds`` of the first call; what comes after the body (a disconnect) may wait."""
    deadline: float | None = None
    done = False

    async def timed() -> Message:
        nonlocal deadline, done
        if done:
            return await receive()
        if deadline is None:
            deadline = anyio.current_time() + seconds
        with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
            message = await receive()
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed


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


async def _revoked(request: Request) -> JSONResponse | None:
    # A refusal by the HTTP layer (no route, bad body) to a token known from before
    # must not tell the holder of a since revoked token more than a 401 would.
    caller: _Caller | None = getattr(request.state, _CALLER, None)
    if caller is not None:
        try:
            await caller.ensure_live()
        except VaultError as exc:
            return _vault_error(exc)
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


def create_app(
    vault: Vault,
    *,
    export_dir: Path | None = None,
    policy_dirs: tuple[Path, ...] = (),
    failed_auth_limit: int = FAILED_AUTH_LIMIT,
    threads: int | None = None,
    bodies: int = 8,
    body_seconds: float = BODY_SECONDS,
    export_days: float = 7,
) -> FastAPI:
    """The API for one unlocked (admin) vault; export files go to ``export_dir``.

    A client that fails authentication ``failed_auth_limit`` times within a minute
    gets 429 until the oldest failure is a minute old. Exports name their policy;
    it is looked up in ``policy_dirs``, then among the shipped ones (never as a path
    a client chooses). At most ``threads`` requests work on the vault at once: by
    default one on SQLite, which has one writer at a time (more threads would only
    contend for the interpreter while the writer waits), and eight on PostgreSQL.
    At most ``bodies`` requests with a body (held in memory until sealed: up to
    16 MiB each) are served at once; others wait their turn after authentication;
    a body that has not arrived within ``body_seconds`` gets 408. Export files are
    deleted ``export_days`` after they were made.
    """
    if vault.role != "admin":
        raise UsageError("the API server must be unlocked by an admin custodian")
    app = _build(
        export_dir or Path(tempfile.mkdtemp(prefix="evault-exports-")), policy_dirs, export_days
    )
    if threads is None:
        threads = 1 if vault.backend == "sqlite" else 8
    app.add_middleware(
        _Authenticate,
        vault=vault,
        throttle=_Throttle(failed_auth_limit),
        limiter=CapacityLimiter(threads),
        bodies=CapacityLimiter(bodies),
        body_seconds=body_seconds,
    )
    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document (the one the server serves), without a vault."""
    return _build(Path(), ()).openapi()


def _sweep(exports: Path, keep_days: float) -> None:
    """Delete export files older than ``keep_days`` (they wait only to be fetched)."""
    cutoff = time.time() - keep_days * 86400
    for path in exports.glob("*.age"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _build(exports: Path, policy_dirs: tuple[Path, ...], keep_days: float = 7) -> FastAPI:
    app = FastAPI(
        title="Evidence Vault",
        version="1",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        max_body_size=MAX_JSON,
        description=(
            "Every endpoint but /health needs `Authorization: Bearer <token>` "
            '(`evault token create`). Errors are `{"error": {"code", "message"}}`.'
        ),
    )

    @app.exception_handler(VaultError)
    async def vault_error(_request: Request, exc: VaultError) -> JSONResponse:
        return _vault_error(exc)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if (refused := await _revoked(request)) is not None:
            return refused
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "request refused"))
        return _error(exc.status_code, code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if (refused := await _revoked(request)) is not None:
            return refused
        # Pydantic's own report echoes the input; only where and what kind go back.
        first = exc.errors()[0] if exc.errors() else {}
        where = _where(tuple(first.get("loc", ())))
        return _error(422, "invalid_input", f"{where}: {first.get('msg', 'invalid')}")

    @app.get("/health")
    async def health() -> Health:
        """Liveness; needs no token."""
        return Health(status="ok")

    @app.post("/records", status_code=201, responses=_AUTHED)
    async def add_record(
        record: Annotated[dict[str, Any], Body(description="One record (see README).")],
        c: Auth,
    ) -> RecordSummary:
        """Add one record (roles admin, custodian)."""
        summary = await c.run(lambda v: v.add(record, where="request body"))
        return RecordSummary(**summary.to_dict())

    @app.post(
        "/records/import",
        status_code=201,
        responses=_AUTHED,
        max_body_size=MAX_BODY,
        openapi_extra=_raw_body("application/x-ndjson", {"type": "string"}),
    )
    async def import_records(request: Request, c: Auth) -> ImportResult:
        """Import JSON Lines, all or nothing (roles admin, custodian)."""
        await c.ensure_live()  # before up to 16 MiB are read
        body = await request.body()
        result = await c.run(
            lambda v: v.import_records(read_records(io.BytesIO(body), "request body", "jsonl"))
        )
        return ImportResult(imported=result.count, by_type=result.by_type)

    @app.get("/records", responses=_AUTHED)
    async def list_records(
        c: Auth, type: str | None = None, site: str | None = None
    ) -> list[RecordSummary]:
        """Newest versions, newest first (roles admin, custodian)."""
        rows = await c.run(lambda v: [s.to_dict() for s in v.list(type=type, site=site)])
        return [RecordSummary(**r) for r in rows]

    @app.get(
        "/records/{record_id}",
        response_class=JSONResponse,
        responses={
            200: {
                "description": "The record, as imported (see README).",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_AUTHED,
        },
    )
    async def get_record(
        record_id: str,
        c: Auth,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> JSONResponse:
        """A record: only the field classes the token's keys open (audited)."""
        # Records are JSON already: no model to validate them against twice.
        return JSONResponse(await c.run(lambda v: v.get(record_id, version=version), brief=True))

    @app.post("/find", responses=_AUTHED)
    async def find(query: FindRequest, c: Auth) -> list[RecordSummary]:
        """Records by blind-indexed value (identifiers need the identity class).

        A POST with a JSON body, so that identifiers never appear in a URL (and so
        in no proxy or access log).
        """
        rows = await c.run(
            lambda v: [
                s.to_dict()
                for s in v.find(
                    employee_id=query.employee_id,
                    phone=query.phone,
                    email=query.email,
                    site=query.site,
                    region=query.country,
                )
            ]
        )
        return [RecordSummary(**r) for r in rows]

    @app.post(
        "/records/{record_id}/attachments",
        status_code=201,
        responses=_AUTHED,
        max_body_size=MAX_BODY,
        openapi_extra=_raw_body("application/octet-stream", {"type": "string", "format": "binary"}),
    )
    async def attach(
        record_id: str,
        request: Request,
        c: Auth,
        name: Annotated[str, Query(max_length=255)] = "upload",
        description: Annotated[str | None, Query(max_length=1000)] = None,
    ) -> AttachmentReceipt:
        """Seal an evidence file to a record (roles admin, custodian).

        The body is read as it arrives, up to the size limit, and held in memory
        only: no plaintext copy of the file is written anywhere, and the vault's
        write lock is not held while a slow client sends.
        """
        await c.ensure_live()  # before up to 16 MiB are read
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
        info = await c.run(
            lambda v: v.attach(
                record_id, io.BytesIO(bytes(body)), name=name, description=description
            )
        )
        return AttachmentReceipt(
            id=info.id, media_type=info.media_type, size=info.size, sha256=info.sha256
        )

    @app.post("/exports", status_code=201, responses=_AUTHED)
    async def create_export(body: ExportRequest, c: Auth) -> ExportCreated:
        """Export under a policy to a registered recipient (roles admin, exporter)."""

        def run(v: Vault) -> dict[str, Any]:
            if v.role not in ("admin", "exporter"):  # before a policy is even looked up
                raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not export")
            try:
                policy = find_policy(body.policy, policy_dirs)
            except VaultError:
                # Neither a file's path nor its parse errors are a client's business.
                raise NotFoundError(f"no usable policy {body.policy!r} on this server") from None
            _sweep(exports, keep_days)
            out = exports / f"export-{time.time_ns()}.age"
            manifest = v.export(policy, body.recipient, out)
            out.rename(exports / f"{manifest['export_id']}.age")
            return manifest

        manifest = await c.run(run)
        return ExportCreated(
            format=EXPORT_FORMAT,
            export_id=manifest["export_id"],
            counts=manifest["counts"],
            download=f"/exports/{manifest['export_id']}",
        )

    @app.get(
        "/exports/{export_id}",
        response_class=FileResponse,
        responses={
            200: {
                "description": "The age-encrypted export.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            **_AUTHED,
        },
    )
    async def download_export(
        export_id: Annotated[str, PathParam(pattern="^[0-9a-f]{32}$")], c: Auth
    ) -> FileResponse:
        """An export file, for the token that made it or an admin (audited)."""

        def run(v: Vault) -> Path:
            _sweep(exports, keep_days)
            path = exports / f"{export_id}.age"
            if not path.is_file():
                raise NotFoundError(f"export {export_id} is not on this server")
            v.release_export(export_id)
            return path

        path = await c.run(run)
        return FileResponse(
            path, media_type="application/octet-stream", filename=f"{export_id}.age"
        )

    @app.get("/audit/verify", responses=_AUTHED)
    async def audit_verify(c: Auth) -> AuditVerified:
        """Recompute the audit chain (roles admin, auditor)."""
        report = await c.run(lambda v: v.audit_verify())
        return AuditVerified(valid=True, **report.to_dict())

    return app
