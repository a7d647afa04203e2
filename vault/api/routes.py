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
"""

from __future__ import annotations

import io
import re
from typing import Annotated, Any, Final, Literal

from fastapi import Body, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from vault.api.auth import Auth
from vault.api.errors import _AUTHED
from vault.api.limits import MAX_BODY
from vault.api.schemas import (
    AttachmentOut,
    AttachmentReceipt,
    AuditVerified,
    FindRequest,
    Health,
    ImportResult,
    RecordSummary,
    RecordUpdated,
    VersionOut,
)
from vault.errors import (
    StaleVersionError,
    UsageError,
)
from vault.sources import read_one

__all__: list[str] = []


def _raw_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a body the handler reads itself (not parsed by FastAPI)."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


MAX_PAGE: Final = 1000  # records per page of GET /records
# A PATCH body is a JSON merge patch (RFC 7396); plain JSON is taken as one too.
_MERGE_PATCH: Final = ("application/merge-patch+json", "application/json")


_ETAG_HEADER: Final = {
    "description": "The version number, as a strong entity tag.",
    "schema": {"type": "string"},
}
_ETAG: Final = re.compile(r'"([1-9][0-9]{0,9})"|([1-9][0-9]{0,9})')


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names: None for none or ``*`` (any current
    version). A weak or malformed tag can never match a version (412); a list of tags
    is refused (400)."""
    if header is None or header.strip() == "*":
        return None
    if "," in header:
        raise UsageError("If-Match takes one entity tag: the ETag of the version read")
    found = _ETAG.fullmatch(header.strip())
    if found is None:
        raise StaleVersionError("If-Match names no version of this record")
    return int(found.group(1) or found.group(2))


def _add_routes(app: FastAPI) -> None:
    """The record endpoints, first in the OpenAPI document."""

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
                "headers": {"ETag": _ETAG_HEADER},
            },
            **_AUTHED,
        },
    )
    async def get_record(
        record_id: str,
        c: Auth,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> JSONResponse:
        """A record: only the field classes the token's keys open (audited). Its
        ``ETag`` is the version number read; a PATCH may name it in ``If-Match``."""
        # Records are JSON already: no model to validate them against twice.
        record, read = await c.run(
            lambda v: v.get_with_version(record_id, version=version), brief=True
        )
        return JSONResponse(record, headers={"ETag": _etag(read)})

    @app.get("/records/{record_id}/versions", responses=_AUTHED)
    async def record_versions(record_id: str, c: Auth) -> list[VersionOut]:
        """A record's versions, oldest first: number, when and by whom each was stored
        (roles admin, custodian; audited)."""
        rows = await c.run(lambda v: [x.to_dict() for x in v.versions(record_id)], brief=True)
        return [VersionOut(**row) for row in rows]

    @app.get("/records/{record_id}/attachments", responses=_AUTHED)
    async def record_attachments(record_id: str, c: Auth) -> list[AttachmentOut]:
        """A record's evidence files: id, media type, size and SHA-256, never the
        file's name or description (roles admin, custodian, with the narrative class
        the files are sealed under; audited)."""
        files = await c.run(lambda v: v.attachments(record_id), brief=True)
        return [
            AttachmentOut(
                id=f.id,
                media_type=f.media_type,
                size=f.size,
                sha256=f.sha256,
                created_at=f.created_at,
            )
            for f in files
        ]

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

    @app.get("/audit/verify", responses=_AUTHED)
    async def audit_verify(c: Auth) -> AuditVerified:
        """Recompute the audit chain (roles admin, auditor)."""
        report = await c.run(lambda v: v.audit_verify())
        return AuditVerified(valid=True, **report.to_dict())

    @app.patch(
        "/records/{record_id}",
        responses={
            200: {"headers": {"ETag": _ETAG_HEADER}},
            412: _AUTHED[400] | {"description": "If-Match names no longer the latest version."},
            415: _AUTHED[400] | {"description": "Not a JSON merge patch."},
            **_AUTHED,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {media: {"schema": {"type": "object"}} for media in _MERGE_PATCH},
            }
        },
    )
    async def update_record(
        record_id: str,
        request: Request,
        response: Response,
        c: Auth,
        if_match: Annotated[
            str | None,
            Header(
                alias="If-Match",
                max_length=200,
                description='The ETag of the version the change was made on ("3"): '
                "the patch is stored only if that is still the latest version, else 412.",
            ),
        ] = None,
    ) -> RecordUpdated:
        """Change a record as a new version, by JSON merge patch (RFC 7396; roles admin,
        custodian).

        Members given are set (``worker`` and the other groups merge field by field,
        lists are replaced whole); a null member removes its field; every field the
        patch does not name is carried over, identity fields included, sealed as
        they were. A token without a class the record holds fields of is refused
        (403, naming them) unless the patch removes them; a required field cannot be
        removed (422). With ``If-Match``, the patch is stored only if the version it
        names is still the latest (checked in the update's own transaction), else 412;
        without it, it applies to whatever version is the latest.
        """
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media not in _MERGE_PATCH:
            raise HTTPException(415)
        expected = _if_match(if_match)
        body = await request.body()
        version = await c.run(
            lambda v: v.patch(
                record_id,
                read_one(io.BytesIO(body), name="request body")[1],
                where="request body",
                expect_version=expected,
            )
        )
        response.headers["ETag"] = _etag(version)
        return RecordUpdated(id=record_id, version=version)
