"""the CS's per-person restrictions: 支援措置 and 交付制限 the register passes on (j410, j440)

Revision ID: cs0002
Revises: cs0001
Create Date: 2026-12-06 03:40:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0002"
down_revision = "cs0001"
branch_labels = None
depends_on = None

TABLE = "cs_restrictions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("measure_id", sa.String(40), nullable=False),
        sa.Column("restriction", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("in_force_from", sa.Date(), nullable=False),
        sa.Column("in_force_until", sa.Date()),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_restrictions"),
        sa.UniqueConstraint(
            "position", "addressee_number", name="uq_cs_restrictions_position_addressee_number"
        ),
    )
    op.create_index("ix_cs_restrictions_addressee_number", TABLE, ["addressee_number", "id"])
    make_append_only(TABLE)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    op.drop_table(TABLE)
