"""Statistics for integrators: ``GET /stats``, as ``evault stats --json`` prints them.

Invariants:

* Who may count, and how, is the library's rule applied to the token's view: an
  admin token without a policy gets exact counts; every other token must name a
  policy and gets its suppressed counts (custodians any policy, exporters only
  those granted to them, auditors nothing).
* A policy is looked up by name, in the server's policy folders and then among
  the shipped ones, never as a path a client chooses, and only once the caller's
  role is one that may count at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

from vault.api.auth import Auth
from vault.api.errors import _AUTHED
from vault.api.schemas import POLICY_NAME
from vault.core import Vault
from vault.errors import NotFoundError, PermissionDeniedError, VaultError
from vault.policy import Policy, find_policy

__all__: list[str] = []

_MAY_COUNT: Final = ("admin", "custodian", "exporter")
_NAMES: Final = r"^[a-z_]{0,20}(,[a-z_]{1,20}){0,10}$"


def _policy(v: Vault, name: str | None, policy_dirs: tuple[Path, ...]) -> Policy | None:
    if v.role not in _MAY_COUNT:
        raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not count records")
    if name is None:
        return None
    try:
        return find_policy(name, policy_dirs)
    except VaultError:
        # Neither a file's path nor its parse errors are a client's business.
        raise NotFoundError(f"no usable policy {name!r} on this server") from None


def _add_stats_routes(app: FastAPI, policy_dirs: tuple[Path, ...]) -> None:
    """The statistics endpoint, after the others in the OpenAPI document."""

    @app.get(
        "/stats",
        response_class=JSONResponse,
        responses={
            200: {
                "description": "Tables of counts (null: suppressed) and where findings "
                "stand, as `evault stats --json` prints them (see README).",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_AUTHED,
        },
    )
    async def statistics(
        c: Auth,
        by: Annotated[
            str,
            Query(
                pattern=_NAMES,
                description="Dimensions, comma-separated: site, country, month, quarter, "
                "year, allegation, severity, status, channel, gender, migrant.",
            ),
        ] = "",
        policy: Annotated[
            str | None,
            Query(pattern=POLICY_NAME, description="Count as this policy would share."),
        ] = None,
        count: Annotated[
            str | None,
            Query(pattern=_NAMES, description="testimonies, findings, workers."),
        ] = None,
        as_of: Annotated[
            dt.date | None, Query(description="The day overdue plans are judged on.")
        ] = None,
    ) -> JSONResponse:
        """Counts of testimonies, findings and workers by dimension, and where
        findings stand (audited). Exact for an admin token without a policy; any
        other token names a policy, and every count of fewer people than its
        threshold is suppressed, with others so that no total gives it back."""

        def run(v: Vault) -> dict[str, Any]:
            found = _policy(v, policy, policy_dirs)
            measures = [m for m in count.split(",") if m] if count else None
            return v.stats(by, policy=found, count=measures, as_of=as_of).to_dict()

        return JSONResponse(await c.run(run))
