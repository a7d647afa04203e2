"""The application factory: one FastAPI app over one admin-unlocked vault.

Invariants: only a vault unlocked by an admin is served; the document
:func:`openapi_document` returns is the one the server serves (``openapi.json``),
made by the same code without a vault; how many requests work on the vault at
once follows from what the database allows, never from which database it is.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI

from vault.api.auth import FAILED_AUTH_LIMIT, _Throttle
from vault.api.contract import type_records
from vault.api.errors import _add_handlers
from vault.api.export_routes import _add_export_routes, _sweep
from vault.api.jobs import ExportJobs
from vault.api.limits import BODY_SECONDS, MAX_JSON
from vault.api.middleware import _Authenticate
from vault.api.partner_routes import _add_partner_routes
from vault.api.review_routes import _add_review_routes
from vault.api.routes import _add_routes
from vault.api.stats_routes import _add_stats_routes
from vault.core import Vault
from vault.errors import UsageError
from vault.policy import check_policy_dirs

__all__ = ["create_app", "openapi_document"]


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
    receive_identity: Path | None = None,
    export_jobs: int = 2,
    export_workers: int = 2,
) -> FastAPI:
    """The API for one unlocked (admin) vault; export files wait in ``export_dir``.

    A client that fails authentication ``failed_auth_limit`` times within a minute
    gets 429 until the oldest failure is a minute old. Exports name their policy;
    it is looked up in ``policy_dirs``, then among the shipped ones (never as a path
    a client chooses); a policy folder with a file named like a shipped policy is
    refused (:func:`~vault.policy.check_policy_dirs`). At most ``threads`` requests
    work on the vault at once: by default one on SQLite, which has one writer at a
    time (more threads would only contend for the interpreter while the writer
    waits), and eight on PostgreSQL.
    At most ``bodies`` requests with a body (held in memory until sealed: up to
    16 MiB each) are served at once; others wait their turn after authentication;
    a body that has not arrived within ``body_seconds`` gets 408.
    Exports run as jobs in threads of their own, beside those ``threads``: at most
    ``export_workers`` at once, and ``export_jobs`` queued or running per token. A
    finished job and its file are removed ``export_days`` after it finished, or its
    file once it was fetched, and every one when the server stops; without
    ``export_dir``, the files wait in a new private temporary folder, removed then
    too (``app.state.export_jobs.folder`` says where).
    Partners' exports sent to ``POST /receive`` are opened with the age identity
    file ``receive_identity`` (without one, the server receives none).
    """
    if vault.role != "admin":
        raise UsageError("the API server must be unlocked by an admin custodian")
    check_policy_dirs(policy_dirs)
    folder = export_dir or Path(tempfile.mkdtemp(prefix="evault-exports-"))
    jobs = ExportJobs(
        folder,
        keep=export_days * 86400,
        per_token=export_jobs,
        workers=export_workers,
        owns_folder=export_dir is None,
    )
    app = _build(jobs, policy_dirs, receive_identity)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Files an earlier run left (killed before it could remove them) go first.
        await anyio.to_thread.run_sync(_sweep, vault, folder, export_days)
        jobs.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(jobs.close)

    app.router.lifespan_context = lifespan
    app.state.export_jobs = jobs
    if threads is None:
        threads = 1 if vault.single_writer else 8
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
    return _build(ExportJobs(Path(), keep=0), ()).openapi()


def _build(
    jobs: ExportJobs, policy_dirs: tuple[Path, ...], receive_identity: Path | None = None
) -> FastAPI:
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
    _add_handlers(app)
    _add_routes(app)
    _add_export_routes(app, jobs, policy_dirs)
    _add_review_routes(app, policy_dirs)
    _add_partner_routes(app, receive_identity)
    _add_stats_routes(app, policy_dirs)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            type_records(generate())  # FastAPI keeps the document it made: typed once
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app
