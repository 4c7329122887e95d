"""the comparisons with the register (標準仕様書 j1100), kept append-only

Revision ID: cs0003
Revises: cs0002
Create Date: 2026-12-06 03:30:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0003"
down_revision = "cs0002"
branch_labels = None
depends_on = None

TABLE = "cs_comparisons"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_comparisons"),
    )
    op.create_index("ix_cs_comparisons_at", TABLE, ["at"])
    make_append_only(TABLE)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
