"""The HTTP API: a thin FastAPI layer over :class:`vault.Vault`, like the CLI.

Invariants:

* The server unlocks the vault once, as an admin, and keeps the keys in memory.
  Every request but ``/health`` needs a bearer token; each request runs against a
  view of the vault restricted to that token's role, classes and policies, so the
  library's checks and the keys themselves bound what a token can do. Every
  request that touches records is audited under the token's name.
* Errors are JSON ``{"error": {"code", "message"}}`` with a stable code; messages
  are the library's, which never contain a record value, and a request that fails
  validation is described by where it failed, never by what it held.
* Request bodies are limited in size as they arrive (Starlette's body limit, which
  does not trust Content-Length); repeated failed authentications from one client
  are answered with 429 for a while.
* A request is authenticated from its headers before its body is read; the vault
  work then runs in a worker thread (one at a time on SQLite). An export runs as a
  job in a thread of its own, beside those, and its file waits, age-encrypted to
  its recipient, until it is fetched, expires or the server stops.
* Like the CLI, the API reaches the vault only through the :class:`vault.Vault`
  facade: it never imports the storage or record layers, nor asks which database
  it runs on.

Layout, each module importing only those above it: ``schemas`` (the request and
response models), ``contract`` (the record contract as JSON Schema, for the
document), ``limits`` (how much a request may send, and for how long), ``auth``
(who is calling: the bearer token, the failed-authentication throttle, the
caller's vault view and where its work runs), ``jobs`` (export jobs and their
files), ``errors`` (how a refusal is answered), ``middleware`` (the ASGI layer that
authenticates before a body is read), ``routes`` (the record endpoints),
``export_routes`` (exports as jobs), ``review_routes`` (review before release) and
``app`` (the application factory).
"""

from __future__ import annotations

from vault.api.app import create_app, openapi_document
from vault.api.auth import FAILED_AUTH_LIMIT
from vault.api.limits import BODY_SECONDS, MAX_BODY, MAX_JSON

__all__ = [
    "BODY_SECONDS",
    "FAILED_AUTH_LIMIT",
    "MAX_BODY",
    "MAX_JSON",
    "create_app",
    "openapi_document",
]
