"""個人番号カード at the counter: the 交付申請 and what became of each

- `card_applications`: a resident's application for a 個人番号カード (番号法17条, 個人番号カード省令), recorded at the
  counter or received from J-LIS (an online or mailed one), never changed afterwards;
- `card_application_events`: each step — J-LIS's reports (申請受付, 作成中, 市区町村到着 with the card's user
  certificate, 廃止) and the counter's (交付通知書発送, 交付 with the kinds of identity documents checked, 廃止). The
  state of an application is its latest event. After 交付 the card's own state is `kiosk_cards`' (migration 0010).

Both are append-only on both engines: state is the latest event, never an update.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TABLES = ("card_applications", "card_application_events")


def upgrade() -> None:
    op.create_table(
        "card_applications",
        sa.Column("application_id", sa.String(20), primary_key=True),
        sa.Column(
            "addressee_number", sa.String(10), sa.ForeignKey("residents.addressee_number"), nullable=False
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
    )
    op.create_index("ix_card_applications_addressee_number", "card_applications", ["addressee_number"])
    op.create_table(
        "card_application_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id",
            sa.String(20),
            sa.ForeignKey("card_applications.application_id"),
            nullable=False,
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("staff_id", sa.String(40), nullable=False),
        sa.Column("serial", sa.String(40), nullable=True),
        sa.Column("certificate", sa.Text, nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index(
        "ix_card_application_events_application_id_id", "card_application_events", ["application_id", "id"]
    )
    op.create_index("ix_card_application_events_serial", "card_application_events", ["serial"])
    for table in TABLES:
        make_append_only(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
