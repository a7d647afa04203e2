"""The application factory: one FastAPI app over one admin-unlocked vault.

Invariants: only a vault unlocked by an admin is served; the document
:func:`openapi_document` returns is the one the server serves (``openapi.json``),
made by the same code without a vault; how many requests work on the vault at
once follows from what the database allows, never from which database it is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from anyio import CapacityLimiter
from fastapi import FastAPI

from vault.api.auth import FAILED_AUTH_LIMIT, _Throttle
from vault.api.errors import _add_handlers
from vault.api.limits import BODY_SECONDS, MAX_JSON
from vault.api.middleware import _Authenticate
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
) -> FastAPI:
    """The API for one unlocked (admin) vault; export files go to ``export_dir``.

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
    a body that has not arrived within ``body_seconds`` gets 408. Export files are
    deleted ``export_days`` after they were made.
    """
    if vault.role != "admin":
        raise UsageError("the API server must be unlocked by an admin custodian")
    check_policy_dirs(policy_dirs)
    app = _build(
        export_dir or Path(tempfile.mkdtemp(prefix="evault-exports-")), policy_dirs, export_days
    )
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
    return _build(Path(), ()).openapi()


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
    _add_handlers(app)
    _add_routes(app, exports, policy_dirs, keep_days)
    _add_review_routes(app, policy_dirs)
    _add_stats_routes(app, policy_dirs)
    return app
