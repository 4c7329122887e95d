"""the 符号取得 requests the CS sends J-LIS (docs/cs-jlis.md): one row per 処理通番, the 個人番号 sealed with the CS's
key until the request is sent or refused (cs_link_code_requests); its history is the CS log

Revision ID: cs0009
Revises: cs0008
Create Date: 2026-12-20 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "cs0009"
down_revision = "cs0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cs_link_code_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("my_number_index", sa.String(64), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("answer", sa.String(60)),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_link_code_requests"),
        sa.UniqueConstraint("serial", name="uq_cs_link_code_requests_serial"),
    )
    op.create_index(
        "ix_cs_link_code_requests_state_next_attempt_at",
        "cs_link_code_requests",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("cs_link_code_requests")  # its index goes with it
