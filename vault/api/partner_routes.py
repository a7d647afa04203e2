"""Receiving a partner's export over HTTP: ``POST /receive``, for admin tokens.

Invariants:

* Only a token with the admin role may receive (what was received steers what this
  vault holds and where it may go); any other is refused before its body is read.
* The body is the age-encrypted export file, held in memory only (it is
  ciphertext; its plaintext is streamed through the verifier, never written); it is
  opened with the identity the server was started with (``--receive-identity``),
  never with a key a client sends. A server started without one receives nothing.
* The export is checked and taken in exactly as ``evault receive`` does: one
  transaction, and each refusal its own status and code (unpinned signer 403,
  stale export 409, another recipient 403, bad input 422).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from vault.api.auth import Auth
from vault.api.errors import _AUTHED
from vault.api.limits import MAX_BODY
from vault.api.routes import _raw_body
from vault.api.schemas import ExportReceived
from vault.core import Vault
from vault.errors import NotFoundError, PermissionDeniedError

__all__: list[str] = []


def _add_partner_routes(app: FastAPI, identity: Path | None) -> None:
    """The partner endpoints, after the others in the OpenAPI document."""

    @app.post(
        "/receive",
        status_code=201,
        responses=_AUTHED,
        max_body_size=MAX_BODY,
        openapi_extra=_raw_body("application/octet-stream", {"type": "string", "format": "binary"}),
    )
    async def receive_export(
        request: Request,
        c: Auth,
        partner: Annotated[
            str | None, Query(max_length=64, description="Only this partner.")
        ] = None,
    ) -> ExportReceived:
        """Receive a partner's export (the age file as the body; admin tokens only):
        verified against the partner's pinned key and this server's identity, its
        records taken in, sealed, as the partner's; all or nothing."""

        def admin_only(v: Vault) -> None:
            if v.role != "admin":
                raise PermissionDeniedError(f"{v.custodian!r} ({v.role}) may not receive exports")
            if identity is None:
                raise NotFoundError("this server receives no exports (no --receive-identity)")

        await c.run(admin_only, brief=True)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk

        def run(v: Vault) -> dict[str, Any]:
            assert identity is not None
            report = v.receive(
                io.BytesIO(bytes(body)), identity, partner=partner, name="request body"
            )
            return report.to_dict()

        return ExportReceived(**await c.run(run))
