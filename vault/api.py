"""The HTTP API: a thin FastAPI layer over :class:`vault.Vault`, like the CLI.

Invariants:

* The server unlocks the vault once, as an admin, and keeps the keys in memory.
  Every request but ``/health`` needs a bearer token; each request runs against a
  view of the vault restricted to that token's role, classes and policies, so the
  library's checks and the keys themselves bound what a token can do. Every
  request that touches records is audited under the token's name.
* Errors are JSON ``{"error": {"code", "message"}}`` with a stable code; messages
  are the library's, which never contain a record value.
* Request bodies are limited in size; repeated failed authentications from one
  client are slowed down with 429 responses.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse, Response

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

__all__ = ["MAX_BODY", "create_app"]

MAX_BODY: Final = 16 * 1024 * 1024
_FAILURES_ALLOWED: Final = 10
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


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class _Throttle:
    """Failed authentications per client in a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            window = self._failures[client]
            while window and window[0] < time.monotonic() - _FAILURE_WINDOW:
                window.popleft()
            return len(window) >= _FAILURES_ALLOWED

    def fail(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())


def create_app(vault: Vault, *, export_dir: Path | None = None) -> FastAPI:
    """The API for one unlocked (admin) vault."""
    if vault.role != "admin":
        raise UsageError("the API server must be unlocked by an admin custodian")
    exports = export_dir or Path(tempfile.mkdtemp(prefix="evault-exports-"))
    app = FastAPI(title="Evidence Vault", version="1", docs_url=None, redoc_url=None)
    throttle = _Throttle()

    @app.exception_handler(VaultError)
    async def vault_error(_request: Request, exc: VaultError) -> JSONResponse:
        for cls, status, code in _STATUS:
            if isinstance(exc, cls):
                return _error(status, code, str(exc))
        return _error(500, "error", str(exc))

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _error(413, "too_large", f"request bodies are limited to {MAX_BODY} bytes")
        return await call_next(request)

    def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Vault:
        client = request.client.host if request.client else "unknown"
        if throttle.blocked(client):
            raise _Throttled()
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            throttle.fail(client)
            raise AuthenticationError("a bearer token is required")
        try:
            return vault.for_token(token.strip())
        except AuthenticationError:
            throttle.fail(client)
            raise

    class _Throttled(Exception):
        pass

    @app.exception_handler(_Throttled)
    async def throttled(_request: Request, _exc: _Throttled) -> JSONResponse:
        return _error(429, "too_many_failures", "too many failed authentications; wait")

    auth = Depends(caller)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/records", status_code=201)
    def add_record(record: dict[str, Any], v: Vault = auth) -> dict[str, Any]:
        return v.add(record, where="request body").to_dict()

    @app.post("/records/import", status_code=201)
    async def import_records(request: Request, v: Vault = auth) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY:
            return {"error": "too large"}  # pragma: no cover - the middleware stops it
        rows = read_records(io.BytesIO(body), "request body", "jsonl")
        result = v.import_records(rows)
        return {"imported": result.count, "by_type": result.by_type}

    @app.get("/records")
    def list_records(
        v: Vault = auth, type: str | None = None, site: str | None = None
    ) -> list[dict[str, Any]]:
        return [s.to_dict() for s in v.list(type=type, site=site)]

    @app.get("/records/{record_id}")
    def get_record(record_id: str, v: Vault = auth, version: int | None = None) -> dict[str, Any]:
        return v.get(record_id, version=version)

    @app.get("/find")
    def find(
        v: Vault = auth,
        employee_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        site: str | None = None,
        country: str | None = None,
    ) -> list[dict[str, Any]]:
        rows = v.find(employee_id=employee_id, phone=phone, email=email, site=site, region=country)
        return [s.to_dict() for s in rows]

    @app.post("/records/{record_id}/attachments", status_code=201)
    async def attach(
        record_id: str,
        request: Request,
        v: Vault = auth,
        name: str = "upload",
        description: str | None = None,
    ) -> Any:
        # Held in memory only up to MAX_BODY (the middleware refuses more): no
        # plaintext copy of the file is written anywhere but sealed into the vault.
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, "too_large", f"files are limited to {MAX_BODY} bytes")
        info = v.attach(record_id, io.BytesIO(bytes(body)), name=name, description=description)
        return {
            "id": info.id,
            "media_type": info.media_type,
            "size": info.size,
            "sha256": info.sha256,
        }

    @app.post("/exports", status_code=201)
    def create_export(body: dict[str, str], v: Vault = auth) -> dict[str, Any]:
        policy = find_policy(str(body.get("policy", "")))
        recipient = str(body.get("recipient", ""))
        out = exports / f"export-{time.time_ns()}.age"
        manifest = v.export(policy, recipient, out)
        final = exports / f"{manifest['export_id']}.age"
        out.rename(final)
        return {
            "format": EXPORT_FORMAT,
            "export_id": manifest["export_id"],
            "counts": manifest["counts"],
            "download": f"/exports/{manifest['export_id']}",
        }

    @app.get("/exports/{export_id}")
    def download_export(export_id: str, v: Vault = auth) -> FileResponse:
        known = {e["export_id"] for e in v.exports()}
        path = exports / f"{export_id}.age"
        if export_id not in known or not path.is_file():
            raise NotFoundError(f"no export {export_id} on this server")
        return FileResponse(
            path, media_type="application/octet-stream", filename=f"{export_id}.age"
        )

    @app.get("/audit/verify")
    def audit_verify(v: Vault = auth) -> dict[str, Any]:
        return {"valid": True, **v.audit_verify().to_dict()}

    return app
