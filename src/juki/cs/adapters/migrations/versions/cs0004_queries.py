"""the CS's searches and queries of the national server (III(2)-3 リスク2)

Revision ID: cs0004
Revises: cs0003
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0004"
down_revision = "cs0003"
branch_labels = None
depends_on = None

TABLE = "cs_queries"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(20)),
        sa.Column("procedure", sa.String(40), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("withheld", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_queries"),
    )
    op.create_index("ix_cs_queries_at", TABLE, ["at"])
    make_append_only(TABLE)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
