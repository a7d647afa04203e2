"""The API's request and response models.

Invariants: the class names, fields and field descriptions are part of the
published OpenAPI document (``openapi.json``); request models forbid fields they
do not declare, and bound the length of every string a client sends.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = [
    "POLICY_NAME",
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
    "RecordUpdated",
    "ReviewDecision",
    "ReviewDecisions",
    "ReviewItemOut",
    "ReviewList",
    "ReviewsApplied",
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
    new_versions: int = 0
    unchanged: int = 0
    skipped: int = 0
    chunks: int = 1


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


# Review before release ------------------------------------------------------------

POLICY_NAME: Final = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# As many spans as the library takes in one decision (vault.decisions.MAX_SPANS).
_MAX_SPANS: Final = 10_000
_SPANS = (
    "[start, end] pairs of offsets in the text, counted in Unicode code points (end exclusive)."
)


class ReviewItemOut(BaseModel):
    record_id: str
    field: str = Field(description="The free-text field: narrative, summary, details, ...")
    status: str = Field(description="awaiting, flagged, reviewed (a decision stands) or clear.")
    flags: list[str] = Field(description="Risk cues the scrubber found in the text.")
    digest: str = Field(description="Names the text decided on: a decision quotes it.")
    text: str = Field(description="The text as the vault holds it (in clear).")
    spans: list[tuple[int, int, str]] = Field(
        description="What would be redacted, as [start, end, token] in code points; a "
        "standing decision's own redactions have the token REDACTED."
    )
    rendered: str = Field(description="The text as it would leave.")


class ReviewList(BaseModel):
    policy: str
    audience: str
    items: list[ReviewItemOut]


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(max_length=128)
    field: Literal["narrative", "summary", "details", "remediation.plan"]
    digest: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="The digest the item was listed with."
    )
    redact: list[tuple[StrictInt, StrictInt]] = Field(
        default_factory=list,
        max_length=_MAX_SPANS,
        description="Spans to redact besides the machine's: " + _SPANS,
    )
    release: list[tuple[StrictInt, StrictInt]] = Field(
        default_factory=list,
        max_length=_MAX_SPANS,
        description="Machine spans to let through, exactly as listed: " + _SPANS,
    )


class ReviewDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str = Field(
        pattern=POLICY_NAME,
        description="A policy name: shipped, or in the server's --policy-dir.",
    )
    decisions: list[ReviewDecision] = Field(min_length=1, max_length=10_000)


class ReviewsApplied(BaseModel):
    policy: str
    applied: int


# Updates ---------------------------------------------------------------------------


class RecordUpdated(BaseModel):
    id: str
    version: int = Field(description="The version the update stored.")
