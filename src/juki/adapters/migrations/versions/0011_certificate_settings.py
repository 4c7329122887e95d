"""Certificates, continued: the city's certificate settings as versions, the 文字超過リスト (j1070), and
the printer of each issuance (j1040)

Both new tables are append-only (triggers as in 0001/0009): a setting changes by a new version, an overflow line
is what was printed. `certificate_issuances.printer` is new and nullable (earlier issuances name none).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TABLES = ("certificate_settings", "certificate_overflows")


def upgrade() -> None:
    op.create_table(
        "certificate_settings",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_certificate_settings")),
    )
    op.create_table(
        "certificate_overflows",
        sa.Column("issuance_number", sa.String(length=20), nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=True),
        sa.Column("item", sa.String(length=60), nullable=False),
        sa.Column("problem", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuance_number"],
            ["certificate_issuances.issuance_number"],
            name=op.f("fk_certificate_overflows_issuance_number_certificate_issuances"),
        ),
        sa.PrimaryKeyConstraint("issuance_number", "line", name=op.f("pk_certificate_overflows")),
    )
    op.create_index("ix_certificate_overflows_issued_on", "certificate_overflows", ["issued_on"])
    # A new column on an append-only table: SQLite's ADD COLUMN does not fire the UPDATE trigger.
    op.add_column("certificate_issuances", sa.Column("printer", sa.String(length=20), nullable=True))
    for table in TABLES:
        make_append_only(table)


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a column in place, keeping the table's append-only triggers (a batch copy would not).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE certificate_issuances DROP COLUMN printer")
    else:
        op.drop_column("certificate_issuances", "printer")
    op.drop_index("ix_certificate_overflows_issued_on", table_name="certificate_overflows")
    op.drop_table("certificate_overflows")
    op.drop_table("certificate_settings")
