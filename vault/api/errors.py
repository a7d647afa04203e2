"""How the API answers a refusal.

Invariants:

* Every error is JSON ``{"error": {"code", "message"}}``: a library error gets the
  status and stable code of its class and the library's message, which never holds
  a record value; the HTTP layer's own refusals (no route, wrong method, body too
  large) get fixed messages.
* A request that fails validation is described by where it failed, and by field
  names the API declares only, never by what it held.
* A refusal by the HTTP layer to a token known from before tells the holder of a
  since revoked token no more than a 401 would.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vault.api.auth import _CALLER, _Caller
from vault.api.jobs import JobLimitError
from vault.api.limits import MAX_BODY, MAX_JSON
from vault.api.schemas import ErrorBody, ExportRequest, FindRequest, ReviewDecisions
from vault.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleExportError,
    StaleVersionError,
    StorageError,
    TamperedRowError,
    UnpinnedSignerError,
    UsageError,
    VaultError,
    WrongRecipientError,
)

__all__: list[str] = []

_STATUS: Final[list[tuple[type[VaultError], int, str]]] = [
    (UsageError, 400, "usage"),
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    # Before ConflictError, of which it is one: an If-Match that is no longer current.
    (StaleVersionError, 412, "precondition_failed"),
    (ConflictError, 409, "conflict"),
    (InvalidInputError, 422, "invalid_input"),
    # A stored row that steers access failed its check: nothing is served from it.
    (TamperedRowError, 403, "integrity_failure"),
    # A partner's export refused: not from a pinned key, stale, or someone else's.
    (UnpinnedSignerError, 403, "unpinned_signer"),
    (StaleExportError, 409, "stale_export"),
    (WrongRecipientError, 403, "wrong_recipient"),
    # A sealed value failed verification: the request conflicts with what is stored.
    (IntegrityError, 409, "integrity_failure"),
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
    415: ("unsupported_media_type", "send a JSON merge patch (application/merge-patch+json)"),
}


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


# How long a client is asked to wait when its export jobs are all under way.
_JOB_RETRY_SECONDS: Final = 10
# What any authenticated endpoint may answer besides success.
_AUTHED = _errors(400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503)
_KNOWN_FIELDS: Final = (
    frozenset(ExportRequest.model_fields)
    | frozenset(FindRequest.model_fields)
    | frozenset(ReviewDecisions.model_fields)
)


def _where(loc: tuple[Any, ...]) -> str:
    """Where a request failed validation, from names the API declares only."""
    part = str(loc[0]) if loc else "request"
    if part == "body":
        field = str(loc[1]) if len(loc) > 1 and str(loc[1]) in _KNOWN_FIELDS else None
        return f"request body field {field!r}" if field else "request body"
    name = str(loc[1]) if len(loc) > 1 else "?"
    return f"{part} parameter {name!r}"


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


def _add_handlers(app: FastAPI) -> None:
    """Answer library errors, the HTTP layer's refusals and invalid requests as JSON."""

    @app.exception_handler(VaultError)
    async def vault_error(_request: Request, exc: VaultError) -> JSONResponse:
        return _vault_error(exc)

    @app.exception_handler(JobLimitError)
    async def too_many_jobs(_request: Request, exc: JobLimitError) -> JSONResponse:
        refused = _error(429, "too_many_jobs", str(exc))
        refused.headers["Retry-After"] = str(_JOB_RETRY_SECONDS)
        return refused

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
