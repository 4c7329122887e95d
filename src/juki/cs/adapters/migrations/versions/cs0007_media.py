"""the manual fallback of the notices (標準仕様書 j1090): the sending mode, media exports and answers, append-only

Revision ID: cs0007
Revises: cs0006
Create Date: 2026-12-07 05:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0007"
down_revision = "cs0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLES = ("cs_sending_modes", "cs_media_exports", "cs_media_answers")


def upgrade() -> None:
    op.create_table(
        "cs_sending_modes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_sending_modes"),
    )
    op.create_table(
        "cs_media_exports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_media_exports"),
        sa.UniqueConstraint("sha256", name="uq_cs_media_exports_sha256"),
    )
    op.create_table(
        "cs_media_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("export_id", sa.Integer()),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_media_answers"),
    )
    make_append_only(*TABLES)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)  # its triggers go with it
