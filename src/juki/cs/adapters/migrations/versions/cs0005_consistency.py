"""the 整合性確認 with the prefecture (標準仕様書 j1100): its runs, kept append-only

Revision ID: cs0005
Revises: cs0004
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0005"
down_revision = "cs0004"
branch_labels = None
depends_on = None

TABLE = "cs_consistency_runs"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("ours_rows", sa.Integer()),
        sa.Column("theirs_rows", sa.Integer()),
        sa.Column("ours_sha256", sa.String(64)),
        sa.Column("theirs_sha256", sa.String(64)),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("queued", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_consistency_runs"),
    )
    op.create_index("ix_cs_consistency_runs_at", TABLE, ["at"])
    make_append_only(TABLE)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
