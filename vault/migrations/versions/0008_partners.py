"""partners: pinned partner signing keys, received exports and records; joint exports

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("signing_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sig", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "partner_receipts",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("export_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("custodian", sa.String(length=64), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("policy_sha256", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("sig", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("partner", "export_id"),
    )
    op.create_index(
        "ix_partner_receipts_sequence", "partner_receipts", ["partner", "sequence"], unique=False
    )
    op.create_table(
        "received_records",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("ref"),
    )
    op.create_index(
        op.f("ix_received_records_partner"), "received_records", ["partner"], unique=False
    )
    op.create_table(
        "received_versions",
        sa.Column("record_ref", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("special_key", sa.LargeBinary(), nullable=True),
        sa.Column("special_data", sa.LargeBinary(), nullable=True),
        sa.Column("narrative_key", sa.LargeBinary(), nullable=True),
        sa.Column("narrative_data", sa.LargeBinary(), nullable=True),
        sa.Column("operational_key", sa.LargeBinary(), nullable=False),
        sa.Column("operational_data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["record_ref"], ["received_records.ref"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_ref", "version"),
    )
    op.create_index(
        op.f("ix_received_versions_kek_version"), "received_versions", ["kek_version"], unique=False
    )
    # Every recipient of a joint export; exports made before stay NULL (one recipient).
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("recipients", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("recipients")
    op.drop_index(op.f("ix_received_versions_kek_version"), table_name="received_versions")
    op.drop_table("received_versions")
    op.drop_index(op.f("ix_received_records_partner"), table_name="received_records")
    op.drop_table("received_records")
    op.drop_index("ix_partner_receipts_sequence", table_name="partner_receipts")
    op.drop_table("partner_receipts")
    op.drop_table("partners")
