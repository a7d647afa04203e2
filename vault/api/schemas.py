"""The API's request and response models.

Invariants: the class names, fields and field descriptions are part of the
published OpenAPI document (``openapi.json``); request models forbid fields they
do not declare, and bound the length of every string a client sends.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = [
    "POLICY_NAME",
    "AttachmentOut",
    "AttachmentReceipt",
    "AuditVerified",
    "ErrorBody",
    "ErrorDetail",
    "ExportJob",
    "ExportProgressOut",
    "ExportReceived",
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
    "VersionOut",
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


_NARROWS = "; narrows the policy's own filter for this export, never widens it."


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="A policy name: shipped, or in the server's --policy-dir.",
    )
    recipient: str = Field(max_length=200, description="A registered recipient's name.")
    site: list[Annotated[str, Field(max_length=128)]] = Field(
        default_factory=list, max_length=1000, description="Only these site ids" + _NARROWS
    )
    country: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list,
        max_length=300,
        description="Only sites in these countries (ISO 3166-1 alpha-2)" + _NARROWS,
    )
    since: dt.date | None = Field(None, description="Only records from this date" + _NARROWS)
    until: dt.date | None = Field(None, description="Only records up to this date" + _NARROWS)


class FindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    site: str | None = Field(None, max_length=200)
    country: str | None = Field(None, max_length=200)


class ExportProgressOut(BaseModel):
    done: int = Field(description="Records decided so far: let through or left out.")
    total: int | None = Field(description="Records in the vault; null until the job runs.")


class ExportJob(BaseModel):
    job: str = Field(description="The job's id: a secret, like the token.")
    url: str = Field(description="Where the job's state is (also the Location header).")
    state: Literal["queued", "running", "done", "failed"]
    policy: str
    recipient: str
    progress: ExportProgressOut
    created_at: str
    finished_at: str | None
    expires_at: str | None = Field(
        description="When the job and its file are removed, if the file is not fetched before."
    )
    error: str | None = Field(description="Why the job failed, in one line.")
    export_id: str | None
    counts: dict[str, dict[str, int]] | None = Field(
        description="Records included by type, and excluded by reason."
    )
    file: str | None = Field(
        description="Where the age-encrypted file is, once done and until it is fetched."
    )


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


# Partners --------------------------------------------------------------------------


class ExportReceived(BaseModel):
    partner: str = Field(description="The pinned partner whose key signed the export.")
    export_id: str
    exported_at: str
    policy: str = Field(description="The sending policy, as its signed manifest names it.")
    policy_sha256: str
    terms: dict[str, str | list[str]] = Field(
        description="What the partner lets this vault pass on: onward kind and audiences."
    )
    records: dict[str, int] = Field(description="Records new, updated (new versions), unchanged.")
    by_type: dict[str, int]
    files_left_out: int = Field(description="Evidence files the export named (not received).")


# Listings ---------------------------------------------------------------------------


class VersionOut(BaseModel):
    version: int
    created_at: str = Field(description="When the vault stored it (sealed with it).")
    stored_by: str | None = Field(
        description="Who stored it: a custodian, or token:NAME; null for a version "
        "stored before the vault sealed its author."
    )


class AttachmentOut(BaseModel):
    """An evidence file, without its name or description (which may name people)."""

    id: str
    media_type: str = Field(description="Detected from the content, never from the name.")
    size: int = Field(description="Bytes of the original file.")
    sha256: str = Field(description="SHA-256 of the original file, as sealed at intake.")
    created_at: str
