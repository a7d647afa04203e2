"""Alembic environment: migrations always run on a connection the vault hands in."""

from __future__ import annotations

from alembic import context

from vault.store import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the vault always passes its connection
    raise RuntimeError("vault migrations run through vault.store.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    transaction_per_migration=False,
)
context.run_migrations()
