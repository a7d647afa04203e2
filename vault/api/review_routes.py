"""Review before release, for integrators: the endpoints ``evault review dump`` and
``evault review apply`` are on the command line.

Invariants:

* A policy is looked up by name, in the server's policy folders and then among the
  shipped ones, never as a path a client chooses, and only once the caller's role
  is one that may review at all (so a token that may not learns nothing of which
  policies the server has).
* Who may review is the library's rule, applied to the token's view: custodians
  (and admins) cleared for the narrative class; an exporter only under a policy
  that says ``review_by_exporters: true``.
* The decisions of one request are applied in one transaction: all, or none; a
  decision quoting a text that has changed since it was listed is refused (409),
  never applied to other words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from fastapi import FastAPI, Query

from vault.api.auth import Auth
from vault.api.errors import _AUTHED
from vault.api.schemas import (
    POLICY_NAME,
    ReviewDecisions,
    ReviewItemOut,
    ReviewList,
    ReviewsApplied,
)
from vault.core import Vault
from vault.errors import NotFoundError, PermissionDeniedError, VaultError
from vault.policy import Policy, find_policy

__all__: list[str] = []

# Roles the library may let review; any other is refused before a policy is looked up.
_MAY_REVIEW: Final = ("admin", "custodian", "exporter")


def _policy(v: Vault, name: str, policy_dirs: tuple[Path, ...]) -> Policy:
    if v.role not in _MAY_REVIEW:
        raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not review")
    try:
        return find_policy(name, policy_dirs)
    except VaultError:
        # Neither a file's path nor its parse errors are a client's business.
        raise NotFoundError(f"no usable policy {name!r} on this server") from None


def _add_review_routes(app: FastAPI, policy_dirs: tuple[Path, ...]) -> None:
    """The review endpoints, after the others in the OpenAPI document."""

    @app.get("/reviews", responses=_AUTHED)
    async def list_reviews(
        c: Auth,
        policy: Annotated[str, Query(pattern=POLICY_NAME, description="A policy name.")],
        every: Annotated[
            bool, Query(description="Every free text, not only those waiting.")
        ] = False,
    ) -> ReviewList:
        """Free texts as an export under the policy would send them, with the
        machine's redactions and risk cues (roles custodian and admin cleared for
        the narrative class; exporters if the policy allows). The texts are in
        clear: the listing is audited."""

        def run(v: Vault) -> ReviewList:
            found = _policy(v, policy, policy_dirs)
            items = v.review_items(found, every=every)
            return ReviewList(
                policy=found.name,
                audience=found.audience,
                items=[ReviewItemOut(**item.to_dict()) for item in items],
            )

        return await c.run(run)

    @app.post("/reviews", responses=_AUTHED)
    async def apply_reviews(body: ReviewDecisions, c: Auth) -> ReviewsApplied:
        """Seal reviewers' decisions, all in one transaction or none: each quotes
        the digest its item was listed with, and names spans ([start, end] in code
        points) to redact besides the machine's and machine spans to let through."""
        entries = [d.model_dump() for d in body.decisions]

        def run(v: Vault) -> ReviewsApplied:
            found = _policy(v, body.policy, policy_dirs)
            applied = v.apply_reviews(found, entries, source="request body")
            return ReviewsApplied(policy=found.name, applied=applied)

        return await c.run(run)
