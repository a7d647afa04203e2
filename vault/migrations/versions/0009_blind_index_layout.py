"""blind_index: one B-tree keyed by what look-ups ask (kind, mac), no rowid on SQLite

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _sqlite_table(name: str, key: str, rowid: bool) -> str:
    return (
        f"CREATE TABLE {name} (record_ref VARCHAR(32) NOT NULL, kind VARCHAR(16) NOT NULL, "
        f"mac BLOB NOT NULL, PRIMARY KEY ({key}), FOREIGN KEY(record_ref) REFERENCES "
        f"records (ref) ON DELETE CASCADE){'' if rowid else ' WITHOUT ROWID'}"
    )


def _rebuild(key: str, rowid: bool) -> None:
    # SQLite cannot change a table's key: the rows move to a new table.
    op.execute(_sqlite_table("blind_index_new", key, rowid))
    op.execute(
        "INSERT INTO blind_index_new (record_ref, kind, mac) "
        "SELECT record_ref, kind, mac FROM blind_index"
    )
    op.drop_table("blind_index")
    op.rename_table("blind_index_new", "blind_index")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_blind_index_kind_mac", table_name="blind_index")
        _rebuild("kind, mac, record_ref", rowid=False)
    else:
        op.drop_constraint("blind_index_pkey", "blind_index", type_="primary")
        op.create_primary_key("blind_index_pkey", "blind_index", ["kind", "mac", "record_ref"])
        op.drop_index("ix_blind_index_kind_mac", table_name="blind_index")
    op.create_index("ix_blind_index_record_ref", "blind_index", ["record_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_blind_index_record_ref", table_name="blind_index")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("record_ref, kind, mac", rowid=True)
    else:
        op.drop_constraint("blind_index_pkey", "blind_index", type_="primary")
        op.create_primary_key("blind_index_pkey", "blind_index", ["record_ref", "kind", "mac"])
    op.create_index("ix_blind_index_kind_mac", "blind_index", ["kind", "mac"], unique=False)
