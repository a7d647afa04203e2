"""Exports as jobs: ``POST /exports`` queues one, ``GET /exports/{job}`` tells how it
goes, ``GET /exports/{job}/file`` hands out its file.

Invariants:

* An export names its policy, looked up in the server's policy folders and then
  among the shipped ones, never as a path a client chooses, and only once the
  caller's role is one that may export at all; what the export would refuse before
  writing anything (role, grant, recipient) is refused at once, before a job exists.
* A job is built in a thread of its own (:mod:`vault.api.jobs`), never in the
  threads that serve requests, under the token's own view: every transaction it
  opens checks the token again, and is audited under the token's name.
* A job is seen only by the token that made it, or an admin; its file goes out
  only to them, the hand-over audited, and is removed once sent whole.
* When the server starts, export files left by an earlier run (named exactly
  ``<export_id>.age`` for an export the vault recorded, and older than the keep
  time) are removed, and no other file in the export folder (:func:`_sweep`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Final

from fastapi import FastAPI, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from vault.api.auth import Auth
from vault.api.errors import _AUTHED, _errors
from vault.api.jobs import ExportJobs, JobView
from vault.api.schemas import ExportJob, ExportProgressOut, ExportRequest
from vault.core import Vault
from vault.errors import NotFoundError, PermissionDeniedError, VaultError
from vault.policy import Policy, find_policy

__all__: list[str] = []

_EXPORT_FILE: Final = re.compile(r"[0-9a-f]{32}\.age")
_CHUNK: Final = 1 << 16
_MAY_EXPORT: Final = ("admin", "exporter")
# A job id as secrets.token_urlsafe(32) makes it.
JobId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{43}$", description="The job's id.")]


def _sweep(v: Vault, exports: Path, keep_days: float) -> None:
    """Delete export files made by an earlier run of the server once they are
    ``keep_days`` old (no job of this run can hand them out).

    Only a regular file named exactly ``<export_id>.age`` for an export the vault
    recorded is deleted: anything else in the folder (a custodian's own files, a
    name that only looks like an export's, a link, a folder) is left alone.
    """
    try:
        candidates = [path for path in exports.iterdir() if _EXPORT_FILE.fullmatch(path.name)]
    except OSError:  # no folder: nothing to sweep, and an export says why it fails
        return
    if not candidates:
        return
    recorded = {e["export_id"] for e in v.exports()}
    cutoff = time.time() - keep_days * 86400
    for path in candidates:
        if path.name.removesuffix(".age") not in recorded:
            continue
        with contextlib.suppress(FileNotFoundError):
            found = path.lstat()
            if stat.S_ISREG(found.st_mode) and found.st_mtime < cutoff:
                path.unlink()


def _may_export(v: Vault) -> None:
    if v.role not in _MAY_EXPORT:  # before a policy or a job is even looked up
        raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not export")


def _out(job: JobView) -> ExportJob:
    url = f"/exports/{job.id}"
    return ExportJob(
        job=job.id,
        url=url,
        state=job.state,
        policy=job.policy,
        recipient=job.recipient,
        progress=ExportProgressOut(done=job.done, total=job.total),
        created_at=job.created_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        error=job.error,
        export_id=job.export_id,
        counts=job.counts,
        file=f"{url}/file" if job.has_file else None,
    )


def _add_export_routes(app: FastAPI, jobs: ExportJobs, policy_dirs: tuple[Path, ...]) -> None:
    """The export endpoints, after the record endpoints in the OpenAPI document."""

    @app.post(
        "/exports",
        status_code=202,
        responses={
            202: {
                "headers": {
                    "Location": {
                        "description": "The job's URL.",
                        "schema": {"type": "string"},
                    }
                }
            },
            **_AUTHED,
            429: _errors(429)[429]
            | {
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait (when the token has jobs under way).",
                        "schema": {"type": "string"},
                    }
                }
            },
        },
    )
    async def create_export(body: ExportRequest, response: Response, c: Auth) -> ExportJob:
        """Queue an export under a policy to a registered recipient (roles admin,
        exporter), narrowed like `evault export --site/--country/--since/--until`.
        Answered at once, 202, with the job's URL: the export is built in the
        background, and the server goes on answering meanwhile."""

        def check(v: Vault) -> Policy:
            _may_export(v)
            try:
                policy = find_policy(body.policy, policy_dirs)
            except VaultError:
                # Neither a file's path nor its parse errors are a client's business.
                raise NotFoundError(f"no usable policy {body.policy!r} on this server") from None
            narrowed = policy.narrowed(
                sites=body.site,
                countries=[c.upper() for c in body.country],
                since=body.since,
                until=body.until,
            )
            v.check_export(narrowed, body.recipient)
            return narrowed

        policy = await c.run(check)
        view = await c.view()
        job_id = jobs.submit(
            view.custodian,
            policy.name,
            body.recipient,
            lambda out, progress: view.export(policy, body.recipient, out, progress=progress),
        )
        job = jobs.view(job_id, view.custodian, admin=view.role == "admin")
        response.headers["Location"] = f"/exports/{job_id}"
        return _out(job)

    @app.get("/exports/{job_id}", responses=_AUTHED)
    async def export_job(job_id: JobId, c: Auth) -> ExportJob:
        """An export job's state and progress, and once done where its file is: for
        the token that made it, or an admin (to any other it does not exist)."""
        view = await c.view()
        _may_export(view)
        return _out(jobs.view(job_id, view.custodian, admin=view.role == "admin"))

    @app.get(
        "/exports/{job_id}/file",
        response_class=StreamingResponse,
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
    async def export_file(job_id: JobId, c: Auth) -> StreamingResponse:
        """A done job's file, for the token that made it or an admin (audited). Once
        it is sent whole it is removed from the server: fetch it once (a transfer
        broken off before its end may be tried again)."""
        view = await c.view()
        _may_export(view)
        export_id, handle = jobs.open_file(job_id, view.custodian, admin=view.role == "admin")
        try:
            await c.run(lambda v: v.release_export(export_id))
            size = os.fstat(handle.fileno()).st_size
        except BaseException:
            handle.close()
            raise

        def chunks() -> Iterator[bytes]:
            with handle:
                chunk = handle.read(_CHUNK)
                while chunk:
                    following = handle.read(_CHUNK)
                    if not following:
                        # Read whole, and its last bytes go out now: the file is
                        # removed before the client can hold all of them. A transfer
                        # broken off earlier leaves it for another try.
                        jobs.sent(job_id)
                    yield chunk
                    chunk = following

        return StreamingResponse(
            chunks(),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(size),
                "Content-Disposition": f'attachment; filename="{export_id}.age"',
            },
        )
