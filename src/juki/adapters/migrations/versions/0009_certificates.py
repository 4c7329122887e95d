"""Certificates: the issuance record (交付履歴, j300) and the disposal of a wrongly issued one (処分情報)

Both tables are append-only like the history, the log and the media records (triggers as in 0001/0003). The
発行番号 is sequential per day: its counter row (`certificate:YYYYMMDD`) is made on the day's first issuance.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TABLES = ("certificate_issuances", "certificate_disposals")


def upgrade() -> None:
    op.create_table(
        "certificate_issuances",
        sa.Column("issuance_number", sa.String(length=20), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=True),
        sa.Column("addressee_numbers", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number_printed", sa.Boolean(), nullable=False),
        sa.Column("copy_no", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("office", sa.String(length=40), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("requester_type", sa.String(length=20), nullable=False),
        sa.Column("requester_addressee_number", sa.String(length=10), nullable=True),
        sa.Column("identity_document", sa.String(length=60), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("fee", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("issuance_number", name=op.f("pk_certificate_issuances")),
    )
    op.create_index("ix_certificate_issuances_issued_on", "certificate_issuances", ["issued_on"])
    op.create_table(
        "certificate_disposals",
        sa.Column("issuance_number", sa.String(length=20), nullable=False),
        sa.Column("disposed_at", TS, nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuance_number"],
            ["certificate_issuances.issuance_number"],
            name=op.f("fk_certificate_disposals_issuance_number_certificate_issuances"),
        ),
        sa.PrimaryKeyConstraint("issuance_number", name=op.f("pk_certificate_disposals")),
    )
    for table in TABLES:
        make_append_only(table)


def downgrade() -> None:
    op.drop_table("certificate_disposals")
    op.drop_index("ix_certificate_issuances_issued_on", table_name="certificate_issuances")
    op.drop_table("certificate_issuances")
    op.execute("DELETE FROM counters WHERE name LIKE 'certificate:%'")
