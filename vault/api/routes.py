"""The endpoints.

Invariants:

* Each route acts on the vault only through its caller (:class:`_Caller`), so on
  the view its token was granted, and declares every error it may answer.
* The route functions' names, docstrings and models make up the published OpenAPI
  document (``openapi.json``): their names are its operation ids, and the order they
  are added in is its order.
* A body of up to :data:`MAX_BODY` (an import, an evidence file) is read only after
  the token has been checked again, and is held in memory only: no plaintext copy
  is written anywhere.
* An export is looked up by policy name, in the server's policy folders and then
  among the shipped ones, never as a path a client chooses; export files are
  deleted a set number of days after they were made, and no other file in the
  export folder is (see :func:`_sweep`).
"""

from __future__ import annotations

import contextlib
import io
import re
import stat
import time
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from fastapi import Body, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from vault.api.auth import Auth
from vault.api.errors import _AUTHED
from vault.api.limits import MAX_BODY
from vault.api.schemas import (
    AttachmentReceipt,
    AuditVerified,
    ExportCreated,
    ExportRequest,
    FindRequest,
    Health,
    ImportResult,
    RecordSummary,
    RecordUpdated,
)
from vault.core import Vault
from vault.errors import NotFoundError, PermissionDeniedError, VaultError
from vault.export import EXPORT_FORMAT
from vault.policy import find_policy
from vault.sharing import ExportSummary
from vault.sources import read_one

__all__: list[str] = []


def _raw_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a body the handler reads itself (not parsed by FastAPI)."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


MAX_PAGE: Final = 1000  # records per page of GET /records
_EXPORT_FILE: Final = re.compile(r"[0-9a-f]{32}\.age")
# A PATCH body is a JSON merge patch (RFC 7396); plain JSON is taken as one too.
_MERGE_PATCH: Final = ("application/merge-patch+json", "application/json")


def _sweep(v: Vault, exports: Path, keep_days: float) -> None:
    """Delete the export files this server made once they are ``keep_days`` old
    (they wait only to be fetched).

    Only a regular file named exactly ``<export_id>.age`` for an export the vault
    recorded is deleted: anything else in the folder (a custodian's own files, a
    name that only looks like an export's, a link, a folder) is left alone. A
    caller who may not list exports sweeps nothing.
    """
    try:
        candidates = [path for path in exports.iterdir() if _EXPORT_FILE.fullmatch(path.name)]
    except OSError:  # no folder: nothing to sweep, and the export says why it fails
        return
    if not candidates:
        return
    try:
        recorded = {e["export_id"] for e in v.exports()}
    except PermissionDeniedError:
        return
    cutoff = time.time() - keep_days * 86400
    for path in candidates:
        if path.name.removesuffix(".age") not in recorded:
            continue
        with contextlib.suppress(FileNotFoundError):
            found = path.lstat()
            if stat.S_ISREG(found.st_mode) and found.st_mtime < cutoff:
                path.unlink()


def _add_routes(
    app: FastAPI, exports: Path, policy_dirs: tuple[Path, ...], keep_days: float
) -> None:
    """Every endpoint, in the order of the OpenAPI document."""

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
        """Import JSON Lines (roles admin, custodian): checked whole first, nothing
        written if a line is bad; records stored already that it would not change are
        counted unchanged. On SQLite it commits in chunks: a failure part-way says how
        many records were committed, and posting the same body again finishes it."""
        await c.ensure_live()  # before up to 16 MiB are read
        body = await request.body()
        result = await c.run(
            lambda v: v.import_file(io.BytesIO(body), name="request body", fmt="jsonl")
        )
        return ImportResult(**result.to_dict())

    @app.get("/records", responses=_AUTHED)
    async def list_records(
        c: Auth,
        type: Literal["site", "testimony", "finding"] | None = None,
        site: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> list[RecordSummary]:
        """Latest versions in the order records came in, one page at a time: at most
        ``limit`` (default and most: 1,000) after skipping ``offset`` (roles admin,
        custodian). An unknown type is 422."""
        rows = await c.run(
            lambda v: [
                s.to_dict() for s in v.list(type=type, site=site, limit=limit, offset=offset)
            ]
        )
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
        responses={
            200: {"model": AttachmentReceipt, "description": "The record holds this file already."},
            **_AUTHED,
        },
        max_body_size=MAX_BODY,
        openapi_extra=_raw_body("application/octet-stream", {"type": "string", "format": "binary"}),
    )
    async def attach(
        record_id: str,
        request: Request,
        response: Response,
        c: Auth,
        name: Annotated[str, Query(max_length=255)] = "upload",
        description: Annotated[str | None, Query(max_length=1000)] = None,
        again: bool = False,
    ) -> AttachmentReceipt:
        """Seal an evidence file to a record (roles admin, custodian).

        The body is read as it arrives, up to the size limit, and held in memory
        only: no plaintext copy of the file is written anywhere, and the vault's
        write lock is not held while a slow client sends. A file the record holds
        already (the same bytes) is not stored again: 200 with the existing file's
        receipt instead of 201, unless ``again=true``.
        """
        await c.ensure_live()  # before up to 16 MiB are read
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
        info = await c.run(
            lambda v: v.attach(
                record_id, io.BytesIO(bytes(body)), name=name, description=description, again=again
            )
        )
        if info.existing:
            response.status_code = 200
        return AttachmentReceipt(
            id=info.id, media_type=info.media_type, size=info.size, sha256=info.sha256
        )

    @app.post("/exports", status_code=201, responses=_AUTHED)
    async def create_export(body: ExportRequest, c: Auth) -> ExportCreated:
        """Export under a policy to a registered recipient (roles admin, exporter)."""

        def run(v: Vault) -> ExportSummary:
            if v.role not in ("admin", "exporter"):  # before a policy is even looked up
                raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not export")
            try:
                policy = find_policy(body.policy, policy_dirs)
            except VaultError:
                # Neither a file's path nor its parse errors are a client's business.
                raise NotFoundError(f"no usable policy {body.policy!r} on this server") from None
            _sweep(v, exports, keep_days)
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
            _sweep(v, exports, keep_days)
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

    @app.patch(
        "/records/{record_id}",
        responses={415: _AUTHED[400] | {"description": "Not a JSON merge patch."}, **_AUTHED},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {media: {"schema": {"type": "object"}} for media in _MERGE_PATCH},
            }
        },
    )
    async def update_record(record_id: str, request: Request, c: Auth) -> RecordUpdated:
        """Change a record as a new version, by JSON merge patch (RFC 7396; roles admin,
        custodian).

        Members given are set (``worker`` and the other groups merge field by field,
        lists are replaced whole); a null member removes its field; every field the
        patch does not name is carried over, identity fields included, sealed as
        they were. A token without a class the record holds fields of is refused
        (403, naming them) unless the patch removes them; a required field cannot be
        removed (422).
        """
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media not in _MERGE_PATCH:
            raise HTTPException(415)
        body = await request.body()
        version = await c.run(
            lambda v: v.patch(
                record_id, read_one(io.BytesIO(body), name="request body")[1], where="request body"
            )
        )
        return RecordUpdated(id=record_id, version=version)
