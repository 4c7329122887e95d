"""the numbers from J-LIS (docs/cs-jlis.md): each step of a block of 住民票コード, a 個人番号 request, an answer of
J-LIS's feed and a 送付先情報 record (cs_jlis_events), and the stock as the CS saw it (cs_jlis_stock); append-only

Revision ID: cs0008
Revises: cs0007
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0008"
down_revision = "cs0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLES = ("cs_jlis_events", "cs_jlis_stock")


def upgrade() -> None:
    op.create_table(
        "cs_jlis_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("subject", sa.String(10), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("seq", sa.Integer()),
        sa.Column("attempts", sa.Integer()),
        sa.Column("next_attempt_at", TZ),
        sa.Column("code", sa.String(60)),
        sa.Column("item", sa.String(60)),
        sa.Column("detail", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_cs_jlis_events"),
    )
    op.create_index("ix_cs_jlis_events_subject_ref_id", "cs_jlis_events", ["subject", "ref", "id"])
    op.create_index("ix_cs_jlis_events_subject_seq", "cs_jlis_events", ["subject", "seq"])
    op.create_index("ix_cs_jlis_events_event", "cs_jlis_events", ["event"])
    op.create_table(
        "cs_jlis_stock",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_jlis_stock"),
    )
    make_append_only(*TABLES)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)  # its indexes and triggers go with it
