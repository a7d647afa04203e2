"""signed rows: registry signatures and approval keys

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SIGNED = ("meta", "custodians", "api_tokens", "recipients", "identity_decisions")


def upgrade() -> None:
    # Rows written before this revision have no signature: an admin's first unlock
    # signs them (audited as registry-signed); until then other custodians refuse them.
    for table in _SIGNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("sig", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("custodians") as batch:
        batch.add_column(sa.Column("approval_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("custodians") as batch:
        batch.drop_column("approval_key")
    for table in reversed(_SIGNED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sig")
