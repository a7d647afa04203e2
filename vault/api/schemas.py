"""The API's request and response models.

Invariants: the class names, fields and field descriptions are part of the
published OpenAPI document (``openapi.json``); request models forbid fields they
do not declare, and bound the length of every string a client sends.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttachmentReceipt",
    "AuditVerified",
    "ErrorBody",
    "ErrorDetail",
    "ExportCreated",
    "ExportRequest",
    "FindRequest",
    "Health",
    "ImportResult",
    "RecordSummary",
]


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
